"""
Property-based attacks (hypothesis):

- any sequence of API operations by A (inserts, updates, deletes, upserts,
  MERGE and locking reads, aimed at A's rows, B's rows and ids that exist
  nowhere) never changes B's rows, never shows A a value of B's that A did
  not supply (in rows or error text), and leaves no lock on B's rows;
- no such sequence changes a quota of a locked week (A's or B's);
- every row the database accepts from A parses with the Row schema;
- rows the Insert schema accepts are accepted by the database, as far as
  the schema can express the rules (values drawn from planner_app/rules.py).

Examples are few (``max_examples``) so the suite stays fast; each example
runs in one transaction that is rolled back.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from planner_app.rules import (
    BLANK_CHARACTERS,
    DATE_MAX,
    DATE_MIN,
    JSON_MAX_BYTES,
    JSON_UNREPRESENTABLE_KEYS,
    NOT_BLANK_COLUMNS,
    TEXT_MAX_CHARS,
)
from tests.attacks.row_schema import insert_problems, row_problems
from tests.attacks.world import (
    DOMAIN_TABLES,
    PARENT_COLUMNS,
    User,
    assert_not_locked,
    attempt,
    become,
    error_text,
    leaked,
    locked_plan,
    rolled_back,
    rows_of,
)

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Values from the rules. PostgreSQL text and jsonb cannot hold U+0000 and
# UTF-8 cannot hold lone surrogates: no schema can send them either.
BLANKS = "".join(
    chr(c) for first, last in BLANK_CHARACTERS for c in range(first, last + 1)
)
ANY_CHAR = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
VISIBLE_CHAR = st.characters(
    exclude_categories=("Cs",), exclude_characters="\x00" + BLANKS
)
BLANK_CHAR = st.sampled_from(BLANKS)


def text_for(column: str) -> st.SearchStrategy[str]:
    """Text the Insert schema accepts for ``table.column``."""
    limit = TEXT_MAX_CHARS[column]
    if column not in NOT_BLANK_COLUMNS:
        body = st.text(ANY_CHAR, max_size=min(limit, 30))
        return st.one_of(body, st.just("é" * limit))
    padded = st.tuples(
        st.text(st.one_of(BLANK_CHAR, ANY_CHAR), max_size=8),
        VISIBLE_CHAR,
        st.text(st.one_of(BLANK_CHAR, ANY_CHAR), max_size=8),
    ).map("".join)
    return st.one_of(padded, st.just("x" * limit))


JSON_TEXT = st.text(ANY_CHAR, max_size=10)
# Keys the Insert schemas accept: not the ones the front end cannot hold
# (Hypothesis also tries the project's own string constants).
JSON_KEY = JSON_TEXT.filter(lambda key: key not in JSON_UNREPRESENTABLE_KEYS)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**9), 10**9) | JSON_TEXT,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(JSON_KEY, inner, max_size=3)
    ),
    max_leaves=8,
)
JSON_OBJECT = st.dictionaries(JSON_KEY, JSON_VALUE, max_size=4)


def rfc_uuid() -> st.SearchStrategy[uuid.UUID]:
    """What ``z.uuid()`` accepts: versions 1-8 (variant 10xx), nil, max."""
    versioned = st.tuples(st.integers(0, 2**128 - 1), st.integers(1, 8)).map(
        lambda v: uuid.UUID(
            int=(v[0] & ~(0xF << 76) & ~(0x3 << 62)) | (v[1] << 76) | (0x2 << 62)
        )
    )
    return st.one_of(
        versioned, st.sampled_from([uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)])
    )


DATES = st.dates(DATE_MIN, DATE_MAX)
TIMESTAMPS = st.datetimes(
    datetime(DATE_MIN.year, 1, 1),
    datetime(DATE_MAX.year, 12, 31),
    timezones=st.just(UTC),
)
INT32 = 2**31 - 1


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A key the Insert schema makes optional: left out (None) or given."""
    return st.one_of(st.none(), strategy)


