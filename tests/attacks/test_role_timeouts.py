"""
Issue 19, item 5: the API roles have time limits on plain PostgreSQL too.

Supabase sets ``statement_timeout`` on the roles (3 s for ``anon``, 8 s for
``authenticated``), and PostgREST applies a role's own settings to every
request it runs as that role. Where the compatibility step created the
roles, ``planner_app_0008_api_role_timeouts`` gives them the same, cluster
wide; it never changes a limit it did not set, and its backwards step
removes only what it set (see the migration's SQL). On the Supabase-like
cluster nothing changes: ``tests/supabase/test_fidelity.py`` compares every
role's settings before and after.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from tests.attacks.world import rolled_back
from tests.support import PROJECT_ROOT, connected, run_cli

MIGRATION = (
    PROJECT_ROOT
    / "planner_app"
    / "piccolo_migrations"
    / "planner_app_0008_api_role_timeouts"
)
FORWARDS_SQL = Path(f"{MIGRATION}.forwards.sql").read_text()
BACKWARDS_SQL = Path(f"{MIGRATION}.backwards.sql").read_text()
BEFORE_0008 = "2026-12-04T00:00:08:000000"
SUPABASES = {"anon": "3s", "authenticated": "8s"}
MARK = "planner_app:statement_timeout"

State = dict[str, tuple[str | None, str | None, str | None]]


async def role_state(conn: asyncpg.Connection) -> State:
    """
    For each API role: its cluster-wide ``statement_timeout`` (what PostgREST
    applies), its setting in this database (the migration's record), and
    its comment.
    """
    rows = await conn.fetch(
        """
        select r.rolname,
          (select s from pg_catalog.pg_db_role_setting d, unnest(d.setconfig) s
            where d.setrole = r.oid and d.setdatabase = 0
              and s like 'statement\\_timeout=%') as cluster_wide,
          (select s from pg_catalog.pg_db_role_setting d, unnest(d.setconfig) s
            where d.setrole = r.oid
              and d.setdatabase = (select oid from pg_catalog.pg_database
                                    where datname = current_database())
              and s like 'statement\\_timeout=%') as this_database,
          pg_catalog.shobj_description(r.oid, 'pg_authid') as comment
          from pg_catalog.pg_roles r
         where r.rolname = any($1::text[])
        """,
        list(SUPABASES),
    )
    return {r["rolname"]: (r[1], r[2], r[3]) for r in rows}


async def test_api_roles_have_supabases_statement_timeouts(db) -> None:
    rows = await db.fetch(
        "select rolname, rolconfig from pg_catalog.pg_roles "
        "where rolname = any($1::text[])",
        list(SUPABASES),
    )
    assert {r["rolname"]: r["rolconfig"] for r in rows} == {
        role: [f"statement_timeout={limit}"] for role, limit in SUPABASES.items()
    }


async def _set_all(conn: asyncpg.Connection, start: str) -> None:
    """Put both roles in the starting state ``start`` (this transaction)."""
    for role, limit in SUPABASES.items():
        await conn.execute(f"alter role {role} reset statement_timeout")
        await conn.execute(f"comment on role {role} is null")
        for database in await conn.fetch(
            "select d.datname from pg_catalog.pg_db_role_setting s "
            "join pg_catalog.pg_database d on d.oid = s.setdatabase "
            "where s.setrole = $1::regrole",
            role,
        ):
            await conn.execute(
                f'alter role {role} in database "{database[0]}" reset statement_timeout'
            )
        if start == "supabase's":
            await conn.execute(f"alter role {role} set statement_timeout = '{limit}'")
        elif start == "an operator's":
            await conn.execute(f"alter role {role} set statement_timeout = '60s'")
        elif start == "ours, relied on elsewhere":
            await conn.execute(f"alter role {role} set statement_timeout = '{limit}'")
            await conn.execute(f"comment on role {role} is '{MARK}'")
            await conn.execute(
                f"alter role {role} in database postgres "
                f"set statement_timeout = '{limit}'"
            )


@pytest.mark.parametrize(
    "start", ["none", "supabase's", "an operator's", "ours, relied on elsewhere"]
)
async def test_forwards_sets_only_missing_limits_and_backwards_undoes_exactly_that(
    db: asyncpg.Connection, start: str
) -> None:
    async with rolled_back(db):
        await _set_all(db, start)
        before = await role_state(db)
        await db.execute(FORWARDS_SQL)
        after = await role_state(db)
        await db.execute(FORWARDS_SQL)
        assert await role_state(db) == after, "forwards twice is forwards once"
        await db.execute(BACKWARDS_SQL)
        assert await role_state(db) == before
        await db.execute(BACKWARDS_SQL)
        assert await role_state(db) == before, "backwards twice is backwards once"
    if start == "none":
        assert after == {
            role: (f"statement_timeout={limit}", f"statement_timeout={limit}", MARK)
            for role, limit in SUPABASES.items()
        }
    elif start == "ours, relied on elsewhere":
        assert after == {
            role: (state[0], f"statement_timeout={SUPABASES[role]}", state[2])
            for role, state in before.items()
        }
    else:
        assert after == before


async def test_backwards_keeps_the_limit_another_database_relies_on(
    db: asyncpg.Connection,
) -> None:
    async with rolled_back(db):
        await _set_all(db, "none")
        await db.execute(FORWARDS_SQL)
        for role, limit in SUPABASES.items():
            await db.execute(
                f"alter role {role} in database postgres "
                f"set statement_timeout = '{limit}'"
            )
        await db.execute(BACKWARDS_SQL)
        state = await role_state(db)
    assert state == {
        role: (f"statement_timeout={limit}", None, MARK)
        for role, limit in SUPABASES.items()
    }


async def test_a_migrator_that_may_not_alter_roles_is_told_what_to_run(
    db: asyncpg.Connection,
) -> None:
    async with rolled_back(db):
        await _set_all(db, "none")
        await db.execute("create role lint_probe_migrator nologin")
        await db.execute("grant all on schema public to lint_probe_migrator")
        await db.execute("set local role lint_probe_migrator")
        with pytest.raises(asyncpg.InsufficientPrivilegeError) as refused:
            await db.execute(FORWARDS_SQL)
    assert "the role anon has no statement_timeout" in str(refused.value)
    assert "alter role anon set statement_timeout = '3s'" in refused.value.hint


async def test_migrating_a_database_records_it_and_rolling_back_removes_only_that(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    url = await fresh_database()
    async with connected(url) as conn:
        assert (
            run_cli("migrations", "forwards", "all", database_url=url).returncode == 0
        )
        migrated = await role_state(conn)
        result = run_cli(
            "migrations",
            "backwards",
            "planner_app",
            BEFORE_0008,
            "--auto_agree",
            database_url=url,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        rolled_back_state = await role_state(conn)
        assert (
            run_cli("migrations", "forwards", "all", database_url=url).returncode == 0
        )
        assert await role_state(conn) == migrated
    for role, limit in SUPABASES.items():
        cluster_wide, this_database, comment = migrated[role]
        # Every database of this run relies on the same cluster-wide limit
        # (the template's migration set it, or found Supabase's or ours).
        assert cluster_wide == f"statement_timeout={limit}"
        assert this_database == (cluster_wide if comment == MARK else None)
        assert rolled_back_state[role] == (cluster_wide, None, comment)
