"""
The project's exceptions, and the one place that turns database errors into
them.

Callers catch :class:`PlannerError` and its subclasses, never a driver class:
wrap database work in :func:`database_errors` (or call
:func:`translate_error`) and an ``asyncpg.PostgresError`` comes out as the
matching project exception, chosen by SQLSTATE and constraint name. The
original driver error stays reachable as ``__cause__`` for logs.

``docs/lock.md`` documents the lock's error contract; ``docs/schema.md`` the
constraints named in :data:`CONSTRAINTS`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg

from planner_app.rules import JSON_MAX_BYTES, TEXT_MAX_CHARS
from planner_app.tables import DOMAIN_TABLES

WEEK_LOCKED_SQLSTATE = "PT423"
"""Raised by the lock triggers: a week 7..12 of a locked cycle was changed.
PostgREST answers a ``PTxyz`` SQLSTATE with HTTP status ``xyz``: 423 Locked."""

WEEK_LOCKED_HINT = (
    "Weeks 7-12 of a cycle are frozen while cycle.lock_enforced is true. "
    "Record execution (completed_count, notes, reflection) instead; only "
    "service_role or the table owner can lift the lock."
)
"""The HINT of every PT423 error (the database sends the same text)."""


class PlannerError(Exception):
    """
    Base of every error the data layer raises.

    :param message:
        What went wrong, for people.
    :param sqlstate:
        The database's SQLSTATE when the error came from the database.
    :param constraint:
        The violated constraint (or rule) name, when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        sqlstate: str | None = None,
        constraint: str | None = None,
        table: str | None = None,
        column: str | None = None,
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.constraint = constraint
        self.table = table
        self.column = column
        self.detail = detail
        self.hint = hint


class NotFoundError(PlannerError):
    """The row does not exist (or is not visible to the acting user)."""


class OwnershipError(PlannerError):
    """The row belongs to another user, or the role may not do this."""


class LockLiftDeniedError(OwnershipError):
    """Only service_role or the table owner may lift a cycle's lock."""


