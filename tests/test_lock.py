"""
docs/product.md, "Lock (weeks 7-12)": while a cycle's lock is enforced, the plan
of its weeks 7..12 cannot change; execution can; weeks 1..6 never lock.
Attacked with raw SQL as the table owner and superuser (the test
connection), as a table owner that is not a superuser, as ``authenticated``
and as ``service_role``, and with two concurrent writers.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from planner_app import services
from planner_app.errors import WEEK_LOCKED_HINT, WEEK_LOCKED_SQLSTATE, WeekLockedError
from planner_app.rules import LOCKED_WEEKS as LOCKED_WEEK_RANGE
from planner_app.rules import WEEKS_PER_CYCLE
from tests.roles import attempt_as, rolled_back
from tests.support import Owner, assert_rejected, build_owner, run_cli, snapshot

LOCKED = WEEK_LOCKED_SQLSTATE
LOCKED_WEEKS = list(LOCKED_WEEK_RANGE)
OPEN_WEEKS = [n for n in range(1, WEEKS_PER_CYCLE + 1) if n not in LOCKED_WEEK_RANGE]


async def test_the_database_locks_the_weeks_rules_py_names(
    db: asyncpg.Connection,
) -> None:
    lockable = await db.fetch(
        "select n from generate_series(-1, 14) n "
        "where planner_private.week_lockable(n) order by n"
    )
    assert [row["n"] for row in lockable] == LOCKED_WEEKS
    assert LOCKED_WEEKS and OPEN_WEEKS


async def add_task(conn: asyncpg.Connection, owner: Owner) -> uuid.UUID:
    """A third task (planned nowhere yet) for the owner's professional goal."""
    return await conn.fetchval(
        "insert into task (user_id, goal_id, title) values ($1, $2, 'Extra') "
        "returning id",
        owner.user_id,
        owner.goal_ids["professional"],
    )


async def plan(
    conn: asyncpg.Connection, owner: Owner, week_no: int, task_id: uuid.UUID
) -> uuid.UUID:
    return await conn.fetchval(
        "insert into plan_item (user_id, weekly_plan_id, task_id, quota) "
        "values ($1, $2, $3, 2) returning id",
        owner.user_id,
        owner.weekly_plan_ids[week_no],
        task_id,
    )


async def lock(conn: asyncpg.Connection, owner: Owner) -> None:
    await conn.execute(
        "update cycle set lock_enforced = true where id = $1", owner.cycle_id
    )


async def assert_quota_can_be_set(
    db: asyncpg.Connection, plan_item_id: uuid.UUID
) -> None:
    """The table owner sets the item's quota to 9, and it is 9."""
    await db.execute("update plan_item set quota = 9 where id = $1", plan_item_id)
    quota = await db.fetchval("select quota from plan_item where id = $1", plan_item_id)
    assert quota == 9


async def lift_lock(db: asyncpg.Connection, cycle_id: uuid.UUID) -> None:
    """The table owner lifts the cycle's lock."""
    await db.execute("update cycle set lock_enforced = false where id = $1", cycle_id)


async def lock_state(db: asyncpg.Connection, cycle_id: uuid.UUID) -> tuple:
    """The cycle's ``(lock_enforced, locked_at)``."""
    return tuple(
        await db.fetchrow(
            "select lock_enforced, locked_at from cycle where id = $1", cycle_id
        )
    )


async def assert_week_locked(
    db: asyncpg.Connection,
    owner: Owner,
    week_no: int,
    operation: str,
    sql: str,
    *args: object,
) -> asyncpg.PostgresError:
    """
    ``sql`` is rejected (:func:`~tests.support.assert_rejected`) with the
    lock's error for ``operation`` on the owner's week ``week_no``.
    """
    error = await assert_rejected(db, sql, *args, sqlstate=LOCKED)
    assert str(error).startswith(
        f"week {week_no} of cycle {owner.cycle_id} is locked: cannot "
    ), str(error)
    assert json.loads(error.detail) == {
        "cycle_id": str(owner.cycle_id),
        "week_no": week_no,
        "operation": operation,
    }
    assert error.hint == WEEK_LOCKED_HINT
    return error


