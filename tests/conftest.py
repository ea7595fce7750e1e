"""
Every test run gets its own throwaway database on a real PostgreSQL server:
the server of ``DATABASE_URL`` when it is set, otherwise the project's
embedded PostgreSQL. The database is migrated with the real CLI
(``piccolo migrations forwards all``) and dropped when the run ends.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from planner_app.database import (
    database_name,
    embedded_server_url,
    validate_database_url,
    with_database,
)
from tests.support import run_cli

RUN_PREFIX = f"planner_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return validate_database_url(url)
    return embedded_server_url("postgres")


async def _create_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()


async def _drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await conn.close()


def pytest_configure(config: pytest.Config) -> None:
    engine = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded"
    server_url = _server_url()
    test_db = f"{RUN_PREFIX}_main"
    asyncio.run(_create_database(server_url, test_db))
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
        asyncio.run(_drop_database(server_url, config.planner_test_db))


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
def database_url() -> str:
    """The URL of this run's migrated database."""
    return os.environ["DATABASE_URL"]


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    """Apply every migration to this run's database with the real CLI."""
    result = run_cli("migrations", "forwards", "all", database_url=database_url)
    assert result.returncode == 0, result.stderr + result.stdout
    return database_url


@pytest.fixture
async def db(migrated: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection (as the table owner) to this run's migrated database."""
    conn = await asyncpg.connect(migrated)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def fresh_database(
    server_url: str,
) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """
    A factory of empty databases on the test server; each is dropped after
    the test. Returns the new database's URL.
    """
    created: list[str] = []

    async def create() -> str:
        name = f"{RUN_PREFIX}_{len(created) + 1}_{uuid.uuid4().hex[:4]}"
        await _create_database(server_url, name)
        created.append(name)
        return with_database(server_url, name)

    yield create
    for name in created:
        await _drop_database(server_url, name)


@pytest.fixture(scope="session")
def test_database_name(database_url: str) -> str:
    return database_name(database_url)


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
async def seeded_database(server_url: str) -> AsyncIterator[str]:
    """
    A database of its own, migrated and filled by the real CLI
    (``piccolo migrations forwards all`` then ``piccolo planner_app seed``),
    shared by the tests that only read it.
    """
    name = f"{RUN_PREFIX}_seeded"
    await _create_database(server_url, name)
    url = with_database(server_url, name)
    try:
        for command in (
            ("migrations", "forwards", "all"),
            ("planner_app", "seed", "--users=3"),
        ):
            result = run_cli(*command, database_url=url)
            assert result.returncode == 0, result.stderr
        yield url
    finally:
        await _drop_database(server_url, name)
