"""
A user cannot stall deploys: any session may take the deploy lock's key
(advisory locks are open to every role), so ``piccolo planner_app migrate``
waits for it a bounded time, then gives up with one ``error:`` line naming
the holder (pid, role, application, since when), a non-zero exit and
nothing applied (planner_app/deploy_lock.py; the Supabase-like variant is in
tests/supabase/test_deploy_safety.py).
"""

from __future__ import annotations

from planner_app.migrate import LOCK_KEY
from tests.supabase.migrations import migration_ids
from tests.support import connected, run_cli

LAST_MIGRATION = migration_ids()[-1]
# Far longer than the bound asked for: a deploy that waits until this
# subprocess timeout fails the test.
STALLED = 30


async def recorded(conn) -> list[str]:
    if not await conn.fetchval("select to_regclass('public.migration')"):
        return []
    return [r["name"] for r in await conn.fetch("select name from migration")]


async def test_a_user_holding_the_deploy_lock_cannot_stall_a_deploy(fresh_database):
    url = await fresh_database(migrated=True)
    rolled_back = run_cli(
        "migrations", "backwards", "planner_app", "1", "--auto_agree", database_url=url
    )
    assert rolled_back.returncode == 0, rolled_back.stdout + rolled_back.stderr
    async with connected(url) as attacker, connected(url) as conn:
        await attacker.execute("set application_name = 'stall-the-deploy'")
        await attacker.execute("set role authenticated")
        await attacker.execute("select pg_advisory_lock($1)", LOCK_KEY)
        pid = await attacker.fetchval("select pg_backend_pid()")
        login = await attacker.fetchval("select session_user")
        before = await recorded(conn)

        result = run_cli(
            "planner_app",
            "migrate",
            "--lock-timeout=2",
            database_url=url,
            timeout=STALLED,
        )

        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        line = lines[0]
        assert f"pid {pid} (role {login}," in line
        assert 'application "stall-the-deploy"' in line
        assert "connected since " in line and "idle since " in line
        assert "more than 2 s" in line and "nothing applied" in line
        assert f"pg_terminate_backend({pid})" in line
        assert await recorded(conn) == before
        assert LAST_MIGRATION not in before

        await attacker.execute("select pg_advisory_unlock($1)", LOCK_KEY)
        retry = run_cli("planner_app", "migrate", database_url=url, timeout=STALLED)
        assert retry.returncode == 0, retry.stdout + retry.stderr
        assert LAST_MIGRATION in await recorded(conn)


async def test_the_deploy_lock_wait_has_its_own_bound(fresh_database):
    url = await fresh_database()
    async with connected(url) as attacker, connected(url) as conn:
        await attacker.execute("select pg_advisory_lock_shared($1)", LOCK_KEY)

        result = run_cli(
            "planner_app",
            "migrate",
            "--deploy-lock-timeout=1",
            database_url=url,
            timeout=STALLED,
        )

        assert result.returncode == 1, result.stdout + result.stderr
        assert "more than 1 s" in result.stderr
        # Not even Piccolo's bookkeeping table was created.
        assert await conn.fetchval("select to_regclass('public.migration')") is None
