"""
The application's enforcement path for the plan: the write operations the
product needs, each checking the weeks 7-12 lock before it writes, and the
scoreboard they are judged by (:func:`scoreboard`).

Every function takes an ``asyncpg`` connection (from a pool, or Piccolo's
``await engine.get_new_connection()``) and the acting user's id, and runs in
a transaction on it (a savepoint when the caller already opened one, so
several calls can share one transaction). They raise only the project's
exceptions (:mod:`planner_app.errors`):

- :class:`~planner_app.errors.NotFoundError` when the row does not exist or
  belongs to another user (the two are not told apart);
- :class:`~planner_app.errors.WeekLockedError` when the week is locked;
- whatever :func:`~planner_app.errors.translate_error` makes of a database
  error (``ValidationError``, ``DuplicateError``, ...).

The check reads the cycle ``FOR SHARE``, the lock the database triggers take
too: it waits for a concurrent change of the lock and then sees its result.
The triggers stay the last line of defence for any writer that skips this
module (``docs/lock.md``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime

import asyncpg

from planner_app.errors import NotFoundError, database_errors, week_locked
from planner_app.rules import LOCKED_WEEKS


@dataclass(frozen=True)
class PlanItem:
    """A plan item as the services return it."""

    id: uuid.UUID
    user_id: uuid.UUID
    cycle_id: uuid.UUID
    weekly_plan_id: uuid.UUID
    week_no: int
    task_id: uuid.UUID
    quota: int
    completed_count: int
    notes: str | None


_PLAN_ITEM = """
select p.id, p.user_id, p.cycle_id, p.weekly_plan_id, w.week_no, p.task_id,
       p.quota, p.completed_count, p.notes
  from public.plan_item p
  join public.weekly_plan w on w.id = p.weekly_plan_id
 where p.id = $1
"""


def _is_locked(week_no: int, lock_enforced: bool) -> bool:
    return lock_enforced and week_no in LOCKED_WEEKS


# The user's plan item (or weekly plan) $1 with its week and its cycle's lock:
# the item locked for update, the week for key share, the cycle for share.
_LOCK_WEEK_OF = {
    "plan item": """
select w.cycle_id, w.week_no, c.lock_enforced
  from public.plan_item p
  join public.weekly_plan w on w.id = p.weekly_plan_id
  join public.cycle c on c.id = p.cycle_id
 where p.id = $1 and p.user_id = $2
   for no key update of p
   for key share of w
   for share of c
""",
    "weekly plan": """
select w.cycle_id, w.week_no, c.lock_enforced
  from public.weekly_plan w
  join public.cycle c on c.id = w.cycle_id
 where w.id = $1 and w.user_id = $2
   for key share of w
   for share of c
