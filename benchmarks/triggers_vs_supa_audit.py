"""
Single-row UPDATE throughput with the planner's triggers, side by side with
supa_audit tracking the same table, and where the time goes.

Run by hand (it is not a test), from the project root, with the path of
supa_audit's SQL script:

    .venv/bin/python benchmarks/triggers_vs_supa_audit.py /tmp/supa_audit--0.3.1.sql

supa_audit is not part of this project and is not installed as an
extension: get ``supa_audit--0.3.1.sql`` from the supabase/supa_audit
repository on GitHub (its release 0.3.1) and pass its path. The script
runs it as plain SQL in the benchmark's own database, without the two
``pg_extension_config_dump`` calls that only an extension script may make;
``uuid_generate_v4()``, which its record-id function names for tables
without a primary key, comes from ``uuid-ossp`` or, where that is missing
(the embedded build), a stand-in that is never called here.

Like ``benchmarks/triggers_rls.py`` it creates a throwaway database on the
server of ``DATABASE_URL`` (or the embedded PostgreSQL), migrates it with
the real CLI, loads seeded-like data and drops it at the end. The same
``update <table> set completed_count = completed_count + 1 where id = $1``
runs on random rows of copies of ``plan_item`` made with ``create table ...
(like plan_item including all)`` (same columns, CHECKs and indexes; no
trigger, no foreign key) that differ only in their triggers:

    bare         no trigger
    rules        the plan item's rules trigger only (the maintained columns)
    audit        the planner's audit triggers only
    rules+audit  both (the planner's triggers, without the foreign keys)
    supa_audit   supa_audit's triggers (audit.enable_tracking)

and on ``plan_item`` itself (every trigger and foreign key). Measured
three ways, the tables taking turns in batches, medians of the batches:

(a) from the client, one transaction per UPDATE, synchronous commit on (the
    targets: the planner's triggers cost at most 25 % of bare throughput,
    and plan_item runs at least 2x supa_audit's throughput);
(b) the same with synchronous_commit = off (the commit's flush left out);
(c) inside the server: a PL/pgSQL loop in one transaction (no network, no
    commit), wall time and the backend's CPU time (from /proc when the
    server runs on this machine);
(d) an INSERT of a plan item (weeks 1-6, deleted first), one transaction
    each, synchronous_commit = off, into plan_item and into the bare copy:
    the path with the most BEFORE rules (derived cycle_id, the lock's
    lookups, the maintained columns, another user's id).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from pathlib import Path

import asyncpg
from triggers_rls import (
    LOAD_SQL,
    UPDATE_ONE,
    backend_cpu_seconds,
    migrate,
    server_url,
)

from planner_app.database import with_database

TABLES = ("bare", "rules", "audit", "rules+audit", "supa_audit", "plan_item")
COPIES = {name: f"bench_{name.replace('+', '_')}" for name in TABLES[:-1]}
COPIES["plan_item"] = "plan_item"

AUDIT_TRIGGERS = """
create trigger {table}_audit_update after update on {table}
  referencing old table as old_rows new table as new_rows
  for each statement execute function planner_private.audit();
"""
RULES_TRIGGER = """
create trigger {table}_rules_update before update on {table}
  for each row when (old.* is distinct from new.*)
  execute function planner_private.plan_item_rules();
"""

_LOOP = """
create function bench_loop_{name}(ids uuid[]) returns float
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


def supa_audit_sql(path: Path) -> str:
    """supa_audit's script, runnable outside CREATE EXTENSION."""
    sql = path.read_text()
    if "audit.enable_tracking" not in sql:
        sys.exit(f"error: {path} is not supa_audit's SQL script")
    return re.sub(
        r"select\s+pg_catalog\.pg_extension_config_dump\([^;]*\);", "", sql, flags=re.I
    )


async def load_supa_audit(conn: asyncpg.Connection, path: Path) -> None:
    try:
        await conn.execute('create extension if not exists "uuid-ossp"')
    except asyncpg.PostgresError:
        await conn.execute(
            "create function public.uuid_generate_v4() returns uuid "
            "language sql return gen_random_uuid()"
        )
    await conn.execute(supa_audit_sql(path))


