"""
Issue 19, item 9: every stored JSON object reads back the same in the front
end. ``JSON.parse`` keeps a ``__proto__`` key, but Zod leaves it out of what
it parses (and assigning it to an object sets a prototype instead), so the
database refuses such keys at any depth, as the generated schemas do
(``<table>_<column>_keys_representable``, ``rules.JSON_UNREPRESENTABLE_KEYS``).
What Zod makes of each document is checked with the real Zod in
``tests/schema_export/test_zod.py``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from planner_app.rules import JSON_MAX_BYTES
from tests.attacks.row_schema import row_problems
from tests.roles import acting_as
from tests.support import Owner, assert_rejected, build_owner, connected, run_cli

BEFORE_0009 = "2026-12-04T00:00:09:000000"

JSON_COLUMNS = [("chat_session", "context"), ("chat_message", "metadata")]


def nested(depth: int, inner: str, *, arrays: bool = False) -> str:
    """``inner`` inside ``depth`` objects (or arrays) under a key ``a``."""
    if arrays:
        return '{"a": ' + "[" * depth + inner + "]" * depth + "}"
    return '{"a": ' * depth + inner + "}" * depth


# JSON texts as a client sends them (so a key can be written escaped).
UNREPRESENTABLE = {
    "at the top": '{"__proto__": {"admin": true}, "k": "v"}',
    "one level down": '{"k": {"__proto__": 1}}',
    "in an array": '{"k": [1, {"deeper": [{"__proto__": null}]}]}',
    "written escaped": '{"\\u005f_proto__": 1}',
    "500 objects down": nested(500, '{"__proto__": 1}'),
    "8000 arrays down": nested(8000, '{"__proto__": 1}', arrays=True),
}
REPRESENTABLE = {
    "as a value": '{"k": "__proto__", "list": ["__proto__"]}',
    "look-alike keys": '{"__proto__x": 1, "__PROTO__": 2, "_proto_": 3}',
    "other special names": '{"constructor": 1, "prototype": {"toString": 2}}',
    "500 objects deep": nested(500, '{"k": 1}'),
}


def _insert(table: str) -> str:
    if table == "chat_session":
        return (
            "insert into chat_session (user_id, context) values ($1, $2::jsonb) "
            "returning to_jsonb(chat_session.*)::text"
        )
    return (
        "insert into chat_message (user_id, session_id, role, content, metadata) "
        "select user_id, id, 'user', 'Hi', $2::jsonb from chat_session "
        "where user_id = $1 limit 1 returning to_jsonb(chat_message.*)::text"
    )


@pytest.mark.parametrize(("table", "column"), JSON_COLUMNS)
@pytest.mark.parametrize("where", sorted(UNREPRESENTABLE))
async def test_a_key_the_front_end_cannot_hold_is_refused_at_any_depth(
    db: asyncpg.Connection, owner: Owner, table: str, column: str, where: str
) -> None:
    await assert_rejected(
        db,
        _insert(table),
        owner.user_id,
        UNREPRESENTABLE[where],
        sqlstate="23514",
        constraint=f"{table}_{column}_keys_representable",
        owners=[owner.user_id],
    )


@pytest.mark.parametrize(("table", "column"), JSON_COLUMNS)
async def test_an_update_to_such_a_key_is_refused_for_the_user_too(
    db: asyncpg.Connection, owner: Owner, table: str, column: str
) -> None:
    row_id = owner.row_id(table)
    with pytest.raises(asyncpg.CheckViolationError) as refused:
        async with acting_as(db, "authenticated", owner.user_id) as conn:
            await conn.execute(
                f"update {table} set {column} = $2::jsonb where id = $1",
                row_id,
                UNREPRESENTABLE["one level down"],
            )
    assert refused.value.constraint_name == f"{table}_{column}_keys_representable"
    stored = await db.fetchval(
        f"select {column}::text from {table} where id = $1", row_id
    )
    assert "__proto__" not in stored


@pytest.mark.parametrize(("table", "column"), JSON_COLUMNS)
@pytest.mark.parametrize("what", sorted(REPRESENTABLE))
async def test_other_keys_are_stored_and_the_row_schema_accepts_them(
    db: asyncpg.Connection, owner: Owner, table: str, column: str, what: str
) -> None:
    async with db.transaction():
        row = json.loads(
            await db.fetchval(_insert(table), owner.user_id, REPRESENTABLE[what])
        )
    assert row[column] == json.loads(REPRESENTABLE[what])
    assert row_problems(table, row) == []


@pytest.mark.parametrize(("table", "column"), JSON_COLUMNS)
async def test_an_object_too_big_to_walk_is_refused_for_its_size(
    db: asyncpg.Connection, owner: Owner, table: str, column: str
) -> None:
    """Beyond its size limit an object is never walked for keys: 12000
    levels of arrays are refused as too big, not with a stack overflow."""
    too_deep = nested(12000, '{"__proto__": 1}', arrays=True)
    assert len(too_deep) > JSON_MAX_BYTES[f"{table}.{column}"]
    await assert_rejected(
        db,
        _insert(table),
        owner.user_id,
        too_deep,
        sqlstate="23514",
        constraint=f"{table}_{column}_max_size",
        owners=[owner.user_id],
    )


def test_the_row_schema_mirror_refuses_the_key_at_any_depth() -> None:
    row_id = str(uuid.uuid4())
    # Python's json module stops at about 1000 levels.
    for where, text in UNREPRESENTABLE.items():
        if where == "8000 arrays down":
            continue
        problems = row_problems("audit_log", _audit_row(row_id, json.loads(text)))
        assert problems == ["audit_log.after: holds the key __proto__"]


def _audit_row(row_id: str, after: dict) -> dict:
    return {
        "id": 1,
        "occurred_at": "2026-09-07T10:00:00+00:00",
        "table_name": "chat_session",
        "record_id": row_id,
        "action": "INSERT",
        "user_id": row_id,
        "actor_id": None,
        "actor_role": "authenticated",
        "txid": 1,
        "before": None,
        "after": after,
    }


async def test_the_migration_refuses_to_run_over_a_stored_key_and_changes_nothing(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    url = await fresh_database(migrated=True)
    back = ("migrations", "backwards", "planner_app", BEFORE_0009, "--auto_agree")
    assert run_cli(*back, database_url=url).returncode == 0
    async with connected(url) as conn:
        owner = await build_owner(conn)
        await conn.execute(
            "update chat_session set context = $2::jsonb where id = $1",
            owner.chat_session_id,
            UNREPRESENTABLE["at the top"],
        )
        applied = await conn.fetchval("select count(*) from migration")
        result = run_cli("migrations", "forwards", "all", database_url=url)
        assert result.returncode != 0
        assert (
            "chat_session_context_keys_representable" in result.stdout + result.stderr
        )
        assert await conn.fetchval("select count(*) from migration") == applied
        assert (
            await conn.fetchval(
                "select count(*) from pg_constraint "
                "where conname like '%keys_representable'"
            )
            == 0
        )
        await conn.execute(
            "update chat_session set context = context - '__proto__' where id = $1",
            owner.chat_session_id,
        )
        result = run_cli("migrations", "forwards", "all", database_url=url)
        assert result.returncode == 0, result.stdout + result.stderr
