"""
docs/product.md, "Lock": the application's enforcement path. The service
functions check the lock before writing, raise the project's exceptions
(never a driver class) and leave the database unchanged when they refuse.
The race between them and a concurrent lock is in ``test_lock.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any

import asyncpg
import pytest

from planner_app import rules, services
from planner_app.errors import (
    DuplicateError,
    InvalidReferenceError,
    LockLiftDeniedError,
    NotFoundError,
    PlannerError,
    ValidationError,
    WeekLockedError,
)
from tests.roles import act_as, rolled_back
from tests.support import Owner, snapshot

LOCKED_WEEKS = list(rules.LOCKED_WEEKS)
OPEN_WEEKS = list(range(1, 7))


async def refused(
    db: asyncpg.Connection,
    call: Awaitable[Any],
    expected: type[PlannerError],
    *owners: Owner,
) -> PlannerError:
    """
    Await a service call that must raise ``expected`` and change nothing:
    neither the rows of ``owners`` (the users the call names or reaches)
    nor the row count of any table.
    """
    assert owners, "name the users whose rows the call could touch"
    scope = [owner.user_id for owner in owners]
    before = await snapshot(db, scope)
    with pytest.raises(expected) as caught:
        await call
    assert not isinstance(caught.value, asyncpg.PostgresError)
    assert await snapshot(db, scope) == before, "a refused call changed the database"
    return caught.value


async def extra_task(db: asyncpg.Connection, owner: Owner) -> uuid.UUID:
    return await db.fetchval(
        "insert into task (user_id, goal_id, title, default_quota) "
        "values ($1, $2, 'Extra', 4) returning id",
        owner.user_id,
        owner.goal_ids["personal"],
    )


async def assert_quota_set(
    db: asyncpg.Connection, owner: Owner, week_no: int, quota: int
) -> None:
    """``set_quota`` on the owner's item of ``week_no`` returns and stores it."""
    item = await services.set_quota(
        db, user_id=owner.user_id, plan_item_id=owner.plan_item(week_no), quota=quota
    )
    assert (item.week_no, item.quota) == (week_no, quota)
    assert (
        await db.fetchval("select quota from plan_item where id = $1", item.id) == quota
    )


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_set_quota_in_locked_week_raises_week_locked_error(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    error = await refused(
        db,
        services.set_quota(
            db, user_id=locked.user_id, plan_item_id=locked.plan_item(week_no), quota=5
        ),
        WeekLockedError,
        locked,
    )
    assert isinstance(error, WeekLockedError)
    assert (error.cycle_id, error.week_no, error.operation) == (
        locked.cycle_id,
        week_no,
        "change_quota",
    )
    assert str(error) == (
        f"week {week_no} of cycle {locked.cycle_id} is locked: "
        "cannot change a plan item's quota"
    )


@pytest.mark.parametrize("week_no", OPEN_WEEKS)
async def test_set_quota_in_weeks_1_to_6_works_when_locked(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    await assert_quota_set(db, locked, week_no, 5)


async def test_set_quota_in_week_7_works_while_lock_is_not_enforced(
    db: asyncpg.Connection,
    owner: Owner,
) -> None:
    await assert_quota_set(db, owner, 7, 6)


async def test_set_quota_below_zero_raises_validation_error(
    db: asyncpg.Connection,
    owner: Owner,
) -> None:
    error = await refused(
        db,
        services.set_quota(
            db, user_id=owner.user_id, plan_item_id=owner.plan_item(2), quota=-1
        ),
        ValidationError,
        owner,
    )
    assert error.constraint == "plan_item_quota_not_negative"


async def test_set_quota_of_another_users_item_raises_not_found(
    db: asyncpg.Connection,
    owner: Owner,
    stranger: Owner,
) -> None:
    await refused(
        db,
        services.set_quota(
            db, user_id=stranger.user_id, plan_item_id=owner.plan_item(2), quota=9
        ),
        NotFoundError,
        owner,
        stranger,
    )


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_record_progress_works_in_locked_weeks(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    item = await services.record_progress(
        db,
        user_id=locked.user_id,
        plan_item_id=locked.plan_item(week_no),
        completed_count=2,
        notes="twice, before work",
    )
    assert (item.completed_count, item.notes, item.quota) == (
        2,
        "twice, before work",
        3,
    )
    # Notes stay when not given, and None clears them.
    item = await services.record_progress(
        db, user_id=locked.user_id, plan_item_id=item.id, completed_count=3
    )
    assert (item.completed_count, item.notes) == (3, "twice, before work")
    item = await services.record_progress(
        db, user_id=locked.user_id, plan_item_id=item.id, notes=None
    )
    assert (item.completed_count, item.notes) == (3, None)
    row = await db.fetchrow(
        "select completed_count, notes, quota from plan_item where id = $1", item.id
    )
    assert tuple(row) == (3, None, 3)


async def test_record_negative_progress_raises_validation_error(
    db: asyncpg.Connection, locked: Owner
) -> None:
    await refused(
        db,
        services.record_progress(
            db,
            user_id=locked.user_id,
            plan_item_id=locked.plan_item(8),
            completed_count=-2,
        ),
        ValidationError,
        locked,
    )


async def test_record_progress_on_another_users_item_raises_not_found(
    db: asyncpg.Connection, locked: Owner, stranger: Owner
) -> None:
    await refused(
        db,
        services.record_progress(
            db,
            user_id=stranger.user_id,
            plan_item_id=locked.plan_item(8),
            completed_count=1,
        ),
        NotFoundError,
        locked,
        stranger,
    )


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_add_plan_item_to_locked_week_raises_week_locked_error(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    task_id = await extra_task(db, locked)
    error = await refused(
        db,
        services.add_plan_item(
            db,
            user_id=locked.user_id,
            weekly_plan_id=locked.weekly_plan_ids[week_no],
            task_id=task_id,
        ),
        WeekLockedError,
        locked,
    )
    assert error.operation == "add_plan_item"  # type: ignore[attr-defined]


@pytest.mark.parametrize("week_no", OPEN_WEEKS)
async def test_add_plan_item_to_weeks_1_to_6_uses_the_default_quota(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    task_id = await extra_task(db, locked)
    item = await services.add_plan_item(
        db,
        user_id=locked.user_id,
        weekly_plan_id=locked.weekly_plan_ids[week_no],
        task_id=task_id,
    )
    assert (item.week_no, item.task_id, item.quota, item.cycle_id) == (
        week_no,
        task_id,
        4,
        locked.cycle_id,
    )
    row = await db.fetchrow(
        "select weekly_plan_id, task_id, quota, cycle_id from plan_item where id = $1",
        item.id,
    )
    assert tuple(row) == (locked.weekly_plan_ids[week_no], task_id, 4, locked.cycle_id)


async def refused_adding_to_week_3(
    db: asyncpg.Connection,
    owner: Owner,
    task_id: uuid.UUID,
    expected: type[PlannerError],
    *others: Owner,
) -> PlannerError:
    """:func:`refused` for adding ``task_id`` to the owner's week 3."""
    return await refused(
        db,
        services.add_plan_item(
            db,
            user_id=owner.user_id,
            weekly_plan_id=owner.weekly_plan_ids[3],
            task_id=task_id,
        ),
        expected,
        owner,
        *others,
    )


async def test_add_the_same_task_twice_to_a_week_raises_duplicate_error(
    db: asyncpg.Connection,
    owner: Owner,
) -> None:
    await refused_adding_to_week_3(db, owner, owner.task_ids[0], DuplicateError)


async def test_add_a_task_of_another_cycle_raises_invalid_reference_error(
    db: asyncpg.Connection,
    owner: Owner,
) -> None:
    later_cycle = await db.fetchval(
        "insert into cycle (user_id, start_date) values ($1, '2027-06-07') "
        "returning id",
        owner.user_id,
    )
    goal_id = await db.fetchval(
        "insert into goal (user_id, cycle_id, goal_type, title) "
        "values ($1, $2, 'personal', 'Later') returning id",
        owner.user_id,
        later_cycle,
    )
    task_id = await db.fetchval(
        "insert into task (user_id, goal_id, title) values ($1, $2, 'Later task') "
        "returning id",
        owner.user_id,
        goal_id,
    )
    error = await refused_adding_to_week_3(db, owner, task_id, InvalidReferenceError)
    assert error.constraint == "plan_item_task_same_cycle_fkey"


async def test_add_another_users_task_raises_not_found(
    db: asyncpg.Connection,
    owner: Owner,
    stranger: Owner,
) -> None:
    await refused_adding_to_week_3(
        db, owner, stranger.task_ids[0], NotFoundError, stranger
    )


@pytest.mark.parametrize("week_no", LOCKED_WEEKS)
async def test_remove_plan_item_from_locked_week_raises_week_locked_error(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    await refused(
        db,
        services.remove_plan_item(
            db, user_id=locked.user_id, plan_item_id=locked.plan_item(week_no)
        ),
        WeekLockedError,
        locked,
    )


@pytest.mark.parametrize("week_no", OPEN_WEEKS)
async def test_remove_plan_item_from_weeks_1_to_6_works_when_locked(
    db: asyncpg.Connection, locked: Owner, week_no: int
) -> None:
    await services.remove_plan_item(
        db, user_id=locked.user_id, plan_item_id=locked.plan_item(week_no)
    )
    assert not await db.fetchval(
        "select exists (select 1 from plan_item where id = $1)",
        locked.plan_item(week_no),
    )


async def test_remove_an_unknown_plan_item_raises_not_found(
    db: asyncpg.Connection,
    owner: Owner,
) -> None:
    await refused(
        db,
        services.remove_plan_item(db, user_id=owner.user_id, plan_item_id=uuid.uuid4()),
        NotFoundError,
        owner,
    )


async def test_enforce_lock_freezes_weeks_7_to_12_and_is_idempotent(
    db: asyncpg.Connection,
    owner: Owner,
) -> None:
    locked_at = await services.enforce_lock(
        db, user_id=owner.user_id, cycle_id=owner.cycle_id
    )
    assert locked_at is not None
    assert (
        await services.enforce_lock(db, user_id=owner.user_id, cycle_id=owner.cycle_id)
        == locked_at
    )
    await refused(
        db,
        services.set_quota(
            db, user_id=owner.user_id, plan_item_id=owner.plan_item(12), quota=1
        ),
        WeekLockedError,
        owner,
    )


async def test_enforce_lock_on_another_users_cycle_raises_not_found(
    db: asyncpg.Connection,
    owner: Owner,
    stranger: Owner,
) -> None:
    await refused(
        db,
        services.enforce_lock(db, user_id=stranger.user_id, cycle_id=owner.cycle_id),
        NotFoundError,
        owner,
        stranger,
    )


async def test_lift_lock_as_end_user_raises_lock_lift_denied_error(
    db: asyncpg.Connection, locked: Owner
) -> None:
    async with rolled_back(db):
        await db.execute("grant select, update on public.cycle to authenticated")
        await act_as(db, "authenticated", locked.user_id)
        with pytest.raises(LockLiftDeniedError):
            await services.lift_lock(db, cycle_id=locked.cycle_id)
    assert await db.fetchval(
        "select lock_enforced from cycle where id = $1", locked.cycle_id
    )


async def test_lift_lock_as_table_owner_reopens_weeks_7_to_12(
    db: asyncpg.Connection, locked: Owner
) -> None:
    await services.lift_lock(db, cycle_id=locked.cycle_id)
    assert not await db.fetchval(
        "select lock_enforced from cycle where id = $1", locked.cycle_id
    )
    await assert_quota_set(db, locked, 9, 1)


async def test_services_share_the_callers_transaction(
    db: asyncpg.Connection,
    owner: Owner,
) -> None:
    async with rolled_back(db):
        await services.set_quota(
            db, user_id=owner.user_id, plan_item_id=owner.plan_item(7), quota=8
        )
        await services.enforce_lock(db, user_id=owner.user_id, cycle_id=owner.cycle_id)
    row = await db.fetchrow(
        "select p.quota, c.lock_enforced from plan_item p "
        "join cycle c on c.id = p.cycle_id where p.id = $1",
        owner.plan_item(7),
    )
    assert tuple(row) == (3, False)


@pytest.mark.parametrize("operation", ["set_quota", "add_plan_item", "remove"])
async def test_services_refuse_locked_weeks_even_without_the_database_triggers(
    db: asyncpg.Connection, locked: Owner, operation: str
) -> None:
    """The two layers are independent: the application's check alone holds."""
    task_id = await extra_task(db, locked)
    calls = {
        "set_quota": lambda: services.set_quota(
            db, user_id=locked.user_id, plan_item_id=locked.plan_item(7), quota=9
        ),
        "add_plan_item": lambda: services.add_plan_item(
            db,
            user_id=locked.user_id,
            weekly_plan_id=locked.weekly_plan_ids[7],
            task_id=task_id,
        ),
        "remove": lambda: services.remove_plan_item(
            db, user_id=locked.user_id, plan_item_id=locked.plan_item(7)
        ),
    }
    async with rolled_back(db):
        # The lock is one part of the plan item's rules triggers.
        for event in ("insert", "update", "delete"):
            await db.execute(
                f"alter table plan_item disable trigger plan_item_rules_{event}"
            )
        # Without the triggers a raw write would now pass...
        async with rolled_back(db):
            await db.execute(
                "update plan_item set quota = 9 where id = $1", locked.plan_item(7)
            )
        # ...but the service still refuses.
        await refused(db, calls[operation](), WeekLockedError, locked)