""",
}


async def _lock_week(
    conn: asyncpg.Connection,
    what: str,
    row_id: uuid.UUID,
    user_id: uuid.UUID,
    operation: str,
) -> None:
    """
    Lock the user's ``what`` (a key of ``_LOCK_WEEK_OF``) ``row_id`` with its
    week and cycle, for ``operation``.

    :raises NotFoundError:
        The user has no such ``what``.
    :raises WeekLockedError:
        Its week is locked.
    """
    row = await conn.fetchrow(_LOCK_WEEK_OF[what], row_id, user_id)
    if row is None:
        raise NotFoundError(f"{what} {row_id} not found")
    if _is_locked(row["week_no"], row["lock_enforced"]):
        raise week_locked(row["cycle_id"], row["week_no"], operation)


async def _fetch_plan_item(
    conn: asyncpg.Connection, plan_item_id: uuid.UUID
) -> PlanItem:
    row = await conn.fetchrow(_PLAN_ITEM, plan_item_id)
    return PlanItem(**dict(row))


async def set_quota(
    conn: asyncpg.Connection,
    *,
    user_id: uuid.UUID,
    plan_item_id: uuid.UUID,
    quota: int,
) -> PlanItem:
    """
    Plan ``quota`` repetitions of the item's task in its week.

    :param user_id:
        The acting user; the item must be theirs.
    :param plan_item_id:
        The plan item to change.
    :param quota:
        The new quota (0 or more).
    :raises WeekLockedError:
        The item is in week 7..12 of a cycle whose lock is enforced.
    """
    with database_errors():
        async with conn.transaction():
            await _lock_week(conn, "plan item", plan_item_id, user_id, "change_quota")
            await conn.execute(
                "update public.plan_item set quota = $2 where id = $1",
                plan_item_id,
                quota,
            )
            return await _fetch_plan_item(conn, plan_item_id)


_UNCHANGED = object()


async def record_progress(
    conn: asyncpg.Connection,
    *,
    user_id: uuid.UUID,
    plan_item_id: uuid.UUID,
    completed_count: int | None = None,
    notes: str | None | object = _UNCHANGED,
) -> PlanItem:
    """
    Record what was done: allowed in every week, locked or not.

    :param completed_count:
        How many times the task was done this week (unchanged when None).
    :param notes:
        The item's notes (unchanged when not given; None clears them).
    """
    with database_errors():
        async with conn.transaction():
            found = await conn.fetchval(
                """
                update public.plan_item
                   set completed_count = coalesce($3, completed_count),
                       notes = case when $4 then $5 else notes end
                 where id = $1 and user_id = $2
                returning id
                """,
                plan_item_id,
                user_id,
                completed_count,
                notes is not _UNCHANGED,
                None if notes is _UNCHANGED else notes,
            )
            if found is None:
                raise NotFoundError(f"plan item {plan_item_id} not found")
            return await _fetch_plan_item(conn, plan_item_id)


async def add_plan_item(
    conn: asyncpg.Connection,
    *,
    user_id: uuid.UUID,
    weekly_plan_id: uuid.UUID,
    task_id: uuid.UUID,
    quota: int | None = None,
) -> PlanItem:
    """
    Plan a task in a week.

    :param weekly_plan_id:
        The week; must be the user's.
    :param task_id:
        The task; must be the user's and serve a goal of the week's cycle.
    :param quota:
        The quota; the task's default quota when None.
    :raises WeekLockedError:
        The week is 7..12 of a cycle whose lock is enforced.
    """
    with database_errors():
        async with conn.transaction():
            await _lock_week(
                conn, "weekly plan", weekly_plan_id, user_id, "add_plan_item"
            )
            default_quota = await conn.fetchval(
                "select default_quota from public.task where id = $1 and user_id = $2",
                task_id,
                user_id,
            )
            if default_quota is None:
                raise NotFoundError(f"task {task_id} not found")
            plan_item_id = await conn.fetchval(
                """
                insert into public.plan_item (user_id, weekly_plan_id, task_id, quota)
                values ($1, $2, $3, $4)
                returning id
                """,
                user_id,
                weekly_plan_id,
                task_id,
                default_quota if quota is None else quota,
            )
            return await _fetch_plan_item(conn, plan_item_id)


async def remove_plan_item(
    conn: asyncpg.Connection,
    *,
    user_id: uuid.UUID,
    plan_item_id: uuid.UUID,
) -> None:
    """
    Take a task out of a week.

    :raises WeekLockedError:
        The item is in week 7..12 of a cycle whose lock is enforced.
    """
    with database_errors():
        async with conn.transaction():
            await _lock_week(
                conn, "plan item", plan_item_id, user_id, "remove_plan_item"
            )
            await conn.execute(
                "delete from public.plan_item where id = $1", plan_item_id
            )


async def enforce_lock(
    conn: asyncpg.Connection,
    *,
    user_id: uuid.UUID,
    cycle_id: uuid.UUID,
) -> datetime:
    """
    Freeze weeks 7..12 of the user's cycle. Idempotent: enforcing an enforced
    lock keeps its ``locked_at``.

    :returns:
        ``locked_at``, stamped by the database.
    """
    with database_errors():
        async with conn.transaction():
            locked_at = await conn.fetchval(
                """
                update public.cycle set lock_enforced = true
                 where id = $1 and user_id = $2
                returning locked_at
                """,
                cycle_id,
                user_id,
            )
            if locked_at is None:
                raise NotFoundError(f"cycle {cycle_id} not found")
            return locked_at


async def lift_lock(conn: asyncpg.Connection, *, cycle_id: uuid.UUID) -> None:
    """
    Unfreeze weeks 7..12 of a cycle: the privileged override. The database
    decides who may (service_role, the table owner); for anyone else it
    raises :class:`~planner_app.errors.LockLiftDeniedError`. The audit log
    records the change.
    """
    with database_errors():
        async with conn.transaction():
            found = await conn.fetchval(
                "update public.cycle set lock_enforced = false where id = $1 "
                "returning id",
                cycle_id,
            )
            if found is None:
                raise NotFoundError(f"cycle {cycle_id} not found")


@dataclass(frozen=True)
class WeeklyScore:
    """A row of the view ``weekly_score``: one week's execution score."""

    user_id: uuid.UUID
    cycle_id: uuid.UUID
    weekly_plan_id: uuid.UUID
    week_no: int
    week_start_date: date
    planned: int
    done: int
    score: float | None
    target_met: bool | None
    locked: bool


