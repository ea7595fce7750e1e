"""
The seed data generator: pure Python, no database.

Every user is generated from its own random stream, keyed by the seed and
the user's index, so the same seed gives the same rows (ids included) and
adding users never changes the users generated before them. Dates are
relative to ``today`` (the Monday of its week anchors the active cycle).

Rows are tuples in the column order of :data:`COLUMNS`, ready for a bulk
``COPY``; the derived columns (``cycle.end_date``, ``task.cycle_id``,
``weekly_plan.week_start_date``, ``plan_item.cycle_id``) are included with
the value the database's triggers compute, so the same rows can be copied
with triggers disabled (the benchmark's floor).
"""

from __future__ import annotations

import json
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from faker import Faker

from seeds import SEED_EMAIL_DOMAIN, content

# uuid5 namespace of seeded user ids (a fixed, arbitrary UUID).
USER_NAMESPACE = uuid.UUID("5eed0000-12a0-4c0e-9a1d-706c616e6e72")

WEEKS = 12
CYCLE_DAYS = 7 * WEEKS
LOCKABLE_FROM_WEEK = 7

COLUMNS: dict[str, tuple[str, ...]] = {
    "auth.users": ("id", "email", "created_at", "updated_at"),
    "vision": (
        "id",
        "user_id",
        "title",
        "statement",
        "status",
        "created_at",
        "updated_at",
    ),
    "cycle": (
        "id",
        "user_id",
        "vision_id",
        "start_date",
        "end_date",
        "status",
        "lock_enforced",
        "locked_at",
        "created_at",
        "updated_at",
    ),
    "goal": (
        "id",
        "user_id",
        "cycle_id",
        "goal_type",
        "title",
        "description",
        "created_at",
        "updated_at",
    ),
    "task": (
        "id",
        "user_id",
        "goal_id",
        "cycle_id",
        "title",
        "description",
        "default_quota",
        "created_at",
        "updated_at",
    ),
    "weekly_plan": (
        "id",
        "user_id",
        "cycle_id",
        "week_no",
        "week_start_date",
        "reflection",
        "created_at",
        "updated_at",
    ),
    "plan_item": (
        "id",
        "user_id",
        "weekly_plan_id",
        "task_id",
        "cycle_id",
        "quota",
        "completed_count",
        "notes",
        "created_at",
        "updated_at",
    ),
    "chat_session": (
        "id",
        "user_id",
        "cycle_id",
        "title",
        "context",
        "created_at",
        "updated_at",
    ),
    "chat_message": (
        "id",
        "user_id",
        "session_id",
        "role",
        "content",
        "metadata",
        "created_at",
        "updated_at",
    ),
}

TABLE_ORDER: tuple[str, ...] = tuple(COLUMNS)
"""Parents before children: the order rows are written in."""


def seeded_user_id(seed: int, index: int) -> uuid.UUID:
    """The id of the ``index``-th seeded user of ``seed``."""
    return uuid.uuid5(USER_NAMESPACE, f"{seed}/{index}")


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class Batch:
    """Rows of several users, per table, plus the cycles to lock last."""

    rows: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {table: [] for table in TABLE_ORDER}
    )
    locks: list[uuid.UUID] = field(default_factory=list)
    users: int = 0

    def row_count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


@dataclass
class _Cycle:
    id: uuid.UUID
    status: str
    start: date
    created_at: datetime
    # Weeks whose execution is recorded in full, and the week in progress.
    done_weeks: int
    current_week: int | None
    goals: list[tuple[str, str]] = field(default_factory=list)
    # (id, title, default quota)
    tasks: list[tuple[uuid.UUID, str, int]] = field(default_factory=list)
    week_totals: dict[int, tuple[int, int]] = field(default_factory=dict)


def _new_id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


_NOT_EMAIL = re.compile(r"[^a-z0-9]+")


