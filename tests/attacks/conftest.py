"""
Users A and B, built once per run and committed (see :mod:`.world`), and a
real ``piccolo planner_app serve`` for the attacks over HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import asyncpg
import pytest

from tests.api.helpers import SECRET
from tests.attacks.world import User, build_user
from tests.served_api import Served, api_login_role, served_api
from tests.support import SessionReuse, connected


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
async def conn_a(
    migrated: str, sessions: SessionReuse
) -> AsyncIterator[asyncpg.Connection]:
    """A's connection (log in as the owner; tests switch to an API role)."""
    async with sessions.connection(migrated) as conn:
        yield conn


@pytest.fixture
async def conn_b(
    migrated: str, sessions: SessionReuse
) -> AsyncIterator[asyncpg.Connection]:
    """B's connection, concurrent with A's."""
    async with sessions.connection(migrated) as conn:
        yield conn


# The deadlines for slow clients, shortened so the attacks on them do not
# wait out the defaults (10 s each, docs/api.md "Limits").
SERVED_DEADLINES = ("--header-timeout=3", "--body-timeout=3", "--send-timeout=3")


@pytest.fixture(scope="module")
async def served(migrated: str) -> AsyncIterator[Served]:
    """``serve`` on a free port, as a login role of its own, per test module
    (its slow-client deadlines 3 s: :data:`SERVED_DEADLINES`)."""
    async with (
        connected(migrated) as conn,
        api_login_role(conn, migrated) as login_url,
        served_api(login_url, SECRET, *SERVED_DEADLINES) as served,
    ):
        yield served