async def make_copies(conn: asyncpg.Connection) -> None:
    for name, table in COPIES.items():
        if table == "plan_item":
            continue
        await conn.execute(
            f"create table {table} (like plan_item including all);"
            f"insert into {table} select * from plan_item;"
        )
        if "rules" in name:
            await conn.execute(RULES_TRIGGER.format(table=table))
        if "audit" in name and name != "supa_audit":
            await conn.execute(AUDIT_TRIGGERS.format(table=table))
    await conn.execute(
        "select audit.enable_tracking($1::regclass)", COPIES["supa_audit"]
    )
    await conn.execute(
        "analyze;"
        + "".join(
            _LOOP.format(name=name.replace("+", "_"), table=table)
            for name, table in COPIES.items()
        )
    )


async def client_rates(
    conn: asyncpg.Connection, ids: list, rounds: int, batch: int
) -> dict[str, float]:
    """Median UPDATEs per second of each table, one transaction each, the
    tables taking turns batch by batch."""
    statements = {
        name: await conn.prepare(UPDATE_ONE.format(table=table))
        for name, table in COPIES.items()
    }
    rates: dict[str, list[float]] = {name: [] for name in COPIES}
    for round_no in range(rounds):
        start = (round_no * batch) % max(len(ids) - batch, 1)
        chunk = ids[start : start + batch]
        for name, statement in statements.items():
            started = time.perf_counter()
            for id_ in chunk:
                await statement.fetch(id_)
            rates[name].append(len(chunk) / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in rates.items()}


async def server_micros(
    conn: asyncpg.Connection, ids: list, rounds: int
) -> dict[str, tuple[float, float | None]]:
    """Median wall and backend CPU microseconds per UPDATE inside the server."""
    pid = await conn.fetchval("select pg_backend_pid()")
    wall: dict[str, list[float]] = {name: [] for name in COPIES}
    cpu: dict[str, list[float]] = {name: [] for name in COPIES}
    for _ in range(rounds):
        async with conn.transaction():
            for name in COPIES:
                before = backend_cpu_seconds(pid)
                wall[name].append(
                    await conn.fetchval(
                        f"select bench_loop_{name.replace('+', '_')}($1)", ids
                    )
                )
                after = backend_cpu_seconds(pid)
                if before is not None and after is not None:
                    cpu[name].append((after - before) * 1e6 / len(ids))
    return {
        name: (
            statistics.median(wall[name]),
            statistics.median(cpu[name]) if cpu[name] else None,
        )
        for name in COPIES
    }


