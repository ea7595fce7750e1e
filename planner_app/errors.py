"""
The one place that turns database errors into the project's exceptions
(:mod:`planner_app.exceptions`, re-exported here).

Callers catch :class:`PlannerError` and its subclasses, never a driver class:
wrap database work in :func:`database_errors` (or call
:func:`translate_error`) and an ``asyncpg.PostgresError`` comes out as the
matching project exception, chosen by SQLSTATE and constraint name
(:data:`CONSTRAINTS`). The original driver error stays reachable as
``__cause__`` for logs.

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

# The exceptions are imported from here (this module re-exports them).
from planner_app.exceptions import (  # noqa: F401
    BUDGET_EXCEEDED_SQLSTATE,
    LOCK_OPERATIONS,
    REFERENCE_DETAIL,
    WEEK_LOCKED_HINT,
    WEEK_LOCKED_SQLSTATE,
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
    week_locked,
)
from planner_app.rules import JSON_MAX_BYTES, RFC_9562_ID_COLUMNS, TEXT_MAX_CHARS
from planner_app.tables import DOMAIN_TABLES, TABLES

# Every named rule of the schema that is a rule of its own: the exception
# it becomes and what it means. The entries every table gets by
# construction are derived below (:func:`_mechanical_constraints`).
_RULES: dict[str, tuple[type[PlannerError], str]] = {
    # vision
    "vision_title_not_blank": (ValidationError, "a vision needs a title"),
    "vision_statement_not_blank": (ValidationError, "a vision needs a statement"),
    "vision_status_valid": (ValidationError, "unknown vision status"),
    "vision_one_active_per_user": (
        DuplicateError,
        "the user already has an active vision",
    ),
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
    "chat_session_context_keys_representable": (
        ValidationError,
        "a session's context holds no __proto__ key, at any depth",
    ),
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
    "chat_message_metadata_keys_representable": (
        ValidationError,
        "a message's metadata holds no __proto__ key, at any depth",
    ),
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
}


def _mechanical_constraints() -> dict[str, tuple[type[PlannerError], str]]:
    """
    The rules every table gets by construction, named after the table:

    - ``<table>_pkey``;
    - per domain table: ``<table>_user_id_fkey`` (to ``auth.users``) and,
      from the protection migration, ``<table>_<id|user_id>_never_changes``
      and ``<table>_<id|user_id>_is_rfc_9562``;
    - the key ``<table>_id_cycle_id_user_id_key`` a same-owner foreign key
      points at where both tables carry the cycle, else the same-owner key
      ``<table>_id_user_id_key`` ``attach_table_rules()`` gives every other
      domain table;
    - the size limits of :mod:`planner_app.rules`.
    """
    entries: dict[str, tuple[type[PlannerError], str]] = {}
    for table in TABLES:
        name = table._meta.tablename
        label = name.replace("_", " ")
        entries[f"{name}_pkey"] = (DuplicateError, f"{label} id already used")
    for table in DOMAIN_TABLES:
        name = table._meta.tablename
        entries[f"{name}_user_id_fkey"] = (NotFoundError, "the user does not exist")
        for column in RFC_9562_ID_COLUMNS:
            entries[f"{name}_{column}_never_changes"] = (
                ValidationError,
                f"the {column} of a {name} row never changes",
            )
            entries[f"{name}_{column}_is_rfc_9562"] = (
                ValidationError,
                f"the {column} of a {name} row must be an RFC 9562 UUID",
            )
        columns = {column._meta.name for column in table._meta.columns}
        for foreign_key in table._meta.foreign_key_columns:
            parent = foreign_key._foreign_key_meta.resolved_references
            parent_name = parent._meta.tablename
            parent_columns = {column._meta.name for column in parent._meta.columns}
            shared = "_cycle_id" if "cycle_id" in columns & parent_columns else ""
            entries[f"{parent_name}_id{shared}_user_id_key"] = (
                DuplicateError,
                f"{parent_name.replace('_', ' ')} id already used",
            )
    for table in DOMAIN_TABLES:
        name = table._meta.tablename
        if f"{name}_id_cycle_id_user_id_key" not in entries:
            entries[f"{name}_id_user_id_key"] = (
                DuplicateError,
                f"{name.replace('_', ' ')} id already used",
            )
    for column, limit in TEXT_MAX_CHARS.items():
        entries[f"{column.replace('.', '_')}_max_size"] = (
            ValidationError,
            f"{column} is at most {limit} characters",
        )
    for column, limit in JSON_MAX_BYTES.items():
        entries[f"{column.replace('.', '_')}_max_size"] = (
            ValidationError,
            f"{column} is a JSON object of at most {limit} bytes",
        )
    return entries


CONSTRAINTS: dict[str, tuple[type[PlannerError], str]] = {
    **_mechanical_constraints(),
    **_RULES,
}
"""Every named rule of the schema: the exception it becomes and what it
means (a test checks it against the migrated database, both ways)."""

# What a client reads about a database error that names no known rule.
SQLSTATE_TEXTS: dict[str, str] = {
    "22000": "a value does not fit its column",
    "22001": "a text is longer than its column allows",
    "22003": "a number is out of range",
    "22007": "a date or time is malformed",
    "22008": "a date or time is out of range",
    "22021": "text may not contain NUL characters (\\u0000)",
    "22P02": "a value is malformed",
    "22P05": "JSON text may not contain \\u0000",
    "2201W": "a page size must be at least 1",
    "2201X": "a page or offset must not be negative",
    "23502": "a required value is missing",
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
    "55P03": LockTimeoutError,  # lock_not_available (lock_timeout)
    "57014": TimeLimitError,  # query_canceled (statement_timeout)
}
_SQLSTATE_CLASSES: dict[str, type[PlannerError]] = {
    "22": ValidationError,  # data exception: bad input syntax, out of range
    "23": ConstraintViolation,  # integrity constraint violation
}


def _detail_object(fields: dict[str, Any]) -> dict[str, Any] | None:
    try:
        detail = json.loads(fields["detail"] or "")
    except (ValueError, TypeError):
        return None
    return detail if isinstance(detail, dict) else None


def _week_locked(message: str, fields: dict[str, Any]) -> PlannerError:
    detail = _detail_object(fields) or {}
    try:
        cycle_id = uuid.UUID(detail["cycle_id"])
        week_no = None if detail["week_no"] is None else int(detail["week_no"])
        operation = str(detail["operation"])
    except (ValueError, KeyError, TypeError, AttributeError):
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
    if sqlstate == BUDGET_EXCEEDED_SQLSTATE:
        return BudgetExceededError(
            message, budget=_detail_object(fields) or {}, **fields
        )
    if constraint in CONSTRAINTS:
        cls, meaning = CONSTRAINTS[constraint]
        return cls(
            f"{meaning} ({constraint}): {message}",
            public_detail=f"{meaning} ({constraint})",
            **fields,
        )
    cls = _SQLSTATES.get(sqlstate or "") or _SQLSTATE_CLASSES.get(
        (sqlstate or "")[:2], PlannerError
    )
    if cls is PlannerError and isinstance(error, asyncpg.DataError):
        # asyncpg's own check of a query argument (wrong Python type).
        cls = ValidationError
    return cls(message, public_detail=_sqlstate_text(cls, fields), **fields)


def _sqlstate_text(cls: type[PlannerError], fields: dict[str, Any]) -> str:
    """The project's words for an error that names no known rule."""
    text = SQLSTATE_TEXTS.get(fields["sqlstate"] or "", cls.text)
    if fields["sqlstate"] == "23502" and fields["column"]:
        text = f"{text}: {fields['column']}"
    return f"{text} ({fields['constraint']})" if fields["constraint"] else text


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
