"""
The audit log: docs/product.md, "Audit". Every change to a domain row writes one
audit_log row, with the acting user and role; nobody rewrites history.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from tests.roles import API_ROLES, acting_as, rejected_as, rolled_back
from tests.support import DOMAIN_TABLES, ONE_COLUMN_CHANGE, Owner, build_owner, snapshot

APPEND_ONLY = "23001"


@pytest.fixture(scope="module")
async def owner(migrated: str) -> AsyncIterator[Owner]:
    conn = await asyncpg.connect(migrated)
    try:
        yield await build_owner(conn)
    finally:
        await conn.close()


async def audit_rows(
    conn: asyncpg.Connection, *, txid: int | None = None, record_id: Any = None
) -> list[asyncpg.Record]:
    """This transaction's audit rows (or one record's), oldest first."""
    return await conn.fetch(
        "select * from audit_log "
        "where txid = coalesce($1, pg_current_xact_id()::text::bigint) "
        "and ($2::uuid is null or record_id = $2) order by id",
        txid,
        record_id,
    )


async def as_json(conn: asyncpg.Connection, table: str, id_: uuid.UUID) -> Any:
    value = await conn.fetchval(f"select to_jsonb(t) from {table} t where id = $1", id_)
    return json.loads(value) if value is not None else None


def assert_owner_wrote(
    row: asyncpg.Record,
    owner: Owner,
    action: str,
    table: str,
    record_id: uuid.UUID,
    *,
    before: Any,
    after: Any,
) -> None:
    """The audit row of ``action`` on the owner's row, acting as authenticated."""
    assert row["table_name"] == table
    assert row["record_id"] == record_id
    assert row["action"] == action
    assert row["user_id"] == owner.user_id
    assert row["actor_id"] == owner.user_id
    assert row["actor_role"] == "authenticated"
    assert (json.loads(row["before"]) if row["before"] else None) == before
    assert (json.loads(row["after"]) if row["after"] else None) == after


@pytest.mark.parametrize("table", DOMAIN_TABLES)
async def test_update_writes_one_audit_row_with_the_changed_columns(
    db: asyncpg.Connection, owner: Owner, table: str
) -> None:
    record_id = owner.row_id(table)
    async with acting_as(db, "authenticated", owner.user_id) as conn:
        before = await as_json(conn, table, record_id)
        await conn.execute(
            f"update {table} set {ONE_COLUMN_CHANGE[table]} where id = $1", record_id
        )
        after = await as_json(conn, table, record_id)
        rows = await audit_rows(conn)
    changed = {
        key for key in before if before[key] != after[key] and key != "updated_at"
    }
    assert len(changed) == 1
    assert before["updated_at"] != after["updated_at"]
    assert len(rows) == 1
    assert_owner_wrote(
        rows[0],
        owner,
        "UPDATE",
        table,
        record_id,
        before={key: before[key] for key in changed},
        after={key: after[key] for key in changed},
    )


@pytest.mark.parametrize("table", DOMAIN_TABLES)
async def test_delete_writes_one_audit_row_with_before_only(
    db: asyncpg.Connection, owner: Owner, table: str
) -> None:
    record_id = owner.row_id(table)
    async with acting_as(db, "authenticated", owner.user_id) as conn:
        before = await as_json(conn, table, record_id)
        assert await conn.execute(f"delete from {table} where id = $1", record_id) == (
            "DELETE 1"
        )
        rows = await audit_rows(conn, record_id=record_id)
    assert len(rows) == 1
    assert_owner_wrote(
        rows[0], owner, "DELETE", table, record_id, before=before, after=None
    )


async def test_insert_writes_one_audit_row_with_after_only(
    db: asyncpg.Connection, owner: Owner
) -> None:
    async with acting_as(db, "authenticated", owner.user_id) as conn:
        session_id = await conn.fetchval(
            "insert into chat_session (user_id, title) values ($1, 'New') returning id",
            owner.user_id,
        )
        message_id = await conn.fetchval(
            "insert into chat_message (user_id, session_id, role, content) "
            "values ($1, $2, 'user', 'Hi') returning id",
            owner.user_id,
            session_id,
        )
        rows = await audit_rows(conn)
        expected = [
            (
                "chat_session",
                session_id,
                await as_json(conn, "chat_session", session_id),
            ),
            (
                "chat_message",
                message_id,
                await as_json(conn, "chat_message", message_id),
            ),
        ]
    assert len(rows) == 2
    for row, (table, record_id, after) in zip(rows, expected, strict=True):
        assert_owner_wrote(
            row, owner, "INSERT", table, record_id, before=None, after=after
        )