# --- A's operations -------------------------------------------------------

# Where an operation aims: ("A" | "B", index) picks an existing row of the
# table (index modulo the rows there), ("new",) an id that exists nowhere.
TARGET = st.one_of(
    st.tuples(st.sampled_from(["A", "B"]), st.sampled_from(range(16))),
    st.tuples(st.sampled_from(["A", "B"]), st.sampled_from(range(16))),
    st.tuples(st.sampled_from(["A", "B"]), st.sampled_from(range(16))),
    st.just(("new",)),
)
# The tables where the lock and the same-owner rules have the most to hold,
# drawn more often.
TABLES = st.sampled_from(
    [*DOMAIN_TABLES, "plan_item", "plan_item", "weekly_plan", "cycle"]
)

# Columns A may try to set, with values: plain values or a target's id.
SETTABLE: dict[str, list[tuple[str, st.SearchStrategy[Any]]]] = {
    "vision": [("title", text_for("vision.title")), ("status", st.just("archived"))],
    "cycle": [
        ("lock_enforced", st.booleans()),
        ("start_date", DATES),
        ("status", st.sampled_from(["draft", "completed"])),
    ],
    "goal": [("title", text_for("goal.title")), ("goal_type", st.just("personal"))],
    "task": [("default_quota", st.integers(1, 50))],
    "weekly_plan": [("week_no", st.integers(1, 12)), ("reflection", st.just("r"))],
    "plan_item": [
        ("quota", st.integers(0, 50)),
        ("completed_count", st.integers(0, 50)),
    ],
    "chat_session": [("context", JSON_OBJECT.map(json.dumps))],
    "chat_message": [("role", st.sampled_from(["user", "assistant"]))],
}
PARENTS = {(table, column): parent for table, column, parent in PARENT_COLUMNS}


@st.composite
def operations(draw: st.DrawFn) -> tuple[Any, ...]:
    """One statement of A's: (kind, table, target, ...)."""
    kind = draw(
        st.sampled_from(
            ["update"] * 3
            + ["reparent"] * 2
            + ["delete"] * 2
            + ["upsert", "merge", "lock"]
        )
    )
    if kind == "reparent":
        table, column = draw(st.sampled_from(sorted(PARENTS)))
        return (kind, table, draw(TARGET), column, draw(TARGET))
    table = draw(TABLES)
    if kind == "update":
        column, values = draw(st.sampled_from(SETTABLE[table]))
        return (kind, table, draw(TARGET), column, draw(values))
    if kind == "upsert":
        return (kind, table, draw(TARGET), draw(TARGET))
    return (kind, table, draw(TARGET))


def resolve(target: tuple[Any, ...], table: str, a: User, b: User) -> uuid.UUID:
    """The id ``target`` picks among ``table``'s rows of A or B."""
    if target[0] == "new":
        return uuid.uuid4()
    ids = (a if target[0] == "A" else b).ids()[table]
    return ids[target[1] % len(ids)]


NEW_ROW: dict[str, tuple[str, list[str]]] = {
    # table: (columns after id and user_id, parent tables of the $ parameters)
    "vision": ("title, statement, status) values ($1, $2, 'x', 'x', 'archived'", []),
    "cycle": ("start_date) values ($1, $2, '2150-01-05'", []),
    "goal": (
        "cycle_id, goal_type, title) values ($1, $2, $3, 'personal', 'x'",
        ["cycle"],
    ),
    "task": ("goal_id, title) values ($1, $2, $3, 'x'", ["goal"]),
    "weekly_plan": ("cycle_id, week_no) values ($1, $2, $3, 4", ["cycle"]),
    "plan_item": (
        "weekly_plan_id, task_id) values ($1, $2, $3, $4",
        ["weekly_plan", "task"],
    ),
    "chat_session": ("cycle_id) values ($1, $2, $3", ["cycle"]),
    "chat_message": (
        "session_id, role, content) values ($1, $2, $3, 'user', 'x'",
        ["chat_session"],
    ),
}