class WeekLockedError(PlannerError):
    """
    A week 7..12 of a cycle whose lock is enforced would change.

    :param cycle_id:
        The locked cycle.
    :param week_no:
        The locked week (7..12); ``None`` when the whole cycle's calendar
        would move (``move_start_date``).
    :param operation:
        What was refused: ``change_quota``, ``add_plan_item``,
        ``remove_plan_item``, ``move_plan_item``, ``change_task``,
        ``delete_weekly_plan``, ``renumber_weekly_plan`` or
        ``move_start_date``.
    """

    def __init__(
        self,
        message: str,
        *,
        cycle_id: uuid.UUID,
        week_no: int | None,
        operation: str,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("sqlstate", WEEK_LOCKED_SQLSTATE)
        super().__init__(message, **kwargs)
        self.cycle_id = cycle_id
        self.week_no = week_no
        self.operation = operation


# The lock triggers' operations and the words their messages use.
LOCK_OPERATIONS: dict[str, str] = {
    "change_quota": "change a plan item's quota",
    "add_plan_item": "add a plan item",
    "remove_plan_item": "remove a plan item",
    "move_plan_item": "move a plan item into or out of this week",
    "change_task": "change the task of a plan item",
    "delete_weekly_plan": "delete the weekly plan",
    "renumber_weekly_plan": "renumber or move the weekly plan",
    "move_start_date": "move its start date (weeks 7-12 would move)",
}


def week_locked(cycle_id: uuid.UUID, week_no: int, operation: str) -> WeekLockedError:
    """
    The error the application raises itself when its own check finds the
    week locked: the same shape as the database's.
    """
    return WeekLockedError(
        f"week {week_no} of cycle {cycle_id} is locked: "
        f"cannot {LOCK_OPERATIONS[operation]}",
        cycle_id=cycle_id,
        week_no=week_no,
        operation=operation,
        detail=json.dumps(
            {"cycle_id": str(cycle_id), "week_no": week_no, "operation": operation}
        ),
        hint=WEEK_LOCKED_HINT,
    )


class ConstraintViolation(PlannerError):
    """A write broke one of the schema's rules."""


class ValidationError(ConstraintViolation):
    """A value is out of range or malformed (CHECK, NOT NULL, bad input)."""


class DuplicateError(ConstraintViolation):
    """A row like this one already exists (a UNIQUE rule)."""


class DuplicateGoalError(DuplicateError):
    """The cycle already has a goal of this type (the 1+1 rule)."""


class InvalidReferenceError(ConstraintViolation):
    """A referenced row does not exist or does not fit (foreign keys)."""


class CycleOverlapError(ConstraintViolation):
    """The user already has a cycle covering some of these dates."""


class ConcurrencyError(PlannerError):
    """A concurrent transaction won (deadlock, serialization); retry."""


# Every named rule of the schema: the exception it becomes and what it means.
CONSTRAINTS: dict[str, tuple[type[PlannerError], str]] = {
    # vision
    "vision_title_not_blank": (ValidationError, "a vision needs a title"),
    "vision_statement_not_blank": (ValidationError, "a vision needs a statement"),
    "vision_status_valid": (ValidationError, "unknown vision status"),
    "vision_one_active_per_user": (
        DuplicateError,
        "the user already has an active vision",
    ),
    "vision_id_user_id_key": (DuplicateError, "vision id already used"),
    "vision_pkey": (DuplicateError, "vision id already used"),
    "vision_user_id_fkey": (NotFoundError, "the user does not exist"),
    # cycle
    "cycle_status_valid": (ValidationError, "unknown cycle status"),
    "cycle_end_date_is_start_plus_83": (
        ValidationError,
        "a cycle ends 83 days after it starts",
    ),
    "cycle_one_active_per_user": (
        DuplicateError,
        "the user already has an active cycle",
    ),
    "cycle_no_overlap": (
        CycleOverlapError,
        "the cycle overlaps another cycle of the user",
    ),
    "cycle_id_user_id_key": (DuplicateError, "cycle id already used"),
    "cycle_pkey": (DuplicateError, "cycle id already used"),
    "cycle_user_id_fkey": (NotFoundError, "the user does not exist"),
    "cycle_vision_same_owner_fkey": (
        NotFoundError,
        "the vision does not exist (for the cycle's owner)",
    ),
    "cycle_start_date_in_range": (
        ValidationError,
        "a cycle starts between 2000-01-01 and 2199-12-31",
    ),
    "cycle_lock_one_way": (
        LockLiftDeniedError,
        "only service_role or the table owner may lift the lock",
    ),
    # goal
    "goal_one_per_type": (
        DuplicateGoalError,
        "the cycle already has a goal of this type",
    ),
    "goal_type_valid": (ValidationError, "goal type is professional or personal"),
    "goal_title_not_blank": (ValidationError, "a goal needs a title"),
    "goal_id_cycle_id_user_id_key": (DuplicateError, "goal id already used"),
    "goal_pkey": (DuplicateError, "goal id already used"),
    "goal_user_id_fkey": (NotFoundError, "the user does not exist"),
    "goal_cycle_same_owner_fkey": (
        NotFoundError,
        "the cycle does not exist (for the goal's owner)",
    ),
    # task
    "task_title_not_blank": (ValidationError, "a task needs a title"),
    "task_default_quota_at_least_1": (
        ValidationError,
        "a task's default quota is at least 1",
    ),
    "task_id_cycle_id_user_id_key": (DuplicateError, "task id already used"),
    "task_pkey": (DuplicateError, "task id already used"),
    "task_user_id_fkey": (NotFoundError, "the user does not exist"),
    "task_goal_same_owner_fkey": (
        NotFoundError,
        "the goal does not exist (for the task's owner)",
    ),
    # weekly_plan
    "weekly_plan_one_per_week": (
        DuplicateError,
        "the cycle already has a plan for this week",
    ),
    "weekly_plan_week_no_1_to_12": (ValidationError, "week_no is 1..12"),
    "weekly_plan_week_start_matches_cycle": (
        ValidationError,
        "a week starts 7 days after the one before it, from the cycle's start",
    ),
    "weekly_plan_id_cycle_id_user_id_key": (
        DuplicateError,
        "weekly plan id already used",
    ),
    "weekly_plan_pkey": (DuplicateError, "weekly plan id already used"),
    "weekly_plan_user_id_fkey": (NotFoundError, "the user does not exist"),
    "weekly_plan_cycle_same_owner_fkey": (
        NotFoundError,
        "the cycle does not exist (for the plan's owner)",
    ),
    # plan_item
    "plan_item_one_per_task_and_week": (
        DuplicateError,
        "the task is already planned in this week",
    ),
    "plan_item_quota_not_negative": (ValidationError, "quota is at least 0"),
    "plan_item_completed_count_not_negative": (
        ValidationError,
        "completed_count is at least 0",
    ),
    "plan_item_id_user_id_key": (DuplicateError, "plan item id already used"),
    "plan_item_pkey": (DuplicateError, "plan item id already used"),
    "plan_item_user_id_fkey": (NotFoundError, "the user does not exist"),
    "plan_item_weekly_plan_same_owner_fkey": (
        NotFoundError,
        "the weekly plan does not exist (for the item's owner)",
    ),
    "plan_item_task_same_cycle_fkey": (
        InvalidReferenceError,
        "the task must serve a goal of the weekly plan's cycle (and owner)",
    ),
    # chat
    "chat_session_context_is_object": (
        ValidationError,
        "a session's context is a JSON object",
    ),
    "chat_session_id_user_id_key": (DuplicateError, "chat session id already used"),
    "chat_session_pkey": (DuplicateError, "chat session id already used"),
    "chat_session_user_id_fkey": (NotFoundError, "the user does not exist"),
    "chat_session_cycle_same_owner_fkey": (
        NotFoundError,
        "the cycle does not exist (for the session's owner)",
    ),
    "chat_message_role_valid": (
        ValidationError,
        "role is user, assistant, system or tool",
    ),
    "chat_message_metadata_is_object": (
        ValidationError,
        "a message's metadata is a JSON object",
    ),
    "chat_message_id_user_id_key": (DuplicateError, "chat message id already used"),
    "chat_message_pkey": (DuplicateError, "chat message id already used"),
    "chat_message_user_id_fkey": (NotFoundError, "the user does not exist"),
    "chat_message_session_same_owner_fkey": (
        NotFoundError,
        "the chat session does not exist (for the message's owner)",
    ),
    "chat_message_content_not_blank": (ValidationError, "a message needs content"),
    # audit_log
    "audit_log_action_valid": (ValidationError, "unknown audit action"),
    "audit_log_before_matches_action": (
        ValidationError,
        "audit before-image does not match the action",
    ),
    "audit_log_after_matches_action": (
        ValidationError,
        "audit after-image does not match the action",
    ),
    "audit_log_pkey": (DuplicateError, "audit log id already used"),
    # rules stated once in planner_app/rules.py and planner_app/tables.py
    **{
        f"{column.replace('.', '_')}_max_size": (
            ValidationError,
            f"{column} is at most {limit} characters",
        )
        for column, limit in TEXT_MAX_CHARS.items()
    },
    **{
        f"{column.replace('.', '_')}_max_size": (
            ValidationError,
            f"{column} is a JSON object of at most {limit} bytes",
        )
        for column, limit in JSON_MAX_BYTES.items()
    },
    **{
        f"{table}_{column}_never_changes": (
            ValidationError,
            f"the {column} of a {table} row never changes",
        )
        for table in (t._meta.tablename for t in DOMAIN_TABLES)
        for column in ("id", "user_id")
    },
    **{
        f"{table}_{column}_is_rfc_9562": (
            ValidationError,
            f"the {column} of a {table} row must be an RFC 9562 UUID",
        )
        for table in (t._meta.tablename for t in DOMAIN_TABLES)
        for column in ("id", "user_id")
    },
}

# By SQLSTATE, for errors without a known constraint name.
_SQLSTATES: dict[str, type[PlannerError]] = {
    "23505": DuplicateError,  # unique_violation
    "23503": InvalidReferenceError,  # foreign_key_violation
    "23514": ValidationError,  # check_violation
    "23502": ValidationError,  # not_null_violation
    "23P01": ConstraintViolation,  # exclusion_violation
    "42501": OwnershipError,  # insufficient_privilege (grants, row-level security)
    "40001": ConcurrencyError,  # serialization_failure
    "40P01": ConcurrencyError,  # deadlock_detected
    "55P03": ConcurrencyError,  # lock_not_available
}
_SQLSTATE_CLASSES: dict[str, type[PlannerError]] = {
    "22": ValidationError,  # data exception: bad input syntax, out of range
    "23": ConstraintViolation,  # integrity constraint violation
}


def _week_locked(message: str, fields: dict[str, Any]) -> PlannerError:
    try:
        detail = json.loads(fields["detail"] or "")
        cycle_id = uuid.UUID(detail["cycle_id"])
        week_no = None if detail["week_no"] is None else int(detail["week_no"])
        operation = str(detail["operation"])
    except (ValueError, KeyError, TypeError):
        # A PT423 must come from the lock triggers; anything else is a bug.
        return PlannerError(message, **fields)
    return WeekLockedError(
        message,
        cycle_id=cycle_id,
        week_no=week_no,
        operation=operation,
        **fields,
    )


def translate_error(error: asyncpg.PostgresError) -> PlannerError:
    """
    The project exception for a database error.

    :param error:
        An error raised by asyncpg (directly or through Piccolo).
    """
    message = getattr(error, "message", None) or str(error)
    sqlstate = getattr(error, "sqlstate", None)
    constraint = getattr(error, "constraint_name", None)
    fields: dict[str, Any] = {
        "sqlstate": sqlstate,
        "constraint": constraint,
        "table": getattr(error, "table_name", None),
        "column": getattr(error, "column_name", None),
        "detail": getattr(error, "detail", None),
        "hint": getattr(error, "hint", None),
    }
    if sqlstate == WEEK_LOCKED_SQLSTATE:
        return _week_locked(message, fields)
    if constraint in CONSTRAINTS:
        cls, meaning = CONSTRAINTS[constraint]
        return cls(f"{meaning} ({constraint}): {message}", **fields)
    cls = _SQLSTATES.get(sqlstate or "") or _SQLSTATE_CLASSES.get(
        (sqlstate or "")[:2], PlannerError
    )
    if cls is PlannerError and isinstance(error, asyncpg.DataError):
        # asyncpg's own check of a query argument (wrong Python type).
        cls = ValidationError
    return cls(message, **fields)


@contextmanager
def database_errors() -> Iterator[None]:
    """
    Re-raise any asyncpg error inside the block as the project's exception::

        with database_errors():
            await conn.execute(...)
    """
    try:
        yield
    except asyncpg.PostgresError as error:
        raise translate_error(error) from error
