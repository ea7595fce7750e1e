"""
Every test run gets its own throwaway databases on a real PostgreSQL server:
the server of ``DATABASE_URL`` when it is set, otherwise the project's
embedded PostgreSQL. A template database is migrated once with the real CLI
(``piccolo migrations forwards all``); the run's database, and any other
migrated database a test asks for, is a copy of it (``CREATE DATABASE ...
TEMPLATE``). Tests of migrating itself start from empty databases. All are
dropped when the run ends.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from planner_app.database import (
    embedded_server_url,
    validate_database_url,
    with_database,
)
from tests.support import Owner, build_owner, connected, run_cli

RUN_PREFIX = f"planner_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
TEMPLATE_DB = f"{RUN_PREFIX}_template"
MAIN_DB = f"{RUN_PREFIX}_main"
# Every database the run creates, dropped together when it ends: each DROP
# DATABASE waits for a checkpoint, and concurrent drops share one.
CREATED: list[str] = []


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return validate_database_url(url)
    return embedded_server_url("postgres")


async def _create_database(
    server_url: str, name: str, template: str | None = None
) -> str:
    """
    Create ``name``, empty or as a copy of ``template``; return its URL.
    A throwaway database needs no durability: its commits do not wait for
    the disk (visibility and locking are the same).
    """
    async with connected(with_database(server_url, "postgres")) as conn:
        copy_of = f' template "{template}"' if template else ""
        CREATED.append(name)
        await conn.execute(f'create database "{name}"{copy_of}')
        await conn.execute(f'alter database "{name}" set synchronous_commit = off')
    return with_database(server_url, name)


async def _drop_databases(server_url: str, names: list[str]) -> None:
    async def drop(name: str) -> None:
        async with connected(with_database(server_url, "postgres")) as conn:
            await conn.execute(f'drop database if exists "{name}" with (force)')

    for start in range(0, len(names), 10):
        await asyncio.gather(*(drop(name) for name in names[start : start + 10]))


def pytest_configure(config: pytest.Config) -> None:
    engine = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded"
    server_url = _server_url()
    test_db = MAIN_DB
    config.planner_engine = engine  # type: ignore[attr-defined]
    config.planner_server_url = server_url  # type: ignore[attr-defined]
    config.planner_test_db = test_db  # type: ignore[attr-defined]
    # Everything from here on (Piccolo's engine, CLI subprocesses) talks to
    # the throwaway database.
    os.environ["PLANNER_TEST_ENGINE"] = engine
    os.environ["DATABASE_URL"] = with_database(server_url, test_db)


def pytest_unconfigure(config: pytest.Config) -> None:
    server_url = getattr(config, "planner_server_url", None)
    if server_url:
        asyncio.run(_drop_databases(server_url, CREATED))


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"planner database: {config.planner_test_db} "  # type: ignore[attr-defined]
        f"on the {config.planner_engine} server"  # type: ignore[attr-defined]
    )


@pytest.fixture(scope="session")
def server_url(pytestconfig: pytest.Config) -> str:
    """The URL of the server's maintenance database."""
    return with_database(pytestconfig.planner_server_url, "postgres")  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
async def template_database(server_url: str) -> str:
    """
    The name of a database migrated from empty by the real CLI (``piccolo
    migrations forwards all``) that is never connected to again: every
    migrated database of the run is a copy of it, and the tests of what
    ``forwards`` builds read such a copy.
    """
    url = await _create_database(server_url, TEMPLATE_DB)
    result = run_cli("migrations", "forwards", "all", database_url=url)
    assert result.returncode == 0, result.stderr + result.stdout
    async with connected(server_url) as conn:
        # A copy needs a template nobody is connected to.
        await conn.execute(
            f'alter database "{TEMPLATE_DB}" with allow_connections false'
        )
    return TEMPLATE_DB


@pytest.fixture(scope="session")
async def database_url(server_url: str, template_database: str) -> str:
    """The URL of this run's migrated database (``DATABASE_URL`` of the run)."""
    url = await _create_database(server_url, MAIN_DB, template=template_database)
    assert url == os.environ["DATABASE_URL"]
    return url


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    """This run's database, migrated (a copy of the template)."""
    return database_url


@pytest.fixture
async def db(migrated: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection (as the table owner) to this run's migrated database."""
    async with connected(migrated) as conn:
        yield conn


@pytest.fixture
async def owner(db: asyncpg.Connection) -> Owner:
    """A new user with a complete plan (:func:`tests.support.build_owner`)."""
    return await build_owner(db)


@pytest.fixture
async def stranger(db: asyncpg.Connection) -> Owner:
    """Another new user with a complete plan, whose rows are not the owner's."""
    return await build_owner(db)


@pytest.fixture
async def locked(db: asyncpg.Connection) -> Owner:
    """A new user whose cycle enforces the weeks 7-12 lock."""
    return await build_owner(db, lock_enforced=True)


@pytest.fixture
def fresh_database(
    server_url: str, template_database: str
) -> Callable[..., Awaitable[str]]:
    """
    A factory of databases on the test server, dropped when the run ends:
    ``await fresh_database()`` is empty, ``await fresh_database(migrated=True)``
    is a copy of the migrated template. Returns the new database's URL.
    """

    async def create(*, migrated: bool = False) -> str:
        name = f"{RUN_PREFIX}_{len(CREATED) + 1}_{uuid.uuid4().hex[:4]}"
        template = template_database if migrated else None
        return await _create_database(server_url, name, template=template)

    return create


@pytest.fixture
async def fixture_data(db: asyncpg.Connection):
    """
    The small fixed dataset (``seeds/fixtures/small.json``) loaded as new
    users of its own, so a test may change it freely: ids by key, e.g.
    ``fixture_data["ada"].cycles["active"].id``.
    """
    from seeds.fixtures import load_fixture

    return await load_fixture(db, "small", namespace=uuid.uuid4().hex)


@pytest.fixture
def unused_port() -> int:
    """A local TCP port nothing listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
async def seeded_database(server_url: str, template_database: str) -> str:
    """
    A migrated database of its own (a copy of the template) filled by the
    seed (three users), shared by the tests that only read it. The seed
    command itself is tested in ``test_seed.py``.
    """
    from seeds import seed

    name = f"{RUN_PREFIX}_seeded"
    url = await _create_database(server_url, name, template=template_database)
    report = await seed(url, users=3)
    assert report.users_created == 3
    return url