async def test_every_domain_table_is_audited_on_insert(
    db: asyncpg.Connection,
) -> None:
    async with rolled_back(db):
        built = await build_owner(db)
        counts = dict(
            await db.fetch(
                "select table_name, count(*) from audit_log "
                "where txid = pg_current_xact_id()::text::bigint and action = 'INSERT' "
                "group by table_name"
            )
        )
        expected = {
            table: await db.fetchval(
                f"select count(*) from {table} where user_id = $1", built.user_id
            )
            for table in DOMAIN_TABLES
        }
    assert counts == expected


@pytest.mark.parametrize("table", DOMAIN_TABLES)
async def test_update_that_changes_nothing_writes_no_audit_row(
    db: asyncpg.Connection, owner: Owner, table: str
) -> None:
    record_id = owner.row_id(table)
    async with acting_as(db, "authenticated", owner.user_id) as conn:
        before = await as_json(conn, table, record_id)
        status = await conn.execute(
            f"update {table} set user_id = user_id, created_at = created_at "
            "where id = $1",
            record_id,
        )
        assert status == "UPDATE 1"
        assert await audit_rows(conn) == []
        assert await as_json(conn, table, record_id) == before


async def test_change_outside_a_request_has_no_actor_but_the_database_role(
    db: asyncpg.Connection, owner: Owner
) -> None:
    async with rolled_back(db):
        await db.execute(
            "update vision set title = 'Renamed' where id = $1", owner.vision_id
        )
        rows = await audit_rows(db)
        login_role = await db.fetchval("select session_user")
    assert [(r["actor_id"], r["actor_role"]) for r in rows] == [(None, login_role)]


@pytest.mark.parametrize("bad_claims", ['{"sub": "not-a-uuid"}', "not json at all"])
async def test_malformed_claims_do_not_block_writes(
    db: asyncpg.Connection, owner: Owner, bad_claims: str
) -> None:
    async with rolled_back(db):
        await db.execute(
            "select set_config('request.jwt.claims', $1, true)", bad_claims
        )
        status = await db.execute(
            "update vision set title = 'Still writable' where id = $1",
            owner.vision_id,
        )
        rows = await audit_rows(db)
    assert status == "UPDATE 1"
    assert [(r["action"], r["actor_id"]) for r in rows] == [("UPDATE", None)]


async def test_service_role_lifting_a_lock_is_audited(
    db: asyncpg.Connection, owner: Owner
) -> None:
    await db.execute(
        "update cycle set lock_enforced = true where id = $1", owner.cycle_id
    )
    try:
        async with acting_as(db, "service_role") as conn:
            status = await conn.execute(
                "update cycle set lock_enforced = false where id = $1", owner.cycle_id
            )
            rows = await audit_rows(conn)
    finally:
        await db.execute(
            "update cycle set lock_enforced = false where id = $1", owner.cycle_id
        )
    assert status == "UPDATE 1"
    assert len(rows) == 1
    row = rows[0]
    assert (row["table_name"], row["record_id"], row["action"]) == (
        "cycle",
        owner.cycle_id,
        "UPDATE",
    )
    assert (row["user_id"], row["actor_id"], row["actor_role"]) == (
        owner.user_id,
        None,
        "service_role",
    )
    assert json.loads(row["before"])["lock_enforced"] is True
    assert json.loads(row["after"])["lock_enforced"] is False


async def test_users_read_only_their_own_history(
    db: asyncpg.Connection, owner: Owner
) -> None:
    other = await build_owner(db)
    async with acting_as(db, "authenticated", owner.user_id) as conn:
        seen = await conn.fetch("select distinct user_id from audit_log")
        history = await conn.fetch(
            "select action from audit_log where table_name = 'cycle' "
            "and record_id = $1 order by id",
            other.cycle_id,
        )
    assert [r["user_id"] for r in seen] == [owner.user_id]
    assert history == []


