"""
What the triggers and row-level security cost, at 10,000 users.

Run by hand (it is not a test), from the project root:

    .venv/bin/python benchmarks/triggers_rls.py

It creates its own throwaway database on the server of ``DATABASE_URL`` (or
the embedded PostgreSQL), migrates it with the real CLI, loads seeded-like
data with set-based SQL, prints the figures and drops the database.

(a) Single-row UPDATE throughput on ``plan_item`` with all its triggers
    versus a trigger-free copy of the same table (same columns, indexes,
    checks and storage parameters), in the same run. Targets: triggers cost
    at most 20% of the updates per second with synchronous commit, and at
    most 2.5x inside the server (no commit; wall time and, when the server
    runs on this machine, the backend's own CPU time, which other load on
    the machine disturbs less).
(b) "This week's plan items" as an ``authenticated`` user under row-level
    security versus the same query as the table owner with an explicit
    ``where user_id = ...``. Target: at most 1.3x, index scans in both plans.
(c) The audit rows the updates of (a) wrote: their average size
    (``pg_column_size`` of the row) and how much ``audit_log`` and its
    indexes grew per audited UPDATE. Target: at most 400 bytes a row.
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

# Seeded-like shape of one user: a vision, an active 12-week cycle in its
# sixth week, 1+1 goals with two tasks each, 12 weekly plans, a plan item per
# task and week (48), one chat session with four messages.
LOAD_SQL = """
insert into auth.users (id, email)
select gen_random_uuid(), 'user' || n || '@example.test'
  from generate_series(1, {users}) as n;

insert into vision (user_id, title, statement)
select id, 'Vision of ' || email, 'A calm and focused life.' from auth.users;

insert into cycle (user_id, vision_id, start_date, status)
select v.user_id, v.id, {start}::date, 'active' from vision v;

insert into goal (user_id, cycle_id, goal_type, title)
select c.user_id, c.id, t.goal_type, initcap(t.goal_type) || ' goal'
  from cycle c cross join (values ('professional'), ('personal')) as t(goal_type);

insert into task (user_id, goal_id, title, default_quota)
select g.user_id, g.id, g.goal_type || ' task ' || n, 3
  from goal g cross join generate_series(1, 2) as n;

insert into weekly_plan (user_id, cycle_id, week_no)
select c.user_id, c.id, w from cycle c cross join generate_series(1, 12) as w;

insert into plan_item (user_id, weekly_plan_id, task_id, quota, completed_count)
select w.user_id, w.id, t.id, 3,
       case when w.week_no < 6 then (random() * 3)::int else 0 end
  from weekly_plan w join task t on t.cycle_id = w.cycle_id;

insert into chat_session (user_id, cycle_id, title)
select c.user_id, c.id, 'Weekly check-in' from cycle c;

insert into chat_message (user_id, session_id, role, content)
select s.user_id, s.id, r.role, 'Message ' || n
  from chat_session s
  cross join generate_series(1, 2) as n
  cross join (values ('user'), ('assistant')) as r(role);

analyze;
"""

THIS_WEEK_RLS = """
select pi.id, pi.task_id, pi.quota, pi.completed_count, pi.notes
  from plan_item pi
  join weekly_plan wp on wp.id = pi.weekly_plan_id
 where wp.week_start_date = $1
"""

THIS_WEEK_OWNER = """
select pi.id, pi.task_id, pi.quota, pi.completed_count, pi.notes
  from plan_item pi
  join weekly_plan wp on wp.id = pi.weekly_plan_id
 where wp.week_start_date = $1 and pi.user_id = $2 and wp.user_id = $2
"""

UPDATE_ONE = "update {table} set completed_count = completed_count + 1 where id = $1"


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


async def updates_per_second(
    conn: asyncpg.Connection, table: str, ids: list, rounds: int
) -> float:
    """Median over ``rounds`` of single-row UPDATEs per second, each its own
    transaction, the way an API request makes them."""
    statement = await conn.prepare(UPDATE_ONE.format(table=table))
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for id_ in ids:
            await statement.fetch(id_)
        rates.append(len(ids) / (time.perf_counter() - started))
    return statistics.median(rates)


# One loop of single-row updates, timed in the server, per table.
_BENCH_UPDATE = """
create function bench_update_{name}(ids uuid[]) returns float
  language plpgsql as $fn$
