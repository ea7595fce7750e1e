"""
The project's exceptions: what can go wrong in the data layer and the HTTP
API, each class with its HTTP status (:attr:`PlannerError.status`) and what a
client may read about it (:meth:`PlannerError.client_detail`). The API
answers every error from these alone (``docs/api.md``, "Errors").

:mod:`planner_app.errors` turns database errors into them (and re-exports
them); import them from there.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, ClassVar

WEEK_LOCKED_SQLSTATE = "PT423"
"""Raised by the lock triggers: a week 7..12 of a locked cycle was changed.
PostgREST answers a ``PTxyz`` SQLSTATE with HTTP status ``xyz``: 423 Locked."""

WEEK_LOCKED_HINT = (
    "Weeks 7-12 of a cycle are frozen while cycle.lock_enforced is true. "
    "Record execution (completed_count, notes, reflection) instead; only "
    "service_role or the table owner can lift the lock."
)
"""The HINT of every PT423 error (the database sends the same text)."""

BUDGET_EXCEEDED_SQLSTATE = "PT429"
"""Raised when a write would take a user past one of their budgets; its
DETAIL is a JSON object (``{"budget": ..., "limit": ..., ...}``)."""

REFERENCE_DETAIL = (
    "a row this one references does not exist, belongs to another user, or "
    "does not fit (a plan item's task and week must be of the same cycle)"
)
"""What a client reads about any refused reference (23503): the same words
whichever rule refused it, so another user's row looks missing."""


class PlannerError(Exception):
    """
    Base of every error the data layer raises.

    :param message:
        What went wrong, for people (and logs: for a database error it ends
        with the database's own message).
    :param sqlstate:
        The database's SQLSTATE when the error came from the database.
    :param constraint:
        The violated constraint (or rule) name, when there is one.
    :param public_detail:
        What a client may read about a database error.
    """

    status: ClassVar[int] = 500
    """The HTTP status that answers it."""
    text: ClassVar[str] = "internal error"
    """What a client reads when the message is not for them."""
    retry_after: ClassVar[int | None] = None
    """Seconds after which a retry may succeed (HTTP ``Retry-After``)."""

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
        public_detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.constraint = constraint
        self.table = table
        self.column = column
        self.detail = detail
        self.hint = hint
        self.public_detail = public_detail

    def http_status(self, role: str) -> int:
        """The HTTP status for a caller acting as ``role``."""
        return self.status

    def client_detail(self, role: str) -> str:
        """
        What the caller may read: the project's words, never the database's
        message or DETAIL (which could describe another user's row). An
        error the project raised itself keeps its message; one translated
        from the database reads as its rule's description
        (:attr:`public_detail`, set by :func:`planner_app.errors.translate_error`)
        or the class's :attr:`text`.
        """
        if self.http_status(role) == 500:
            return self.text  # a bug: the log has the message
        if self.public_detail:
            return self.public_detail
        return self.message if self.sqlstate is None else self.text

    def problem_fields(self) -> dict[str, Any]:
        """Members of the answer beyond status, code and detail."""
        return {}

    def headers(self) -> dict[str, str]:
        """HTTP headers of the answer."""
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(self.retry_after)}


class NotFoundError(PlannerError):
    """The row does not exist (or is not visible to the acting user)."""

    status = 404
    text = "no such row (or it belongs to another user)"

    def client_detail(self, role: str) -> str:
        return REFERENCE_DETAIL if self.sqlstate == "23503" else self.text


class OwnershipError(PlannerError):
    """The row belongs to another user, or the role may not do this."""

    status = 403
    text = (
        "not allowed: a row's user_id must be the caller's, and the caller's "
        "role needs the privilege"
    )

    def http_status(self, role: str) -> int:
        # As PostgREST: a refused privilege is 401 for anonymous callers.
        return 401 if role == "anon" else self.status

    def client_detail(self, role: str) -> str:
        if role == "anon":
            return "sign in: anonymous callers may not do this"
        return self.text


class LockLiftDeniedError(OwnershipError):
    """Only service_role or the table owner may lift a cycle's lock."""

    text = "only service_role may lift a cycle's lock"

    def http_status(self, role: str) -> int:
        return self.status

    def client_detail(self, role: str) -> str:
        return self.text

    def problem_fields(self) -> dict[str, Any]:
        return {"hint": self.hint}


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

    status = 423

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

    def client_detail(self, role: str) -> str:
        return self.message  # the lock triggers' own words

    def problem_fields(self) -> dict[str, Any]:
        return {
            "hint": self.hint,
            "cycle_id": self.cycle_id,
            "week_no": self.week_no,
            "operation": self.operation,
        }


class BudgetExceededError(PlannerError):
    """
    The write would take the user past one of their budgets (rows or bytes).

    :param budget:
        The database's DETAIL object: which budget, its limit and the rest.
    """

    status = 429

    def __init__(self, message: str, *, budget: dict[str, Any], **kwargs: Any) -> None:
        kwargs.setdefault("sqlstate", BUDGET_EXCEEDED_SQLSTATE)
        super().__init__(message, **kwargs)
        self.budget = budget

    def client_detail(self, role: str) -> str:
        return self.message  # the budget triggers' own words

    def problem_fields(self) -> dict[str, Any]:
        return {
            key: value
            for key, value in self.budget.items()
            if isinstance(value, str | int | float | bool)
            and key not in ("type", "title", "status", "detail", "code")
        }


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

    status = 409
    text = "the change breaks a rule"


class ValidationError(ConstraintViolation):
    """
    A value is out of range or malformed (CHECK, NOT NULL, bad input).

    :param errors:
        Where the input is wrong, one entry per field, when known.
    """

    status = 422
    text = "a value is out of range or malformed"

    def __init__(
        self, message: str, *, errors: list[Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.errors = errors

    def problem_fields(self) -> dict[str, Any]:
        return {"errors": self.errors}


class DuplicateError(ConstraintViolation):
    """A row like this one already exists (a UNIQUE rule)."""

    text = "such a row already exists"


class DuplicateGoalError(DuplicateError):
    """The cycle already has a goal of this type (the 1+1 rule)."""


class InvalidReferenceError(ConstraintViolation):
    """A referenced row does not exist or does not fit (foreign keys)."""

    status = 404

    def client_detail(self, role: str) -> str:
        return REFERENCE_DETAIL


class CycleOverlapError(ConstraintViolation):
    """The user already has a cycle covering some of these dates."""

    text = "the cycle overlaps another"


class ConcurrencyError(PlannerError):
    """A concurrent transaction won (deadlock, serialization); retry."""

    status = 503
    text = "a concurrent change won; retry the request"
    retry_after = 1


class LockTimeoutError(ConcurrencyError):
    """Another transaction held a lock longer than ``lock_timeout``."""

    text = "another transaction holds these rows; retry the request"


class TimeLimitError(PlannerError):
    """A statement ran longer than ``statement_timeout`` (or was canceled)."""

    status = 504
    text = "the request took longer than its time limit"
