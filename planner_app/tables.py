"""
The planner's tables, in domain order.

Piccolo creates the tables, columns, CHECKs and UNIQUE constraints declared
here (migration ``planner_app_0003_tables``, which also protects each table
in the same transaction). What Piccolo cannot express lives in the raw SQL
of the migrations named by concern beside it: protection (row-level
security, grants, maintained columns, audit), ownership (the ``auth.users``
and same-owner foreign keys, derived columns, partial uniques, the
non-overlap exclusion), the lock and the coach's messages. Limits and
patterns come from :mod:`planner_app.rules`. ``docs/schema.md`` explains each
rule; constraint names start with the table.
"""

from __future__ import annotations

from enum import Enum

from piccolo.columns import (
    JSONB,
    UUID,
    BigInt,
    BigSerial,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.constraints import Check, Unique
from piccolo.table import Table

from planner_app.rules import (
    DATE_MAX,
    DATE_MIN,
    JSON_MAX_BYTES,
    JSON_UNREPRESENTABLE_KEYS,
    NOT_BLANK_PATTERN,
    TEXT_MAX_CHARS,
)


class VisionStatus(str, Enum):
    active = "active"
    archived = "archived"


class CycleStatus(str, Enum):
    draft = "draft"
    active = "active"
    completed = "completed"
    archived = "archived"


class GoalType(str, Enum):
    professional = "professional"
    personal = "personal"


class MessageRole(str, Enum):
    user = "user"
    assistant = "assistant"
    system = "system"
    tool = "tool"


class AuditAction(str, Enum):
    insert = "INSERT"
    update = "UPDATE"
    delete = "DELETE"


def _owner() -> UUID:
    """``user_id``: the owner, an ``auth.users`` id (FK added in raw SQL)."""
    return UUID(default=None, null=False, index=True)


def _not_blank(column: str) -> Check:
    """At least one character that is not white space or invisible."""
    return Check(f"{column} ~ '{NOT_BLANK_PATTERN}'")


def _max_chars(table: str, column: str) -> Check:
    return Check(f"char_length({column}) <= {TEXT_MAX_CHARS[f'{table}.{column}']}")


def _json_object(column: str) -> Check:
    return Check(f"jsonb_typeof({column}) = 'object'")


def _json_max_bytes(table: str, column: str) -> Check:
    """Measured on the text form, as the front-end schemas measure it."""
    return Check(
        f"octet_length({column}::text) <= {JSON_MAX_BYTES[f'{table}.{column}']}"
    )


def _json_keys_representable(table: str, column: str) -> Check:
    """
    No object at any depth holds a key of ``JSON_UNREPRESENTABLE_KEYS``. An
    object over its size limit is left to ``<table>_<column>_max_size`` and
    never walked, so the walk is bounded.
    """
    found = " OR ".join(
        f"jsonb_path_exists({column}, 'lax $.**.\"{key}\"')"
        for key in JSON_UNREPRESENTABLE_KEYS
    )
    limit = JSON_MAX_BYTES[f"{table}.{column}"]
    return Check(
        f"CASE WHEN octet_length({column}::text) > {limit} THEN true "
        f"ELSE NOT ({found}) END"
    )


def _created_at() -> Timestamptz:
    return Timestamptz(default=TimestamptzNow(), null=False)


def _updated_at() -> Timestamptz:
    return Timestamptz(default=TimestamptzNow(), null=False)


class Vision(Table, tablename="vision"):
    """A user's long-term vision statement."""

    id = UUID(primary_key=True)
    user_id = _owner()
    title = Text(null=False)
    statement = Text(null=False)
    status = Varchar(length=16, default="active", choices=VisionStatus)
    created_at = _created_at()
    updated_at = _updated_at()

    vision_title_not_blank = _not_blank("title")
    vision_title_max_size = _max_chars("vision", "title")
    vision_statement_not_blank = _not_blank("statement")
    vision_statement_max_size = _max_chars("vision", "statement")
    vision_status_valid = Check("status IN ('active', 'archived')")


class Cycle(Table, tablename="cycle"):
    """A 12-week period of one user, optionally serving a vision."""

    id = UUID(primary_key=True)
    user_id = _owner()
    vision_id = ForeignKey(
        references=Vision, null=True, default=None, on_delete=OnDelete.set_null
    )
    start_date = Date(null=False)
    # Always start_date + 83 days: filled by a trigger, proven by a CHECK.
    end_date = Date(null=True, default=None)
    status = Varchar(length=16, default="draft", choices=CycleStatus)
    lock_enforced = Boolean(default=False, null=False)
    locked_at = Timestamptz(null=True, default=None)
    created_at = _created_at()
    updated_at = _updated_at()

    cycle_status_valid = Check("status IN ('draft', 'active', 'completed', 'archived')")
    cycle_end_date_is_start_plus_83 = Check("end_date = start_date + 83")
    cycle_start_date_in_range = Check(
        f"start_date BETWEEN '{DATE_MIN.isoformat()}' AND '{DATE_MAX.isoformat()}'"
    )


class Goal(Table, tablename="goal"):
    """One goal of a cycle: at most one per goal type (the 1+1 rule)."""

    id = UUID(primary_key=True)
    user_id = _owner()
    cycle_id = ForeignKey(references=Cycle, null=False, on_delete=OnDelete.cascade)
    goal_type = Varchar(length=16, choices=GoalType, null=False, default=None)
    title = Text(null=False)
    description = Text(null=False, default="")
    created_at = _created_at()
    updated_at = _updated_at()

    goal_one_per_type = Unique(["cycle_id", "goal_type"])
    goal_type_valid = Check("goal_type IN ('professional', 'personal')")
    goal_title_not_blank = _not_blank("title")
    goal_title_max_size = _max_chars("goal", "title")
    goal_description_max_size = _max_chars("goal", "description")


class Task(Table, tablename="task"):
    """A tactic: a repeated action that serves one goal."""

    id = UUID(primary_key=True)
    user_id = _owner()
    goal_id = ForeignKey(references=Goal, null=False, on_delete=OnDelete.cascade)
    # The goal's cycle, copied by a trigger so plan items can prove that the
    # task and the weekly plan belong to the same cycle.
    cycle_id = UUID(null=True, default=None)
    title = Text(null=False)
    description = Text(null=False, default="")
    default_quota = Integer(default=1, null=False)
    created_at = _created_at()
    updated_at = _updated_at()

    task_title_not_blank = _not_blank("title")
    task_title_max_size = _max_chars("task", "title")
    task_description_max_size = _max_chars("task", "description")
    task_default_quota_at_least_1 = Check("default_quota >= 1")


class WeeklyPlan(Table, tablename="weekly_plan"):
    """One week (1..12) of a cycle."""

    id = UUID(primary_key=True)
    user_id = _owner()
    cycle_id = ForeignKey(references=Cycle, null=False, on_delete=OnDelete.cascade)
    week_no = SmallInt(null=False, default=None)
    # The cycle's start_date + 7 * (week_no - 1): kept by a trigger.
    week_start_date = Date(null=True, default=None)
    reflection = Text(null=True, default=None)
    created_at = _created_at()
    updated_at = _updated_at()

    weekly_plan_one_per_week = Unique(["cycle_id", "week_no"])
    weekly_plan_week_no_1_to_12 = Check("week_no BETWEEN 1 AND 12")
    weekly_plan_reflection_max_size = _max_chars("weekly_plan", "reflection")


class PlanItem(Table, tablename="plan_item"):
    """A task planned in one week, with its quota and what was done."""

    id = UUID(primary_key=True)
    user_id = _owner()
    weekly_plan_id = ForeignKey(
        references=WeeklyPlan, null=False, on_delete=OnDelete.cascade
    )
    task_id = ForeignKey(references=Task, null=False, on_delete=OnDelete.cascade)
    # The weekly plan's cycle, copied by a trigger (see Task.cycle_id).
    cycle_id = UUID(null=True, default=None)
    quota = Integer(null=False, default=1)
    completed_count = Integer(null=False, default=0)
    notes = Text(null=True, default=None)
    created_at = _created_at()
    updated_at = _updated_at()

    plan_item_one_per_task_and_week = Unique(["weekly_plan_id", "task_id"])
    plan_item_quota_not_negative = Check("quota >= 0")
    plan_item_completed_count_not_negative = Check("completed_count >= 0")
    plan_item_notes_max_size = _max_chars("plan_item", "notes")


class ChatSession(Table, tablename="chat_session"):
    """A conversation with the AI coach, optionally about one cycle."""

    id = UUID(primary_key=True)
    user_id = _owner()
    cycle_id = ForeignKey(
        references=Cycle, null=True, default=None, on_delete=OnDelete.set_null
    )
    title = Text(null=True, default=None)
    context = JSONB(null=False, default={})
    created_at = _created_at()
    updated_at = _updated_at()

    chat_session_title_max_size = _max_chars("chat_session", "title")
    chat_session_context_is_object = _json_object("context")
    chat_session_context_max_size = _json_max_bytes("chat_session", "context")
    chat_session_context_keys_representable = _json_keys_representable(
        "chat_session", "context"
    )


class ChatMessage(Table, tablename="chat_message"):
    """One message of a chat session."""

    id = UUID(primary_key=True)
    user_id = _owner()
    session_id = ForeignKey(
        references=ChatSession, null=False, on_delete=OnDelete.cascade
    )
    role = Varchar(length=16, choices=MessageRole, null=False, default=None)
    content = Text(null=False)
    metadata = JSONB(null=False, default={})
    created_at = _created_at()
    updated_at = _updated_at()

    chat_message_role_valid = Check("role IN ('user', 'assistant', 'system', 'tool')")
    chat_message_content_not_blank = _not_blank("content")
    chat_message_content_max_size = _max_chars("chat_message", "content")
    chat_message_metadata_is_object = _json_object("metadata")
    chat_message_metadata_max_size = _json_max_bytes("chat_message", "metadata")
    chat_message_metadata_keys_representable = _json_keys_representable(
        "chat_message", "metadata"
    )


class AuditLog(Table, tablename="audit_log"):
    """One change to a domain row, written only by the audit trigger."""

    id = BigSerial(primary_key=True)
    occurred_at = Timestamptz(default=TimestamptzNow(), null=False)
    table_name = Text(null=False)
    record_id = UUID(null=False, default=None)
    action = Varchar(length=6, choices=AuditAction, null=False, default=None)
    # Indexed by (user_id, occurred_at desc, id desc) in the tables
    # migration's SQL: an index on user_id alone would only slow every write.
    user_id = UUID(null=False, default=None)
    actor_id = UUID(null=True, default=None)
    actor_role = Text(null=True, default=None)
    txid = BigInt(null=False, default=0)
    before = JSONB(null=True, default=None)
    after = JSONB(null=True, default=None)

    audit_log_action_valid = Check("action IN ('INSERT', 'UPDATE', 'DELETE')")
    audit_log_before_matches_action = Check(
        "(action = 'INSERT') = (before IS NULL)"
        " AND (before IS NULL OR jsonb_typeof(before) = 'object')"
    )
    audit_log_after_matches_action = Check(
        "(action = 'DELETE') = (after IS NULL)"
        " AND (after IS NULL OR jsonb_typeof(after) = 'object')"
    )


TABLES: tuple[type[Table], ...] = (
    Vision,
    Cycle,
    Goal,
    Task,
    WeeklyPlan,
    PlanItem,
    ChatSession,
    ChatMessage,
    AuditLog,
)

DOMAIN_TABLES: tuple[type[Table], ...] = TABLES[:-1]
