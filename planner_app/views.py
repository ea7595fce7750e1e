"""
The planner's views: what the front end reads besides the tables.

The views themselves are SQL (``planner_app_0012_scoreboard``): each says
what it is in its ``comment on view``, and for every column that copies a
table's column PostgreSQL records which one (its origin), so that column's
type and rules (enumeration, range, UUID form) carry over. What the database
cannot say is stated here, for every column in the view's order: whether it
can be null (PostgreSQL calls every view column nullable) and the range of
a computed number. The Zod Row schemas use these facts; the supabase-js
``Database`` type keeps what the database says (nullable), as Supabase's
generator does. The schema generator refuses a database whose views have
other columns, and ``tests/test_scoreboard.py`` checks these facts against
the rows the views return.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner_app.rules import WEEKS_PER_CYCLE


@dataclass(frozen=True)
class ViewColumn:
    """What a view column's values are, beyond their type."""

    nullable: bool = False
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class View:
    """A read-only view of ``public`` and its columns, in order."""

    name: str
    row_of: str
    """The table each row of the view describes: one row per row of it (the
    view copies its primary key)."""
    columns: dict[str, ViewColumn]


COUNT = ViewColumn(minimum=0)
SHARE = ViewColumn(nullable=True, minimum=0, maximum=1)
WEEK = ViewColumn(minimum=1, maximum=WEEKS_PER_CYCLE)

WeeklyScore = View(
    "weekly_score",
    "weekly_plan",
    {
        "user_id": ViewColumn(),
        "cycle_id": ViewColumn(),
        "weekly_plan_id": ViewColumn(),
        "week_no": WEEK,
        "week_start_date": ViewColumn(),
        "planned": COUNT,
        "done": COUNT,
        "score": SHARE,
        "target_met": ViewColumn(nullable=True),
        "locked": ViewColumn(),
    },
)

CycleScore = View(
    "cycle_score",
    "cycle",
    {
        "user_id": ViewColumn(),
        "cycle_id": ViewColumn(),
        "start_date": ViewColumn(),
        "end_date": ViewColumn(),
        "current_week": ViewColumn(nullable=True, minimum=1, maximum=WEEKS_PER_CYCLE),
        "weeks_elapsed": ViewColumn(minimum=0, maximum=WEEKS_PER_CYCLE),
        "average_score": SHARE,
        "weeks_target_met": ViewColumn(minimum=0, maximum=WEEKS_PER_CYCLE),
        "lock_enforced": ViewColumn(),
    },
)

VIEWS: tuple[View, ...] = (WeeklyScore, CycleScore)
"""In the order the generated schemas list them (a view may read an earlier
one: ``cycle_score`` reads ``weekly_score``)."""
