"""
A seeded user as plain data, and the one place that turns it into rows.

The generator (random, :mod:`seeds.generate`) and the fixtures (hand-written,
:mod:`seeds.fixtures`) each describe users with these classes and hand them
to :func:`add_user`, which adds their rows through
:meth:`seeds.rows.Batch.add`. A field of these classes is named after the
column it fills (JSON objects are written as JSON); fields made with
:func:`children` hold the rows below and are not columns. The ids of parents
and owners come from where a row sits, so they are not repeated here; what
the database fills (timestamps, derived columns, defaults) is left out.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from planner_app.tables import (
    ChatMessage,
    ChatSession,
    Cycle,
    Goal,
    PlanItem,
    Task,
    Vision,
    WeeklyPlan,
)
from seeds.rows import AuthUser, Batch

_NOT_A_COLUMN = {"column": False}


def children() -> Any:
    """A field holding child rows (or other data that is not a column)."""
    return field(default_factory=list, metadata=_NOT_A_COLUMN)


@functools.cache
def _column_fields(cls: type) -> tuple[tuple[str, ...], attrgetter[Any]]:
    names = tuple(f.name for f in fields(cls) if f.metadata.get("column", True))
    return names, attrgetter(*names)


def columns(data: object) -> dict[str, Any]:
    """The column values of ``data``, by column name."""
    names, values_of = _column_fields(type(data))
    return {
        name: json.dumps(value) if type(value) is dict else value
        for name, value in zip(names, values_of(data), strict=True)
    }


@dataclass
class VisionData:
    id: uuid.UUID
    title: str
    statement: str
    status: str = "active"


@dataclass
class TaskData:
    id: uuid.UUID
    title: str
    default_quota: int


@dataclass
class GoalData:
    id: uuid.UUID
    goal_type: str
    title: str
    description: str
    tasks: list[TaskData] = children()


@dataclass
class ItemData:
    """A task planned in a week: its quota and what was done."""

    id: uuid.UUID
    task_id: uuid.UUID
    quota: int
    completed_count: int
    notes: str | None = None


@dataclass
class WeekData:
    id: uuid.UUID
    week_no: int
    reflection: str | None = None
    items: list[ItemData] = children()

    def totals(self) -> tuple[int, int]:
        """(done, planned) over the week's items."""
        return (
            sum(item.completed_count for item in self.items),
            sum(item.quota for item in self.items),
        )


@dataclass
class CycleData:
    id: uuid.UUID
    status: str
    start_date: date
    # Switched on after every plan item exists (the lock refuses new ones).
    locked: bool = field(default=False, metadata=_NOT_A_COLUMN)
    goals: list[GoalData] = children()
    weeks: list[WeekData] = children()


@dataclass
class MessageData:
    id: uuid.UUID
    role: str
    content: str
    metadata: dict[str, Any]


@dataclass
class ChatData:
    id: uuid.UUID
    cycle_id: uuid.UUID | None
    title: str
    context: dict[str, Any]
    messages: list[MessageData] = children()


@dataclass
class UserData:
    """A user of ``auth.users`` and everything they own."""

    id: uuid.UUID
    email: str
    signed_up: datetime
    vision: VisionData
    cycles: list[CycleData] = children()
    chats: list[ChatData] = children()


def add_user(batch: Batch, user: UserData) -> None:
    """Add every row of ``user`` to ``batch``, and the cycles to lock."""
    owner = user.id
    signed_up = user.signed_up
    batch.add(
        AuthUser, id=owner, email=user.email, created_at=signed_up, updated_at=signed_up
    )
    batch.add(Vision, user_id=owner, **columns(user.vision))
    for cycle in user.cycles:
        batch.add(
            Cycle,
            user_id=owner,
            vision_id=user.vision.id,
            lock_enforced=False,
            **columns(cycle),
        )
        for goal in cycle.goals:
            batch.add(Goal, user_id=owner, cycle_id=cycle.id, **columns(goal))
            for task in goal.tasks:
                batch.add(Task, user_id=owner, goal_id=goal.id, **columns(task))
        for week in cycle.weeks:
            batch.add(WeeklyPlan, user_id=owner, cycle_id=cycle.id, **columns(week))
            for item in week.items:
                batch.add(
                    PlanItem, user_id=owner, weekly_plan_id=week.id, **columns(item)
                )
        if cycle.locked:
            batch.locks.append(cycle.id)
    for chat in user.chats:
        batch.add(ChatSession, user_id=owner, **columns(chat))
        for message in chat.messages:
            batch.add(
                ChatMessage, user_id=owner, session_id=chat.id, **columns(message)
            )
    batch.users += 1
