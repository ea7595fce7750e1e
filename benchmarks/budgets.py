"""
What the budgets (``planner_app_0010_budgets``) cost a single-row write.

Run by hand (it is not a test), from the project root:

    .venv/bin/python benchmarks/budgets.py

It creates its own throwaway database on the server of ``DATABASE_URL`` (or
the embedded PostgreSQL), migrates it with the real CLI, loads a few hundred
seeded-like users with set-based SQL, prints the figures and drops the
database.

Inside the server (a procedure's loop, no network; each statement its own
transaction, committed without waiting for the disk), microseconds per
single-row statement (wall time and, when the server runs on this machine,
the backend's CPU time), medians over rounds, with the budget triggers
attached and with them detached (``planner_private.detach_budgets``), as
``authenticated`` under row-level security and as the table owner:

- ``update plan_item set completed_count = completed_count + 1 where id = $1``
- ``insert into chat_message (...) values (...)`` (a short user message)

The budgets' cost is the difference, also given as a share of the same
UPDATE on a trigger-free copy of ``plan_item`` (the "bare UPDATE").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from planner_app.database import (  # noqa: E402
    embedded_server_url,
    validate_database_url,
    with_database,
)

LOAD_SQL = """
insert into auth.users (id, email)
select gen_random_uuid(), 'user' || n || '@example.test'
  from generate_series(1, {users}) as n;
insert into cycle (user_id, start_date, status)
select id, current_date - 35, 'active' from auth.users;
insert into goal (user_id, cycle_id, goal_type, title)
select c.user_id, c.id, t.goal_type, t.goal_type || ' goal'
  from cycle c cross join (values ('professional'), ('personal')) as t(goal_type);
insert into task (user_id, goal_id, title, default_quota)
select g.user_id, g.id, g.goal_type || ' task ' || n, 3
  from goal g cross join generate_series(1, 2) as n;
insert into weekly_plan (user_id, cycle_id, week_no)
select c.user_id, c.id, w from cycle c cross join generate_series(1, 12) as w;
insert into plan_item (user_id, weekly_plan_id, task_id, quota)
select w.user_id, w.id, t.id, 3
  from weekly_plan w join task t on t.cycle_id = w.cycle_id;
insert into chat_session (user_id, cycle_id, title)
select c.user_id, c.id, 'Weekly check-in' from cycle c;
create table plan_item_bare (like plan_item including all);
insert into plan_item_bare select * from plan_item;
analyze;
"""

# Security invoker: called as authenticated, the statements run under RLS.
# Each statement is its own transaction (COMMIT in the loop), as an API
# request is.
BENCH_PROCEDURES = """
create procedure bench_update(
  tbl regclass, ids uuid[], inout micros float default null
)
  language plpgsql as $fn$
declare
  started timestamptz := clock_timestamp();
  item uuid;
begin
  foreach item in array ids loop
    if tbl = 'public.plan_item'::regclass then
      update public.plan_item set completed_count = completed_count + 1
       where id = item;
    else
      update public.plan_item_bare set completed_count = completed_count + 1
       where id = item;
    end if;
    commit;
  end loop;
  micros := extract(epoch from clock_timestamp() - started) * 1e6 / cardinality(ids);
end
$fn$;

create procedure bench_insert(
  owner uuid, session uuid, n int, inout micros float default null
)
  language plpgsql as $fn$
declare
  started timestamptz := clock_timestamp();
begin
  for i in 1..n loop
    insert into public.chat_message (user_id, session_id, role, content)
    values (owner, session, 'user', 'How am I doing this week?');
    commit;
  end loop;
  micros := extract(epoch from clock_timestamp() - started) * 1e6 / n;
