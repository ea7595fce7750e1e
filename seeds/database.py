"""
The database a seed run writes to: connecting to it, checking that it is
migrated, and removing previously seeded users (``--reset``).
"""

from __future__ import annotations

import importlib
import pkgutil
from urllib.parse import urlsplit

import asyncpg

from seeds import SEED_EMAIL_DOMAIN, SeedError


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or error.__class__.__name__


def _where(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or 5432
    return f"{host}:{port}/{parts.path.lstrip('/') or 'postgres'}"


async def connect(url: str) -> asyncpg.Connection:
    """
    Connect to ``url`` or raise :class:`SeedError` saying what to check.
    """
    try:
        return await asyncpg.connect(url, timeout=10)
    except (
        OSError,
        TimeoutError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
    ) as error:
        raise SeedError(
            f"Cannot connect to the database at {_where(url)} "
            f"({one_line(error)}); check DATABASE_URL and that the server is running"
        ) from error


def planner_migration_ids() -> list[str]:
    """The ids of every planner_app migration shipped with the code."""
    from planner_app import piccolo_migrations

    ids = []
    for module_info in pkgutil.iter_modules(piccolo_migrations.__path__):
        module = importlib.import_module(
            f"{piccolo_migrations.__name__}.{module_info.name}"
        )
        if migration_id := getattr(module, "ID", None):
            ids.append(migration_id)
    return sorted(ids)


async def check_schema(conn: asyncpg.Connection) -> None:
    """
    Raise :class:`SeedError` unless every planner migration has run.
    """
    has_table = await conn.fetchval(
        "select to_regclass('public.migration') is not null"
    )
    applied: set[str] = set()
    if has_table:
        applied = {
            row["name"]
            for row in await conn.fetch(
                "select name from public.migration where app_name = 'planner_app'"
            )
        }
    pending = [i for i in planner_migration_ids() if i not in applied]
    if pending:
        raise SeedError(
            f"The database is not migrated ({len(pending)} planner_app migrations "
            "pending); run `piccolo migrations forwards all` first"
        )


async def remove_seeded(conn: asyncpg.Connection) -> int:
    """
    Delete every seeded user and, through the foreign keys, everything they
    own, plus their audit rows. Other users are never touched. Returns the
    number of users removed. The ids stay in the server (a temporary table),
    however many users there are.
    """
    async with conn.transaction():
        await conn.execute(
            "create temporary table seed_removed (id uuid primary key) on commit drop"
        )
        removed = await conn.fetchval(
            "with gone as (insert into seed_removed select id from auth.users "
            "where email like $1 returning id) select count(*) from gone",
            f"%@{SEED_EMAIL_DOMAIN}",
        )
        # The lock lets a user's deletion cascade through locked weeks.
        await conn.execute(
            "delete from auth.users where id in (select id from seed_removed)"
        )
        try:
            # Seeded history is synthetic: purge it the way docs/security.md
            # describes for the table owner (guard off for this transaction's
            # statement only). A role that does not own audit_log keeps it.
            async with conn.transaction():
                await conn.execute(
                    "alter table public.audit_log disable trigger audit_log_append_only"
                )
                await conn.execute(
                    "delete from public.audit_log "
                    "where user_id in (select id from seed_removed)"
                )
                await conn.execute(
                    "alter table public.audit_log enable trigger audit_log_append_only"
                )
        except asyncpg.PostgresError:
            pass
        await conn.execute("drop table seed_removed")
    return removed
