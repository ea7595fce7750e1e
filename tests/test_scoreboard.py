"""
The 12-week scoreboard in the database (docs/product.md, "The scoreboard"):
the views ``weekly_score`` and ``cycle_score`` of migration
``planner_app_0012_scoreboard``.

A week's score is ``done / planned`` with every item's completions counted
up to its quota; a week with nothing planned has none; 85 % meets the
target; weeks 7-12 of an enforced cycle are flagged locked. A cycle's score
is the mean over its weeks started by today (the database's
``current_date``, so every cycle here is built relative to it). The views
read as their caller, so a user sees only their own rows, and no API role
can write them.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from planner_app.rules import LOCKED_WEEKS, WEEKLY_TARGET_PERCENT, WEEKS_PER_CYCLE
from planner_app.views import VIEWS
from tests.roles import API_ROLES, acting_as, rolled_back
from tests.support import create_user

WEEKLY_SCORE_COLUMNS = [
    "user_id",
    "cycle_id",
    "weekly_plan_id",
    "week_no",
    "week_start_date",
    "planned",
    "done",
    "score",
    "target_met",
    "locked",
]
CYCLE_SCORE_COLUMNS = [
    "user_id",
    "cycle_id",
    "start_date",
    "end_date",
    "current_week",
    "weeks_elapsed",
    "average_score",
    "weeks_target_met",
    "lock_enforced",
]
CONTRACT = {"weekly_score": WEEKLY_SCORE_COLUMNS, "cycle_score": CYCLE_SCORE_COLUMNS}

Items = list[tuple[int, int]]
"""A week's plan items as ``(quota, completed_count)``."""


@dataclass
class Plan:
    """A user with one cycle whose weeks hold the given items."""

    user_id: uuid.UUID
    cycle_id: uuid.UUID
    start: date


async def today(conn: asyncpg.Connection) -> date:
    return await conn.fetchval("select current_date")


async def build_plan(
    conn: asyncpg.Connection,
    start: date,
    weeks: dict[int, Items],
    *,
    lock: bool = False,
    user_id: uuid.UUID | None = None,
) -> Plan:
    """A user (new unless ``user_id``) whose cycle starts on ``start``, with a
    weekly plan for each week of ``weeks`` holding its items (one task per
    item), then the lock."""
    user_id = user_id or await create_user(conn)
    cycle_id = await conn.fetchval(
        "insert into cycle (user_id, start_date) values ($1, $2) returning id",
        user_id,
        start,
    )
    goal_id = await conn.fetchval(
        "insert into goal (user_id, cycle_id, goal_type, title) "
        "values ($1, $2, 'professional', 'Goal') returning id",
        user_id,
        cycle_id,
    )
    tasks = max((len(items) for items in weeks.values()), default=0)
    task_ids = [
        r["id"]
        for r in await conn.fetch(
            "insert into task (user_id, goal_id, title) "
            "select $1, $2, 'Task ' || n from generate_series(1, $3) n "
            "order by n returning id",
            user_id,
            goal_id,
            tasks,
        )
    ]
    for week_no, items in weeks.items():
        week_id = await conn.fetchval(
            "insert into weekly_plan (user_id, cycle_id, week_no) "
            "values ($1, $2, $3) returning id",
            user_id,
            cycle_id,
            week_no,
        )
        await conn.executemany(
            "insert into plan_item "
            "(user_id, weekly_plan_id, task_id, quota, completed_count) "
            "values ($1, $2, $3, $4, $5)",
            [
                (user_id, week_id, task_ids[i], quota, done)
                for i, (quota, done) in enumerate(items)
            ],
        )
    if lock:
        await conn.execute(
            "update cycle set lock_enforced = true where id = $1", cycle_id
        )
    return Plan(user_id, cycle_id, start)


async def weekly_scores(conn: asyncpg.Connection, plan: Plan) -> dict[int, dict]:
    rows = await conn.fetch(
        "select * from weekly_score where cycle_id = $1 order by week_no",
        plan.cycle_id,
    )
    return {row["week_no"]: dict(row) for row in rows}


async def cycle_score(conn: asyncpg.Connection, plan: Plan) -> dict:
    return dict(
        await conn.fetchrow(
            "select * from cycle_score where cycle_id = $1", plan.cycle_id
        )
    )