async def insert_micros(
    conn: asyncpg.Connection, count: int, rounds: int
) -> dict[str, float]:
    """Median microseconds per INSERT of a plan item into plan_item (every
    trigger and foreign key) and into the bare copy: rows of weeks 1-6 are
    deleted, then inserted again one transaction each."""
    rows = await conn.fetch(
        "select p.id, p.user_id, p.weekly_plan_id, p.task_id, p.quota "
        "from plan_item p join weekly_plan w on w.id = p.weekly_plan_id "
        "where w.week_no <= 6 order by random() limit $1",
        count,
    )
    insert = (
        "insert into {table} (id, user_id, weekly_plan_id, task_id, quota{extra}) "
        "values ($1, $2, $3, $4, $5{extra_value})"
    )
    statements = {
        # The bare copy has no trigger to derive cycle_id: it is given.
        "bare": await conn.prepare(
            insert.format(table=COPIES["bare"], extra=", cycle_id", extra_value=", $6")
        ),
        "plan_item": await conn.prepare(
            insert.format(table="plan_item", extra="", extra_value="")
        ),
    }
    cycles = dict(
        await conn.fetch(
            "select id, cycle_id from plan_item where id = any($1::uuid[])",
            [r["id"] for r in rows],
        )
    )
    await conn.execute("set synchronous_commit = off")
    times: dict[str, list[float]] = {name: [] for name in statements}
    batch = max(len(rows) // max(rounds // 10, 1), 10)
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        for name, statement in statements.items():
            table = COPIES[name]
            await conn.execute(
                f"delete from {table} where id = any($1::uuid[])",
                [r["id"] for r in chunk],
            )
            started = time.perf_counter()
            for r in chunk:
                args = [r["id"], r["user_id"], r["weekly_plan_id"], r["task_id"]]
                args.append(r["quota"])
                if name == "bare":
                    args.append(cycles[r["id"]])
                await statement.fetch(*args)
            times[name].append((time.perf_counter() - started) * 1e6 / len(chunk))
    await conn.execute("reset synchronous_commit")
    return {name: statistics.median(values) for name, values in times.items()}


def print_rates(title: str, rates: dict[str, float]) -> None:
    bare = rates["bare"]
    print(f"\n{title}")
    print(f"    {'table':12} {'updates/s':>10} {'us/update':>10} {'vs bare':>9}")
    for name, rate in rates.items():
        extra = 1e6 / rate - 1e6 / bare
        print(
            f"    {name:12} {rate:10,.0f} {1e6 / rate:10.1f} "
            f"{1 - rate / bare:8.1%}  ({extra:+.1f} us)"
        )
    cost = 1 - rates["plan_item"] / bare
    ratio = rates["plan_item"] / rates["supa_audit"]
    ceiling = bare / rates["supa_audit"]
    print(
        f"    the planner's triggers cost {cost:.1%} of bare throughput "
        f"(target <= 25%: {'met' if cost <= 0.25 else 'MISSED'}); plan_item runs "
        f"{ratio:.2f}x supa_audit's throughput (target >= 2x: "
        f"{'met' if ratio >= 2 else 'MISSED'}; a table without any trigger "
        f"runs {ceiling:.2f}x)"
    )


async def run(
    supa_audit: Path, users: int, updates: int, rounds: int, batch: int, keep: bool
) -> None:
    server = server_url()
    name = f"planner_bench_{os.getpid()}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'create database "{name}"')
    url = with_database(server, name)
    try:
        migrate(url)
        conn = await asyncpg.connect(url)
        try:
            version = await conn.fetchval("show server_version")
            await conn.execute(
                LOAD_SQL.format(users=users, start="(current_date - 35)")
            )
            await load_supa_audit(conn, supa_audit)
            await make_copies(conn)
            ids = [
                r["id"]
                for r in await conn.fetch(
                    "select id from plan_item order by random() limit $1", updates
                )
            ]
            # Every table starts alike: the copies were written packed (no
            # room for a HOT update on their pages), so each row is updated
            # once and the tables vacuumed before anything is timed.
            await conn.execute("set synchronous_commit = off")
            for table in COPIES.values():
                await conn.execute(
                    f"update {table} set completed_count = completed_count + 1 "
                    "where id = any($1::uuid[])",
                    ids,
                )
            await conn.execute("reset synchronous_commit")
            await conn.execute("vacuum analyze")
            items = await conn.fetchval("select count(*) from plan_item")
            print(
                f"PostgreSQL {version}; {users} users, {items:,} plan items; "
                f"load average {os.getloadavg()[0]:.2f} at the start"
            )
            print_rates(
                f"(a) client, one transaction per UPDATE, synchronous commit on "
                f"({rounds} batches of {batch} per table)",
                await client_rates(conn, ids, rounds, batch),
            )
            await conn.execute("set synchronous_commit = off")
            print_rates(
                "(b) the same, synchronous_commit = off",
                await client_rates(conn, ids, rounds, batch),
            )
            await conn.execute("reset synchronous_commit")
            micros = await server_micros(conn, ids, max(rounds // 20, 3))
            bare_wall, bare_cpu = micros["bare"]
            print(f"\n(c) inside the server, {len(ids)} UPDATEs a loop, no commit")
            print(f"    {'table':12} {'wall us':>9} {'cpu us':>9}")
            for table, (wall, cpu) in micros.items():
                cpu_text = f"{cpu:9.1f}" if cpu is not None else f"{'-':>9}"
                print(
                    f"    {table:12} {wall:9.1f} {cpu_text}  "
                    f"({wall / bare_wall:.2f}x bare wall)"
                )
            inserts = await insert_micros(conn, min(len(ids), 500), rounds)
            print(
                "\n(d) INSERT of a plan item, one transaction each, "
                "synchronous_commit = off (deleted first, untimed)"
            )
            for table, micros in inserts.items():
                print(
                    f"    {table:12} {micros:9.1f} us  "
                    f"(+{micros - inserts['bare']:.1f} us)"
                )
            print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
        finally:
            await conn.close()
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "supa_audit", type=Path, help="path of supa_audit's supa_audit--0.3.1.sql"
    )
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--updates", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=100, help="batches per table")
    parser.add_argument("--batch", type=int, default=25, help="UPDATEs per batch")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    if not args.supa_audit.is_file():
        sys.exit(f"error: {args.supa_audit} is not a file (see --help)")
    asyncio.run(
        run(
            args.supa_audit,
            args.users,
            args.updates,
            args.rounds,
            args.batch,
            args.keep,
        )
    )


if __name__ == "__main__":
    main()
