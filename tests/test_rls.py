"""
Row-level security, tested as real users: docs/product.md, "Row-level security
and roles". Every statement runs the way PostgREST runs it (JWT claims, then
``set local role``); see ``tests/roles.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date

import asyncpg
import pytest

from tests.roles import acting_as, rejected_as
from tests.support import DOMAIN_TABLES, PLANNER_TABLES, Owner, build_owner, snapshot

INSUFFICIENT_PRIVILEGE = "42501"


@dataclass
class Users:
    """Two owners; ``b`` also has an empty draft cycle and a spare task."""

    a: Owner
    b: Owner
    b_spare_cycle_id: uuid.UUID
    b_spare_task_id: uuid.UUID

    @property
    def ids(self) -> list[uuid.UUID]:
        """Both users' ids: the scope of a snapshot."""
        return [self.a.user_id, self.b.user_id]


@pytest.fixture(scope="module")
async def users(migrated: str) -> AsyncIterator[Users]:
    conn = await asyncpg.connect(migrated)
    try:
        a = await build_owner(conn)
        b = await build_owner(conn)
        spare_cycle_id = await conn.fetchval(
            "insert into cycle (user_id, start_date, status) "
            "values ($1, $2, 'draft') returning id",
            b.user_id,
            date(2027, 6, 7),
        )
        spare_task_id = await conn.fetchval(
            "insert into task (user_id, goal_id, title) "
            "values ($1, $2, 'Spare task') returning id",
            b.user_id,
            b.goal_ids["professional"],
        )
        yield Users(a, b, spare_cycle_id, spare_task_id)
    finally:
        await conn.close()


# For each domain table, an INSERT of a new row owned by B that B itself may
# make (the control), as SQL and its arguments.
NEW_ROW_OF_B: dict[str, tuple[str, Callable[[Users], tuple[object, ...]]]] = {
    "vision": (
        "insert into vision (user_id, title, statement, status) "
        "values ($1, 'Another vision', 'Another statement', 'archived')",
        lambda u: (u.b.user_id,),
    ),
    "cycle": (
        "insert into cycle (user_id, start_date, status) values ($1, $2, 'draft')",
        lambda u: (u.b.user_id, date(2029, 1, 1)),
    ),
    "goal": (
        "insert into goal (user_id, cycle_id, goal_type, title) "
        "values ($1, $2, 'professional', 'A goal')",
        lambda u: (u.b.user_id, u.b_spare_cycle_id),
    ),
    "task": (
        "insert into task (user_id, goal_id, title) values ($1, $2, 'A task')",
        lambda u: (u.b.user_id, u.b.goal_ids["personal"]),
    ),
    "weekly_plan": (
        "insert into weekly_plan (user_id, cycle_id, week_no) values ($1, $2, 1)",
        lambda u: (u.b.user_id, u.b_spare_cycle_id),
    ),
    "plan_item": (
        "insert into plan_item (user_id, weekly_plan_id, task_id, quota) "
        "values ($1, $2, $3, 2)",
        lambda u: (u.b.user_id, u.b.weekly_plan_ids[1], u.b_spare_task_id),
    ),
    "chat_session": (
        "insert into chat_session (user_id, title) values ($1, 'Another chat')",
        lambda u: (u.b.user_id,),
    ),
    "chat_message": (
        "insert into chat_message (user_id, session_id, role, content) "
        "values ($1, $2, 'user', 'Hello')",
        lambda u: (u.b.user_id, u.b.chat_session_id),
    ),
}


async def count_rows(conn: asyncpg.Connection, table: str, user_id: uuid.UUID) -> int:
    return await conn.fetchval(
        f"select count(*) from {table} where user_id = $1", user_id
    )


def affected(status: str) -> int:
    """The row count of an ``UPDATE n`` / ``DELETE n`` status."""
    return int(status.rsplit(" ", 1)[1])


@pytest.mark.parametrize("table", PLANNER_TABLES)
async def test_user_sees_only_own_rows(
    db: asyncpg.Connection, users: Users, table: str
) -> None:
    own = await count_rows(db, table, users.a.user_id)
    assert own > 0 and await count_rows(db, table, users.b.user_id) > 0
    async with acting_as(db, "authenticated", users.a.user_id) as conn:
        rows = await conn.fetch(
            f"select user_id, count(*) from {table} group by user_id"
        )
    assert [(r["user_id"], r["count"]) for r in rows] == [(users.a.user_id, own)]


@pytest.mark.parametrize("table", PLANNER_TABLES)
async def test_request_without_user_sees_nothing(
    db: asyncpg.Connection, users: Users, table: str
) -> None:
    async with acting_as(db, "authenticated") as conn:
        assert await conn.fetchval(f"select count(*) from {table}") == 0


async def assert_only_the_owner_affects(
    db: asyncpg.Connection, users: Users, table: str, sql: str
) -> None:
    """
    ``sql`` (taking B's user id) reaches all of B's rows in ``table`` as B,
    and none as A, whose committed attempt leaves the database unchanged.
    """
    theirs = await count_rows(db, table, users.b.user_id)
    async with acting_as(db, "authenticated", users.b.user_id) as conn:
        assert affected(await conn.execute(sql, users.b.user_id)) == theirs > 0
    before = await snapshot(db, users.ids)
    async with acting_as(db, "authenticated", users.a.user_id, commit=True) as conn:
        assert affected(await conn.execute(sql, users.b.user_id)) == 0
    assert await snapshot(db, users.ids) == before