# --- the rule, week by week ------------------------------------------------


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_quota_change_in_locked_week_is_rejected(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    error = await assert_week_locked(
        db,
        locked,
        week_no,
        "change_quota",
        "update plan_item set quota = quota + 1 where id = $1",
        locked.plan_item(week_no),
    )
    assert error.table_name == "plan_item"


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_lowering_quota_to_zero_in_locked_week_is_rejected(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    await assert_rejected(
        db,
        "update plan_item set quota = 0 where id = $1",
        locked.plan_item(week_no),
        sqlstate=LOCKED,
    )


@pytest.mark.parametrize("week_no", OPEN_WEEKS)
async def test_quota_change_in_weeks_1_to_6_is_allowed_when_locked(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    await assert_quota_can_be_set(db, locked.plan_item(week_no))


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_quota_change_is_allowed_while_lock_is_not_enforced(
    db: asyncpg.Connection, owner: Owner, week_no: int
) -> None:
    await assert_quota_can_be_set(db, owner.plan_item(week_no))


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_execution_is_recorded_in_locked_weeks(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    item = locked.plan_item(week_no)
    await db.execute(
        "update plan_item set completed_count = 2, notes = 'done twice' where id = $1",
        item,
    )
    # A quota written back unchanged is not a change.
    await db.execute("update plan_item set quota = quota where id = $1", item)
    await db.execute(
        "update weekly_plan set reflection = 'good week' where id = $1",
        locked.weekly_plan_ids[week_no],
    )
    row = await db.fetchrow(
        "select p.completed_count, p.notes, p.quota, w.reflection "
        "from plan_item p join weekly_plan w on w.id = p.weekly_plan_id "
        "where p.id = $1",
        item,
    )
    assert tuple(row) == (2, "done twice", 3, "good week")


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_adding_plan_item_to_locked_week_is_rejected(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    task_id = await add_task(db, locked)
    await assert_week_locked(
        db,
        locked,
        week_no,
        "add_plan_item",
        "insert into plan_item (user_id, weekly_plan_id, task_id, quota) "
        "values ($1, $2, $3, 1)",
        locked.user_id,
        locked.weekly_plan_ids[week_no],
        task_id,
    )


@pytest.mark.parametrize("week_no", OPEN_WEEKS)
async def test_adding_plan_item_to_weeks_1_to_6_is_allowed_when_locked(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    task_id = await add_task(db, locked)
    item = await plan(db, locked, week_no, task_id)
    row = await db.fetchrow(
        "select weekly_plan_id, task_id, quota from plan_item where id = $1", item
    )
    assert tuple(row) == (locked.weekly_plan_ids[week_no], task_id, 2)


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_removing_plan_item_from_locked_week_is_rejected(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    await assert_week_locked(
        db,
        locked,
        week_no,
        "remove_plan_item",
        "delete from plan_item where id = $1",
        locked.plan_item(week_no),
    )


@pytest.mark.parametrize("week_no", OPEN_WEEKS)
async def test_removing_plan_item_from_weeks_1_to_6_is_allowed_when_locked(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    status = await db.execute(
        "delete from plan_item where id = $1", locked.plan_item(week_no)
    )
    assert status == "DELETE 1"
    assert not await db.fetchval(
        "select exists (select 1 from plan_item where id = $1)",
        locked.plan_item(week_no),
    )


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_moving_plan_item_into_locked_week_is_rejected(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    item = await plan(db, locked, 2, await add_task(db, locked))
    await assert_week_locked(
        db,
        locked,
        week_no,
        "move_plan_item",
        "update plan_item set weekly_plan_id = $2 where id = $1",
        item,
        locked.weekly_plan_ids[week_no],
    )


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_moving_plan_item_out_of_locked_week_is_rejected(
    db: asyncpg.Connection, owner: Owner, week_no: int
) -> None:
    item = await plan(db, owner, week_no, await add_task(db, owner))
    await lock(db, owner)
    await assert_week_locked(
        db,
        owner,
        week_no,
        "move_plan_item",
        "update plan_item set weekly_plan_id = $2 where id = $1",
        item,
        owner.weekly_plan_ids[2],
    )


async def test_moving_plan_item_within_weeks_1_to_6_is_allowed_when_locked(
    db: asyncpg.Connection, locked: Owner
) -> None:
    item = await plan(db, locked, 2, await add_task(db, locked))
    status = await db.execute(
        "update plan_item set weekly_plan_id = $2 where id = $1",
        item,
        locked.weekly_plan_ids[5],
    )
    assert status == "UPDATE 1"
    assert (
        await db.fetchval("select weekly_plan_id from plan_item where id = $1", item)
        == locked.weekly_plan_ids[5]
    )


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_changing_task_of_plan_item_in_locked_week_is_rejected(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    task_id = await add_task(db, locked)
    await assert_week_locked(
        db,
        locked,
        week_no,
        "change_task",
        "update plan_item set task_id = $2 where id = $1",
        locked.plan_item(week_no),
        task_id,
    )


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_deleting_locked_weekly_plan_is_rejected(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    error = await assert_week_locked(
        db,
        locked,
        week_no,
        "delete_weekly_plan",
        "delete from weekly_plan where id = $1",
        locked.weekly_plan_ids[week_no],
    )
    assert error.table_name == "weekly_plan"


@pytest.mark.parametrize("week_no", OPEN_WEEKS)
async def test_deleting_weekly_plan_of_weeks_1_to_6_is_allowed_when_locked(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    status = await db.execute(
        "delete from weekly_plan where id = $1", locked.weekly_plan_ids[week_no]
    )
    assert status == "DELETE 1"
    assert not await db.fetchval(
        "select exists (select 1 from weekly_plan where id = $1)",
        locked.weekly_plan_ids[week_no],
    )


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_renumbering_locked_weekly_plan_is_rejected(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    await db.execute("delete from weekly_plan where id = $1", locked.weekly_plan_ids[6])
    await assert_week_locked(
        db,
        locked,
        week_no,
        "renumber_weekly_plan",
        "update weekly_plan set week_no = 6 where id = $1",
        locked.weekly_plan_ids[week_no],
    )


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_renumbering_a_week_into_locked_weeks_is_rejected(
    db: asyncpg.Connection, owner: Owner, week_no: int
) -> None:
    await db.execute(
        "delete from weekly_plan where id = $1", owner.weekly_plan_ids[week_no]
    )
    await lock(db, owner)
    await assert_week_locked(
        db,
        owner,
        week_no,
        "renumber_weekly_plan",
        "update weekly_plan set week_no = $2 where id = $1",
        owner.weekly_plan_ids[3],
        week_no,
    )


async def test_renumbering_within_weeks_1_to_6_is_allowed_when_locked(
    db: asyncpg.Connection, locked: Owner
) -> None:
    await db.execute("delete from weekly_plan where id = $1", locked.weekly_plan_ids[6])
    status = await db.execute(
        "update weekly_plan set week_no = 6 where id = $1", locked.weekly_plan_ids[5]
    )
    assert status == "UPDATE 1"
    assert (
        await db.fetchval(
            "select week_no from weekly_plan where id = $1", locked.weekly_plan_ids[5]
        )
        == 6
    )


# --- parents: whole cycles and users go, goals and tasks do not ------------


async def test_deleting_a_locked_cycle_deletes_its_plan(
    db: asyncpg.Connection, locked: Owner
) -> None:
    assert await db.execute("delete from cycle where id = $1", locked.cycle_id) == (
        "DELETE 1"
    )
    for table in ("goal", "task", "weekly_plan", "plan_item"):
        left = await db.fetchval(
            f"select count(*) from {table} where user_id = $1", locked.user_id
        )
        assert left == 0, table


async def test_deleting_a_user_with_a_locked_cycle_deletes_everything(
    db: asyncpg.Connection, locked: Owner
) -> None:
    await db.execute("delete from auth.users where id = $1", locked.user_id)
    for table in ("vision", "cycle", "goal", "task", "weekly_plan", "plan_item"):
        left = await db.fetchval(
            f"select count(*) from {table} where user_id = $1", locked.user_id
        )
        assert left == 0, table


async def test_deleting_a_user_works_when_plan_items_cascade_before_the_cycle(
    db: asyncpg.Connection, locked: Owner
) -> None:
    # Cascades from auth.users run in trigger-name (creation) order. Recreating
    # the cycle's key makes its cascade run last, so plan items and weekly
    # plans are deleted while their locked cycle is still visible.
    async with rolled_back(db):
        await db.execute(
            "alter table cycle drop constraint cycle_user_id_fkey;"
            "alter table cycle add constraint cycle_user_id_fkey foreign key "
            "(user_id) references auth.users (id) on delete cascade"
        )
        status = await db.execute(
            "delete from auth.users where id = $1", locked.user_id
        )
        assert status == "DELETE 1"
        for table in ("cycle", "weekly_plan", "plan_item"):
            left = await db.fetchval(
                f"select count(*) from {table} where user_id = $1", locked.user_id
            )
            assert left == 0, table


async def test_deleting_a_goal_with_plan_items_in_locked_weeks_is_rejected(
    db: asyncpg.Connection, locked: Owner
) -> None:
    error = await assert_rejected(
        db,
        "delete from goal where id = $1",
        locked.goal_ids["personal"],
        sqlstate=LOCKED,
    )
    assert "is locked: cannot remove a plan item" in str(error)


async def test_deleting_a_task_with_plan_items_in_locked_weeks_is_rejected(
    db: asyncpg.Connection, locked: Owner
) -> None:
    await assert_rejected(
        db, "delete from task where id = $1", locked.task_ids[0], sqlstate=LOCKED
    )


async def test_deleting_a_task_planned_only_in_weeks_1_to_6_is_allowed_when_locked(
    db: asyncpg.Connection, locked: Owner
) -> None:
    task_id = await add_task(db, locked)
    item = await plan(db, locked, 4, task_id)
    assert await db.execute("delete from task where id = $1", task_id) == "DELETE 1"
    assert not await db.fetchval(
        "select exists (select 1 from plan_item where id = $1)", item
    )


# --- every role -------------------------------------------------------------


async def test_lock_holds_for_superuser_in_replica_mode(
    db: asyncpg.Connection, locked: Owner
) -> None:
    assert await db.fetchval("select rolsuper from pg_roles where rolname = user")
    async with rolled_back(db):
        await db.execute("set local session_replication_role = replica")
        with pytest.raises(asyncpg.PostgresError) as caught:
            await db.execute(
                "update plan_item set quota = 9 where id = $1", locked.plan_item(7)
            )
        assert caught.value.sqlstate == LOCKED


async def test_lock_holds_for_a_table_owner_who_is_not_superuser(
    db: asyncpg.Connection, locked: Owner
) -> None:
    role = f"planner_test_owner_{uuid.uuid4().hex[:8]}"
    async with rolled_back(db):
        await db.execute(f"create role {role} nologin nosuperuser")
        for table in ("cycle", "weekly_plan", "plan_item"):
            await db.execute(f"alter table {table} owner to {role}")
        await db.execute(f"set local role {role}")
        for sql in (
            "update plan_item set quota = 9 where id = $1",
            "delete from plan_item where id = $1",
        ):
            with pytest.raises(asyncpg.PostgresError) as caught:
                async with db.transaction():
                    await db.execute(sql, locked.plan_item(8))
            assert caught.value.sqlstate == LOCKED
        # The owner may lift the lock; then the week is open again.
        await lift_lock(db, locked.cycle_id)
        await assert_quota_can_be_set(db, locked.plan_item(8))


async def test_authenticated_may_enforce_the_lock_but_never_lift_it(
    db: asyncpg.Connection,
    owner: Owner,
) -> None:
    async with rolled_back(db):
        await db.execute("grant select, update on public.cycle to authenticated")
        assert (
            await attempt_as(
                db,
                "authenticated",
                owner.user_id,
                "update public.cycle set lock_enforced = true where id = $1",
                owner.cycle_id,
            )
            is None
        )
        row = await db.fetchrow(
            "select lock_enforced, locked_at from cycle where id = $1", owner.cycle_id
        )
        assert row["lock_enforced"] is True and row["locked_at"] is not None
        before = await snapshot(db, [owner.user_id])
        error = await attempt_as(
            db,
            "authenticated",
            owner.user_id,
            "update public.cycle set lock_enforced = false where id = $1",
            owner.cycle_id,
        )
        assert error is not None
        assert error.sqlstate == "42501"
        assert error.constraint_name == "cycle_lock_one_way"
        assert "may not lift the lock" in str(error)
        assert await snapshot(db, [owner.user_id]) == before


async def test_service_role_may_lift_the_lock(
    db: asyncpg.Connection, locked: Owner
) -> None:
    async with rolled_back(db):
        await db.execute("grant select, update on public.cycle to service_role")
        error = await attempt_as(
            db,
            "service_role",
            locked.user_id,
            "update public.cycle set lock_enforced = false where id = $1",
            locked.cycle_id,
        )
        assert error is None
        assert await lock_state(db, locked.cycle_id) == (False, None)


async def test_table_owner_may_lift_the_lock_and_locked_at_is_cleared(
    db: asyncpg.Connection, locked: Owner
) -> None:
    await lift_lock(db, locked.cycle_id)
    assert await lock_state(db, locked.cycle_id) == (False, None)
    await assert_quota_can_be_set(db, locked.plan_item(10))


async def test_enforcing_the_lock_stamps_locked_at_which_cannot_be_forged(
    db: asyncpg.Connection,
    owner: Owner,
) -> None:
    # Not enforced: locked_at stays empty whatever is written.
    await db.execute("update cycle set locked_at = now() where id = $1", owner.cycle_id)
    assert (
        await db.fetchval("select locked_at from cycle where id = $1", owner.cycle_id)
        is None
    )
    async with rolled_back(db):
        now = await db.fetchval("select now()")
        await lock(db, owner)
        stamped = await db.fetchval(
            "select locked_at from cycle where id = $1", owner.cycle_id
        )
        assert stamped == now
    await lock(db, owner)
    stamped = await db.fetchval(
        "select locked_at from cycle where id = $1", owner.cycle_id
    )
    await db.execute(
        "update cycle set locked_at = '2000-01-01' where id = $1", owner.cycle_id
    )
    await lock(db, owner)  # enforcing again keeps the first stamp
    assert (
        await db.fetchval("select locked_at from cycle where id = $1", owner.cycle_id)
        == stamped
    )


async def test_a_cycle_created_locked_is_stamped(
    db: asyncpg.Connection, owner: Owner
) -> None:
    await db.execute("delete from cycle where id = $1", owner.cycle_id)
    row = await db.fetchrow(
        "insert into cycle (user_id, start_date, lock_enforced) "
        "values ($1, '2030-01-07', true) returning lock_enforced, locked_at",
        owner.user_id,
    )
    assert row["lock_enforced"] and row["locked_at"] is not None


# --- two concurrent writers -------------------------------------------------


async def wait_until_blocked(
    observer: asyncpg.Connection, pid: int, task: asyncio.Task[Any]
) -> bool:
    """
    Wait until the backend ``pid`` waits for a lock (True) or ``task`` ends
    (False).
    """
    for _ in range(500):
        if task.done():
            return False
        if await observer.fetchval("select cardinality(pg_blocking_pids($1)) > 0", pid):
            return True
        await asyncio.sleep(0.01)
    raise AssertionError("neither blocked nor finished")


Writer = Callable[[asyncpg.Connection, Owner, uuid.UUID], Awaitable[None]]
Locker = Callable[[asyncpg.Connection, Owner], Awaitable[None]]


async def raise_quota_sql(
    conn: asyncpg.Connection, owner: Owner, item: uuid.UUID
) -> None:
    await conn.execute("update plan_item set quota = 9 where id = $1", item)


async def raise_quota_service(
    conn: asyncpg.Connection, owner: Owner, item: uuid.UUID
) -> None:
    await services.set_quota(conn, user_id=owner.user_id, plan_item_id=item, quota=9)


async def lock_sql(conn: asyncpg.Connection, owner: Owner) -> None:
    await lock(conn, owner)


async def lock_service(conn: asyncpg.Connection, owner: Owner) -> None:
    await services.enforce_lock(conn, user_id=owner.user_id, cycle_id=owner.cycle_id)


WAYS = {
    "sql": (raise_quota_sql, lock_sql),
    "service": (raise_quota_service, lock_service),
}


@pytest.mark.parametrize("order", ["lock_first", "quota_first"])
@pytest.mark.parametrize("way", sorted(WAYS))
async def test_concurrent_lock_and_quota_raise_never_leave_a_raised_quota_locked(
    db: asyncpg.Connection, migrated: str, way: str, order: str
) -> None:
    """
    One transaction enforces the lock and reads the week 7 quota it froze;
    another raises that quota. Both orders are forced: the second one to
    start must wait for the first, so the quota that survives is always the
    one the lock froze, and a raise that comes second is refused.
    """
    raise_quota, enforce = WAYS[way]
    owner = await build_owner(db)
    item = owner.plan_item(7)
    locker = await asyncpg.connect(migrated)
    writer = await asyncpg.connect(migrated)
    frozen: list[int] = []

    async def lock_and_read() -> None:
        await enforce(locker, owner)
        frozen.append(
            await locker.fetchval("select quota from plan_item where id = $1", item)
        )

    try:
        if order == "lock_first":
            async with locker.transaction():
                await lock_and_read()

                async def write() -> None:
                    async with writer.transaction():
                        await raise_quota(writer, owner, item)

                writing = asyncio.create_task(write())
                assert await wait_until_blocked(db, writer.get_server_pid(), writing)
            with pytest.raises((asyncpg.PostgresError, WeekLockedError)) as caught:
                await writing
            if way == "sql":
                assert caught.value.sqlstate == LOCKED
            else:
                assert isinstance(caught.value, WeekLockedError)
                assert caught.value.week_no == 7
        else:
            async with writer.transaction():
                await raise_quota(writer, owner, item)

                async def lock_transaction() -> None:
                    async with locker.transaction():
                        await lock_and_read()

                locking = asyncio.create_task(lock_transaction())
                assert await wait_until_blocked(db, locker.get_server_pid(), locking)
            await locking
    finally:
        await locker.close()
        await writer.close()

    row = await db.fetchrow(
        "select p.quota, c.lock_enforced from plan_item p "
        "join cycle c on c.id = p.cycle_id where p.id = $1",
        item,
    )
    assert row["lock_enforced"]
    assert row["quota"] == frozen[0]
    assert frozen[0] == (3 if order == "lock_first" else 9)


# --- the migration ----------------------------------------------------------

LOCK_MIGRATION = "2026-11-26T00:00:05:000000"
# The lock's functions and triggers: those of 0005_lock, and since
# 0011_table_rules the rules trigger functions with their triggers on the
# three tables of the lock.
LOCK_OBJECTS = """
select (select count(*) from pg_proc
         where pronamespace = 'planner_private'::regnamespace
           and proname in ('assert_week_open', 'plan_item_lock', 'weekly_plan_lock',
                           'cycle_lock_switch', 'week_lockable', 'may_lift_lock',
                           'table_rules', 'cycle_rules', 'weekly_plan_rules',
                           'plan_item_rules'))
     + (select count(*) from pg_trigger
         where tgname in ('plan_item_lock_insert_delete', 'plan_item_lock_update',
                          'weekly_plan_lock_delete', 'weekly_plan_lock_update',
                          'cycle_lock_switch_insert', 'cycle_lock_switch_update',
                          'cycle_lock_switch_delete')
            or (tgrelid in ('public.cycle'::regclass, 'public.weekly_plan'::regclass,
                            'public.plan_item'::regclass)
                and tgname ~ '_rules_(insert|update|delete)$'))
"""
# assert_week_open, week_lockable, may_lift_lock, table_rules and the rules
# functions of the three tables, and <table>_rules_insert, _update, _delete
# on each of them.
LOCK_OBJECT_COUNT = 16


async def test_lock_migration_rolls_back_completely(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    url = await fresh_database(migrated=True)
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval(LOCK_OBJECTS) == LOCK_OBJECT_COUNT
        result = run_cli(
            "migrations",
            "backwards",
            "planner_app",
            LOCK_MIGRATION,
            database_url=url,
            input="y\n",
        )
        assert result.returncode == 0, result.stderr + result.stdout
        assert await conn.fetchval(LOCK_OBJECTS) == 0
        assert (
            run_cli("migrations", "forwards", "all", database_url=url).returncode == 0
        )
        assert await conn.fetchval(LOCK_OBJECTS) == LOCK_OBJECT_COUNT
    finally:
        await conn.close()


async def test_the_fixture_cycle_past_week_6_rejects_a_quota_change(db, fixture_data):
    cycle = fixture_data["ada"].cycles["active"]
    assert cycle.lock_enforced
    item = await db.fetchval(
        "select p.id from plan_item p join weekly_plan w on w.id = p.weekly_plan_id "
        "where w.cycle_id = $1 and w.week_no = 9 limit 1",
        cycle.id,
    )
    await assert_rejected(
        db,
        "update plan_item set quota = quota + 1 where id = $1",
        item,
        sqlstate="PT423",
    )
