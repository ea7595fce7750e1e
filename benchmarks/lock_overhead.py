"""
What the plan item's rules trigger (its derived cycle_id, the weeks 7-12
lock and the maintained columns, planner_private.plan_item_rules()) costs
writes that it does not refuse.

Creates a throwaway database on the server of ``DATABASE_URL`` (or the
embedded PostgreSQL), migrates it, and times the same writes with the
plan item's rules triggers enabled and disabled (the inserts then name the
cycle the trigger would have derived): inserting plan items, recording
progress (``completed_count``: the lock is skipped, the maintained columns
are not) and changing quotas in an unlocked cycle. Prints microseconds per
row; run by hand::

    python benchmarks/lock_overhead.py --users 200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planner_app.database import (  # noqa: E402
    embedded_server_url,
    validate_database_url,
    with_database,
)

RULES_TRIGGERS = (
    "plan_item_rules_insert",
    "plan_item_rules_update",
    "plan_item_rules_delete",
)


def server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    return validate_database_url(url) if url else embedded_server_url("postgres")


async def setup(conn: asyncpg.Connection, users: int) -> list[tuple]:
    """Users with a cycle, two goals, one task each and 12 empty weeks."""
    weeks = []
    for _ in range(users):
        user_id = await conn.fetchval(
            "insert into auth.users (email) values ($1) returning id",
            f"{uuid.uuid4().hex[:8]}@example.test",
        )
        cycle_id = await conn.fetchval(
            "insert into cycle (user_id, start_date) values ($1, '2026-09-07') "
            "returning id",
            user_id,
        )
        tasks = []
        for goal_type in ("professional", "personal"):
            goal_id = await conn.fetchval(
                "insert into goal (user_id, cycle_id, goal_type, title) "
                "values ($1, $2, $3, 'g') returning id",
                user_id,
                cycle_id,
                goal_type,
            )
            tasks.append(
                await conn.fetchval(
                    "insert into task (user_id, goal_id, title) values ($1, $2, 't') "
                    "returning id",
                    user_id,
                    goal_id,
                )
            )
        for week_no in range(1, 13):
            weekly_plan_id = await conn.fetchval(
                "insert into weekly_plan (user_id, cycle_id, week_no) "
                "values ($1, $2, $3) returning id",
                user_id,
                cycle_id,
                week_no,
            )
            weeks.extend((user_id, weekly_plan_id, task, cycle_id) for task in tasks)
    return weeks


async def timed(conn: asyncpg.Connection, sql: str, args: list[tuple]) -> float:
    """Microseconds per row of ``executemany`` in one transaction."""
    start = time.perf_counter()
    async with conn.transaction():
        await conn.executemany(sql, args)
    return (time.perf_counter() - start) / len(args) * 1e6


async def run_round(conn: asyncpg.Connection, rows: list[tuple]) -> dict[str, float]:
    await conn.execute("delete from plan_item")
    figures = {
        "insert plan_item": await timed(
            conn,
            "insert into plan_item (user_id, weekly_plan_id, task_id, cycle_id, quota) "
            "values ($1, $2, $3, $4, 3)",
            rows,
        )
    }
    ids = [(r["id"],) for r in await conn.fetch("select id from plan_item")]
    figures["update completed_count"] = await timed(
        conn,
        "update plan_item set completed_count = completed_count + 1 where id = $1",
        ids,
    )
    figures["update quota (unlocked)"] = await timed(
        conn, "update plan_item set quota = quota + 1 where id = $1", ids
    )
    return figures


async def main(users: int, repeat: int) -> None:
    server = server_url()
    name = f"planner_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(with_database(server, "postgres"))
    await admin.execute(f'create database "{name}"')
    url = with_database(server, name)
    try:
        subprocess.run(
            [
                str(Path(sys.executable).with_name("piccolo")),
                "migrations",
                "forwards",
                "all",
            ],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            check=True,
            capture_output=True,
        )
        conn = await asyncpg.connect(url)
        try:
            rows = await setup(conn, users)
            results: dict[str, dict[str, list[float]]] = {"on": {}, "off": {}}
            for _ in range(repeat):
                for state in ("off", "on"):
                    action = "enable always" if state == "on" else "disable"
                    for trigger in RULES_TRIGGERS:
                        await conn.execute(
                            f"alter table plan_item {action} trigger {trigger}"
                        )
                    for key, value in (await run_round(conn, rows)).items():
                        results[state].setdefault(key, []).append(value)
            print(f"{len(rows)} plan items, best of {repeat} rounds, µs per row")
            print(f"{'write':28} {'no rules':>9} {'rules':>9} {'extra':>9}")
            for key in results["on"]:
                off, on = min(results["off"][key]), min(results["on"][key])
                print(f"{key:28} {off:9.1f} {on:9.1f} {on - off:+9.1f}")
        finally:
            await conn.close()
    finally:
        await admin.execute(f'drop database "{name}" with (force)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.users, args.repeat))
