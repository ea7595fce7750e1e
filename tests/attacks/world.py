"""
The attacker's world: two users, A and B, each with a locked active cycle
(vision, both goals, a task per goal, all 12 weekly plans, a plan item per
task and week, a chat session with a user and an assistant message) and an
open draft cycle (a goal, a task, weeks 1 and 8, a plan item in each), built
as the table owner and committed, so that concurrent connections see it.

B's texts and dates are distinctive, so any of them turning up in what A
receives (rows or error text) is a leak: :attr:`User.secrets`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import asyncpg

from planner_app import tables

# The tables of the model, in domain order (planner_app/tables.py): a table
# added there is attacked too.
DOMAIN_TABLES = tuple(table._meta.tablename for table in tables.DOMAIN_TABLES)

# Every reference to a parent row: (table, column, parent table), from the
# model's foreign keys.
PARENT_COLUMNS = tuple(
    (
        table._meta.tablename,
        column._meta.db_column_name,
        column._foreign_key_meta.resolved_references._meta.tablename,
    )
    for table in tables.DOMAIN_TABLES
    for column in table._meta.foreign_key_columns
)

API_ROLES = ("anon", "authenticated", "service_role")


@dataclass
class Cycle:
    id: uuid.UUID
    start_date: date
    goal_ids: dict[str, uuid.UUID]
    task_ids: list[uuid.UUID]
    weekly_plan_ids: dict[int, uuid.UUID]
    # (week_no, task index) -> plan item id
    plan_item_ids: dict[tuple[int, int], uuid.UUID]


@dataclass
class User:
    name: str
    user_id: uuid.UUID
    vision_id: uuid.UUID
    locked: Cycle
    draft: Cycle
    chat_session_id: uuid.UUID
    user_message_id: uuid.UUID
    assistant_message_id: uuid.UUID
    secrets: set[str] = field(default_factory=set)

    def ids(self) -> dict[str, list[uuid.UUID]]:
        """Every id of this user's rows, by table."""
        cycles = (self.locked, self.draft)
        return {
            "vision": [self.vision_id],
            "cycle": [c.id for c in cycles],
            "goal": [g for c in cycles for g in c.goal_ids.values()],
            "task": [t for c in cycles for t in c.task_ids],
            # The locked weeks first (the property tests pick low indices).
            "weekly_plan": [
                c.weekly_plan_ids[w]
                for c in cycles
                for w in sorted(c.weekly_plan_ids, reverse=True)
            ],
            "plan_item": [
                c.plan_item_ids[k]
                for c in cycles
                for k in sorted(c.plan_item_ids, reverse=True)
            ],
            "chat_session": [self.chat_session_id],
            "chat_message": [self.user_message_id, self.assistant_message_id],
        }

    def parent(self, table: str, *, locked: bool = True) -> uuid.UUID:
        """One of this user's rows of ``table``, to point a child at."""
        cycle = self.locked if locked else self.draft
        return {
            "vision": self.vision_id,
            "cycle": cycle.id,
            "goal": next(iter(cycle.goal_ids.values())),
            "task": cycle.task_ids[0],
            "weekly_plan": cycle.weekly_plan_ids[8],
            "chat_session": self.chat_session_id,
        }[table]


async def _one(conn: asyncpg.Connection, sql: str, *args: Any) -> uuid.UUID:
    return await conn.fetchval(sql + " returning id", *args)


