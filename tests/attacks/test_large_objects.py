"""
Issue 19, item 8, on a path the budgets do not see: large objects.

PostgreSQL grants EXECUTE on its server-side large-object functions
(``lo_create``, ``lo_from_bytea``, ``lowrite``, ``lo_put``, ...) to PUBLIC,
and the client protocol's large-object calls are calls of the same
functions. Before ``planner_app_0013_large_objects`` a user on a direct
connection as ``authenticated`` stored 20 MB in one statement, outside every
budget, in an object owned by the shared role ``authenticated`` (so every
other user could read, overwrite and unlink it); ``anon`` could too. The
migration revokes them from PUBLIC where the migration role may (plain
PostgreSQL), records what it revoked, and its backwards step grants exactly
that back. On the Supabase-like cluster the migration role may not, and
nothing of PostgreSQL's changes (``tests/supabase/test_fidelity.py``
compares what Supabase owns before and after).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from tests.attacks.world import acting, refused
from tests.support import connected, create_user, run_cli

BEFORE_0013 = "2026-12-04T00:00:12:000000"
THE_MIGRATION = "2026-12-07T00:00:13:000000"
API_ROLES = ("anon", "authenticated", "service_role")

LARGE_OBJECT_FUNCTIONS = """
    select p.oid::regprocedure::text as signature
      from pg_proc p
     where p.pronamespace = 'pg_catalog'::regnamespace
       and (p.proname like 'lo\\_%' or p.proname in ('loread', 'lowrite'))
     order by 1
"""

# What a user needs to store data in a large object, and to read another's.
WRITES = (
    "select lo_from_bytea(0, '\\x00'::bytea)",
    "select lo_create(0)",
    "select lo_creat(-1)",
)


async def may_run(conn: asyncpg.Connection, role: str) -> list[str]:
    """The large-object functions ``role`` may run."""
    return [
        row["signature"]
        for row in await conn.fetch(LARGE_OBJECT_FUNCTIONS)
        if await conn.fetchval(
            "select has_function_privilege($1, $2::regprocedure, 'EXECUTE')",
            role,
            row["signature"],
        )
    ]


@pytest.mark.parametrize("role", API_ROLES)
async def test_no_api_role_may_run_a_large_object_function(
    db: asyncpg.Connection, role: str
) -> None:
    assert await db.fetchval("select count(*) from (" + LARGE_OBJECT_FUNCTIONS + ") f")
    assert await may_run(db, role) == []
    assert await may_run(db, "public") == []


@pytest.mark.parametrize("statement", WRITES)
async def test_a_user_cannot_store_a_large_object(
    db: asyncpg.Connection, statement: str
) -> None:
    a = await create_user(db)
    before = await db.fetchval("select count(*) from pg_largeobject_metadata")
    for role, user in (("authenticated", a), ("anon", None)):
        async with acting(db, role, user):
            error = await refused(db, statement)
        assert isinstance(error, asyncpg.InsufficientPrivilegeError)
    assert await db.fetchval("select count(*) from pg_largeobject_metadata") == before


async def test_before_0013_a_user_stores_data_outside_the_budgets(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    url = await fresh_database()
    result = run_cli(
        "migrations", "forwards", "planner_app", BEFORE_0013, database_url=url
    )
    assert result.returncode == 0, result.stdout + result.stderr
    async with connected(url) as conn:
        a = await create_user(conn)
        async with acting(conn, "authenticated", a):
            stored = await conn.fetchval(
                "select lo_from_bytea(0, convert_to(repeat('x', 100000), 'UTF8'))"
            )
            owner = await conn.fetchval(
                "select lomowner::regrole::text from pg_largeobject_metadata"
                " where oid = $1",
                stored,
            )
            size = await conn.fetchval("select length(lo_get($1))", stored)
        assert (owner, size) == ("authenticated", 100000)
        assert (
            await conn.fetchval(
                "select count(*) from planner_private.budget_usage where user_id = $1",
                a,
            )
            == 0
        )


async def test_rolling_back_0013_grants_back_exactly_what_it_revoked(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    url = await fresh_database()
    async with connected(url) as conn:
        result = run_cli(
            "migrations", "forwards", "planner_app", BEFORE_0013, database_url=url
        )
        assert result.returncode == 0, result.stdout + result.stderr
        public_before = await may_run(conn, "public")
        assert public_before  # PostgreSQL's default: PUBLIC runs them

        result = run_cli("migrations", "forwards", "all", database_url=url)
        assert result.returncode == 0, result.stdout + result.stderr
        revoked = await conn.fetch(
            "select signature from planner_private.revoked_large_object_functions"
        )
        assert len(revoked) == len(public_before)
        assert await may_run(conn, "public") == []

        result = run_cli(
            "migrations",
            "backwards",
            "planner_app",
            THE_MIGRATION,
            "--auto_agree",
            database_url=url,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert await may_run(conn, "public") == public_before
        assert (
            await conn.fetchval(
                "select to_regclass('planner_private.revoked_large_object_functions')"
            )
            is None
        )

        result = run_cli("migrations", "forwards", "all", database_url=url)
        assert result.returncode == 0, result.stdout + result.stderr
        assert await may_run(conn, "public") == []
