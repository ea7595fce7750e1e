"""
Helpers the tests share: running the real CLI, building owner data,
snapshotting the database and asserting that a rejected write changed
nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PICCOLO = str(Path(sys.executable).with_name("piccolo"))

# The eight domain tables (each row has an owner), in domain order.
DOMAIN_TABLES = (
    "vision",
    "cycle",
    "goal",
    "task",
    "weekly_plan",
    "plan_item",
    "chat_session",
    "chat_message",
)
PLANNER_TABLES = (*DOMAIN_TABLES, "audit_log")


def run_cli(
    *args: str,
    database_url: str | None = None,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """
    Run ``piccolo <args>`` from the project root the way a user would.
    """
    full_env = dict(os.environ)
    if database_url is not None:
        full_env["DATABASE_URL"] = database_url
    if env:
        full_env.update(env)
    return subprocess.run(
        [PICCOLO, *args],
        cwd=PROJECT_ROOT,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


async def snapshot(conn: asyncpg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every planner table (and auth.users), in a stable order."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    for table in (*PLANNER_TABLES, "auth.users"):
        rows = await conn.fetch(f"select * from {table}")
        result[table] = sorted((tuple(r) for r in rows), key=repr)
    return result


async def assert_rejected(
    conn: asyncpg.Connection,
    sql: str,
    *args: Any,
    sqlstate: str,
    constraint: str | None = None,
) -> asyncpg.PostgresError:
    """
    Run ``sql`` and check that the database rejects it with ``sqlstate`` (and
    ``constraint``), leaving every planner table exactly as it was.
    """
    before = await snapshot(conn)
    try:
        # A savepoint when the caller holds a transaction, so the snapshot
        # below can still read.
        async with conn.transaction():
            await conn.execute(sql, *args)
    except asyncpg.PostgresError as error:
        rejected = error
    else:
        raise AssertionError(f"the database accepted: {sql}")
    assert rejected.sqlstate == sqlstate, (rejected.sqlstate, str(rejected))
    if constraint is not None:
        assert rejected.constraint_name == constraint, (
            rejected.constraint_name,
            str(rejected),
        )
    assert await snapshot(conn) == before, "a rejected write changed the database"
    return rejected


@dataclass
class Owner:
    """One user and a complete 12-week cycle, built by :func:`build_owner`."""

    user_id: uuid.UUID
    vision_id: uuid.UUID
    cycle_id: uuid.UUID
    goal_ids: dict[str, uuid.UUID]
    task_ids: list[uuid.UUID]
    weekly_plan_ids: dict[int, uuid.UUID]
    plan_item_ids: dict[tuple[int, uuid.UUID], uuid.UUID] = field(default_factory=dict)
    chat_session_id: uuid.UUID | None = None
    chat_message_id: uuid.UUID | None = None

    def plan_item(self, week_no: int, task_index: int = 0) -> uuid.UUID:
        return self.plan_item_ids[(week_no, self.task_ids[task_index])]


async def create_user(conn: asyncpg.Connection) -> uuid.UUID:
    user_id = uuid.uuid4()
    await conn.execute(
        "insert into auth.users (id, email) values ($1, $2)",
        user_id,
        f"{user_id.hex[:8]}@example.test",
    )
    return user_id


async def build_owner(
    conn: asyncpg.Connection,
    *,
    start_date: date | None = None,
    lock_enforced: bool = False,
) -> Owner:
    """
    A user with an active vision and cycle, both goals, one task per goal,
    all 12 weekly plans and a plan item for every task and week, one chat
    session with one message. Lock off unless ``lock_enforced``.
    """
    user_id = await create_user(conn)
    start = start_date or date(2026, 9, 7)
    vision_id = await conn.fetchval(
        "insert into vision (user_id, title, statement) values ($1, $2, $3) "
        "returning id",
        user_id,
        "A calm, focused life",
        "I build things that matter and keep time for the people I love.",
    )
    cycle_id = await conn.fetchval(
        "insert into cycle (user_id, vision_id, start_date, status) "
        "values ($1, $2, $3, 'active') returning id",
        user_id,
        vision_id,
        start,
    )
    goal_ids: dict[str, uuid.UUID] = {}
    task_ids: list[uuid.UUID] = []
    for goal_type in ("professional", "personal"):
        goal_id = await conn.fetchval(
            "insert into goal (user_id, cycle_id, goal_type, title) "
            "values ($1, $2, $3, $4) returning id",
            user_id,
            cycle_id,
            goal_type,
            f"{goal_type} goal",
        )
        goal_ids[goal_type] = goal_id
        task_ids.append(
            await conn.fetchval(
                "insert into task (user_id, goal_id, title, default_quota) "
                "values ($1, $2, $3, 3) returning id",
                user_id,
                goal_id,
                f"{goal_type} task",
            )
        )
    weekly_plan_ids: dict[int, uuid.UUID] = {}
    for week_no in range(1, 13):
        weekly_plan_ids[week_no] = await conn.fetchval(
            "insert into weekly_plan (user_id, cycle_id, week_no) "
            "values ($1, $2, $3) returning id",
            user_id,
            cycle_id,
            week_no,
        )
    owner = Owner(user_id, vision_id, cycle_id, goal_ids, task_ids, weekly_plan_ids)
    for week_no, weekly_plan_id in weekly_plan_ids.items():
        for task_id in task_ids:
            owner.plan_item_ids[(week_no, task_id)] = await conn.fetchval(
                "insert into plan_item (user_id, weekly_plan_id, task_id, quota) "
                "values ($1, $2, $3, 3) returning id",
                user_id,
                weekly_plan_id,
                task_id,
            )
    owner.chat_session_id = await conn.fetchval(
        "insert into chat_session (user_id, cycle_id, title) "
        "values ($1, $2, 'Week 1 check-in') returning id",
        user_id,
        cycle_id,
    )
    owner.chat_message_id = await conn.fetchval(
        "insert into chat_message (user_id, session_id, role, content) "
        "values ($1, $2, 'user', 'How am I doing?') returning id",
        user_id,
        owner.chat_session_id,
    )
    if lock_enforced:
        await conn.execute(
            "update cycle set lock_enforced = true where id = $1", cycle_id
        )
    return owner


def later(days: int, start: date = date(2026, 9, 7)) -> date:
    return start + timedelta(days=days)


# A one-column change an end user may make to a row of each domain table.
ONE_COLUMN_CHANGE: dict[str, str] = {
    "vision": "title = title || ' (revised)'",
    "cycle": "status = 'completed'",
    "goal": "description = 'Revised'",
    "task": "default_quota = default_quota + 1",
    "weekly_plan": "reflection = 'A good week'",
    "plan_item": "completed_count = completed_count + 1",
    "chat_session": "title = 'Renamed'",
    "chat_message": "content = content || '!'",
}
