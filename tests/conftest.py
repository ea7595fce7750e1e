"""
Every test run gets its own throwaway databases on a real PostgreSQL server:
the server of ``DATABASE_URL`` when it is set, otherwise the project's
embedded PostgreSQL. A template database is migrated once per run with the
real CLI (``piccolo migrations forwards all``); the run's database, and any
other migrated database a test asks for, is a copy of it (``CREATE DATABASE
... TEMPLATE``). Tests of migrating itself start from empty databases. All
are dropped when the run ends.

The suite runs in parallel (pytest-xdist: ``-n auto --dist loadfile`` in
``pyproject.toml``; ``-n 0`` runs it in one process). Each worker process
runs whole test modules (:mod:`tests.parallel`, so a module's fixtures are
built once) against databases of its own, named after the run and the
worker; the template is the run's, built by the first worker that needs it
while the others wait (an advisory lock on the server). Other session
fixtures are a worker's own: its seeded database, the attack suite's users,
the compiled ``schema/`` (``schema/dist-<worker>/``); the Supabase-like
cluster is built by the one worker that runs ``tests/supabase/``. The
connection a test gets from ``db`` is the previous test's, reset to a new
session's state, or a new one (:class:`tests.support.SessionReuse`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import pytest

from planner_app.database import (
    embedded_server_url,
    validate_database_url,
    with_database,
)
from tests.support import Owner, SessionReuse, build_owner, connected, run_cli


@dataclass(frozen=True)
class Run:
    """
    The names of a test run's databases. ``run_id`` is shared by the
    controller and the workers of one run; ``prefix`` is this process's.
    """

    engine: str
    server_url: str
    run_id: str
    prefix: str

    @property
    def template(self) -> str:
        return f"{self.run_id}_template"

    @property
    def main(self) -> str:
        return f"{self.prefix}_main"

    def new_name(self, what: str) -> str:
        return f"{self.prefix}_{what}_{uuid.uuid4().hex[:6]}"


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return validate_database_url(url)
    return embedded_server_url("postgres")


def _run_of(config: pytest.Config) -> Run:
    return config.planner_run  # type: ignore[attr-defined]


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
        await conn.execute(f'create database "{name}"{copy_of}')
        await conn.execute(f'alter database "{name}" set synchronous_commit = off')
    return with_database(server_url, name)


async def _drop_run_databases(server_url: str, run_id: str) -> None:
    """
    Drop every database of the run (every worker's and the template), all
    at once: each DROP DATABASE waits for a checkpoint, and drops waiting at
    the same time share one (70 databases: about 1 s at once, 9-10 s ten at
    a time). The drops take at most the connections the server has free,
    keeping a few for others.
    """
    maintenance = with_database(server_url, "postgres")
    async with connected(maintenance) as conn:
        names = await conn.fetch(
            "select datname from pg_database where starts_with(datname, $1)",
            f"{run_id}_",
        )
        free = await conn.fetchval(
            "select current_setting('max_connections')::int"
            " - (select count(*) from pg_stat_activity)"
        )
    slots = asyncio.Semaphore(max(1, min(len(names), free - 5)))

    async def drop(name: str) -> None:
        async with slots, connected(maintenance) as conn:
            await conn.execute(f'drop database if exists "{name}" with (force)')

    await asyncio.gather(*(drop(row["datname"]) for row in names))


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if _is_worker(config):
        # A pytest-xdist worker: the controller's engine, server and run.
        shared = config.workerinput  # type: ignore[attr-defined]
        run_id = shared["planner_run_id"]
        run = Run(
            engine=shared["planner_engine"],
            server_url=shared["planner_server_url"],
            run_id=run_id,
            prefix=f"{run_id}_{shared['workerid']}",
        )
    else:
        run_id = f"planner_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        run = Run(
            engine="DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded",
            server_url=_server_url(),
            run_id=run_id,
            prefix=run_id,
        )
    config.planner_run = run  # type: ignore[attr-defined]
    config.planner_engine = run.engine  # type: ignore[attr-defined]
    # Everything from here on (Piccolo's engine, CLI subprocesses) talks to
    # this process's throwaway database.
    os.environ["PLANNER_TEST_ENGINE"] = run.engine
    os.environ["DATABASE_URL"] = with_database(run.server_url, run.main)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist, before a worker starts: the run it belongs to."""
    run = _run_of(node.config)
    node.workerinput["planner_engine"] = run.engine
    node.workerinput["planner_server_url"] = run.server_url
    node.workerinput["planner_run_id"] = run.run_id


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile``: whole modules per worker, by test index."""
    if config.getoption("dist") == "loadfile":
        from tests.parallel import ModuleScheduling

        return ModuleScheduling(config, log)
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """
    ``-n auto``: one worker per CPU and one more, since a test spends much
    of its time waiting (for the server, a subprocess, a deadline the API
    must keep), and the extra worker's CPU fills that time (unless
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` says otherwise).
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return (os.cpu_count() or 1) + 1


def pytest_unconfigure(config: pytest.Config) -> None:
    run = getattr(config, "planner_run", None)
    # The controller (or the only process), once every worker has finished.
    if run is not None and not _is_worker(config):
        asyncio.run(_drop_run_databases(run.server_url, run.run_id))


def pytest_report_header(config: pytest.Config) -> str:
    run = _run_of(config)
    return f"planner databases: {run.run_id}_* on the {run.engine} server"


@pytest.fixture(scope="session")
def run(pytestconfig: pytest.Config) -> Run:
    """The names of this run's databases."""
    return _run_of(pytestconfig)


@pytest.fixture(scope="session")
def server_url(run: Run) -> str:
    """The URL of the server's maintenance database."""
    return with_database(run.server_url, "postgres")


@pytest.fixture(scope="session")
async def template_database(server_url: str, run: Run) -> str:
    """
    The name of a database migrated from empty by the real CLI (``piccolo
    migrations forwards all``) that is never connected to again: every
    migrated database of the run is a copy of it, and the tests of what
    ``forwards`` builds read such a copy. One per run: the first worker to
    get here builds it, the others wait for the lock and find it built
    (no connections allowed is the sign it is complete).
    """
    name = run.template
    async with connected(server_url) as conn:
        await conn.execute("select pg_advisory_lock(hashtext($1))", name)
        try:
            complete = await conn.fetchval(
                "select not datallowconn from pg_database where datname = $1", name
            )
            if not complete:
                await conn.execute(f'drop database if exists "{name}"')
                url = await _create_database(server_url, name)
                result = run_cli("migrations", "forwards", "all", database_url=url)
                assert result.returncode == 0, result.stderr + result.stdout
                # A copy needs a template nobody is connected to.
                await conn.execute(
                    f'alter database "{name}" with allow_connections false'
                )
        finally:
            await conn.execute("select pg_advisory_unlock(hashtext($1))", name)
    return name


@pytest.fixture(scope="session")
async def database_url(server_url: str, template_database: str, run: Run) -> str:
    """
    The URL of this process's migrated database (``DATABASE_URL`` of the
    run, or of the worker).
    """
    url = await _create_database(server_url, run.main, template=template_database)
    assert url == os.environ["DATABASE_URL"]
    return url


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    """This run's database, migrated (a copy of the template)."""
    return database_url


@pytest.fixture(scope="session")
async def sessions() -> AsyncIterator[SessionReuse]:
    """This process's connections reused from test to test, reset between."""
    reuse = SessionReuse()
    yield reuse
    await reuse.close()


@pytest.fixture
async def db(
    migrated: str, sessions: SessionReuse
) -> AsyncIterator[asyncpg.Connection]:
    """
    A connection (as the table owner) to this run's migrated database, in
    the state of a new session (:class:`tests.support.SessionReuse`).
    """
    async with sessions.connection(migrated) as conn:
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
    server_url: str, template_database: str, run: Run
) -> Callable[..., Awaitable[str]]:
    """
    A factory of databases on the test server, dropped when the run ends:
    ``await fresh_database()`` is empty, ``await fresh_database(migrated=True)``
    is a copy of the migrated template. Returns the new database's URL.
    """

    async def create(*, migrated: bool = False) -> str:
        name = run.new_name("migrated" if migrated else "empty")
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
async def seeded_database(server_url: str, template_database: str, run: Run) -> str:
    """
    A migrated database of its own (a copy of the template) filled by the
    seed (three users), shared by the tests that only read it. The seed
    command itself is tested in ``test_seed.py``.
    """
    from seeds import seed

    name = run.new_name("seeded")
    url = await _create_database(server_url, name, template=template_database)
    report = await seed(url, users=3)
    assert report.users_created == 3
    return url
