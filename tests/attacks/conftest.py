"""Users A and B, built once per run and committed (see :mod:`.world`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import asyncpg
import pytest

from tests.attacks.world import User, build_user


@dataclass
class Pair:
    a: User
    b: User


@pytest.fixture(scope="session")
async def users(migrated: str) -> Pair:
    conn = await asyncpg.connect(migrated)
    try:
        async with conn.transaction():
            a = await build_user(conn, "A", date(2026, 9, 7))
            b = await build_user(conn, "B", date(2031, 3, 3))
    finally:
        await conn.close()
    return Pair(a, b)


async def _connect(url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def conn_a(migrated: str) -> AsyncIterator[asyncpg.Connection]:
    """A's connection (log in as the owner; tests switch to an API role)."""
    async for conn in _connect(migrated):
        yield conn


@pytest.fixture
async def conn_b(migrated: str) -> AsyncIterator[asyncpg.Connection]:
    """B's connection, concurrent with A's."""
    async for conn in _connect(migrated):
        yield conn