# -- The plain-Python statement of the scores ---------------------------------


def expected_week(items: Items) -> tuple[int, int, float | None, bool | None]:
    """``(planned, done, score, target_met)`` of a week."""
    planned = sum(quota for quota, _ in items)
    done = sum(min(completed, quota) for quota, completed in items)
    if planned == 0:
        return planned, done, None, None
    return planned, done, done / planned, done * 100 >= planned * WEEKLY_TARGET_PERCENT


def expected_cycle(start: date, on: date, weeks: dict[int, Items]) -> dict:
    """What ``cycle_score`` says of a cycle starting on ``start``, on ``on``."""
    days = (on - start).days
    elapsed = 0 if days < 0 else min(days // 7 + 1, WEEKS_PER_CYCLE)
    current = days // 7 + 1 if 0 <= days < 7 * WEEKS_PER_CYCLE else None
    scored = [
        expected_week(items)
        for week_no, items in weeks.items()
        if week_no <= elapsed and expected_week(items)[2] is not None
    ]
    return {
        "current_week": current,
        "weeks_elapsed": elapsed,
        "average_score": (
            sum(s for _, _, s, _ in scored) / len(scored) if scored else None
        ),
        "weeks_target_met": sum(1 for *_, met in scored if met),
    }


def assert_cycle_matches(found: dict, expected: dict) -> None:
    average = expected.pop("average_score")
    assert {k: found[k] for k in expected} == expected
    if average is None:
        assert found["average_score"] is None
    else:
        # PostgreSQL may add the scores up in another order.
        assert math.isclose(found["average_score"], average, rel_tol=1e-12)


# -- The views and their columns ----------------------------------------------


async def test_the_views_have_exactly_the_contracts_columns(
    db: asyncpg.Connection,
) -> None:
    found = await db.fetch(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'public' and table_name = any($1::text[]) "
        "order by table_name, ordinal_position",
        list(CONTRACT),
    )
    columns: dict[str, list[str]] = {}
    for row in found:
        columns.setdefault(row["table_name"], []).append(row["column_name"])
    assert columns == CONTRACT
    assert {view.name: list(view.columns) for view in VIEWS} == CONTRACT


async def test_the_views_read_as_their_caller(db: asyncpg.Connection) -> None:
    options = dict(
        await db.fetch(
            "select relname, reloptions from pg_class "
            "where relnamespace = 'public'::regnamespace and relkind = 'v'"
        )
    )
    assert options == {name: ["security_invoker=true"] for name in CONTRACT}


@pytest.mark.parametrize("view", list(CONTRACT))
async def test_the_api_roles_may_only_read_the_views(
    db: asyncpg.Connection, view: str
) -> None:
    granted = {
        role: [
            privilege
            for privilege in (
                "SELECT",
                "INSERT",
                "UPDATE",
                "DELETE",
                "TRUNCATE",
                "REFERENCES",
                "TRIGGER",
            )
            if await db.fetchval(
                "select has_table_privilege($1, $2, $3)", role, view, privilege
            )
        ]
        for role in (*API_ROLES, "public")
    }
    # anon reads no table, so no view of them either.
    assert granted == {
        "anon": [],
        "authenticated": ["SELECT"],
        "service_role": ["SELECT"],
        "public": [],
    }


WRITES = {
    "weekly_score": [
        "insert into weekly_score (planned, done) values (1, 1)",
        "update weekly_score set done = planned",
        "delete from weekly_score",
        "truncate weekly_score",
    ],
    "cycle_score": [
        "insert into cycle_score (average_score) values (1)",
        "update cycle_score set average_score = 1",
        "delete from cycle_score",
        "truncate cycle_score",
    ],
}


@pytest.mark.parametrize("role", API_ROLES)
async def test_no_api_role_can_write_the_views(
    db: asyncpg.Connection, role: str
) -> None:
    plan = await build_plan(db, await today(db), {1: [(3, 1)]})
    before = (await weekly_scores(db, plan), await cycle_score(db, plan))
    for statements in WRITES.values():
        for statement in statements:
            with pytest.raises(asyncpg.PostgresError) as refused:
                async with acting_as(db, role, plan.user_id) as conn:
                    await conn.execute(statement)
            assert refused.value.sqlstate in ("42501", "42809", "55000"), statement
    assert (await weekly_scores(db, plan), await cycle_score(db, plan)) == before


async def test_one_row_per_weekly_plan_and_per_cycle(db: asyncpg.Connection) -> None:
    plan = await build_plan(db, await today(db), {1: [], 2: [(1, 0)], 5: [(2, 2)]})
    assert sorted(await weekly_scores(db, plan)) == [1, 2, 5]
    assert (
        await db.fetchval(
            "select count(*) from cycle_score where user_id = $1", plan.user_id
        )
        == 1
    )
    assert (
        await db.fetchval(
            "select count(*) from weekly_score w join weekly_plan p "
            "on p.id = w.weekly_plan_id where w.user_id = $1 "
            "and (p.cycle_id, p.week_no, p.week_start_date) "
            "= (w.cycle_id, w.week_no, w.week_start_date)",
            plan.user_id,
        )
        == 3
    )


# -- The scores ---------------------------------------------------------------

ITEMS = st.lists(st.tuples(st.integers(0, 12), st.integers(0, 15)), max_size=4)
WEEKS = st.dictionaries(st.integers(1, WEEKS_PER_CYCLE), ITEMS, max_size=12)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(weeks=WEEKS, offset=st.integers(-100, 20), lock=st.booleans())
async def test_the_scores_are_the_plain_computation(
    db: asyncpg.Connection, weeks: dict[int, Items], offset: int, lock: bool
) -> None:
    async with rolled_back(db):
        on = await today(db)
        start = on - timedelta(days=offset)
        note(f"cycle started {offset} days before {on}")
        plan = await build_plan(db, start, weeks, lock=lock)
        found = await weekly_scores(db, plan)
        assert sorted(found) == sorted(weeks)
        for week_no, items in weeks.items():
            planned, done, score, met = expected_week(items)
            row = found[week_no]
            assert (row["planned"], row["done"], row["score"], row["target_met"]) == (
                planned,
                done,
                score,
                met,
            )
            assert row["locked"] is (lock and week_no in LOCKED_WEEKS)
            assert row["week_start_date"] == start + timedelta(weeks=week_no - 1)
            assert (row["user_id"], row["cycle_id"]) == (plan.user_id, plan.cycle_id)
        cycle = await cycle_score(db, plan)
        assert_cycle_matches(cycle, expected_cycle(start, on, weeks))
        assert (cycle["start_date"], cycle["end_date"]) == (
            start,
            start + timedelta(days=83),
        )
        assert cycle["lock_enforced"] is lock
        # What planner_app/views.py says of every column holds.
        for view, rows in (("weekly_score", found.values()), ("cycle_score", [cycle])):
            spec = next(v for v in VIEWS if v.name == view)
            for row in rows:
                for name, stated in spec.columns.items():
                    value = row[name]
                    assert value is not None or stated.nullable, (view, name)
                    if value is not None and stated.minimum is not None:
                        assert value >= stated.minimum, (view, name, value)
                    if value is not None and stated.maximum is not None:
                        assert value <= stated.maximum, (view, name, value)


async def test_a_week_with_nothing_planned_has_no_score_and_no_weight(
    db: asyncpg.Connection,
) -> None:
    plan = await build_plan(
        db,
        await today(db) - timedelta(weeks=4),
        {1: [], 2: [(0, 0), (0, 3)], 3: [(4, 1)]},
    )
    weeks = await weekly_scores(db, plan)
    for week_no in (1, 2):
        row = weeks[week_no]
        assert (row["planned"], row["score"], row["target_met"]) == (0, None, None)
    assert weeks[2]["done"] == 0  # completions without a quota count for nothing
    cycle = await cycle_score(db, plan)
    assert (cycle["average_score"], cycle["weeks_target_met"]) == (0.25, 0)


async def test_over_completion_never_lifts_a_week_above_its_plan(
    db: asyncpg.Connection,
) -> None:
    plan = await build_plan(
        db, await today(db), {1: [(3, 10), (3, 0)], 2: [(2, 5), (2, 2)]}
    )
    weeks = await weekly_scores(db, plan)
    assert (weeks[1]["planned"], weeks[1]["done"], weeks[1]["score"]) == (6, 3, 0.5)
    assert (weeks[2]["done"], weeks[2]["score"], weeks[2]["target_met"]) == (
        4,
        1.0,
        True,
    )


async def test_the_target_is_met_from_exactly_85_percent(
    db: asyncpg.Connection,
) -> None:
    assert WEEKLY_TARGET_PERCENT == 85
    target = WEEKLY_TARGET_PERCENT
    plan = await build_plan(
        db,
        await today(db),
        {1: [(100, target)], 2: [(100, target - 1)], 3: [(20, 17)], 4: [(20, 16)]},
    )
    weeks = await weekly_scores(db, plan)
    assert [weeks[n]["target_met"] for n in (1, 2, 3, 4)] == [True, False, True, False]
    assert weeks[3]["score"] == 0.85


async def test_only_weeks_7_to_12_of_an_enforced_cycle_are_flagged_locked(
    db: asyncpg.Connection,
) -> None:
    every_week = {n: [(1, 0)] for n in range(1, WEEKS_PER_CYCLE + 1)}
    start = await today(db) - timedelta(weeks=8)
    locked = await build_plan(db, start, every_week, lock=True)
    unlocked = await build_plan(db, start, every_week)
    flagged = {
        n for n, row in (await weekly_scores(db, locked)).items() if row["locked"]
    }
    assert flagged == set(LOCKED_WEEKS) == set(range(7, 13))
    assert not any(r["locked"] for r in (await weekly_scores(db, unlocked)).values())
    # The lock's one SQL statement of the weeks says the same.
    lockable = {
        n
        for n in range(1, WEEKS_PER_CYCLE + 1)
        if await db.fetchval("select planner_private.week_lockable($1)", n)
    }
    assert lockable == flagged


async def test_past_current_and_future_cycles_are_read_against_today(
    db: asyncpg.Connection,
) -> None:
    on = await today(db)
    weeks = {n: [(4, n % 5)] for n in range(1, WEEKS_PER_CYCLE + 1)}
    cases = {
        "past": (on - timedelta(days=200), None, 12),
        "ended yesterday": (on - timedelta(days=84), None, 12),
        "last day": (on - timedelta(days=83), 12, 12),
        "current, week 3": (on - timedelta(days=15), 3, 3),
        "week 2 from its first day": (on - timedelta(days=7), 2, 2),
        "first day": (on, 1, 1),
        "future": (on + timedelta(days=1), None, 0),
    }
    for case, (start, current, elapsed) in cases.items():
        plan = await build_plan(db, start, weeks)
        found = await cycle_score(db, plan)
        assert (found["current_week"], found["weeks_elapsed"]) == (
            current,
            elapsed,
        ), case
        assert_cycle_matches(found, expected_cycle(start, on, weeks))
    future = await cycle_score(db, plan)
    assert (future["average_score"], future["weeks_target_met"]) == (None, 0)


# -- Row-level security -------------------------------------------------------


async def test_a_user_sees_only_their_own_scores(db: asyncpg.Connection) -> None:
    on = await today(db)
    a = await build_plan(db, on, {1: [(2, 2)], 2: [(2, 1)]})
    b = await build_plan(db, on, {1: [(5, 5)]})
    for view in CONTRACT:
        async with acting_as(db, "authenticated", a.user_id) as conn:
            owners = {r["user_id"] for r in await conn.fetch(f"select * from {view}")}
            theirs = await conn.fetch(
                f"select * from {view} where cycle_id = $1", b.cycle_id
            )
        assert owners == {a.user_id} and theirs == [], view
        async with acting_as(db, "service_role") as conn:
            both = await conn.fetch(
                f"select distinct user_id from {view} where user_id = any($1::uuid[])",
                [a.user_id, b.user_id],
            )
        assert {r["user_id"] for r in both} == {a.user_id, b.user_id}, view
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with acting_as(db, "anon") as conn:
                await conn.fetch(f"select * from {view}")


async def test_a_users_scores_never_count_another_users_items(
    db: asyncpg.Connection,
) -> None:
    on = await today(db)
    a = await build_plan(db, on, {1: [(4, 1)]})
    await build_plan(db, on, {1: [(4, 4)]})
    async with acting_as(db, "authenticated", a.user_id) as conn:
        rows = await conn.fetch("select planned, done from weekly_score")
        cycles = await conn.fetch("select average_score from cycle_score")
    assert [tuple(r) for r in rows] == [(4, 1)]
    assert [r["average_score"] for r in cycles] == [0.25]


# -- Supabase's view lints ------------------------------------------------------

# splinter's security_definer_view: a view of an exposed schema that reads as
# its owner (PostgreSQL 15+ without security_invoker) bypasses the caller's
# row-level security.
SECURITY_DEFINER_VIEWS = """
select c.relname
  from pg_catalog.pg_class c
 where c.relnamespace = 'public'::regnamespace
   and c.relkind = 'v'
   and not (lower(coalesce(c.reloptions::text, '{}'))::text[]
            && array['security_invoker=1', 'security_invoker=true',
                     'security_invoker=yes', 'security_invoker=on'])
   and not exists (select 1 from pg_catalog.pg_depend d
                    where d.objid = c.oid and d.deptype = 'e')
 order by 1
"""

# splinter's auth_users_exposed: a view of public reading auth.users that an
# API role may select; and materialized_view_in_api: a materialized view of
# public an API role may select (it has no row-level security).
EXPOSED_VIEWS = """
select c.relname
  from pg_catalog.pg_class c
 where c.relnamespace = 'public'::regnamespace
   and c.relkind in ('v', 'm')
   and (has_table_privilege('anon', c.oid, 'SELECT')
        or has_table_privilege('authenticated', c.oid, 'SELECT'))
   and (c.relkind = 'm'
        or exists (select 1 from pg_catalog.pg_rewrite r
                     join pg_catalog.pg_depend d on d.objid = r.oid
                    where r.ev_class = c.oid
                      and d.refobjid = 'auth.users'::regclass))
 order by 1
"""


async def view_lint(conn: asyncpg.Connection) -> list[str]:
    return [
        f"{r['relname']}: security definer view"
        for r in await conn.fetch(SECURITY_DEFINER_VIEWS)
    ] + [
        f"{r['relname']}: exposes auth.users or is a materialized view"
        for r in await conn.fetch(EXPOSED_VIEWS)
    ]


async def test_supabases_view_lints_are_clean(db: asyncpg.Connection) -> None:
    assert await view_lint(db) == []


@pytest.mark.parametrize(
    "breakage",
    [
        "alter view public.weekly_score reset (security_invoker)",
        "create view public.lint_probe as select id, email from auth.users;"
        "grant select on public.lint_probe to authenticated",
        "create materialized view public.lint_probe as select 1 as one;"
        "grant select on public.lint_probe to authenticated",
    ],
    ids=["security definer", "auth.users exposed", "materialized view"],
)
async def test_the_view_lints_catch_what_they_are_about(
    db: asyncpg.Connection, breakage: str
) -> None:
    async with rolled_back(db):
        await db.execute(breakage)
        problems = await view_lint(db)
    assert problems and all(
        ("weekly_score" in p or "lint_probe" in p) for p in problems
    ), problems


# -- The seed -------------------------------------------------------------------


async def test_the_seed_gives_a_realistic_spread_of_scores(
    seeded_database: str,
) -> None:
    conn = await asyncpg.connect(seeded_database)
    try:
        finished = [
            r["score"]
            for r in await conn.fetch(
                "select w.score from weekly_score w "
                "join cycle_score c on c.cycle_id = w.cycle_id "
                # Weeks before the current one, and every week of a past cycle.
                "where w.week_no < c.weeks_elapsed "
                "or (c.current_week is null and c.weeks_elapsed = 12)"
            )
        ]
        averages = [
            r["average_score"]
            for r in await conn.fetch(
                "select average_score from cycle_score where weeks_elapsed > 1"
            )
        ]
    finally:
        await conn.close()
    assert len(finished) >= 10 and None not in finished
    met = [score for score in finished if score >= WEEKLY_TARGET_PERCENT / 100]
    # Some weeks meet the target and most do not all; bad weeks exist.
    assert 0 < len(met) < len(finished)
    assert min(finished) < 0.5 and len(set(finished)) > len(finished) // 2
    assert all(0.3 < average < 0.95 for average in averages), averages
