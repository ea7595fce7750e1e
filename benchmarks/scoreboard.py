"""
What one user's scoreboard costs under row-level security, at 10,000 users.

Run by hand (it is not a test), from the project root:

    .venv/bin/python benchmarks/scoreboard.py

It creates its own throwaway database on the server of ``DATABASE_URL`` (or
the embedded PostgreSQL), migrates it with the real CLI, loads seeded-like
data with set-based SQL (every user: a cycle past its midpoint and locked,
1+1 goals with two tasks each, 12 weekly plans, 48 plan items with varied
quotas and completions, some over-completed), prints the figures and drops
the database.

The query is the scoreboard of one cycle, as ``planner_app.services`` reads
it: the cycle's ``cycle_score`` row joined with its 12 ``weekly_score`` rows.
It is timed as ``authenticated`` under row-level security (no user filter:
the policies are the filter) against the same query as the table owner with
an explicit ``user_id`` filter. Targets: at most 1.5x, and index scans only
(no sequential scan of ``plan_item`` or ``weekly_plan``) in both plans.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from planner_app.database import (  # noqa: E402
    embedded_server_url,
    validate_database_url,
    with_database,
)

TARGET = 1.5

LOAD_SQL = """
insert into auth.users (id, email)
select gen_random_uuid(), 'user' || n || '@example.test'
  from generate_series(1, {users}) as n;

insert into cycle (user_id, start_date, status)
select id, {start}::date, 'active' from auth.users;

insert into goal (user_id, cycle_id, goal_type, title)
select c.user_id, c.id, t.goal_type, initcap(t.goal_type) || ' goal'
  from cycle c cross join (values ('professional'), ('personal')) as t(goal_type);

insert into task (user_id, goal_id, title, default_quota)
select g.user_id, g.id, g.goal_type || ' task ' || n, 3
  from goal g cross join generate_series(1, 2) as n;

insert into weekly_plan (user_id, cycle_id, week_no)
select c.user_id, c.id, w from cycle c cross join generate_series(1, 12) as w;

-- Quotas 0-5; the weeks before the current one done at 0-120 % of them.
insert into plan_item (user_id, weekly_plan_id, task_id, quota, completed_count)
select user_id, weekly_plan_id, task_id, quota,
       case when week_no < {current_week}
            then round(quota * random() * 1.2)::int else 0 end
  from (select w.user_id, w.id as weekly_plan_id, w.week_no, t.id as task_id,
               (random() * 5)::int as quota
          from weekly_plan w join task t on t.cycle_id = w.cycle_id) planned;

update cycle set lock_enforced = true;

analyze;
"""

# The scoreboard of one cycle, as planner_app.services.scoreboard reads it.
SCOREBOARD = """
with c as materialized (
  select * from public.cycle_score where cycle_id = $1 {owner_filter}
)
select c.*, w.weekly_plan_id, w.week_no, w.week_start_date, w.planned, w.done,
       w.score, w.target_met, w.locked
  from c
  left join public.weekly_score w
    on w.cycle_id = c.cycle_id and w.user_id = c.user_id
 order by w.week_no
"""
SCOREBOARD_RLS = SCOREBOARD.format(owner_filter="")
SCOREBOARD_OWNER = SCOREBOARD.format(owner_filter="and user_id = $2")

BENCH_FUNCTION = """
-- Security invoker: called as authenticated, the query runs under RLS.
create function bench_scoreboard(n int, p_cycle uuid, p_owner uuid) returns float
  language plpgsql as $fn$
declare
  started timestamptz := clock_timestamp();
  found_rows int;
begin
  for i in 1..n loop
    if p_owner is null then
      select count(*) into found_rows from ({rls}) s;
    else
      select count(*) into found_rows from ({owner}) s;
    end if;
  end loop;
  return extract(epoch from clock_timestamp() - started) * 1e6 / n;