declare
  started timestamptz := clock_timestamp();
  item uuid;
begin
  foreach item in array ids loop
    update {table} set completed_count = completed_count + 1 where id = item;
  end loop;
  return extract(epoch from clock_timestamp() - started) * 1e6 / cardinality(ids);
end
$fn$;
"""

BENCH_FUNCTIONS = (
    _BENCH_UPDATE.format(name="bare", table="plan_item_bare")
    + _BENCH_UPDATE.format(name="full", table="plan_item")
    + """
-- Security invoker: called as authenticated, the query runs under RLS.
create function bench_this_week(n int, owner uuid, week date) returns float
  language plpgsql as $fn$
declare
  started timestamptz := clock_timestamp();
  found_rows int;
begin
  for i in 1..n loop
    if owner is null then
      select count(*) into found_rows
        from public.plan_item pi join public.weekly_plan wp on wp.id = pi.weekly_plan_id
       where wp.week_start_date = week;
    else
      select count(*) into found_rows
        from public.plan_item pi join public.weekly_plan wp on wp.id = pi.weekly_plan_id
       where wp.week_start_date = week and pi.user_id = owner and wp.user_id = owner;
    end if;
  end loop;
  return extract(epoch from clock_timestamp() - started) * 1e6 / n;
end
$fn$;
"""
)


def backend_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) the server process ``pid`` has used so far,
    or None when the server does not run on this machine."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def server_update_micros(
    conn: asyncpg.Connection, ids: list, rounds: int
) -> tuple[float, float, float | None, float | None]:
    """Microseconds per single-row UPDATE inside the server (no network, no
    commit), trigger-free and with triggers, alternating; medians of the wall
    time and of the backend's CPU time (None when it cannot be read)."""
    pid = await conn.fetchval("select pg_backend_pid()")
    bare, full, bare_cpu, full_cpu = [], [], [], []
    for _ in range(rounds):
        async with conn.transaction():
            for function, wall, cpu in (
                ("bench_update_bare", bare, bare_cpu),
                ("bench_update_full", full, full_cpu),
            ):
                before = backend_cpu_seconds(pid)
                wall.append(await conn.fetchval(f"select {function}($1)", ids))
                after = backend_cpu_seconds(pid)
                if before is not None and after is not None:
                    cpu.append((after - before) * 1e6 / len(ids))
    return (
        statistics.median(bare),
        statistics.median(full),
        statistics.median(bare_cpu) if bare_cpu else None,
        statistics.median(full_cpu) if full_cpu else None,
    )


AUDIT_BYTES = """
select pg_total_relation_size('audit_log'), (select max(id) from audit_log)
"""

AUDIT_ROWS = """
select count(*), avg(pg_column_size(a.*)), avg(pg_column_size(a.before)),
       avg(pg_column_size(a.after))
  from audit_log a
 where a.id > $1 and a.table_name = 'plan_item' and a.action = 'UPDATE'
"""


async def server_query_micros(
    conn: asyncpg.Connection, users: list, week, repeat: int
) -> tuple[float, float]:
    """Microseconds per "this week" query inside the server, as the owner
    with an explicit user_id and as authenticated under RLS; medians over
    users."""
    owner, rls = [], []
    for user_id in users:
        owner.append(
            await conn.fetchval(
                "select bench_this_week($1, $2, $3)", repeat, user_id, week
            )
        )
        transaction = await as_user(conn, user_id)
        try:
            rls.append(
                await conn.fetchval(
                    "select bench_this_week($1, null, $2)", repeat, week
                )
            )
        finally:
            await transaction.rollback()
    return statistics.median(owner), statistics.median(rls)


async def query_micros(
    conn: asyncpg.Connection, sql: str, args: tuple, repeat: int
) -> float:
    statement = await conn.prepare(sql)
    await statement.fetch(*args)
    started = time.perf_counter()
    for _ in range(repeat):
        await statement.fetch(*args)
    return (time.perf_counter() - started) * 1e6 / repeat


