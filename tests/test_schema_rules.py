"""
Every schema rule of docs/product.md ("Tables", "Foreign keys", JSONB) attacked
with bad input through raw SQL as the table owner. Each rejected write must
leave the database exactly as it was (``assert_rejected``).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from tests.support import (
    DOMAIN_TABLES,
    ONE_COLUMN_CHANGE,
    assert_inserted_timestamps_are_now,
    assert_rejected,
    build_owner,
    create_user,
)

START = date(2026, 9, 7)

# ---------------------------------------------------------------------------
# Keys and ownership columns

OWNED_TABLES = DOMAIN_TABLES


@pytest.mark.parametrize("table", OWNED_TABLES)
async def test_primary_key_is_a_uuid_generated_in_the_database(db, table):
    default = await db.fetchval(
        "select column_default from information_schema.columns "
        "where table_schema = 'public' and table_name = $1 and column_name = 'id'",
        table,
    )
    assert default == "gen_random_uuid()"
    owner = await build_owner(db)
    row_id = await db.fetchval(
        f"select id from {table} where user_id = $1 limit 1", owner.user_id
    )
    assert isinstance(row_id, uuid.UUID)
    # A second row with the same id is rejected by the primary key.
    await assert_rejected(
        db,
        f"insert into {table} select * from {table} where id = $1",
        row_id,
        sqlstate="23505",
        constraint=f"{table}_pkey",
    )


@pytest.mark.parametrize("table", OWNED_TABLES)
async def test_every_row_needs_an_owner(db, table):
    assert await db.fetchval(
        "select attnotnull and not atthasdef from pg_attribute "
        "where attrelid = $1::regclass and attname = 'user_id'",
        table,
    )
    await assert_rejected(
        db,
        "insert into vision (user_id, title, statement) values (null, 't', 's')",
        sqlstate="23502",
        owners=(),
    )


@pytest.mark.parametrize("table", OWNED_TABLES)
async def test_owner_must_be_an_auth_user(db, table):
    assert await db.fetchval(
        "select pg_get_constraintdef(oid) from pg_constraint "
        "where conname = $1 and conrelid = $2::regclass",
        f"{table}_user_id_fkey",
        table,
    ) == ("FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE")
    await assert_rejected(
        db,
        "insert into vision (user_id, title, statement) values ($1, 't', 's')",
        uuid.uuid4(),
        sqlstate="23503",
        constraint="vision_user_id_fkey",
        owners=(),
    )


@pytest.mark.parametrize("table", OWNED_TABLES)
@pytest.mark.parametrize("column", ["id", "user_id"])
async def test_id_and_owner_never_change(db, owner, table, column):
    other = await build_owner(db)
    row_id = await db.fetchval(
        f"select id from {table} where user_id = $1 limit 1", owner.user_id
    )
    new_value = other.user_id if column == "user_id" else uuid.uuid4()
    await assert_rejected(
        db,
        f"update {table} set {column} = $2 where id = $1",
        row_id,
        new_value,
        sqlstate="23514",
        constraint=f"{table}_{column}_never_changes",
    )


async def test_deleting_a_user_removes_everything_they_own(db):
    owner = await build_owner(db, lock_enforced=True)
    other = await build_owner(db)
    await db.execute("delete from auth.users where id = $1", owner.user_id)
    for table in OWNED_TABLES:
        assert (
            await db.fetchval(
                f"select count(*) from {table} where user_id = $1", owner.user_id
            )
            == 0
        ), table
        assert await db.fetchval(
            f"select count(*) from {table} where user_id = $1", other.user_id
        ), table


@pytest.mark.parametrize("table", OWNED_TABLES)
async def test_created_at_and_updated_at_are_maintained_by_the_database(
    db, owner, table
):
    row_id = await db.fetchval(
        f"select id from {table} where user_id = $1 limit 1", owner.user_id
    )
    created, updated = await db.fetchrow(
        f"select created_at, updated_at from {table} where id = $1", row_id
    )
    assert created is not None and updated is not None

    # Client values for the timestamps are ignored: alone, they change nothing.
    await db.execute(
        f"update {table} set created_at = '1999-01-01', updated_at = 'infinity' "
        "where id = $1",
        row_id,
    )
    assert await db.fetchrow(
        f"select created_at, updated_at from {table} where id = $1", row_id
    ) == (created, updated)

    # A real change moves updated_at to the time of the change, whatever the
    # writer says; created_at stays.
    async with db.transaction():
        await db.execute(
            f"update {table} set {ONE_COLUMN_CHANGE[table]}, "
            "created_at = '1999-01-01', updated_at = '2000-01-01' where id = $1",
            row_id,
        )
        now = await db.fetchval("select now()")
        row = await db.fetchrow(
            f"select created_at, updated_at from {table} where id = $1", row_id
        )
    assert row == (created, now)
    assert now > updated


async def test_inserted_timestamps_are_the_insert_time(db, owner):
    async with db.transaction():
        await assert_inserted_timestamps_are_now(db, owner.user_id)


# ---------------------------------------------------------------------------
# Foreign keys and ON DELETE rules


async def test_deleting_a_cycle_removes_its_goals_tasks_weeks_and_plan_items(db, owner):
    await db.execute("delete from cycle where id = $1", owner.cycle_id)
    for table in ("goal", "task", "weekly_plan", "plan_item"):
        assert (
            await db.fetchval(
                f"select count(*) from {table} where user_id = $1", owner.user_id
            )
            == 0
        ), table
    # A chat about the cycle outlives it, detached.
    assert (
        await db.fetchval(
            "select cycle_id from chat_session where id = $1", owner.chat_session_id
        )
        is None
    )


async def test_deleting_a_vision_detaches_its_cycles(db, owner):
    await db.execute("delete from vision where id = $1", owner.vision_id)
    row = await db.fetchrow(
        "select vision_id, user_id from cycle where id = $1", owner.cycle_id
    )
    assert row["vision_id"] is None and row["user_id"] == owner.user_id


async def test_deleting_a_chat_session_removes_its_messages(db, owner):
    await db.execute("delete from chat_session where id = $1", owner.chat_session_id)
    assert (
        await db.fetchval(
            "select count(*) from chat_message where session_id = $1",
            owner.chat_session_id,
        )
        == 0
    )


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        (
            "insert into goal (user_id, cycle_id, goal_type, title) "
            "values ($1, $2, 'professional', 'x')",
            "goal_cycle_same_owner_fkey",
        ),
        (
            "insert into weekly_plan (user_id, cycle_id, week_no) values ($1, $2, 1)",
            "weekly_plan_cycle_same_owner_fkey",
        ),
        (
            "insert into chat_message (user_id, session_id, role, content) "
            "values ($1, $2, 'user', 'x')",
            "chat_message_session_same_owner_fkey",
        ),
        (
            "insert into task (user_id, goal_id, title) values ($1, $2, 'x')",
            "task_goal_same_owner_fkey",
        ),
    ],
)
async def test_a_child_needs_an_existing_parent(db, owner, sql, constraint):
    await assert_rejected(
        db, sql, owner.user_id, uuid.uuid4(), sqlstate="23503", constraint=constraint
    )


async def test_every_foreign_key_column_and_owner_column_is_indexed(db):
    rows = await db.fetch(
        """
        select c.conrelid::regclass::text as tbl, c.conname,
               (select array_agg(a.attname order by k.ord)
                  from unnest(c.conkey) with ordinality k(attnum, ord)
                  join pg_attribute a
                    on a.attrelid = c.conrelid and a.attnum = k.attnum) as cols
        from pg_constraint c
        join pg_namespace n on n.oid = c.connamespace
        where c.contype = 'f' and n.nspname = 'public'
        """
    )
    indexes = await db.fetch(
        """
        select i.indrelid::regclass::text as tbl,
               (select array_agg(a.attname order by k.ord)
                  from unnest(i.indkey) with ordinality k(attnum, ord)
                  join pg_attribute a
                    on a.attrelid = i.indrelid and a.attnum = k.attnum) as cols
        from pg_index i join pg_class c on c.oid = i.indrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public'
        """
    )
    leading = {(ix["tbl"], ix["cols"][0]) for ix in indexes if ix["cols"]}
    assert rows, "no foreign keys found"
    for fk in rows:
        assert (fk["tbl"], fk["cols"][0]) in leading, fk["conname"]
    for table in OWNED_TABLES + ("audit_log",):
        assert (table, "user_id") in leading, table


# ---------------------------------------------------------------------------
# Same-owner references: a child never points at another user's parent


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        (
            "update cycle set vision_id = $2 where user_id = $1",
            "cycle_vision_same_owner_fkey",
        ),
        (
            "insert into goal (user_id, cycle_id, goal_type, title) "
            "select $1, id, 'professional', 'x' from cycle "
            "where user_id = $2 and status = 'draft'",
            "goal_cycle_same_owner_fkey",
        ),
        (
            "insert into task (user_id, goal_id, title) "
            "select $1, id, 'x' from goal where user_id = $2 limit 1",
            "task_goal_same_owner_fkey",
        ),
        (
            "insert into weekly_plan (user_id, cycle_id, week_no) "
            "select $1, id, 1 from cycle where user_id = $2 and status = 'draft'",
            "weekly_plan_cycle_same_owner_fkey",
        ),
        (
            "insert into chat_session (user_id, cycle_id) "
            "select $1, id from cycle where user_id = $2",
            "chat_session_cycle_same_owner_fkey",
        ),
        (
            "insert into chat_message (user_id, session_id, role, content) "
            "select $1, id, 'user', 'x' from chat_session where user_id = $2",
            "chat_message_session_same_owner_fkey",
        ),
        (
            "update plan_item set task_id = "
            "(select id from task where user_id = $2 limit 1) "
            "where id = (select id from plan_item where user_id = $1 limit 1)",
            "plan_item_task_same_cycle_fkey",
        ),
        (
            "update plan_item set weekly_plan_id = "
            "(select id from weekly_plan where user_id = $2 and week_no = 1) "
            "where id = (select id from plan_item where user_id = $1 limit 1)",
            "plan_item_weekly_plan_same_owner_fkey",
        ),
    ],
)
async def test_a_row_cannot_reference_another_users_row(db, sql, constraint):
    mine = await build_owner(db)
    theirs = await build_owner(db)
    # A second, goal-less cycle of theirs, so only ownership can fail.
    await db.execute(
        "insert into cycle (user_id, start_date) values ($1, $2)",
        theirs.user_id,
        START + timedelta(days=84),
    )
    args = [mine.user_id]
    args.append(theirs.vision_id if "$2 where" in sql else theirs.user_id)
    await assert_rejected(db, sql, *args, sqlstate="23503", constraint=constraint)


async def test_a_plan_items_task_serves_a_goal_of_the_weekly_plans_cycle(db, owner):
    next_cycle = await db.fetchval(
        "insert into cycle (user_id, start_date) values ($1, $2) returning id",
        owner.user_id,
        START + timedelta(days=84),
    )
    goal = await db.fetchval(
        "insert into goal (user_id, cycle_id, goal_type, title) "
        "values ($1, $2, 'personal', 'Run') returning id",
        owner.user_id,
        next_cycle,
    )
    other_cycles_task = await db.fetchval(
        "insert into task (user_id, goal_id, title) values ($1, $2, 'Jog') "
        "returning id",
        owner.user_id,
        goal,
    )
    await assert_rejected(
        db,
        "insert into plan_item (user_id, weekly_plan_id, task_id, quota) "
        "values ($1, $2, $3, 1)",
        owner.user_id,
        owner.weekly_plan_ids[1],
        other_cycles_task,
        sqlstate="23503",
        constraint="plan_item_task_same_cycle_fkey",
    )
    # Nor can a planned task move to a goal of another cycle.
    await assert_rejected(
        db,
        "update task set goal_id = $2 where id = $1",
        owner.task_ids[0],
        goal,
        sqlstate="23503",
        constraint="plan_item_task_same_cycle_fkey",
    )
    # Nor a goal with tasks to another cycle.
    await assert_rejected(
        db,
        "update goal set cycle_id = $2 where id = $1",
        owner.goal_ids["professional"],
        next_cycle,
        sqlstate="23503",
    )


# ---------------------------------------------------------------------------
# Enumerations, ranges, blanks and JSON objects


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        ("update goal set goal_type = 'health' where user_id = $1", "goal_type_valid"),
        ("update cycle set status = 'paused' where user_id = $1", "cycle_status_valid"),
        (
            "update vision set status = 'deleted' where user_id = $1",
            "vision_status_valid",
        ),
        (
            "update chat_message set role = 'coach' where user_id = $1",
            "chat_message_role_valid",
        ),
    ],
)
async def test_enumerated_columns_accept_only_their_values(db, owner, sql, constraint):
    await assert_rejected(
        db, sql, owner.user_id, sqlstate="23514", constraint=constraint
    )


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        (
            "update weekly_plan set week_no = 0 where user_id = $1 and week_no = 1",
            "weekly_plan_week_no_1_to_12",
        ),
        (
            "update weekly_plan set week_no = 13 where user_id = $1 and week_no = 12",
            "weekly_plan_week_no_1_to_12",
        ),
        (
            "update plan_item set quota = -1 where user_id = $1",
            "plan_item_quota_not_negative",
        ),
        (
            "update plan_item set completed_count = -1 where user_id = $1",
            "plan_item_completed_count_not_negative",
        ),
        (
            "update task set default_quota = 0 where user_id = $1",
            "task_default_quota_at_least_1",
        ),
    ],
)
async def test_numbers_stay_in_their_ranges(db, owner, sql, constraint):
    await assert_rejected(
        db, sql, owner.user_id, sqlstate="23514", constraint=constraint
    )


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("vision", "title"),
        ("vision", "statement"),
        ("goal", "title"),
        ("task", "title"),
    ],
)
@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
async def test_titles_are_not_blank(db, owner, table, column, blank):
    await assert_rejected(
        db,
        f"update {table} set {column} = $2 where user_id = $1",
        owner.user_id,
        blank,
        sqlstate="23514",
        constraint=f"{table}_{column}_not_blank",
    )


@pytest.mark.parametrize(
    ("table", "column"),
    [("chat_session", "context"), ("chat_message", "metadata")],
)
@pytest.mark.parametrize("value", ["[]", '"text"', "42", "null", "true"])
async def test_jsonb_columns_hold_objects_only(db, owner, table, column, value):
    await assert_rejected(
        db,
        f"update {table} set {column} = $2::jsonb where user_id = $1",
        owner.user_id,
        value,
        sqlstate="23514",
        constraint=f"{table}_{column}_is_object",
    )
    # An object is fine.
    status = await db.execute(
        f'update {table} set {column} = \'{{"mood": "good"}}\' where user_id = $1',
        owner.user_id,
    )
    assert status == "UPDATE 1"
    stored = await db.fetchval(
        f"select {column}::text from {table} where user_id = $1", owner.user_id
    )
    assert stored == '{"mood": "good"}'


# ---------------------------------------------------------------------------
# Uniques


async def test_second_goal_of_same_type_is_rejected(db, fixture_data):
    ada = fixture_data["ada"]
    cycle = ada.cycles["active"]
    assert set(cycle.goal_ids) == {"professional", "personal"}
    for goal_type in ("professional", "personal"):
        await assert_rejected(
            db,
            "insert into goal (user_id, cycle_id, goal_type, title) "
            "values ($1, $2, $3, 'Another one')",
            ada.id,
            cycle.id,
            goal_type,
            sqlstate="23505",
            constraint="goal_one_per_type",
        )


async def test_a_cycle_has_one_weekly_plan_per_week(db, owner):
    await assert_rejected(
        db,
        "insert into weekly_plan (user_id, cycle_id, week_no) values ($1, $2, 3)",
        owner.user_id,
        owner.cycle_id,
        sqlstate="23505",
        constraint="weekly_plan_one_per_week",
    )


async def test_a_task_is_planned_once_per_week(db, owner):
    await assert_rejected(
        db,
        "insert into plan_item (user_id, weekly_plan_id, task_id, quota) "
        "values ($1, $2, $3, 1)",
        owner.user_id,
        owner.weekly_plan_ids[2],
        owner.task_ids[0],
        sqlstate="23505",
        constraint="plan_item_one_per_task_and_week",
    )


async def test_a_user_has_at_most_one_active_vision(db, owner):
    await assert_rejected(
        db,
        "insert into vision (user_id, title, statement, status) "
        "values ($1, 'Second', 'Another vision', 'active')",
        owner.user_id,
        sqlstate="23505",
        constraint="vision_one_active_per_user",
    )
    # An archived one is fine.
    await db.execute(
        "insert into vision (user_id, title, statement, status) "
        "values ($1, 'Old', 'An earlier vision', 'archived')",
        owner.user_id,
    )
    statuses = await db.fetch(
        "select status from vision where user_id = $1 order by status", owner.user_id
    )
    assert [row["status"] for row in statuses] == ["active", "archived"]


async def test_a_user_has_at_most_one_active_cycle(db, owner):
    await assert_rejected(
        db,
        "insert into cycle (user_id, start_date, status) values ($1, $2, 'active')",
        owner.user_id,
        START + timedelta(days=200),
        sqlstate="23505",
        constraint="cycle_one_active_per_user",
    )


# ---------------------------------------------------------------------------
# Cycle dates


async def test_cycle_end_date_is_always_start_plus_83_days(db):
    user_id = await create_user(db)
    # Left out, the database fills it in.
    cycle_id = await db.fetchval(
        "insert into cycle (user_id, start_date) values ($1, $2) returning id",
        user_id,
        START,
    )
    assert await db.fetchval(
        "select end_date from cycle where id = $1", cycle_id
    ) == START + timedelta(days=83)
    # Any other end date is rejected, on insert and on update.
    await assert_rejected(
        db,
        "insert into cycle (user_id, start_date, end_date) values ($1, $2, $3)",
        user_id,
        START + timedelta(days=200),
        START + timedelta(days=210),
        sqlstate="23514",
        constraint="cycle_end_date_is_start_plus_83",
    )
    await assert_rejected(
        db,
        "update cycle set end_date = '2030-01-01' where id = $1",
        cycle_id,
        sqlstate="23514",
        constraint="cycle_end_date_is_start_plus_83",
    )
    # Moving the start moves the end with it.
    await db.execute(
        "update cycle set start_date = $2 where id = $1",
        cycle_id,
        START + timedelta(days=7),
    )
    assert await db.fetchval(
        "select end_date from cycle where id = $1", cycle_id
    ) == START + timedelta(days=90)
    # Even with triggers switched off (replication mode), the CHECK holds.
    async with db.transaction():
        await db.execute("set local session_replication_role = replica")
        await assert_rejected(
            db,
            "update cycle set end_date = start_date + 1 where id = $1",
            cycle_id,
            sqlstate="23514",
            constraint="cycle_end_date_is_start_plus_83",
        )


async def test_a_users_cycles_never_overlap(db, owner):
    for offset in (0, 83, -83, 40):
        await assert_rejected(
            db,
            "insert into cycle (user_id, start_date) values ($1, $2)",
            owner.user_id,
            START + timedelta(days=offset),
            sqlstate="23P01",
            constraint="cycle_no_overlap",
        )
    # The day after the last day is free, and other users are unaffected.
    await db.execute(
        "insert into cycle (user_id, start_date) values ($1, $2)",
        owner.user_id,
        START + timedelta(days=84),
    )
    other = await create_user(db)
    await db.execute(
        "insert into cycle (user_id, start_date) values ($1, $2)", other, START
    )
    starts = await db.fetch(
        "select user_id, start_date from cycle where user_id = any($1::uuid[]) "
        "order by start_date, user_id = $2",
        [owner.user_id, other],
        other,
    )
    assert [tuple(row) for row in starts] == [
        (owner.user_id, START),
        (other, START),
        (owner.user_id, START + timedelta(days=84)),
    ]


async def test_week_start_date_follows_the_cycle(db, owner):
    rows = await db.fetch(
        "select week_no, week_start_date from weekly_plan where cycle_id = $1",
        owner.cycle_id,
    )
    assert {r["week_no"]: r["week_start_date"] for r in rows} == {
        n: START + timedelta(weeks=n - 1) for n in range(1, 13)
    }
    # A writer cannot put a week on another date...
    await assert_rejected(
        db,
        "update weekly_plan set week_start_date = '2001-01-01' where id = $1",
        owner.weekly_plan_ids[3],
        sqlstate="23514",
        constraint="weekly_plan_week_start_matches_cycle",
    )
    await assert_rejected(
        db,
        "insert into weekly_plan (user_id, cycle_id, week_no, week_start_date) "
        "select user_id, id, 1, start_date + 1 from cycle where id = $1",
        owner.cycle_id,
        sqlstate="23514",
        constraint="weekly_plan_week_start_matches_cycle",
    )
    # ...and moving the cycle moves its weeks.
    await db.execute(
        "update cycle set start_date = $2 where id = $1",
        owner.cycle_id,
        START + timedelta(days=7),
    )
    assert await db.fetchval(
        "select week_start_date from weekly_plan where id = $1",
        owner.weekly_plan_ids[3],
    ) == START + timedelta(weeks=3)


async def test_messages_of_one_transaction_keep_their_order(db, owner):
    contents = [f"message {n}" for n in range(5)]
    async with db.transaction():
        for content in contents:
            await db.execute(
                "insert into chat_message (user_id, session_id, role, content) "
                "values ($1, $2, 'user', $3)",
                owner.user_id,
                owner.chat_session_id,
                content,
            )
    rows = await db.fetch(
        "select content from chat_message where session_id = $1 and content "
        "like 'message %' order by created_at, id",
        owner.chat_session_id,
    )
    assert [row["content"] for row in rows] == contents