@pytest.mark.parametrize("role", API_ROLES)
async def test_api_roles_cannot_rewrite_history(
    db: asyncpg.Connection, owner: Owner, role: str
) -> None:
    before = await snapshot(db, [owner.user_id])
    user_id = owner.user_id if role == "authenticated" else None
    for sql in (
        "update audit_log set actor_role = 'nobody'",
        "delete from audit_log",
        "truncate audit_log",
        "insert into audit_log (table_name, record_id, action, user_id, after) "
        f"values ('vision', gen_random_uuid(), 'INSERT', '{owner.user_id}', '{{}}')",
    ):
        error = await rejected_as(db, role, user_id, sql)
        assert error.sqlstate == "42501", (sql, str(error))
    assert await snapshot(db, [owner.user_id]) == before


@pytest.mark.parametrize(
    "sql",
    [
        "update audit_log set actor_role = 'nobody'",
        "delete from audit_log",
        "truncate audit_log",
        "insert into audit_log (table_name, record_id, action, user_id, after) "
        "values ('vision', gen_random_uuid(), 'INSERT', gen_random_uuid(), '{}')",
    ],
)
async def test_even_the_table_owner_cannot_rewrite_history_by_accident(
    db: asyncpg.Connection, owner: Owner, sql: str
) -> None:
    assert await db.fetchval("select count(*) from audit_log") > 0
    before = await snapshot(db, [owner.user_id])
    try:
        await db.execute(sql)
    except asyncpg.PostgresError as error:
        assert error.sqlstate == APPEND_ONLY, str(error)
    else:
        raise AssertionError(f"the owner was allowed: {sql}")
    assert await snapshot(db, [owner.user_id]) == before


async def test_owner_purges_a_deleted_users_history_only_deliberately(
    db: asyncpg.Connection,
) -> None:
    gone = await build_owner(db)
    owned = {
        table: await db.fetchval(
            f"select count(*) from {table} where user_id = $1", gone.user_id
        )
        for table in DOMAIN_TABLES
    }
    await db.execute("delete from auth.users where id = $1", gone.user_id)
    deleted = dict(
        await db.fetch(
            "select table_name, count(*) from audit_log "
            "where user_id = $1 and action = 'DELETE' group by table_name",
            gone.user_id,
        )
    )
    # Deleting a user keeps the history of every row they owned.
    assert deleted == owned
    others = await db.fetchval(
        "select count(*) from audit_log where user_id <> $1", gone.user_id
    )
    async with db.transaction():
        await db.execute("alter table audit_log disable trigger audit_log_append_only")
        await db.execute("delete from audit_log where user_id = $1", gone.user_id)
        await db.execute("alter table audit_log enable trigger audit_log_append_only")
    assert (
        await db.fetchval(
            "select count(*) from audit_log where user_id = $1", gone.user_id
        )
        == 0
    )
    assert (
        await db.fetchval(
            "select count(*) from audit_log where user_id <> $1", gone.user_id
        )
        == others
    )
    with pytest.raises(asyncpg.PostgresError) as raised:
        await db.execute("delete from audit_log")
    assert raised.value.sqlstate == APPEND_ONLY


async def test_audit_ids_are_generated_by_the_database_only(
    db: asyncpg.Connection, owner: Owner
) -> None:
    before = await snapshot(db, [owner.user_id])
    with pytest.raises(asyncpg.PostgresError) as raised:
        await db.execute(
            "insert into audit_log (id, table_name, record_id, action, user_id, after) "
            "overriding system value values "
            "(-1, 'vision', gen_random_uuid(), 'INSERT', gen_random_uuid(), '{}')"
        )
    assert raised.value.sqlstate == APPEND_ONLY
    with pytest.raises(asyncpg.PostgresError) as raised:
        await db.execute(
            "insert into audit_log (id, table_name, record_id, action, user_id, after) "
            "values "
            "(-1, 'vision', gen_random_uuid(), 'INSERT', gen_random_uuid(), '{}')"
        )
    assert raised.value.sqlstate == "428C9"  # generated always as identity
    assert await snapshot(db, [owner.user_id]) == before
