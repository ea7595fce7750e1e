"""
docs/product.md, "Lock": callers never see a raw driver exception. Real database
errors, provoked with bad writes, come out of ``planner_app.errors`` as the
project's own exceptions, chosen by SQLSTATE and constraint name.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

import asyncpg
import pytest

from planner_app.errors import (
    BUDGET_EXCEEDED_SQLSTATE,
    CONSTRAINTS,
    WEEK_LOCKED_HINT,
    BudgetExceededError,
    ConcurrencyError,
    ConstraintViolation,
    CycleOverlapError,
    DuplicateError,
    DuplicateGoalError,
    InvalidReferenceError,
    LockLiftDeniedError,
    LockTimeoutError,
    NotFoundError,
    OwnershipError,
    PlannerError,
    TimeLimitError,
    ValidationError,
    WeekLockedError,
    database_errors,
    translate_error,
    week_locked,
)
from tests.roles import act_as, rolled_back
from tests.support import PLANNER_TABLES, Owner, assert_rejected, build_owner, snapshot


async def rejected_as(
    db: asyncpg.Connection,
    sql: str,
    *args: object,
    sqlstate: str,
    owners: list[uuid.UUID] | None = None,
) -> PlannerError:
    """Provoke a real database error (checked to change nothing), translate it."""
    error = await assert_rejected(db, sql, *args, sqlstate=sqlstate, owners=owners)
    translated = translate_error(error)
    assert not isinstance(translated, asyncpg.PostgresError)
    return translated


# Every rule name the migrated database can report: its constraints and
# unique indexes, and the names its functions raise (a literal
# ``constraint = '...'`` or ``tg_table_name || '<suffix>'`` for each table
# whose trigger runs the function). NOT NULL constraints (PostgreSQL 18) are
# mapped by SQLSTATE.
_RULE_NAMES_SQL = r"""
select con.conname as name
  from pg_constraint con
  join pg_class t on t.oid = con.conrelid
 where t.relnamespace = 'public'::regnamespace and t.relname = any($1)
   and con.contype <> 'n'
union
select i.relname
  from pg_index x
  join pg_class i on i.oid = x.indexrelid
  join pg_class t on t.oid = x.indrelid
 where t.relnamespace = 'public'::regnamespace and t.relname = any($1)
   and x.indisunique
union
select m[1]
  from pg_proc p,
       regexp_matches(p.prosrc, $$constraint\s*=\s*'(\w+)'$$, 'g') as m
 where p.pronamespace = 'planner_private'::regnamespace
union
select t.relname || m[1]
  from pg_trigger tg
  join pg_proc p on p.oid = tg.tgfoid
  join pg_class t on t.oid = tg.tgrelid
  cross join regexp_matches(p.prosrc, $$tg_table_name\s*\|\|\s*'(\w+)'$$, 'g') m
 where p.pronamespace = 'planner_private'::regnamespace and t.relname = any($1)
union
-- ... and by the helpers a trigger's function calls with the table's name
-- (planner_private.common_rules(tg_op, tg_relid, ...)).
select t.relname || m[1]
  from pg_trigger tg
  join pg_proc p on p.oid = tg.tgfoid
  join pg_class t on t.oid = tg.tgrelid
  join pg_proc h on h.pronamespace = 'planner_private'::regnamespace
   and p.prosrc ~ ('planner_private\.' || h.proname || '\(')
  cross join regexp_matches(h.prosrc, $$\Wtable_name\s*\|\|\s*'(\w+)'$$, 'g') m
 where p.pronamespace = 'planner_private'::regnamespace and t.relname = any($1)