end
$fn$;
"""


def server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return with_database(validate_database_url(url), "postgres")
    return embedded_server_url("postgres")


def migrate(url: str) -> None:
    piccolo = str(Path(sys.executable).with_name("piccolo"))
    result = subprocess.run(
        [piccolo, "migrations", "forwards", "all"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"migrating the benchmark database failed:\n{result.stderr}")


async def as_user(
    conn: asyncpg.Connection, user_id, *, unpinned_uid: bool = False
) -> asyncpg.transaction.Transaction:
    """
    A transaction acting as ``user_id`` the way PostgREST does. With
    ``unpinned_uid``, ``auth.uid()`` first loses its ``SET search_path``
    (for this transaction only): Supabase's own ``auth.uid()`` has none,
    while the one this project creates on plain PostgreSQL pins it, which
    makes every call switch the search path.
    """
    transaction = conn.transaction()
    await transaction.start()
    if unpinned_uid:
        await conn.execute("alter function auth.uid() reset search_path")
    await conn.execute(
        "select set_config('request.jwt.claims', $1, true)",
        json.dumps({"sub": str(user_id), "role": "authenticated"}),
    )
    await conn.execute("set local role authenticated")
    return transaction


async def query_micros(
    conn: asyncpg.Connection, sql: str, args: tuple, repeat: int
) -> float:
    statement = await conn.prepare(sql)
    await statement.fetch(*args)
    started = time.perf_counter()
    for _ in range(repeat):
        await statement.fetch(*args)
    return (time.perf_counter() - started) * 1e6 / repeat


async def timings(
    conn: asyncpg.Connection, sample: list, repeat: int, *, in_server: bool
) -> dict[str, float]:
    """
    Microseconds per scoreboard, medians over the sampled users, measured
    one user at a time in turn: as the owner with an explicit user_id, as
    authenticated under RLS, and the same with Supabase's unpinned
    ``auth.uid()``. ``in_server`` times a loop inside the server (no
    network); otherwise the client's round trips are timed.
    """

    async def once(args: tuple, owner: bool) -> float:
        if in_server:
            owner_arg = args[1] if owner else None
            return await conn.fetchval(
                "select bench_scoreboard($1, $2, $3)", repeat, args[0], owner_arg
            )
        sql = SCOREBOARD_OWNER if owner else SCOREBOARD_RLS
        return await query_micros(conn, sql, args if owner else args[:1], repeat)

    found: dict[str, list[float]] = {"owner": [], "rls": [], "rls_unpinned": []}
    for user_id, cycle_id in sample:
        found["owner"].append(await once((cycle_id, user_id), owner=True))
        for label, unpinned in (("rls", False), ("rls_unpinned", True)):
            transaction = await as_user(conn, user_id, unpinned_uid=unpinned)
            try:
                found[label].append(await once((cycle_id, user_id), owner=False))
            finally:
                await transaction.rollback()
    return {label: statistics.median(values) for label, values in found.items()}


def report(label: str, figures: dict[str, float]) -> None:
    owner = figures["owner"]
    print(f"    {label}: owner with explicit user_id {owner:.0f} us")
    for key, what in (
        ("rls", "authenticated under RLS"),
        ("rls_unpinned", "same, auth.uid() as Supabase defines it"),
    ):
        ratio = figures[key] / owner
        verdict = "met" if ratio <= TARGET else "MISSED"
        print(
            f"      {what}: {figures[key]:.0f} us -> {ratio:.2f}x "
            f"(target <= {TARGET}x: {verdict})"
        )


async def explain(conn: asyncpg.Connection, sql: str, *args) -> str:
    rows = await conn.fetch(f"explain (analyze, costs off, timing off) {sql}", *args)
    return "\n".join(r[0] for r in rows)


def check_plan(label: str, plan: str) -> None:
    scans = [
        line.strip()
        for line in plan.splitlines()
        if "Seq Scan on plan_item" in line or "Seq Scan on weekly_plan" in line
    ]
    verdict = "index scans only: met" if not scans else f"MISSED: {scans}"
    print(f"    plan {label} ({verdict}):")
    print("\n".join("      " + line for line in plan.splitlines()))


async def run(users: int, sample_users: int, repeat: int, keep: bool) -> None:
    server = server_url()
    name = f"planner_bench_scoreboard_{os.getpid()}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'create database "{name}"')
    url = with_database(server, name)
    try:
        migrate(url)
        conn = await asyncpg.connect(url)
        version = await conn.fetchval("show server_version")
        this_week = await conn.fetchval("select date_trunc('week', current_date)::date")
        start = await conn.fetchval("select $1::date - 63", this_week)
        print(f"PostgreSQL {version}; {users:,} users; cycles in week 10 ({start})")

        started = time.perf_counter()
        await conn.execute(
            LOAD_SQL.format(users=users, start=f"'{start}'", current_week=10)
        )
        counts = {
            t: await conn.fetchval(f"select count(*) from {t}")
            for t in ("cycle", "weekly_plan", "plan_item")
        }
        print(f"loaded in {time.perf_counter() - started:.1f}s: {counts}")
        spread = await conn.fetchrow(
            "select min(average_score), "
            "percentile_cont(0.5) within group (order by average_score) as median, "
            "max(average_score), avg(weeks_target_met) from cycle_score"
        )
        print(
            "cycle scores: min {:.2f}, median {:.2f}, max {:.2f}; "
            "{:.1f} of 10 weeks meet the target on average".format(*spread)
        )
        await conn.execute(
            BENCH_FUNCTION.replace("{rls}", SCOREBOARD_RLS)
            .replace("{owner}", SCOREBOARD_OWNER)
            .replace("$1", "p_cycle")
            .replace("$2", "p_owner")
        )

        sample = [
            (r["user_id"], r["id"])
            for r in await conn.fetch(
                "select user_id, id from cycle order by random() limit $1",
                sample_users,
            )
        ]
        rows = len(await conn.fetch(SCOREBOARD_OWNER, sample[0][1], sample[0][0]))
        print(
            f"\none user's scoreboard ({rows} rows: the cycle and its weeks), "
            f"median over {len(sample)} users"
        )
        report("client", await timings(conn, sample, repeat, in_server=False))
        report("in server", await timings(conn, sample, repeat * 10, in_server=True))

        user_id, cycle_id = sample[0]
        check_plan("as owner", await explain(conn, SCOREBOARD_OWNER, cycle_id, user_id))
        transaction = await as_user(conn, user_id)
        try:
            check_plan(
                "as authenticated (RLS)", await explain(conn, SCOREBOARD_RLS, cycle_id)
            )
        finally:
            await transaction.rollback()
        await conn.close()
    finally:
        if keep:
            print(f"\nkept database {name}")
        else:
            await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--sample-users", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    asyncio.run(run(args.users, args.sample_users, args.repeat, args.keep))


if __name__ == "__main__":
    main()