async def _cycle(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    vision_id: uuid.UUID,
    start: date,
    *,
    status: str,
    weeks: tuple[int, ...],
    goal_types: tuple[str, ...],
    label: str,
) -> Cycle:
    cycle_id = await _one(
        conn,
        "insert into cycle (user_id, vision_id, start_date, status) "
        "values ($1, $2, $3, $4)",
        user_id,
        vision_id,
        start,
        status,
    )
    goal_ids: dict[str, uuid.UUID] = {}
    task_ids: list[uuid.UUID] = []
    for goal_type in goal_types:
        goal_ids[goal_type] = await _one(
            conn,
            "insert into goal (user_id, cycle_id, goal_type, title, description) "
            "values ($1, $2, $3, $4, $5)",
            user_id,
            cycle_id,
            goal_type,
            f"{label} {goal_type} goal",
            f"{label} {goal_type} why",
        )
        task_ids.append(
            await _one(
                conn,
                "insert into task (user_id, goal_id, title, default_quota) "
                "values ($1, $2, $3, 3)",
                user_id,
                goal_ids[goal_type],
                f"{label} {goal_type} task",
            )
        )
    weekly_plan_ids: dict[int, uuid.UUID] = {}
    plan_item_ids: dict[tuple[int, int], uuid.UUID] = {}
    for week_no in weeks:
        weekly_plan_ids[week_no] = await _one(
            conn,
            "insert into weekly_plan (user_id, cycle_id, week_no, reflection) "
            "values ($1, $2, $3, $4)",
            user_id,
            cycle_id,
            week_no,
            f"{label} week {week_no} reflection",
        )
        for index, task_id in enumerate(task_ids):
            plan_item_ids[(week_no, index)] = await _one(
                conn,
                "insert into plan_item "
                "(user_id, weekly_plan_id, task_id, quota, completed_count, notes) "
                "values ($1, $2, $3, $4, 1, $5)",
                user_id,
                weekly_plan_ids[week_no],
                task_id,
                week_no + 2 * index,
                f"{label} note {week_no}/{index}",
            )
    return Cycle(cycle_id, start, goal_ids, task_ids, weekly_plan_ids, plan_item_ids)


async def build_user(conn: asyncpg.Connection, name: str, start: date) -> User:
    """A user with a locked active cycle and an open draft (see the module)."""
    label = f"{name} {uuid.uuid4().hex[:10]}"
    user_id = uuid.uuid4()
    await conn.execute(
        "insert into auth.users (id, email) values ($1, $2)",
        user_id,
        f"{name.lower()}-{user_id.hex[:8]}@example.test",
    )
    vision_id = await _one(
        conn,
        "insert into vision (user_id, title, statement) values ($1, $2, $3)",
        user_id,
        f"{label} vision",
        f"{label} statement",
    )
    locked = await _cycle(
        conn,
        user_id,
        vision_id,
        start,
        status="active",
        weeks=tuple(range(1, 13)),
        goal_types=("professional", "personal"),
        label=f"{label} locked",
    )
    await conn.execute("update cycle set lock_enforced = true where id = $1", locked.id)
    draft = await _cycle(
        conn,
        user_id,
        vision_id,
        start + timedelta(days=7 * 13),
        status="draft",
        weeks=(1, 8),
        goal_types=("professional",),
        label=f"{label} draft",
    )
    chat_session_id = await _one(
        conn,
        "insert into chat_session (user_id, cycle_id, title, context) "
        "values ($1, $2, $3, $4::jsonb)",
        user_id,
        locked.id,
        f"{label} session",
        json.dumps({"topic": f"{label} context"}),
    )
    user_message_id = await _one(
        conn,
        "insert into chat_message (user_id, session_id, role, content) "
        "values ($1, $2, 'user', $3)",
        user_id,
        chat_session_id,
        f"{label} question",
    )
    assistant_message_id = await _one(
        conn,
        "insert into chat_message (user_id, session_id, role, content, metadata) "
        "values ($1, $2, 'assistant', $3, $4::jsonb)",
        user_id,
        chat_session_id,
        f"{label} answer",
        json.dumps({"model": f"{label} model"}),
    )
    user = User(
        name,
        user_id,
        vision_id,
        locked,
        draft,
        chat_session_id,
        user_message_id,
        assistant_message_id,
    )
    user.secrets = {label, *(str(i) for ids in user.ids().values() for i in ids)}
    user.secrets.add(str(user_id))
    for cycle in (locked, draft):
        for week_no in range(1, 13):
            user.secrets.add(
                (cycle.start_date + timedelta(7 * (week_no - 1))).isoformat()
            )
        user.secrets.add((cycle.start_date + timedelta(83)).isoformat())
    return user


# Acting as an API role, the way PostgREST does it.


def claims(role: str, user_id: uuid.UUID | None) -> str:
    payload = {"role": role}
    if user_id is not None:
        payload["sub"] = str(user_id)
    return json.dumps(payload)