@pytest.mark.parametrize("table", DOMAIN_TABLES)
async def test_update_of_another_users_rows_affects_nothing(
    db: asyncpg.Connection, users: Users, table: str
) -> None:
    sql = (
        f"update {table} set updated_at = updated_at - interval '1 day' "
        "where user_id = $1"
    )
    await assert_only_the_owner_affects(db, users, table, sql)


@pytest.mark.parametrize("table", DOMAIN_TABLES)
async def test_delete_of_another_users_rows_affects_nothing(
    db: asyncpg.Connection, users: Users, table: str
) -> None:
    sql = f"delete from {table} where user_id = $1"
    await assert_only_the_owner_affects(db, users, table, sql)


@pytest.mark.parametrize("table", DOMAIN_TABLES)
async def test_insert_of_a_row_owned_by_another_user_is_rejected(
    db: asyncpg.Connection, users: Users, table: str
) -> None:
    sql, arguments = NEW_ROW_OF_B[table]
    args = arguments(users)
    async with acting_as(db, "authenticated", users.b.user_id) as conn:
        assert await conn.execute(sql, *args) == "INSERT 0 1"
    before = await snapshot(db, users.ids)
    error = await rejected_as(db, "authenticated", users.a.user_id, sql, *args)
    # Row-level security refuses the row; where the row names a parent, the
    # parent check (run as A, who cannot see B's rows) refuses it first, as
    # if B's parent did not exist.
    if error.sqlstate == "23503":
        assert "is not present in table" in error.detail, str(error)
    else:
        assert error.sqlstate == INSUFFICIENT_PRIVILEGE, str(error)
        assert "row-level security" in str(error)
    assert await snapshot(db, users.ids) == before


@pytest.mark.parametrize("table", DOMAIN_TABLES)
async def test_user_cannot_hand_own_rows_to_another_user(
    db: asyncpg.Connection, users: Users, table: str
) -> None:
    before = await snapshot(db, users.ids)
    error = await rejected_as(
        db,
        "authenticated",
        users.a.user_id,
        f"update {table} set user_id = $1 where user_id = $2",
        users.b.user_id,
        users.a.user_id,
    )
    # The owner of a row never changes, whoever asks.
    assert (error.sqlstate, error.constraint_name) == (
        "23514",
        f"{table}_user_id_never_changes",
    ), str(error)
    assert await snapshot(db, users.ids) == before


@pytest.mark.parametrize("table", PLANNER_TABLES)
async def test_anon_can_neither_read_nor_write(
    db: asyncpg.Connection, users: Users, table: str
) -> None:
    before = await snapshot(db, users.ids)
    for sql in (
        f"select * from {table}",
        f"delete from {table}",
        f"update {table} set user_id = user_id",
        f"insert into {table} (user_id) values ('{users.a.user_id}')",
    ):
        error = await rejected_as(db, "anon", None, sql)
        assert error.sqlstate == INSUFFICIENT_PRIVILEGE, (sql, str(error))
    assert await snapshot(db, users.ids) == before


@pytest.mark.parametrize("table", PLANNER_TABLES)
async def test_service_role_sees_every_row(
    db: asyncpg.Connection, users: Users, table: str
) -> None:
    everything = await db.fetchval(f"select count(*) from {table}")
    async with acting_as(db, "service_role") as conn:
        assert await conn.fetchval(f"select count(*) from {table}") == everything
        owners = await conn.fetchval(
            f"select count(distinct user_id) from {table} where user_id = any($1)",
            [users.a.user_id, users.b.user_id],
        )
    assert owners == 2


@pytest.mark.parametrize("table", DOMAIN_TABLES)
async def test_service_role_writes_any_users_rows(
    db: asyncpg.Connection, users: Users, table: str
) -> None:
    sql, arguments = NEW_ROW_OF_B[table]
    async with acting_as(db, "service_role") as conn:
        assert await conn.execute(sql, *arguments(users)) == "INSERT 0 1"
        theirs = await count_rows(conn, table, users.b.user_id)
        status = await conn.execute(
            f"update {table} set updated_at = now() where user_id = $1",
            users.b.user_id,
        )
        assert affected(status) == theirs
        status = await conn.execute(
            f"delete from {table} where user_id = $1", users.b.user_id
        )
        assert affected(status) == theirs


@pytest.mark.parametrize("role", ["authenticated", "service_role"])
async def test_api_roles_cannot_truncate(
    db: asyncpg.Connection, users: Users, role: str
) -> None:
    before = await snapshot(db, users.ids)
    for table in PLANNER_TABLES:
        error = await rejected_as(
            db, role, users.a.user_id, f"truncate {table} cascade"
        )
        assert error.sqlstate == INSUFFICIENT_PRIVILEGE, (table, str(error))
    assert await snapshot(db, users.ids) == before


@pytest.mark.parametrize("role", ["anon", "authenticated", "service_role"])
async def test_api_roles_cannot_read_piccolo_migration_table(
    db: asyncpg.Connection, role: str
) -> None:
    error = await rejected_as(db, role, None, "select * from migration")
    assert error.sqlstate == INSUFFICIENT_PRIVILEGE