end
$fn$;
grant execute on procedure bench_update(regclass, uuid[], float) to authenticated;
grant execute on procedure bench_insert(uuid, uuid, int, float) to authenticated;
grant select, update on plan_item_bare to authenticated;
"""

BUDGETED = ("public.plan_item", "public.chat_message")


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


def backend_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) the server process ``pid`` has used so far,
    or None when the server does not run on this machine."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def timed(conn: asyncpg.Connection, pid: int, sql: str, *args, n: int):
    """Wall and backend CPU microseconds per statement of one CALL."""
    before = backend_cpu_seconds(pid)
    wall = await conn.fetchval(sql, *args)
    after = backend_cpu_seconds(pid)
    cpu = None if before is None or after is None else (after - before) * 1e6 / n
    return wall, cpu


async def measure(
    conn: asyncpg.Connection, role: str, user_id, session_id, item_ids, inserts
) -> dict[str, tuple[float, float | None]]:
    pid = await conn.fetchval("select pg_backend_pid()")
    if role == "authenticated":
        await conn.execute(
            "select set_config('request.jwt.claims', $1, false)",
            json.dumps({"sub": str(user_id), "role": "authenticated"}),
        )
        await conn.execute("set role authenticated")
    try:
        n = len(item_ids)
        return {
            "bare": await timed(
                conn, pid, "call bench_update('public.plan_item_bare', $1)",
                item_ids, n=n,
            ),
            "update": await timed(
                conn, pid, "call bench_update('public.plan_item', $1)",
                item_ids, n=n,
            ),
            "insert": await timed(
                conn, pid, "call bench_insert($1, $2, $3)",
                user_id, session_id, inserts, n=inserts,
            ),
        }  # fmt: skip
    finally:
        await conn.execute("reset role")
        await conn.execute("select set_config('request.jwt.claims', '', false)")


def median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


async def run(users: int, rounds: int, repeat: int, inserts: int, keep: bool) -> None:
    server = server_url()
    name = f"planner_bench_budgets_{os.getpid()}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'create database "{name}"')
    # Commits need not wait for the disk: the figures are CPU work.
    await admin.execute(f'alter database "{name}" set synchronous_commit = off')
    url = with_database(server, name)
    try:
        migrate(url)
        conn = await asyncpg.connect(url)
        version = await conn.fetchval("show server_version")
        await conn.execute(LOAD_SQL.format(users=users))
        await conn.execute(BENCH_PROCEDURES)
        sample = await conn.fetch(
            "select s.user_id, s.id as session_id from chat_session s "
            "order by random() limit $1",
            rounds,
        )
        load = os.getloadavg()
        print(
            f"PostgreSQL {version}; {users} users; {rounds} rounds (one user "
            f"each) of {repeat} x 48 single-row UPDATEs and {inserts} INSERTs, "
            f"each its own transaction; load average {load[0]:.2f} "
            f"{load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs"
        )
        for role in ("authenticated", "owner"):
            figures: dict[bool, list[dict]] = {True: [], False: []}
            for row in sample:
                item_ids = [
                    r["id"]
                    for r in await conn.fetch(
                        "select id from plan_item where user_id = $1", row["user_id"]
                    )
                ] * repeat
                for budgets in (True, False):
                    helper = "attach_budgets" if budgets else "detach_budgets"
                    for table in BUDGETED:
                        await conn.execute(
                            f"select planner_private.{helper}('{table}')"
                        )
                    figures[budgets].append(
                        await measure(
                            conn, role, row["user_id"], row["session_id"],
                            item_ids, inserts,
                        )
                    )  # fmt: skip
            for table in BUDGETED:
                await conn.execute(f"select planner_private.attach_budgets('{table}')")
            print(f"\n  as {role}, microseconds per statement (median):")
            for clock, index in (("wall", 0), ("backend CPU", 1)):
                bare = median(f["bare"][index] for r in figures.values() for f in r)
                if bare is None:
                    continue
                print(f"    {clock}: bare UPDATE (trigger-free copy) {bare:.1f}")
                for label, key in (
                    ("UPDATE plan_item", "update"),
                    ("INSERT chat_message", "insert"),
                ):
                    with_b = median(f[key][index] for f in figures[True])
                    without_b = median(f[key][index] for f in figures[False])
                    cost = with_b - without_b
                    print(
                        f"      {label:<20} with budgets {with_b:7.1f}, without "
                        f"{without_b:7.1f} -> budgets cost {cost:6.1f} "
                        f"({cost / bare:.0%} of a bare UPDATE, "
                        f"{cost / without_b:.0%} of the statement)"
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
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--inserts", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    asyncio.run(run(args.users, args.rounds, args.repeat, args.inserts, args.keep))


if __name__ == "__main__":
    main()