def statement(op: tuple[Any, ...], a: User, b: User) -> tuple[str, list[Any]]:
    kind, table, target = op[0], op[1], op[2]
    row_id = resolve(target, table, a, b)
    if kind == "update":
        column, value = op[3], op[4]
        cast = "::jsonb" if column == "context" else ""
        return f"update {table} set {column} = $2{cast} where id = $1", [row_id, value]
    if kind == "reparent":
        column = op[3]
        parent = resolve(op[4], PARENTS[(table, column)], a, b)
        return f"update {table} set {column} = $2 where id = $1", [row_id, parent]
    if kind == "delete":
        return f"delete from {table} where id = $1", [row_id]
    if kind == "lock":
        return f"select * from {table} where id = $1 for update", [row_id]
    if kind == "merge":
        return (
            f"merge into {table} t using (select $1::uuid as id) s on t.id = s.id "
            "when matched then update set updated_at = now()",
            [row_id],
        )
    columns, parents = NEW_ROW[table]
    args = [row_id, a.user_id, *(resolve(op[3], p, a, b) for p in parents)]
    return (
        f"insert into {table} (id, user_id, {columns}) "
        f"on conflict (id) do update set updated_at = excluded.updated_at",
        args,
    )


async def _snapshot(conn: asyncpg.Connection, users) -> Any:
    """B's rows and both locked plans, read as the owner inside A's transaction."""
    await conn.execute("reset role")
    state = (
        await rows_of(conn, users.b.user_id),
        await locked_plan(conn, users.a),
        await locked_plan(conn, users.b),
    )
    await become(conn, "authenticated", users.a.user_id)
    return state


@SETTINGS
@given(st.lists(operations(), min_size=1, max_size=15))
async def test_a_cannot_change_reveal_or_block_bs_data_or_a_locked_week(
    users, conn_a, conn_b, ops
):
    a, b = users.a, users.b
    async with rolled_back(conn_a):
        await become(conn_a, "authenticated", a.user_id)
        await conn_a.execute("set local lock_timeout = '500ms'")
        before = await _snapshot(conn_a, users)
        for op in ops:
            sql, args = statement(op, a, b)
            rows, error = await attempt(conn_a, sql, *args)
            note(f"A: {sql} {args} -> {error_text(error) if error else rows}")
            supplied = {str(v) for v in args}
            seen = " ".join(json.dumps(dict(r), default=str) for r in rows)
            if error is not None:
                assert error.sqlstate != "55P03", ("A was blocked", sql)
                seen += error_text(error)
            assert not leaked(seen, b.secrets, supplied), (sql, seen)
        # Still inside A's transaction: nothing of B's is locked or changed,
        # no locked quota moved, and A's rows parse.
        await conn_b.execute("set lock_timeout = '100ms'")
        await assert_not_locked(conn_b, b)
        b_rows, a_locked, b_locked = await _snapshot(conn_a, users)
        assert b_rows == before[0], "B's rows changed"
        assert a_locked == before[1], "a locked week of A's changed"
        assert b_locked == before[2], "a locked week of B's changed"
        await conn_a.execute("reset role")
        for table, stored in (await rows_of(conn_a, a.user_id)).items():
            if table != "audit_log":
                for row in stored:
                    assert row_problems(table, json.loads(row)) == [], (table, row)


# --- The Insert schema against the database --------------------------------