@dataclass(frozen=True)
class CycleScore:
    """A row of the view ``cycle_score``: one cycle's execution score."""

    user_id: uuid.UUID
    cycle_id: uuid.UUID
    start_date: date
    end_date: date
    current_week: int | None
    weeks_elapsed: int
    average_score: float | None
    weeks_target_met: int
    lock_enforced: bool


@dataclass(frozen=True)
class Scoreboard:
    """A cycle's scoreboard: its score and its weeks' scores, in week order."""

    cycle: CycleScore
    weeks: list[WeeklyScore]


_CYCLE_COLUMNS = [f.name for f in fields(CycleScore)]
_WEEK_COLUMNS = [f.name for f in fields(WeeklyScore)]

# One statement, so the cycle and its weeks come from one snapshot; the
# cycle's row is computed once (materialized), not once per week.
_SCOREBOARD = (
    """
with c as materialized (
  select * from public.cycle_score where cycle_id = $1 and user_id = $2
)
select """
    + ", ".join(
        [f"c.{name} as c_{name}" for name in _CYCLE_COLUMNS]
        + [f"w.{name} as w_{name}" for name in _WEEK_COLUMNS]
    )
    + """
  from c
  left join public.weekly_score w
    on w.cycle_id = c.cycle_id and w.user_id = c.user_id
 order by w.week_no
"""
)


async def scoreboard(
    conn: asyncpg.Connection, *, user_id: uuid.UUID, cycle_id: uuid.UUID
) -> Scoreboard:
    """
    The scoreboard of the user's cycle, read from the views ``cycle_score``
    and ``weekly_score`` as the connection's role: under row-level security
    for ``authenticated`` (``docs/product.md``, "The scoreboard").

    :param user_id:
        The acting user; the cycle must be theirs.
    :raises NotFoundError:
        The user has no such cycle (another user's cycle included).
    """
    with database_errors():
        rows = await conn.fetch(_SCOREBOARD, cycle_id, user_id)
    if not rows:
        raise NotFoundError(f"cycle {cycle_id} not found")
    cycle = CycleScore(**{name: rows[0][f"c_{name}"] for name in _CYCLE_COLUMNS})
    weeks = [
        WeeklyScore(**{name: row[f"w_{name}"] for name in _WEEK_COLUMNS})
        for row in rows
        if row["w_weekly_plan_id"] is not None
    ]
    return Scoreboard(cycle, weeks)
