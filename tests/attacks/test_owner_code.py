"""
Issue 19, item 1: no caller's code runs as the owner.

As A (``authenticated``, with ``request.jwt.claims`` set, as PostgREST
does), every relation and type name a function of the project could resolve
is shadowed in ``pg_temp`` by a trap that calls A's spy (:mod:`.traps`).
Then every trigger of the migrated schema is fired by a statement of A's on
A's own rows (cascades and the lock switch included; the guards of
``audit_log``, which no API role may touch, by the owner), and every
function A may execute is called. Nothing of A's may run as anyone but A:
not inside a security definer function, not inside a cascade the owner
performs. The triggers and functions come from the catalog, so a new one is
covered, and one that no statement below fires fails the test.

On the schema before ``planner_app_0007_function_search_path`` the same
attack runs A's spy as the owner, which then lifts locks and reads B's
vision: :func:`test_the_attack_runs_as_the_owner_before_0007`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.attacks.owner_attack import attack, world
from tests.attacks.traps import project_functions, project_triggers, set_traps
from tests.attacks.world import become
from tests.support import connected, run_cli

BEFORE_0007 = "2026-12-04T00:00:07:000000"


async def test_no_callers_code_runs_inside_any_trigger_or_function(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    url = await fresh_database(migrated=True)
    a, b, _ = await world(url)
    async with connected(url) as conn:
        triggers = await project_triggers(conn)
        definers = [f for f in await project_functions(conn) if f["prosecdef"]]
        outcome = await attack(conn, a, b)
    traps = outcome.traps
    # The traps are laid, and every statement did what it does.
    assert {"uuid", "text", "date", "jsonb"} <= set(traps.types)
    assert {"cycle", "weekly_plan", "users"} <= set(traps.relations)
    assert outcome.unexpected == []
    assert outcome.api_may_run_owner_statements == []
    # Every trigger fired; every security definer function ran as a fired
    # trigger's function or was called.
    unfired = sorted(t["tgname"] for t in triggers if t["tgname"] not in traps.fired)
    assert unfired == [], "no statement of firings() fires these triggers"
    reached = {t["function"] for t in triggers} | set(outcome.called)
    assert [f["name"] for f in definers if f["name"] not in reached] == []
    assert "planner_private.may_lift_lock()" in outcome.called
    # Nothing of A's ran as anyone but A. (A's traps may run inside
    # auth.uid() when A's own policies call it: the compatibility step keeps
    # Supabase's definition, with no search_path of its own, so its casts
    # resolve in A's statement as A's; that is A's code with A's rights.)
    assert [
        spied
        for spied in traps.spied
        if spied.role != "authenticated" or spied.may_lift_lock or spied.read
    ] == []


async def test_the_traps_catch_a_name_resolved_in_pg_temp(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    """The control: a security definer trigger that declares ``uuid`` with
    ``search_path = ''`` runs A's spy as the owner, who reads B's vision."""
    url = await fresh_database(migrated=True)
    a, b, statement = await world(url)
    async with connected(url) as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(
                """
                create function planner_private.unpinned() returns trigger
                  language plpgsql security definer set search_path = ''
                as $fn$ declare x uuid; begin return null; end $fn$;
                create trigger unpinned after update on public.vision
                  for each statement execute function planner_private.unpinned();
                """
            )
            await become(conn, "authenticated", a.user_id)
            traps = await set_traps(conn, b.user_id)
            with traps.listening():
                await conn.execute(
                    f"update public.vision set title = 'x' where id = '{a.vision_id}'"
                )
                await traps.settle()
            recorded = await traps.recorded()
        finally:
            await transaction.rollback()
    owner_calls = [s for s in traps.spied if s.role != "authenticated"]
    assert owner_calls and all(s.may_lift_lock for s in owner_calls)
    assert all(s.read == statement for s in owner_calls)
    assert ("type uuid", owner_calls[0].role, True, owner_calls[0].read) in recorded


async def test_the_attack_runs_as_the_owner_before_0007(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    url = await fresh_database(migrated=True)
    result = run_cli(
        "migrations",
        "backwards",
        "planner_app",
        BEFORE_0007,
        "--auto_agree",
        database_url=url,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    a, b, statement = await world(url)
    async with connected(url) as conn:
        outcome = await attack(conn, a, b)
    as_owner = [s for s in outcome.traps.spied if s.role != "authenticated"]
    assert as_owner, "the attack of issue 19 was not seen"
    assert {s.trap for s in as_owner} >= {"type uuid", "type text"}
    assert all(s.may_lift_lock for s in as_owner)
    assert {s.read for s in as_owner} == {statement}
