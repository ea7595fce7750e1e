"""
The migration workflow as a user runs it: ``piccolo migrations forwards all``
and ``piccolo migrations backwards planner_app all`` on real databases.
"""

from __future__ import annotations

import asyncpg

from tests.catalog import planner_objects, schema_fingerprint
from tests.support import PLANNER_TABLES, THROWAWAY_ROLE, connected, run_cli

FORWARDS = ("migrations", "forwards", "all")
BACKWARDS = ("migrations", "backwards", "planner_app", "all", "--auto_agree")


async def applied_migrations(conn: asyncpg.Connection) -> list[str]:
    if await conn.fetchval("select to_regclass('public.migration')") is None:
        return []
    rows = await conn.fetch("select name from migration order by name")
    return [row["name"] for row in rows]


async def test_forwards_creates_every_planner_table_with_its_constraints(
    fresh_database,
):
    # A copy of the template, which `forwards all` migrated from empty.
    url = await fresh_database(migrated=True)
    async with connected(url) as conn:
        objects = await planner_objects(conn)
        assert set(PLANNER_TABLES) <= set(objects["tables"])
        constraints = {
            row["conname"]
            for row in await conn.fetch(
                "select conname from pg_constraint c join pg_namespace n "
                "on n.oid = c.connamespace where n.nspname = 'public'"
            )
        }
        for name in (
            "goal_one_per_type",
            "weekly_plan_one_per_week",
            "plan_item_one_per_task_and_week",
            "cycle_no_overlap",
            "cycle_end_date_is_start_plus_83",
            "plan_item_task_same_cycle_fkey",
            "chat_session_context_is_object",
        ):
            assert name in constraints


async def test_round_trip_gives_an_identical_schema(fresh_database):
    # A copy of the template, which `forwards all` migrated from empty.
    url = await fresh_database(migrated=True)
    async with connected(url) as conn:
        roles_before = await conn.fetch("select rolname from pg_roles order by 1")
        first = await schema_fingerprint(conn)

        result = run_cli(*BACKWARDS, database_url=url)
        assert result.returncode == 0, result.stderr
        assert await planner_objects(conn) == {
            "tables": [],
            "functions": [],
            "triggers": [],
        }
        assert await applied_migrations(conn) == []
        # The compatibility step created auth here; rolling back removes it,
        # but never the cluster-wide roles.
        assert await conn.fetchval("select to_regnamespace('auth')") is None
        roles_after = await conn.fetch("select rolname from pg_roles order by 1")
        assert {"anon", "authenticated", "service_role"} <= {r[0] for r in roles_after}
        # Other tests' throwaway roles may come and go meanwhile.
        lasting = {r[0] for r in roles_before if not THROWAWAY_ROLE.fullmatch(r[0])}
        assert lasting <= {r[0] for r in roles_after}

        assert run_cli(*FORWARDS, database_url=url).returncode == 0
        assert await schema_fingerprint(conn) == first


async def test_failed_migration_leaves_nothing_half_applied(fresh_database):
    url = await fresh_database()
    async with connected(url) as conn:
        # A table in the way of the migration that creates the planner tables.
        await conn.execute("create table goal (id integer primary key)")

        result = run_cli(*FORWARDS, database_url=url)
        assert result.returncode != 0
        assert 'relation "goal" already exists' in result.stderr + result.stdout

        # The failing migration created none of its other tables and is not
        # recorded; the migrations before it are complete and recorded.
        for table in ("vision", "cycle", "task", "audit_log"):
            assert await conn.fetchval("select to_regclass($1)", table) is None
        applied = await applied_migrations(conn)
        assert applied == ["2026-11-26T00:00:01:000000", "2026-11-26T00:00:02:000000"]
        assert await conn.fetchval(
            "select to_regprocedure('planner_private.protect(regclass)')"
        )
        assert await conn.fetchval("select to_regclass('auth.users')") is not None

        await conn.execute("drop table goal")
        result = run_cli(*FORWARDS, database_url=url)
        assert result.returncode == 0, result.stderr
        assert set(PLANNER_TABLES) <= set((await planner_objects(conn))["tables"])


async def test_backwards_one_step_then_forwards_restores_the_schema(fresh_database):
    url = await fresh_database(migrated=True)
    async with connected(url) as conn:
        full = await schema_fingerprint(conn)
        applied = await applied_migrations(conn)

        result = run_cli(
            "migrations",
            "backwards",
            "planner_app",
            "1",
            "--auto_agree",
            database_url=url,
        )
        assert result.returncode == 0, result.stderr
        assert await applied_migrations(conn) == applied[:-1]
        assert await schema_fingerprint(conn) != full

        assert run_cli(*FORWARDS, database_url=url).returncode == 0
        assert await schema_fingerprint(conn) == full
