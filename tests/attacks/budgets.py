"""
Helpers of the budget attacks (``test_budgets.py``): a user of their own with
a chat session, the user's budget figures, what the user really keeps
(counted from the rows), and statements run as an API role that must be
accepted, or refused leaving the database as it was.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from planner_app.rules import BUDGETS, TEXT_MAX_CHARS
from tests.attacks.world import error_text
from tests.roles import attempt_as
from tests.support import DOMAIN_TABLES, create_user, snapshot

BUDGET_EXCEEDED = "PT429"

# The largest message there is: 32,000 characters of four UTF-8 bytes each
# (the flood).
MAX_CONTENT = "\U0001f600" * TEXT_MAX_CHARS["chat_message.content"]

INSERT_MESSAGE = (
    "insert into chat_message (user_id, session_id, role, content) "
    "values ($1, $2, 'user', $3)"
)
INSERT_MESSAGES = (
    "insert into chat_message (user_id, session_id, role, content) "
    "select $1, $2, 'user', 'message ' || n from generate_series(1, $3::int) as n"
)
INSERT_COACH_MESSAGES = (
    "insert into chat_message (user_id, session_id, role, content) "
    "select $1, $2, 'assistant', 'answer ' || n from generate_series(1, $3::int) as n"
)

FIGURES = ("live_rows", "live_bytes", "audit_rows", "audit_bytes")
# The column of budget_usage each budget is checked against.
FIGURE_OF_BUDGET = {
    "live_rows": "live_rows",
    "live_bytes": "live_bytes",
    "daily_audit_rows": "audit_rows",
    "daily_audit_bytes": "audit_bytes",
}


@dataclass
class Member:
    """A user of their own, with one chat session (written as the owner)."""

    user_id: uuid.UUID
    session_id: uuid.UUID

    def message(self, content: str = "How am I doing?") -> tuple[Any, ...]:
        """The arguments of :data:`INSERT_MESSAGE` for one of their messages."""
        return (self.user_id, self.session_id, content)


async def new_member(conn: asyncpg.Connection) -> Member:
    user_id = await create_user(conn)
    session_id = await conn.fetchval(
        "insert into chat_session (user_id, title) values ($1, 'Check-in') "
        "returning id",
        user_id,
    )
    return Member(user_id, session_id)


async def usage(conn: asyncpg.Connection, user_id: uuid.UUID) -> dict[str, Any]:
    """The user's row of ``planner_private.budget_usage`` (read as the owner)."""
    row = await conn.fetchrow(
        "select live_rows, live_bytes, audit_day, audit_rows, audit_bytes "
        "from planner_private.budget_usage where user_id = $1",
        user_id,
    )
    assert row is not None, f"no budget figures for {user_id}"
    return dict(row)


async def set_usage(
    conn: asyncpg.Connection, user_id: uuid.UUID, **figures: int
) -> None:
    """
    Put the user's figures where writing that much would have put them
    (today's, for the daily ones), so a test reaches a limit of 100 MB
    without writing 100 MB first. Only the tests of the limits do this; the
    tests of the figures themselves compare them with the rows.
    """
    assert figures and set(figures) <= set(FIGURES), figures
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(figures, 2))
    done = await conn.execute(
        f"update planner_private.budget_usage set {assignments}, "
        "audit_day = (now() at time zone 'UTC')::date where user_id = $1",
        user_id,
        *figures.values(),
    )
    assert done == "UPDATE 1"


async def kept(conn: asyncpg.Connection, user_id: uuid.UUID) -> dict[str, int]:
    """
    What the user keeps, counted from the rows themselves (as the owner): the
    number of rows and the bytes of their text form, printed with the
    settings the budgets use (the caller's own settings are left as they
    were).
    """
    union = " union all ".join(
        f"select octet_length(t::text) as size from {table} t where t.user_id = $1"
        for table in DOMAIN_TABLES
    )
    savepoint = conn.transaction()
    await savepoint.start()
    try:
        await conn.execute("set local timezone = 'UTC'")
        await conn.execute("set local datestyle = 'ISO, YMD'")
        row = await conn.fetchrow(
            f"select count(*) as rows, coalesce(sum(size), 0) as bytes "
            f"from ({union}) s",
            user_id,
        )
    finally:
        await savepoint.rollback()
    return {"live_rows": row["rows"], "live_bytes": row["bytes"]}


async def row_bytes(conn: asyncpg.Connection, table: str, row_id: uuid.UUID) -> int:
    """The bytes one row counts for (measured like :func:`kept`)."""
    savepoint = conn.transaction()
    await savepoint.start()
    try:
        await conn.execute("set local timezone = 'UTC'")
        await conn.execute("set local datestyle = 'ISO, YMD'")
        return await conn.fetchval(
            f"select octet_length(t::text) from {table} t where t.id = $1", row_id
        )
    finally:
        await savepoint.rollback()


async def state(conn: asyncpg.Connection, user_id: uuid.UUID) -> tuple[Any, ...]:
    """Everything of the user's a statement could change, budget figures too."""
    return (await snapshot(conn, [user_id]), await usage(conn, user_id))


async def accepted_as(
    conn: asyncpg.Connection, role: str, user_id: uuid.UUID, sql: str, *args: Any
) -> None:
    error = await attempt_as(conn, role, user_id, sql, *args)
    assert error is None, error_text(error)


async def refused_as(
    conn: asyncpg.Connection, role: str, user_id: uuid.UUID, sql: str, *args: Any
) -> asyncpg.PostgresError:
    """The error ``sql`` raised as ``role``; the database is as it was."""
    before = await state(conn, user_id)
    error = await attempt_as(conn, role, user_id, sql, *args)
    assert error is not None, f"{role} was allowed: {sql}"
    assert await state(conn, user_id) == before, "a refused statement wrote"
    return error


async def resets_at(conn: asyncpg.Connection) -> str:
    """When the daily budgets of this transaction's day start again."""
    return await conn.fetchval(
        "select to_char(date_trunc('day', now() at time zone 'UTC') "
        "+ interval '1 day', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    )


def assert_over_budget(
    error: asyncpg.PostgresError,
    budget: str,
    *,
    used: int | None = None,
    requested: int | None = None,
) -> dict[str, Any]:
    """
    ``error`` is the refusal of ``budget``: SQLSTATE PT429, a message naming
    the budget and its limit, a JSON DETAIL with the writer's figures (the
    statement would take them past the limit) and a HINT. Returns DETAIL.
    """
    assert error.sqlstate == BUDGET_EXCEEDED, error_text(error)
    limit = BUDGETS[budget]
    assert error.message.startswith(f"budget {budget} exceeded: "), error.message
    assert f" {limit} " in error.message, error.message
    detail = json.loads(error.detail)
    assert detail["budget"] == budget, detail
    assert detail["limit"] == limit, detail
    assert detail["used"] + detail["requested"] > limit, detail
    assert detail["requested"] > 0, detail
    if used is not None:
        assert detail["used"] == used, detail
    if requested is not None:
        assert detail["requested"] == requested, detail
    expected_keys = {"budget", "limit", "used", "requested"}
    if budget.startswith("daily_"):
        expected_keys.add("resets_at")
    assert set(detail) == expected_keys, detail
    assert error.hint and "never refused" in error.hint, error.hint
    return detail