async def client_query_micros(
    conn: asyncpg.Connection, users: list, week, repeat: int
) -> tuple[float, float]:
    """Microseconds per query as seen by the client (network included)."""
    owner, rls = [], []
    for user_id in users:
        owner.append(await query_micros(conn, THIS_WEEK_OWNER, (week, user_id), repeat))
        transaction = await as_user(conn, user_id)
        try:
            rls.append(await query_micros(conn, THIS_WEEK_RLS, (week,), repeat))
        finally:
            await transaction.rollback()
    return statistics.median(owner), statistics.median(rls)


def report(label: str, owner: float, rls: float) -> None:
    ratio = rls / owner
    verdict = "met" if ratio <= 1.3 else "MISSED"
    print(
        f"    {label}: owner with explicit user_id {owner:.0f} us, "
        f"authenticated under RLS {rls:.0f} us -> {ratio:.2f}x "
        f"(target <= 1.3x: {verdict})"
    )


async def as_user(conn: asyncpg.Connection, user_id) -> asyncpg.transaction.Transaction:
    transaction = conn.transaction()
    await transaction.start()
    await conn.execute(
        "select set_config('request.jwt.claims', $1, true)",
        json.dumps({"sub": str(user_id), "role": "authenticated"}),
    )
    await conn.execute("set local role authenticated")
    return transaction


async def explain(conn: asyncpg.Connection, sql: str, *args) -> str:
    rows = await conn.fetch(f"explain (analyze, costs off, timing off) {sql}", *args)
    return "\n".join("    " + r[0] for r in rows)