class Generator:
    """
    Generates the rows of seeded users.

    :param seed:
        The random seed: same seed, same rows.
    :param today:
        The day the data is relative to: the active cycle contains it.
    """

    def __init__(self, seed: int, today: date) -> None:
        self.seed = seed
        self.today = today
        self.this_monday = monday_of(today)
        # Nothing is dated after the start of today, so no row is "in the
        # future" whatever the time of day the seed runs.
        self.now = _at(today, 0)
        self.fake = Faker("en_US")

    def user_id(self, index: int) -> uuid.UUID:
        return seeded_user_id(self.seed, index)

    def add_user(self, index: int, batch: Batch) -> None:
        """Append every row of the ``index``-th user to ``batch``."""
        key = f"{self.seed}/{index}"
        rng = random.Random(key)
        self.fake.seed_instance(key)
        fake = self.fake
        rows = batch.rows

        user_id = self.user_id(index)
        first, last = fake.first_name(), fake.last_name()
        local = (
            _NOT_EMAIL.sub("", first.lower()) + "." + _NOT_EMAIL.sub("", last.lower())
        )
        email = f"{local}.{user_id.hex[:6]}@{SEED_EMAIL_DOMAIN}"
        # How reliably this user executes: most weeks 60-100 %, some misses.
        consistency = rng.uniform(0.6, 0.95)

        current_week = rng.randint(2, WEEKS)
        active_start = self.this_monday - timedelta(weeks=current_week - 1)
        cycles: list[_Cycle] = []
        if rng.random() < 0.4:
            start = active_start - timedelta(weeks=WEEKS + rng.randint(0, 3))
            cycles.append(
                _Cycle(
                    _new_id(rng),
                    "completed",
                    start,
                    self._planned_at(rng, start),
                    12,
                    None,
                )
            )
        cycles.append(
            _Cycle(
                _new_id(rng),
                "active",
                active_start,
                self._planned_at(rng, active_start),
                current_week - 1,
                current_week,
            )
        )
        if rng.random() < 0.35:
            start = active_start + timedelta(weeks=WEEKS + rng.randint(0, 2))
            # Drafted in the last few days, never before the active cycle.
            drafted = max(
                self.now - timedelta(hours=rng.randint(2, 96)),
                cycles[-1].created_at + timedelta(days=1),
            )
            cycles.append(_Cycle(_new_id(rng), "draft", start, drafted, 0, None))

        signup = cycles[0].created_at - timedelta(
            days=rng.randint(3, 40), minutes=rng.randint(0, 600)
        )
        rows["auth.users"].append((user_id, email, signup, signup))

        vision_id = _new_id(rng)
        vision_at = signup + timedelta(minutes=rng.randint(5, 90))
        rows["vision"].append(
            (
                vision_id,
                user_id,
                rng.choice(content.VISION_TITLES),
                rng.choice(content.VISION_STATEMENTS).format(
                    job=fake.job().lower(), city=fake.city(), name=fake.first_name()
                ),
                "active",
                vision_at,
                vision_at,
            )
        )

        for cycle in cycles:
            self._add_cycle(rng, fake, batch, user_id, vision_id, cycle, consistency)
        self._add_chats(rng, batch, user_id, first, cycles)
        batch.users += 1

    def _planned_at(self, rng: random.Random, start: date) -> datetime:
        """A cycle is planned on an evening a few days before it starts."""
        day = start - timedelta(days=rng.randint(1, 6))
        return _at(day, rng.randint(18, 21), rng.randint(0, 59))

    def _fill(self, fake: Faker, rng: random.Random, text: str) -> str:
        return text.format(
            company=fake.company(),
            city=fake.city(),
            name=fake.first_name(),
            number=rng.choice((3, 5, 8, 10, 12, 1000, 2500, 5000)),
        )

    def _add_cycle(
        self,
        rng: random.Random,
        fake: Faker,
        batch: Batch,
        user_id: uuid.UUID,
        vision_id: uuid.UUID,
        cycle: _Cycle,
        consistency: float,
    ) -> None:
        rows = batch.rows
        created = cycle.created_at
        tick = timedelta(seconds=1)
        rows["cycle"].append(
            (
                cycle.id,
                user_id,
                vision_id,
                cycle.start,
                cycle.start + timedelta(days=CYCLE_DAYS - 1),
                cycle.status,
                False,
                None,
                created,
                created,
            )
        )
        stamp = created
        for goal_type, templates in (
            ("professional", content.PROFESSIONAL_GOALS),
            ("personal", content.PERSONAL_GOALS),
        ):
            template = rng.choice(templates)
            goal_id = _new_id(rng)
            stamp += tick
            title = self._fill(fake, rng, template.title)
            rows["goal"].append(
                (
                    goal_id,
                    user_id,
                    cycle.id,
                    goal_type,
                    title,
                    self._fill(fake, rng, template.description),
                    stamp,
                    stamp,
                )
            )
            cycle.goals.append((goal_type, title))
            count = rng.randint(2, min(4, len(template.tactics)))
            for tactic in rng.sample(template.tactics, count):
                task_id = _new_id(rng)
                default_quota = rng.randint(*tactic.quota)
                stamp += tick
                rows["task"].append(
                    (
                        task_id,
                        user_id,
                        goal_id,
                        cycle.id,
                        tactic.title,
                        "",
                        default_quota,
                        stamp,
                        stamp,
                    )
                )
                cycle.tasks.append((task_id, tactic.title, default_quota))

        for week_no in range(1, WEEKS + 1):
            week_start = cycle.start + timedelta(weeks=week_no - 1)
            week_end = week_start + timedelta(days=6)
            done = week_no <= cycle.done_weeks
            in_progress = week_no == cycle.current_week
            plan_id = _new_id(rng)
            stamp += tick
            reflection = None
            plan_updated = stamp
            if done and rng.random() < 0.6:
                reflection = rng.choice(content.REFLECTIONS)
                plan_updated = _at(week_end, rng.randint(17, 22), rng.randint(0, 59))
            rows["weekly_plan"].append(
                (
                    plan_id,
                    user_id,
                    cycle.id,
                    week_no,
                    week_start,
                    reflection,
                    stamp,
                    plan_updated,
                )
            )
            # A bad week drags every tactic down; most weeks go well.
            week_form = consistency if rng.random() > 0.12 else rng.uniform(0.0, 0.4)
            planned_total = done_total = 0
            for task_id, _title, quota in cycle.tasks:
                roll = rng.random()
                if roll < 0.03:
                    quota = 0
                elif roll < 0.13:
                    quota = max(1, quota + rng.choice((-1, 1)))
                completed = 0
                updated = stamp
                if done:
                    ratio = min(1.0, max(0.0, rng.gauss(week_form, 0.15)))
                    completed = round(quota * ratio)
                    if quota and rng.random() < 0.05:
                        completed = quota + 1
                    if completed:
                        updated = _at(week_end, rng.randint(18, 22), rng.randint(0, 59))
                elif in_progress and self.today > week_start:
                    elapsed = (self.today - week_start).days / 7
                    completed = round(quota * elapsed * rng.uniform(0.5, 1.0))
                    if completed:
                        updated = self.now - timedelta(hours=rng.randint(1, 12))
                notes = rng.choice(content.ITEM_NOTES) if rng.random() < 0.05 else None
                rows["plan_item"].append(
                    (
                        _new_id(rng),
                        user_id,
                        plan_id,
                        task_id,
                        cycle.id,
                        quota,
                        completed,
                        notes,
                        stamp,
                        max(updated, stamp),
                    )
                )
                planned_total += quota
                done_total += completed
            cycle.week_totals[week_no] = (done_total, planned_total)

        if cycle.done_weeks >= LOCKABLE_FROM_WEEK - 1 and cycle.status != "draft":
            # Locked after the midpoint review; the database stamps locked_at.
            batch.locks.append(cycle.id)

    def _add_chats(
        self,
        rng: random.Random,
        batch: Batch,
        user_id: uuid.UUID,
        first_name: str,
        cycles: list[_Cycle],
    ) -> None:
        rows = batch.rows
        worked = [c for c in cycles if c.done_weeks]
        for _ in range(rng.randint(1, 3)):
            cycle = rng.choice(worked)
            week = rng.randint(1, cycle.done_weeks)
            done, planned = cycle.week_totals[week]
            score = round(100 * done / planned) if planned else 0
            goal_type, goal = rng.choice(cycle.goals)
            task = rng.choice(cycle.tasks)[1]
            values = {
                "name": first_name,
                "goal": goal,
                "task": task,
                "week": week,
                "done": done,
                "planned": planned,
                "score": score,
            }
            week_end = cycle.start + timedelta(weeks=week, days=-1)
            started = _at(week_end, rng.randint(17, 21), rng.randint(0, 59))
            session_id = _new_id(rng)
            conversation = rng.choice(content.CONVERSATIONS)
            context = {
                "source": rng.choice(("weekly_review", "chat", "planning")),
                "week_no": week,
                "execution_score": score,
                "goal_type": goal_type,
            }
            stamp = started
            model = rng.choice(content.MODELS)
            client = rng.choice(("web", "ios", "android"))
            messages = []
            for user_text, assistant_text in conversation:
                stamp += timedelta(seconds=rng.randint(20, 240))
                messages.append(
                    ("user", user_text.format(**values), {"client": client}, stamp)
                )
                stamp += timedelta(seconds=rng.randint(2, 9))
                reply = assistant_text.format(**values)
                metadata = {
                    "model": model,
                    "tokens": len(reply.split()) * 4 // 3 + rng.randint(20, 60),
                    "latency_ms": rng.randint(400, 3500),
                }
                messages.append(("assistant", reply, metadata, stamp))
            rows["chat_session"].append(
                (
                    session_id,
                    user_id,
                    cycle.id,
                    rng.choice(content.CHAT_TITLES).format(week=week, goal=goal),
                    json.dumps(context),
                    started,
                    stamp,
                )
            )
            for role, text, metadata, at in messages:
                rows["chat_message"].append(
                    (
                        _new_id(rng),
                        user_id,
                        session_id,
                        role,
                        text,
                        json.dumps(metadata),
                        at,
                        at,
                    )
                )
