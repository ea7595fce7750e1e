"""
``piccolo planner_app migrate``: concurrent deployers queue on the advisory
lock, each migration commits together with its record or not at all,
``--check`` gates deploys and ``--dry_run`` writes nothing. Every test runs
the real CLI on its own empty database.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections import Counter
from pathlib import Path

from piccolo.apps.migrations.commands.base import BaseMigrationManager

from planner_app import deploy_lock
from planner_app.piccolo_app import APP_CONFIG
from tests.support import PLANNER_TABLES, connected, run_cli, run_piccolo

MIGRATIONS = Path(APP_CONFIG.resolved_migrations_folder_path)
TABLES_MIGRATION = "2026-11-26T00:00:03:000000"
INTEGRITY_MIGRATION = "2026-11-26T00:00:04:000000"
CONCURRENT_DEPLOYERS = 6


def migration_ids() -> list[str]:
    finder = BaseMigrationManager()
    return finder.get_migration_ids(finder.get_migration_modules(str(MIGRATIONS)))


async def recorded(url: str) -> list[str]:
    """The migration names in Piccolo's ``migration`` table, in order."""
    async with connected(url) as conn:
        if not await conn.fetchval("select to_regclass('public.migration')"):
            return []
        rows = await conn.fetch(
            "select name from migration where app_name = 'planner_app' order by id"
        )
        return [row["name"] for row in rows]


async def catalog(url: str) -> set[tuple[str, str]]:
    """Every table, index, constraint, trigger, function and policy of the
    ``public`` and ``auth`` schemas."""
    async with connected(url) as conn:
        rows = await conn.fetch(
            """
            select 'relation', n.nspname || '.' || c.relname
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname in ('public', 'auth')
            union all
            select 'constraint', c.conrelid::regclass::text || '.' || c.conname
            from pg_constraint c join pg_namespace n on n.oid = c.connamespace
            where n.nspname in ('public', 'auth')
            union all
            select 'trigger', t.tgrelid::regclass::text || '.' || t.tgname
            from pg_trigger t where not t.tgisinternal
            union all
            select 'function', n.nspname || '.' || p.proname
            from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname in ('public', 'auth')
            union all
            select 'policy', p.polrelid::regclass::text || '.' || p.polname
            from pg_policy p
            """
        )
        return {tuple(row) for row in rows}


async def run_migrate_concurrently(url: str, count: int) -> list[tuple[int, str, str]]:
    """Start ``count`` ``piccolo planner_app migrate`` processes at once."""
    env = {**os.environ, "DATABASE_URL": url}

    async def one() -> tuple[int, str, str]:
        # Each its own process, from the fork server, all at once.
        result = await asyncio.to_thread(
            run_piccolo, "planner_app", "migrate", env=env, timeout=300
        )
        return result.returncode, result.stdout, result.stderr

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def assert_a_retry_applies_them_all(url: str, ids: list[str]) -> None:
    """Migrating again succeeds and records every migration once."""
    retry = run_cli("planner_app", "migrate", database_url=url)
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert Counter(await recorded(url)) == Counter(ids)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *parts: str):
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), result.stderr
    for part in parts:
        assert part in last, last


async def test_concurrent_deployers_apply_each_migration_exactly_once(
    fresh_database, migrated
):
    url = await fresh_database()

    results = await run_migrate_concurrently(url, CONCURRENT_DEPLOYERS)

    for returncode, out, err in results:
        assert returncode == 0, out + err
    ids = migration_ids()
    names = await recorded(url)
    assert Counter(names) == Counter(ids), "each migration recorded exactly once"
    applied = Counter(
        line.split()[2].rstrip(":")
        for _, out, _ in results
        for line in out.splitlines()
        if line.startswith("Applied planner_app ")
    )
    assert applied == Counter(ids), "each migration applied by exactly one deployer"
    # The schema is complete: the same as the one `forwards all` built.
    assert await catalog(url) == await catalog(migrated)
    assert (
        run_cli("planner_app", "migrate", "--check", database_url=url).returncode == 0
    )


async def test_failing_auto_migration_leaves_neither_its_tables_nor_its_record(
    fresh_database,
):
    url = await fresh_database()
    async with connected(url) as conn:
        # The tables migration creates vision, audit_log, cycle and
        # chat_session before goal, then fails on this table.
        await conn.execute("create table goal (conflict int)")

        result = run_cli("planner_app", "migrate", database_url=url)

        assert_one_line_error(
            result, TABLES_MIGRATION, 'relation "goal" already exists'
        )
        ids = migration_ids()
        earlier = [i for i in ids if i < TABLES_MIGRATION]
        assert earlier, "the auth compatibility migration runs before the tables"
        assert await recorded(url) == earlier
        assert await conn.fetchval("select to_regprocedure('auth.uid()')") is not None
        present = await conn.fetch(
            "select tablename from pg_tables where schemaname = 'public'"
            " and tablename = any($1::text[])",
            list(PLANNER_TABLES),
        )
        assert [row["tablename"] for row in present] == ["goal"]

        await conn.execute("drop table goal")
        await assert_a_retry_applies_them_all(url, ids)