async def become(
    conn: asyncpg.Connection,
    role: str,
    user_id: uuid.UUID | None = None,
    *,
    raw_claims: str | None = None,
) -> None:
    """Become ``role`` (as ``user_id``) until the transaction ends."""
    assert role in API_ROLES
    await conn.execute(
        "select set_config('request.jwt.claims', $1, true)",
        claims(role, user_id) if raw_claims is None else raw_claims,
    )
    await conn.execute(f"set local role {role}")


@asynccontextmanager
async def rolled_back(conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """A transaction that is always rolled back."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        yield conn
    finally:
        await transaction.rollback()


@asynccontextmanager
async def acting(
    conn: asyncpg.Connection,
    role: str,
    user_id: uuid.UUID | None = None,
    *,
    raw_claims: str | None = None,
) -> AsyncIterator[asyncpg.Connection]:
    """A rolled-back transaction as ``role``."""
    async with rolled_back(conn):
        await become(conn, role, user_id, raw_claims=raw_claims)
        yield conn


async def attempt(
    conn: asyncpg.Connection, sql: str, *args: Any
) -> tuple[list[asyncpg.Record], asyncpg.PostgresError | None]:
    """Run ``sql`` in a savepoint: its rows, or the error (then rolled back)."""
    savepoint = conn.transaction()
    await savepoint.start()
    try:
        rows = await conn.fetch(sql, *args)
    except asyncpg.PostgresError as error:
        await savepoint.rollback()
        return [], error
    await savepoint.commit()
    return rows, None


async def refused(
    conn: asyncpg.Connection, sql: str, *args: Any
) -> asyncpg.PostgresError:
    """The error ``sql`` raises (in a savepoint); fails when it is accepted."""
    _, error = await attempt(conn, sql, *args)
    assert error is not None, f"accepted: {sql}"
    return error


def error_text(error: asyncpg.PostgresError) -> str:
    """Everything an API client can read of an error."""
    return " | ".join(
        str(getattr(error, name, None) or "")
        for name in (
            "sqlstate",
            "message",
            "detail",
            "hint",
            "constraint_name",
            "table_name",
            "column_name",
            "schema_name",
            "data_type_name",
        )
    )


def error_shape(error: asyncpg.PostgresError, replace: dict[str, str]) -> str:
    """:func:`error_text` with the given values replaced by placeholders."""
    text = error_text(error)
    for value, placeholder in replace.items():
        text = text.replace(value, placeholder)
    return text


def leaked(text: str, secrets: set[str], supplied: set[str] = frozenset()) -> set[str]:
    """The secrets in ``text`` that the caller did not supply itself."""
    return {s for s in secrets - set(supplied) if s in text}


UUID_PATTERN = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


async def rows_of(conn: asyncpg.Connection, user_id: uuid.UUID) -> dict[str, list[Any]]:
    """Every row ``user_id`` owns (audit log included), as the caller sees it."""
    result: dict[str, list[Any]] = {}
    for table in (*DOMAIN_TABLES, "audit_log"):
        rows = await conn.fetch(
            f"select to_jsonb(t)::text as row from {table} t "
            "where user_id = $1 order by 1",
            user_id,
        )
        result[table] = [r["row"] for r in rows]
    return result


async def locked_plan(conn: asyncpg.Connection, user: User) -> list[tuple[Any, ...]]:
    """The frozen part of a user's locked cycle: weeks 7-12 and their quotas."""
    rows = await conn.fetch(
        "select w.id, w.week_no, w.cycle_id, p.id, p.task_id, p.quota "
        "from weekly_plan w left join plan_item p on p.weekly_plan_id = w.id "
        "where w.user_id = $1 and w.cycle_id = $2 and w.week_no between 7 and 12 "
        "order by w.week_no, p.id",
        user.user_id,
        user.locked.id,
    )
    lock = await conn.fetchval(
        "select (start_date, lock_enforced)::text from cycle where id = $1",
        user.locked.id,
    )
    return [tuple(r) for r in rows] + [("cycle", lock)]


async def assert_not_locked(probe: asyncpg.Connection, user: User) -> None:
    """
    ``probe`` can lock every row ``user`` owns at once (FOR UPDATE NOWAIT
    conflicts with any row lock another transaction holds), then lets go.
    """
    async with rolled_back(probe):
        for table in DOMAIN_TABLES:
            await probe.execute(
                f"select from {table} where user_id = $1 for update nowait",
                user.user_id,
            )
