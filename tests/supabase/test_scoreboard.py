"""
The scoreboard views on the Supabase-like cluster (tests/test_scoreboard.py
proves the scores): after ``forwards all`` as Supabase's ``postgres`` they
have exactly the contract's columns, read as their caller, pass Supabase's
view lints, and PostgREST's connection (``authenticator`` switching to
``authenticated``) sees only the user's own scores. That no commit point of
the deploy exposes them is tests/supabase/test_fidelity.py's walk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.roles import acting_as
from tests.supabase.cluster import MIGRATOR, SupabaseCluster
from tests.supabase.migrations import migrate
from tests.test_scoreboard import CONTRACT, build_plan, today, view_lint


@pytest.fixture(scope="module")
async def scoreboard_database(supabase: SupabaseCluster) -> AsyncIterator[str]:
    name = await supabase.create_database("scoreboard")
    try:
        migrate(supabase.url(MIGRATOR, name), "forwards", "all")
        yield name
    finally:
        await supabase.drop_database(name)


async def test_the_views_are_the_contracts_and_pass_the_view_lints(
    supabase: SupabaseCluster, scoreboard_database: str
) -> None:
    conn = await asyncpg.connect(supabase.url(MIGRATOR, scoreboard_database))
    try:
        columns: dict[str, list[str]] = {}
        for row in await conn.fetch(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'public' and table_name = any($1::text[]) "
            "order by table_name, ordinal_position",
            list(CONTRACT),
        ):
            columns.setdefault(row["table_name"], []).append(row["column_name"])
        assert columns == CONTRACT
        options = dict(
            await conn.fetch(
                "select relname, reloptions from pg_class "
                "where relnamespace = 'public'::regnamespace and relkind = 'v'"
            )
        )
        assert options == {name: ["security_invoker=true"] for name in CONTRACT}
        assert await view_lint(conn) == []
    finally:
        await conn.close()


async def test_postgrests_connection_sees_only_the_users_own_scores(
    supabase: SupabaseCluster, scoreboard_database: str
) -> None:
    a = await supabase.sign_up(scoreboard_database)
    b = await supabase.sign_up(scoreboard_database)
    owner = await asyncpg.connect(supabase.url(MIGRATOR, scoreboard_database))
    try:
        on = await today(owner)
        plan_a = await build_plan(owner, on, {1: [(4, 3)]}, user_id=a)
        await build_plan(owner, on, {1: [(4, 4)]}, user_id=b)
    finally:
        await owner.close()
    conn = await asyncpg.connect(supabase.url("authenticator", scoreboard_database))
    try:
        async with acting_as(conn, "authenticated", a) as acting:
            weeks = await acting.fetch("select user_id, done from weekly_score")
            cycles = await acting.fetch("select cycle_id from cycle_score")
        assert [tuple(w) for w in weeks] == [(a, 3)]
        assert [c["cycle_id"] for c in cycles] == [plan_a.cycle_id]
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with acting_as(conn, "anon") as acting:
                await acting.fetch("select * from weekly_score")
    finally:
        await conn.close()
