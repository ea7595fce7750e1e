"""
Issue 19, item 1, on the Supabase-like cluster: the attack of
:mod:`tests.attacks.test_owner_code`, where ``postgres`` (who owns the
planner's functions and tables) is not a superuser and the claim readers
``auth.uid()`` / ``auth.jwt()`` are Supabase's own, which set no
``search_path``.

A's traps may then run inside Supabase's ``auth.uid()`` when A's own
policies call it, as A: that is A's own code with A's own rights. Nothing
may run as anyone else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.attacks.owner_attack import attack, world
from tests.attacks.traps import project_triggers
from tests.supabase.cluster import MIGRATOR, SUPERUSER, SupabaseCluster
from tests.supabase.migrations import migrate
from tests.support import connected


async def test_no_callers_code_runs_as_the_owner_on_supabase(
    supabase: SupabaseCluster, supabase_database: Callable[[], Awaitable[str]]
) -> None:
    name = await supabase_database()
    migrate(supabase.url(MIGRATOR, name), "forwards", "all")
    a, b, _ = await world(supabase.url(SUPERUSER, name))
    async with connected(supabase.url(MIGRATOR, name)) as conn:
        triggers = await project_triggers(conn)
        outcome = await attack(conn, a, b)
    assert outcome.unexpected == []
    assert outcome.api_may_run_owner_statements == []
    unfired = sorted(
        t["tgname"] for t in triggers if t["tgname"] not in outcome.traps.fired
    )
    assert unfired == []
    assert [
        spied
        for spied in outcome.traps.spied
        if spied.role != "authenticated" or spied.may_lift_lock or spied.read
    ] == []