"""


async def test_the_error_map_and_the_database_name_the_same_rules(
    db: asyncpg.Connection,
) -> None:
    """
    Both ways: every rule the database can report maps to something
    specific, and every entry of the map names a rule that exists.
    """
    names = {row["name"] for row in await db.fetch(_RULE_NAMES_SQL, PLANNER_TABLES)}
    assert "cycle_lock_one_way" in names and "vision_id_never_changes" in names
    unmapped = names - set(CONSTRAINTS)
    assert not unmapped, f"add these rules to planner_app.errors: {unmapped}"
    stale = set(CONSTRAINTS) - names
    assert not stale, f"these entries of errors.CONSTRAINTS name nothing: {stale}"


@pytest.mark.parametrize(
    ("error", "anon", "signed_in"),
    [
        (NotFoundError("x"), 404, 404),
        (InvalidReferenceError("x"), 404, 404),
        (OwnershipError("x"), 401, 403),
        (LockLiftDeniedError("x"), 403, 403),
        (DuplicateGoalError("x"), 409, 409),
        (CycleOverlapError("x"), 409, 409),
        (ValidationError("x"), 422, 422),
        (ConstraintViolation("x"), 409, 409),
        (ConcurrencyError("x"), 503, 503),
        (LockTimeoutError("x"), 503, 503),
        (TimeLimitError("x"), 504, 504),
        (BudgetExceededError("x", budget={}), 429, 429),
        (PlannerError("x"), 500, 500),
    ],
)
def test_each_exception_carries_its_http_status(error, anon, signed_in) -> None:
    assert (error.http_status("anon"), error.http_status("authenticated")) == (
        anon,
        signed_in,
    )


@pytest.mark.parametrize(
    ("sql", "args", "sqlstate", "words"),
    [
        ("select $1::text", ("a\x00b",), "22021", "NUL characters"),
        ("select $1::bigint * 10", (2**62,), "22003", "a number is out of range"),
        ("select 1 limit $1", (-1,), "2201W", "a page size must be at least 1"),
        ("select $1::jsonb", ('{"a": "\\u0000"}',), "22P05", "JSON text"),
        ("select $1::text::uuid", ("nope",), "22P02", "a value is malformed"),
        ("select pg_sleep(1)", (), "57014", "the request took longer"),
        (
            "do $$ begin raise exception 'row busy' using errcode = '55P03'; end $$",
            (),
            "55P03",
            "another transaction holds these rows",
        ),
    ],
)
async def test_a_client_never_reads_the_databases_own_message(
    db: asyncpg.Connection, sql: str, args: tuple, sqlstate: str, words: str
) -> None:
    async with rolled_back(db):
        await db.execute("set local statement_timeout = '50ms'")
        with pytest.raises(asyncpg.PostgresError) as caught:
            await db.execute(sql, *args)
    assert caught.value.sqlstate == sqlstate
    detail = translate_error(caught.value).client_detail("authenticated")
    assert caught.value.message not in detail
    assert words in detail


async def test_a_budget_error_carries_the_budget_it_names(
    db: asyncpg.Connection,
) -> None:
    budget = {"budget": "chat_message.rows_per_session", "limit": 500, "used": 500}
    with pytest.raises(BudgetExceededError) as caught, database_errors():
        await db.execute(
            "do $$ begin raise exception 'the session already has 500 messages' "
            f"using errcode = 'PT429', detail = '{json.dumps(budget)}'; end $$"
        )
    error = caught.value
    assert error.sqlstate == BUDGET_EXCEEDED_SQLSTATE == "PT429"
    assert error.http_status("authenticated") == 429
    assert error.budget == budget and error.problem_fields() == budget
    assert error.client_detail("authenticated") == (
        "the session already has 500 messages"
    )


async def test_locked_week_becomes_week_locked_error_with_cycle_and_week(
    db: asyncpg.Connection,
) -> None:
    owner = await build_owner(db, lock_enforced=True)
    error = await rejected_as(
        db,
        "update plan_item set quota = 7 where id = $1",
        owner.plan_item(9),
        sqlstate="PT423",
    )
    assert isinstance(error, WeekLockedError)
    assert (error.cycle_id, error.week_no, error.operation) == (
        owner.cycle_id,
        9,
        "change_quota",
    )
    assert error.sqlstate == "PT423"
    assert error.hint == WEEK_LOCKED_HINT
    assert error.table == "plan_item"


@pytest.mark.parametrize(
    ("operation", "sql"),
    [
        ("change_quota", "update plan_item set quota = 1 where id = $1"),
        ("remove_plan_item", "delete from plan_item where id = $1"),
    ],
)
async def test_the_application_raises_the_same_lock_error_as_the_database(
    db: asyncpg.Connection, operation: str, sql: str
) -> None:
    owner = await build_owner(db, lock_enforced=True)
    from_db = await rejected_as(db, sql, owner.plan_item(11), sqlstate="PT423")
    own = week_locked(owner.cycle_id, 11, operation)
    assert type(own) is type(from_db)
    assert str(own) == str(from_db)
    assert json.loads(own.detail or "") == json.loads(from_db.detail or "")
    assert own.hint == from_db.hint


async def test_second_goal_of_same_type_becomes_duplicate_goal_error(
    db: asyncpg.Connection,
    owner: Owner,
) -> None:
    error = await rejected_as(
        db,
        "insert into goal (user_id, cycle_id, goal_type, title) "
        "values ($1, $2, 'personal', 'Another')",
        owner.user_id,
        owner.cycle_id,
        sqlstate="23505",
    )
    assert isinstance(error, DuplicateGoalError)
    assert error.constraint == "goal_one_per_type"


async def test_planning_a_task_twice_in_a_week_becomes_duplicate_error(
    db: asyncpg.Connection,
    owner: Owner,
) -> None:
    error = await rejected_as(
        db,
        "insert into plan_item (user_id, weekly_plan_id, task_id) values ($1, $2, $3)",
        owner.user_id,
        owner.weekly_plan_ids[1],
        owner.task_ids[0],
        sqlstate="23505",
    )
    assert type(error) is DuplicateError
    assert error.constraint == "plan_item_one_per_task_and_week"


async def test_negative_quota_becomes_validation_error(
    db: asyncpg.Connection, owner: Owner
) -> None:
    error = await rejected_as(
        db,
        "update plan_item set quota = -1 where id = $1",
        owner.plan_item(1),
        sqlstate="23514",
    )
    assert isinstance(error, ValidationError)
    assert error.constraint == "plan_item_quota_not_negative"
    assert "quota is at least 0" in str(error)


async def test_another_users_cycle_becomes_not_found_error(
    db: asyncpg.Connection,
) -> None:
    mine = await build_owner(db)
    theirs = await build_owner(db)
    for owner in (mine, theirs):
        await db.execute("delete from goal where id = $1", owner.goal_ids["personal"])
    error = await rejected_as(
        db,
        "insert into goal (user_id, cycle_id, goal_type, title) "
        "values ($1, $2, 'personal', 'Sneaky')",
        mine.user_id,
        theirs.cycle_id,
        sqlstate="23503",
    )
    # Another user's cycle is reported exactly like a missing one.
    assert isinstance(error, NotFoundError)
    assert error.constraint == "goal_cycle_same_owner_fkey"


async def test_task_of_another_cycle_becomes_invalid_reference_error(
    db: asyncpg.Connection,
    owner: Owner,
) -> None:
    other = await build_owner(db)
    error = await rejected_as(
        db,
        "insert into plan_item (user_id, weekly_plan_id, task_id) values ($1, $2, $3)",
        owner.user_id,
        owner.weekly_plan_ids[1],
        other.task_ids[0],
        sqlstate="23503",
    )
    assert isinstance(error, InvalidReferenceError)


async def test_unknown_user_becomes_not_found_error(db: asyncpg.Connection) -> None:
    error = await rejected_as(
        db,
        "insert into vision (user_id, title, statement) values ($1, 'T', 'S')",
        uuid.uuid4(),
        sqlstate="23503",
        # Only a new row could appear (the counts): no user's rows to compare.
        owners=[],
    )
    assert isinstance(error, NotFoundError)
    assert error.constraint == "vision_user_id_fkey"


async def test_overlapping_cycle_becomes_cycle_overlap_error(
    db: asyncpg.Connection,
    owner: Owner,
) -> None:
    error = await rejected_as(
        db,
        "insert into cycle (user_id, start_date) values ($1, $2)",
        owner.user_id,
        date(2026, 10, 1),
        sqlstate="23P01",
    )
    assert isinstance(error, CycleOverlapError)


async def test_lifting_the_lock_as_end_user_becomes_lock_lift_denied_error(
    db: asyncpg.Connection,
) -> None:
    owner = await build_owner(db, lock_enforced=True)
    async with rolled_back(db):
        await db.execute("grant select, update on public.cycle to authenticated")
        await act_as(db, "authenticated", owner.user_id)
        with pytest.raises(LockLiftDeniedError) as caught, database_errors():
            await db.execute(
                "update public.cycle set lock_enforced = false where id = $1",
                owner.cycle_id,
            )
    assert isinstance(caught.value, OwnershipError)
    assert caught.value.sqlstate == "42501"


async def test_missing_privilege_becomes_ownership_error(
    db: asyncpg.Connection,
) -> None:
    role = f"planner_test_nobody_{uuid.uuid4().hex[:8]}"
    async with rolled_back(db):
        await db.execute(f"create role {role} nologin")
        await db.execute(f"set local role {role}")
        with pytest.raises(OwnershipError), database_errors():
            await db.execute("select * from public.cycle")


async def test_wrong_argument_type_becomes_validation_error(
    db: asyncpg.Connection,
    owner: Owner,
) -> None:
    before = await snapshot(db, [owner.user_id])
    with pytest.raises(ValidationError), database_errors():
        await db.execute("update plan_item set quota = $1", "many")
    assert await snapshot(db, [owner.user_id]) == before


async def test_unknown_constraint_falls_back_to_its_sqlstate(
    db: asyncpg.Connection,
) -> None:
    async with rolled_back(db):
        await db.execute(
            "create temporary table scratch "
            "(n int constraint scratch_small check (n < 2))"
        )
        with pytest.raises(ValidationError) as caught:
            async with db.transaction():
                with database_errors():
                    await db.execute("insert into scratch values (5)")
    assert caught.value.constraint == "scratch_small"


async def test_deadlock_becomes_concurrency_error(db: asyncpg.Connection) -> None:
    with pytest.raises(ConcurrencyError), database_errors():
        await db.execute(
            "do $$ begin raise exception 'deadlock' using errcode = '40P01'; end $$"
        )


async def test_errors_come_out_as_project_classes_only(
    db: asyncpg.Connection,
) -> None:
    owner = await build_owner(db, lock_enforced=True)
    with pytest.raises(PlannerError) as caught, database_errors():
        await db.execute(
            "delete from weekly_plan where id = $1", owner.weekly_plan_ids[7]
        )
    assert not isinstance(caught.value, asyncpg.PostgresError)
    assert isinstance(caught.value.__cause__, asyncpg.PostgresError)
