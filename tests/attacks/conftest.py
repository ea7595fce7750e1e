"""Users A and B, built once per run and committed (see :mod:`.world`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import asyncpg
import pytest

from tests.attacks.world import User, build_user
from tests.support import connected


@dataclass
class Pair:
    a: User
    b: User


@pytest.fixture(scope="session")
async def users(migrated: str) -> Pair:
    async with connected(migrated) as conn, conn.transaction():
        a = await build_user(conn, "A", date(2026, 9, 7))
        b = await build_user(conn, "B", date(2031, 3, 3))
    return Pair(a, b)


@pytest.fixture
async def conn_a(migrated: str) -> AsyncIterator[asyncpg.Connection]:
    """A's connection (log in as the owner; tests switch to an API role)."""
    async with connected(migrated) as conn:
        yield conn


@pytest.fixture
async def conn_b(migrated: str) -> AsyncIterator[asyncpg.Connection]:
    """B's connection, concurrent with A's."""
    async with connected(migrated) as conn:
        yield conn
