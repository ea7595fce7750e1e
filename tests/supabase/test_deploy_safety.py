"""
Deploying and rolling back on Supabase behave as on plain PostgreSQL
(tests/attacks/test_deploy_lock.py, tests/attacks/test_rollback_guard.py):
an API user holding the deploy lock is named and cannot stall a deploy
(``postgres`` sees other roles' sessions through ``pg_monitor``), and a
rollback that would delete user rows is refused unless opted in, while the
users themselves, Supabase's own ``auth.users``, are never the project's to
drop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from planner_app.migrate import LOCK_KEY
from planner_app.rollback_guard import OPT_IN_VARIABLE
from tests.supabase.cluster import MIGRATOR, SupabaseCluster
from tests.supabase.migrations import migrate
from tests.support import PLANNER_TABLES, run_cli


async def test_on_supabase_a_rollback_deleting_user_rows_is_refused_unless_opted_in(
    supabase: SupabaseCluster, supabase_database: Callable[[], Awaitable[str]]
) -> None:
    name = await supabase_database()
    url = supabase.url(MIGRATOR, name)
    migrate(url, "forwards", "all")
    user_id = await supabase.sign_up(name)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "insert into vision (user_id, title, statement) values ($1, 'T', 'S')",
            user_id,
        )
        records = await conn.fetchval("select count(*) from migration")

        refused = run_cli(
            "migrations",
            "backwards",
            "planner_app",
            "all",
            "--auto_agree",
            database_url=url,
            env={OPT_IN_VARIABLE: ""},
        )

        assert refused.returncode == 1, refused.stdout + refused.stderr
        line = refused.stderr.strip()
        assert line.startswith("error: ") and "\n" not in line, refused.stderr
        assert "public.vision (1 row)" in line
        assert "auth.users" not in line, "Supabase's users are not the project's"
        assert await conn.fetchval("select count(*) from migration") == records
        assert await conn.fetchval("select count(*) from vision") == 1

        allowed = run_cli(
            "migrations",
            "backwards",
            "planner_app",
            "all",
            "--auto_agree",
            database_url=url,
            env={OPT_IN_VARIABLE: "1"},
        )

        assert allowed.returncode == 0, allowed.stdout + allowed.stderr
        for table in PLANNER_TABLES:
            assert await conn.fetchval("select to_regclass($1)", table) is None
        assert await conn.fetchval(
            "select count(*) from auth.users where id = $1", user_id
        )
    finally:
        await conn.close()


async def test_on_supabase_an_api_user_holding_the_deploy_lock_is_named(
    supabase: SupabaseCluster, supabase_database: Callable[[], Awaitable[str]]
) -> None:
    name = await supabase_database()
    url = supabase.url(MIGRATOR, name)
    migrate(url, "forwards", "all")
    migrate(url, "backwards", "planner_app", "1", "--auto_agree")
    # As PostgREST connects: log in as authenticator, become authenticated.
    attacker = await asyncpg.connect(
        supabase.url("authenticator", name),
        server_settings={"application_name": "stall-the-deploy"},
    )
    try:
        await attacker.execute("set role authenticated")
        await attacker.execute("select pg_advisory_lock($1)", LOCK_KEY)
        pid = await attacker.fetchval("select pg_backend_pid()")

        result = run_cli(
            "planner_app", "migrate", "--lock-timeout=2", database_url=url, timeout=30
        )

        assert result.returncode == 1, result.stdout + result.stderr
        line = result.stderr.strip()
        assert line.startswith("error: ") and "\n" not in line, result.stderr
        assert f'pid {pid} (role authenticator, application "stall-the-deploy"' in line
        assert "connected since " in line, "postgres sees it through pg_monitor"
        assert "nothing applied" in line
    finally:
        await attacker.close()