async def test_failing_sql_step_leaves_none_of_its_statements_nor_its_record(
    fresh_database,
):
    url = await fresh_database()
    async with connected(url) as conn:
        # The ownership step adds foreign keys, uniques and indexes, then
        # fails when it creates this function.
        upto = run_cli(
            "migrations", "forwards", "planner_app", TABLES_MIGRATION, database_url=url
        )
        assert upto.returncode == 0, upto.stdout + upto.stderr
        await conn.execute(
            "create function planner_private.task_derive() returns trigger "
            "language plpgsql as $$ begin return new; end $$"
        )

        result = run_cli("planner_app", "migrate", database_url=url)

        assert_one_line_error(result, INTEGRITY_MIGRATION, "task_derive")
        ids = migration_ids()
        assert await recorded(url) == [i for i in ids if i < INTEGRITY_MIGRATION]
        constraints = await conn.fetch(
            "select conname from pg_constraint where conname = any($1::text[])",
            ["vision_user_id_fkey", "cycle_no_overlap", "goal_cycle_same_owner_fkey"],
        )
        assert constraints == [], "statements before the failing one were kept"
        assert (
            await conn.fetchval(
                "select to_regclass('public.task_goal_id_cycle_id_user_id_idx')"
            )
            is None
        )

        await conn.execute("drop function planner_private.task_derive()")
        await assert_a_retry_applies_them_all(url, ids)


async def test_migration_blocked_by_a_busy_table_gives_up_after_lock_timeout(
    fresh_database,
):
    url = await fresh_database()
    upto = run_cli(
        "migrations", "forwards", "planner_app", TABLES_MIGRATION, database_url=url
    )
    assert upto.returncode == 0, upto.stdout + upto.stderr
    before = await catalog(url)
    async with connected(url) as app:
        # An application transaction writing to vision holds ROW EXCLUSIVE,
        # which the integrity migration's foreign keys must wait for.
        transaction = app.transaction()
        await transaction.start()
        await app.execute("lock table vision in row exclusive mode")

        result = run_cli(
            "planner_app", "migrate", "--lock_timeout=1", database_url=url, timeout=60
        )

        await transaction.rollback()
    assert_one_line_error(result, INTEGRITY_MIGRATION, "lock timeout")
    assert INTEGRITY_MIGRATION not in await recorded(url)
    assert await catalog(url) == before


async def test_check_lists_pending_migrations_and_applies_nothing(fresh_database):
    url = await fresh_database()

    result = run_cli("planner_app", "migrate", "--check", database_url=url)

    assert_one_line_error(result, f"{len(migration_ids())} pending migration(s)")
    for migration_id in migration_ids():
        assert f"Pending planner_app {migration_id}" in result.stdout
    assert await recorded(url) == []
    assert not {name for kind, name in await catalog(url) if kind == "function"}


async def test_check_passes_on_a_database_migrated_by_forwards(migrated):
    result = run_cli("planner_app", "migrate", "--check", database_url=migrated)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No pending migrations" in result.stdout


async def test_dry_run_prints_the_sql_and_writes_nothing(fresh_database):
    url = await fresh_database()
    before = await catalog(url)

    result = run_cli("planner_app", "migrate", "--dry_run", database_url=url)

    assert result.returncode == 0, result.stdout + result.stderr
    assert 'CREATE TABLE "vision"' in result.stdout
    for sql_file in sorted(MIGRATIONS.glob("*.forwards.sql")):
        assert sql_file.read_text().strip() in result.stdout, sql_file.name
    assert await recorded(url) == []
    # Not even Piccolo's bookkeeping table: nothing at all was written.
    assert await catalog(url) == before


def test_unreachable_database_is_a_one_line_error(unused_port):
    url = f"postgresql://postgres@127.0.0.1:{unused_port}/postgres"

    result = run_cli("planner_app", "migrate", database_url=url, timeout=120)

    assert_one_line_error(result, "cannot connect to the database", "DATABASE_URL")


def test_check_and_dry_run_together_are_refused(database_url):
    result = run_cli("planner_app", "migrate", "--check", "--dry_run")

    assert_one_line_error(result, "only one of")


# The deploy lock (planner_app/deploy_lock.py): any session can take its key.


async def test_holders_hidden_from_the_deployer_are_named_without_details(
    fresh_database,
):
    url = await fresh_database()
    async with connected(url) as holder, connected(url) as deployer:
        await holder.execute("set application_name = 'holder'")
        await holder.execute("select pg_advisory_lock($1)", deploy_lock.LOCK_KEY)
        pid = await holder.fetchval("select pg_backend_pid()")
        login = await holder.fetchval("select session_user")
        async with deployer.transaction():
            # A role without pg_read_all_stats sees another role's session
            # in pg_stat_activity without its times or state.
            await deployer.execute("set local role authenticated")
            found = await deploy_lock.holders(deployer)

        assert [h.pid for h in found] == [pid]
        assert not found[0].visible
        text = deploy_lock.busy_message(2, found, "nothing applied")
        assert f'pid {pid} (role {login}, application "holder", since when is ' in text
        assert "pg_read_all_stats" in text
        assert f"pg_terminate_backend({pid})" in text


async def test_taking_the_deploy_lock_leaves_the_transactions_lock_timeout(
    fresh_database,
):
    async with connected(await fresh_database()) as conn, conn.transaction():
        await conn.execute("set local lock_timeout = '7s'")

        await deploy_lock.take(conn, 3)

        assert await conn.fetchval("show lock_timeout") == "7s"
        held = await conn.fetchval(
            "select count(*) from pg_locks where locktype = 'advisory' "
            "and pid = pg_backend_pid() and objid = $1::oid",
            deploy_lock.LOCK_KEY & 0xFFFFFFFF,
        )
        assert held == 1


def test_a_deploy_lock_timeout_below_one_second_is_refused(database_url):
    result = run_cli("planner_app", "migrate", "--deploy-lock-timeout=0")

    assert_one_line_error(result, "--deploy-lock-timeout must be")