@st.composite
def insert_rows(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    """One row per table for a new user, drawn from what the Insert schemas
    accept (keys left out where the schema makes them optional)."""

    def common(table: str) -> dict[str, Any]:
        row = {
            "id": draw(optional(rfc_uuid())),
            "created_at": draw(optional(TIMESTAMPS)),
            "updated_at": draw(optional(TIMESTAMPS)),
        }
        return {"table": table, **row}

    def texts(table: str, *columns: str, nullable: bool = False) -> dict[str, Any]:
        values = {}
        for column in columns:
            strategy = text_for(f"{table}.{column}")
            values[column] = draw(optional(strategy) if nullable else strategy)
        return values

    json_limit = min(JSON_MAX_BYTES.values())
    return {
        "vision": {
            **common("vision"),
            **texts("vision", "title", "statement"),
            "status": draw(optional(st.sampled_from(["active", "archived"]))),
        },
        "cycle": {
            **common("cycle"),
            "start_date": draw(DATES),
            "status": draw(optional(st.sampled_from(["draft", "active", "completed"]))),
            "locked_at": draw(optional(TIMESTAMPS)),
        },
        "goal": {
            **common("goal"),
            "goal_type": draw(st.sampled_from(["professional", "personal"])),
            **texts("goal", "title"),
            **texts("goal", "description", nullable=True),
        },
        "task": {
            **common("task"),
            **texts("task", "title"),
            **texts("task", "description", nullable=True),
            "default_quota": draw(optional(st.integers(1, INT32))),
        },
        "weekly_plan": {
            **common("weekly_plan"),
            "week_no": draw(st.integers(1, 12)),
            **texts("weekly_plan", "reflection", nullable=True),
        },
        "plan_item": {
            **common("plan_item"),
            "quota": draw(optional(st.integers(0, INT32))),
            "completed_count": draw(optional(st.integers(0, INT32))),
            **texts("plan_item", "notes", nullable=True),
        },
        "chat_session": {
            **common("chat_session"),
            **texts("chat_session", "title", nullable=True),
            "context": draw(
                optional(
                    JSON_OBJECT.filter(
                        lambda o: len(json.dumps(o).encode()) < json_limit
                    )
                )
            ),
        },
        "chat_message": {
            **common("chat_message"),
            "role": "user",
            **texts("chat_message", "content"),
            "metadata": draw(optional(JSON_OBJECT)),
        },
    }


# Each table's parents in a new user's chain: column -> table.
CHAIN_PARENTS = {
    "cycle": {"vision_id": "vision"},
    "goal": {"cycle_id": "cycle"},
    "task": {"goal_id": "goal"},
    "weekly_plan": {"cycle_id": "cycle"},
    "plan_item": {"weekly_plan_id": "weekly_plan", "task_id": "task"},
    "chat_session": {"cycle_id": "cycle"},
    "chat_message": {"session_id": "chat_session"},
}


@SETTINGS
@given(insert_rows())
async def test_rows_the_insert_schema_accepts_are_stored_and_read_back(conn_a, rows):
    async with rolled_back(conn_a):
        user_id = uuid.uuid4()
        await conn_a.execute("insert into auth.users (id) values ($1)", user_id)
        await become(conn_a, "authenticated", user_id)
        ids: dict[str, uuid.UUID] = {}
        for table in DOMAIN_TABLES:
            row = {
                k: v for k, v in rows[table].items() if k != "table" and v is not None
            }
            row["user_id"] = user_id
            for column, parent in CHAIN_PARENTS.get(table, {}).items():
                row[column] = ids[parent]
            assert insert_problems(table, {k: _plain(v) for k, v in row.items()}) == []
            columns = list(row)
            casts = ["::jsonb" if c in ("context", "metadata") else "" for c in columns]
            values = [
                json.dumps(v) if c in ("context", "metadata") else v
                for c, v in row.items()
            ]
            rows_back, error = await attempt(
                conn_a,
                f"insert into {table} ({', '.join(columns)}) values ("
                + ", ".join(f"${n}{cast}" for n, cast in enumerate(casts, start=1))
                + f") returning id, to_jsonb({table}) as stored",
                *values,
            )
            assert error is None, (table, row, error_text(error))
            ids[table] = rows_back[0]["id"]
            stored = json.loads(rows_back[0]["stored"])
            assert row_problems(table, stored) == [], (table, stored)
            # Client timestamps are ignored: the database's clock wins.
            assert datetime.fromisoformat(stored["created_at"]) > datetime.now(
                UTC
            ) - timedelta(hours=1)


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value