async def run(
    users: int, updates: int, rounds: int, sample_users: int, keep: bool
) -> None:
    server = server_url()
    name = f"planner_bench_{os.getpid()}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'create database "{name}"')
    url = with_database(server, name)
    try:
        migrate(url)
        conn = await asyncpg.connect(url)
        version = await conn.fetchval("show server_version")
        this_week = await conn.fetchval("select date_trunc('week', current_date)::date")
        start = await conn.fetchval("select $1::date - 35", this_week)
        print(
            f"PostgreSQL {version}; {users} users; "
            f"cycle started {start}, week 6 starts {this_week}"
        )

        started = time.perf_counter()
        await conn.execute(LOAD_SQL.format(users=users, start=f"'{start}'"))
        counts = {
            t: await conn.fetchval(f"select count(*) from {t}")
            for t in ("plan_item", "weekly_plan", "audit_log")
        }
        print(f"loaded in {time.perf_counter() - started:.1f}s: {counts}")

        # (a) The same table without triggers: "like ... including all" copies
        # columns, defaults, checks and indexes, but no trigger, no foreign key;
        # storage parameters (fillfactor) are copied by hand.
        reloptions = await conn.fetchval(
            "select array_to_string(reloptions, ', ') from pg_class "
            "where oid = 'plan_item'::regclass"
        )
        await conn.execute(
            "create table plan_item_bare (like plan_item including all);"
            + (f"alter table plan_item_bare set ({reloptions});" if reloptions else "")
            + "insert into plan_item_bare select * from plan_item;"
            "analyze plan_item_bare;"
        )
        await conn.execute(BENCH_FUNCTIONS)
        triggers = await conn.fetch(
            "select tgname from pg_trigger where tgrelid = 'plan_item'::regclass "
            "and not tgisinternal and tgtype & 16 = 16 order by 1"
        )
        ids = [
            r["id"]
            for r in await conn.fetch(
                "select id from plan_item order by random() limit $1", updates
            )
        ]
        # Both tables start alike: written packed, their pages have no room
        # for a HOT update at first, so each row is updated once and both
        # tables vacuumed before anything is timed.
        for table in ("plan_item_bare", "plan_item"):
            await conn.execute(
                UPDATE_ONE.format(table=table).replace("= $1", "= any($1)"), ids
            )
        await conn.execute("vacuum analyze plan_item_bare, plan_item")
        print(f"\n(a) single-row UPDATE of plan_item, {updates} rows x {rounds} rounds")
        print(
            "    update triggers on plan_item: "
            + ", ".join(r["tgname"] for r in triggers)
        )
        audit_bytes_before, audit_id_before = await conn.fetchrow(AUDIT_BYTES)
        bare_rates, full_rates = [], []
        for _ in range(rounds):
            bare_rates.append(await updates_per_second(conn, "plan_item_bare", ids, 1))
            full_rates.append(await updates_per_second(conn, "plan_item", ids, 1))
        bare, full = statistics.median(bare_rates), statistics.median(full_rates)
        audit_bytes_after = (await conn.fetchrow(AUDIT_BYTES))[0]
        audited = await conn.fetchrow(AUDIT_ROWS, audit_id_before or 0)
        cost = 1 - full / bare
        print(
            f"    client, one transaction each: trigger-free {bare:,.0f}/s, "
            f"with triggers {full:,.0f}/s -> triggers cost {cost:.1%} "
            f"(target <= 20%: {'met' if cost <= 0.20 else 'MISSED'})"
        )
        bare_us, full_us, bare_cpu, full_cpu = await server_update_micros(
            conn, ids, rounds
        )
        breakdown = {}
        for label, change in (
            (
                "without the audit trigger",
                "alter table plan_item disable trigger plan_item_audit_update",
            ),
        ):
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute(change)
                breakdown[label] = (await server_update_micros(conn, ids, rounds))[1]
            finally:
                await transaction.rollback()
        ratio = full_us / bare_us
        print(
            f"    inside the server, no commit: trigger-free {bare_us:.1f} us, "
            f"with triggers {full_us:.1f} us per UPDATE ({ratio:.2f}x; "
            f"target <= 2.5x: {'met' if ratio <= 2.5 else 'MISSED'})"
        )
        if bare_cpu and full_cpu:
            ratio = full_cpu / bare_cpu
            print(
                f"    same, backend CPU time: trigger-free {bare_cpu:.1f} us, "
                f"with triggers {full_cpu:.1f} us per UPDATE ({ratio:.2f}x; "
                f"target <= 2.5x: {'met' if ratio <= 2.5 else 'MISSED'})"
            )
        for label, micros in breakdown.items():
            print(
                f"      with triggers, {label}: "
                f"{micros:.1f} us ({micros / bare_us:.2f}x)"
            )

        # (b) This week's plan items, under RLS and as the owner.
        sample = [
            r["id"]
            for r in await conn.fetch(
                "select id from auth.users order by random() limit $1", sample_users
            )
        ]
        rows = len(await conn.fetch(THIS_WEEK_OWNER, this_week, sample[0]))
        print(
            f"\n(b) this week's plan items ({rows} rows per user), "
            f"median over {len(sample)} users"
        )
        owner, rls = await client_query_micros(conn, sample, this_week, 20)
        report("client", owner, rls)
        owner, rls = await server_query_micros(conn, sample, this_week, 200)
        report("in server", owner, rls)
        print("    plan as owner:")
        print(await explain(conn, THIS_WEEK_OWNER, this_week, sample[0]))
        transaction = await as_user(conn, sample[0])
        try:
            print("    plan as authenticated (RLS):")
            print(await explain(conn, THIS_WEEK_RLS, this_week))
        finally:
            await transaction.rollback()

        # (c) The audit rows written by the client updates of (a).
        count, row_bytes, before_bytes, after_bytes = audited
        growth = (audit_bytes_after - audit_bytes_before) / max(count, 1)
        print(
            f"\n(c) audit rows of the {count:,} client UPDATEs of (a): "
            f"{row_bytes:.0f} bytes a row on average (before {before_bytes:.0f}, "
            f"after {after_bytes:.0f}; target <= 400: "
            f"{'met' if row_bytes <= 400 else 'MISSED'}); audit_log with its "
            f"indexes and TOAST grew {growth:.0f} bytes per UPDATE"
        )
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
    parser.add_argument("--updates", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sample-users", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    asyncio.run(
        run(args.users, args.updates, args.rounds, args.sample_users, args.keep)
    )


if __name__ == "__main__":
    main()
