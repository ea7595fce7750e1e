"""
Piccolo's engine for the planner (``piccolo_conf.DB``): a ``PostgresEngine``
that finds its database when it first connects, not when it is created.

Piccolo's ``PostgresEngine`` connects as soon as it is created (to check
the server's version), so importing ``piccolo_conf.py`` used to start the
embedded PostgreSQL, even for ``--help``. :class:`PlannerEngine` resolves
the database (``DATABASE_URL``, or the embedded server, started then) on
the first connection, or when something reads :attr:`PlannerEngine.config`
(``piccolo sql_shell run`` does). Importing ``piccolo_conf`` touches
nothing.

Piccolo's CLI answers any failing command with its usage dump. For its
``migrations`` commands (the README's first command) a database that cannot
be reached ends the process instead with the project's one line, ``error:
cannot connect to the database: ...; check DATABASE_URL``
(:class:`CannotConnect`).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import Any

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from planner_app.database import resolve_database_url, validate_database_url

APP_NAME = "planner_app"

_CREATES_MIGRATION_TABLE = re.compile(r'\s*CREATE TABLE (IF NOT EXISTS )?"migration" ')

BOOKKEEPING_PRIVATE = """
do $bookkeeping$
declare
  api_role text;
begin
  alter table public.migration enable row level security;
  revoke all on table public.migration from public;
  revoke all on sequence public.migration_id_seq from public;
  foreach api_role in array array['anon', 'authenticated', 'service_role'] loop
    if exists (select 1 from pg_catalog.pg_roles where rolname = api_role) then
      execute format('revoke all on table public.migration from %I', api_role);
      execute format('revoke all on sequence public.migration_id_seq from %I',
                     api_role);
    end if;
  end loop;
end
$bookkeeping$
"""
"""What ``planner_app_0001_auth_compat`` does to Piccolo's bookkeeping, for
the moment Piccolo's CLI creates it, before any migration has run."""


class ConnectionHeld(RuntimeError):
    """A connection was asked for before the planner's command started."""


class CannotConnect(SystemExit):
    """
    Piccolo's ``migrations`` command cannot reach the database. A
    ``SystemExit``, which Piccolo's CLI lets through (it catches every
    ``Exception`` and prints its usage dump): the interpreter prints the
    message on stderr and exits with status 1.
    """

    def __init__(self, error: BaseException) -> None:
        reason = " ".join(str(error).split()) or type(error).__name__
        super().__init__(
            f"error: cannot connect to the database: {reason}; check DATABASE_URL"
        )


# What asyncpg raises when it cannot open a connection.
_CONNECT_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def runs_app_command(argv: list[str] | None = None) -> bool:
    """
    Whether this process is Piccolo's CLI about to run one of the planner's
    commands (``piccolo planner_app <command>``).
    """
    argv = sys.argv if argv is None else argv
    return argv[1:2] == [APP_NAME]


def runs_piccolo_migrations(argv: list[str] | None = None) -> bool:
    """
    Whether this process is Piccolo's CLI running one of its ``migrations``
    commands (``piccolo migrations forwards all``, ``backwards``, ``check``).
    Piccolo runs no check of its own before those, so nothing but the
    command connects.
    """
    argv = sys.argv if argv is None else argv
    return argv[1:2] == ["migrations"]


class PlannerEngine(PostgresEngine):
    """
    A ``PostgresEngine`` whose database is resolved on first use.

    Before Piccolo's CLI runs an app command it connects to warn about
    pending migrations, and creates its ``migration`` table to count them.
    The planner's commands check migrations themselves, say so in one line
    and must write nothing when they refuse, and ``--help`` must not start a
    server. So when the process is ``piccolo planner_app <command>`` (the
    same test of ``sys.argv`` Piccolo's CLI makes to skip that check for its
    own ``migrations`` commands) the engine is *held*: asking for a
    connection raises :class:`ConnectionHeld`, which Piccolo's check
    swallows, until the command starts and calls :meth:`release`. Every
    other use (Piccolo's own commands, the tests, application code) connects
    normally.

    :param database_url:
        Returns the URL to connect to; called once, on first use.
    """

    def __init__(
        self,
        database_url: Callable[[], str] = resolve_database_url,
        held: bool | None = None,
        **kwargs: Any,
    ) -> None:
        self._database_url = database_url
        self._config: dict[str, Any] | None = None
        self._held = runs_app_command() if held is None else held
        # Fail at once, in one line, on a URL that cannot work; resolving
        # (which may start a server) waits for the first connection.
        if url := os.environ.get("DATABASE_URL"):
            validate_database_url(url)
        super().__init__(config={}, **kwargs)

    @property
    def config(self) -> dict[str, Any]:  # type: ignore[override]
        """asyncpg's connection arguments: ``{"dsn": <url>}``."""
        if self._config is None:
            self._config = {"dsn": self._database_url()}
        return self._config

    @config.setter
    def config(self, value: dict[str, Any]) -> None:
        # PostgresEngine.__init__ assigns the (empty) config it was given.
        self._config = dict(value) if value else None

    @property
    def database_url(self) -> str:
        """The URL this engine connects to (resolved on first use)."""
        return self.config["dsn"]

    @property
    def held(self) -> bool:
        return self._held

    def release(self) -> None:
        """Let connections through: the command has started."""
        self._held = False

    def _check_released(self) -> None:
        if self._held:
            raise ConnectionHeld(
                "the planner's commands connect when they run, not before"
            )

    async def check_version(self) -> None:
        """
        Piccolo checks the server version (>= 10) when the engine is created,
        which needs a connection; the planner needs PostgreSQL 15 or later
        and checks nothing before its first query.
        """

    async def run_ddl(self, ddl: str, in_pool: bool = True):  # type: ignore[no-untyped-def]
        """
        Piccolo's CLI creates its ``migration`` table in a transaction of its
        own before the first migration runs; on Supabase, default privileges
        would hand it to the API roles until the first migration commits
        (or for good, if that migration fails). Created through this engine,
        it is private in the transaction that creates it.
        """
        if not _CREATES_MIGRATION_TABLE.match(ddl):
            return await super().run_ddl(ddl, in_pool=in_pool)
        async with self.transaction():
            response = await super().run_ddl(ddl, in_pool=in_pool)
            await super().run_ddl(BOOKKEEPING_PRIVATE, in_pool=in_pool)
        return response

    async def get_new_connection(self):  # type: ignore[no-untyped-def]
        self._check_released()
        try:
            return await super().get_new_connection()
        except _CONNECT_ERRORS as error:
            if runs_piccolo_migrations():
                raise CannotConnect(error) from error
            raise

    async def start_connection_pool(self, **kwargs: Any) -> None:
        self._check_released()
        try:
            await super().start_connection_pool(**kwargs)
        except _CONNECT_ERRORS as error:
            if runs_piccolo_migrations():
                raise CannotConnect(error) from error
            raise
