"""
The seed data generator: pure Python, no database.

Every user is generated from its own random stream, keyed by the seed and
the user's index, so the same seed gives the same rows (ids included) and
adding users never changes the users generated before them. Dates are
relative to ``today`` (the Monday of its week anchors the active cycle).

Users are described as plain data (:mod:`seeds.users`), whose
:func:`~seeds.users.add_user` builds their rows by column name and leaves out
what the database fills: ``created_at``/``updated_at`` and the derived
columns (``cycle.end_date``, ``task.cycle_id``, ``weekly_plan.week_start_date``,
``plan_item.cycle_id``, ``cycle.locked_at``). Users are generated a batch at a
time (:meth:`Generator.batch`, :func:`user_chunks`): nothing here holds more
than one batch.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from faker import Faker

from planner_app.rules import LOCKED_WEEKS, WEEKS_PER_CYCLE
from seeds import SEED_EMAIL_DOMAIN, content, users
from seeds.rows import Batch, time_ordered_id

# uuid5 namespace of seeded user ids (a fixed, arbitrary UUID).
USER_NAMESPACE = uuid.UUID("5eed0000-12a0-4c0e-9a1d-706c616e6e72")

LAST_OPEN_WEEK = LOCKED_WEEKS.start - 1
"""A cycle past this week has had its midpoint review: the seed locks it."""


def seeded_user_id(seed: int, index: int) -> uuid.UUID:
    """The id of the ``index``-th seeded user of ``seed``."""
    return uuid.uuid5(USER_NAMESPACE, f"{seed}/{index}")


def user_chunks(users: int, size: int) -> Iterator[range]:
    """The user indexes ``0 .. users-1``, ``size`` at a time, made lazily."""
    size = max(1, size)
    for start in range(0, users, size):
        yield range(start, min(users, start + size))


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class _Cycle:
    data: users.CycleData
    # Weeks whose execution is recorded in full, and the week in progress.
    done_weeks: int
    current_week: int | None


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
        self.fake = Faker("en_US")

    def user_id(self, index: int) -> uuid.UUID:
        return seeded_user_id(self.seed, index)

    def batch(self, indexes: Iterable[int]) -> Batch:
        """The rows of the users with these indexes."""
        batch = Batch()
        for index in indexes:
            users.add_user(batch, self.user(index))
        return batch

    def user(self, index: int) -> users.UserData:
        """The ``index``-th user, with everything they own."""
        key = f"{self.seed}/{index}"
        rng = random.Random(key)
        self.fake.seed_instance(key)
        fake = self.fake

        user_id = self.user_id(index)
        first, last = fake.first_name(), fake.last_name()
        local = (
            _NOT_EMAIL.sub("", first.lower()) + "." + _NOT_EMAIL.sub("", last.lower())
        )
        # How reliably this user executes: most weeks 60-100 %, some misses.
        consistency = rng.uniform(0.6, 0.95)

        current_week = rng.randint(2, WEEKS_PER_CYCLE)
        active_start = self.this_monday - timedelta(weeks=current_week - 1)
        cycles: list[_Cycle] = []
        if rng.random() < 0.4:
            start = active_start - timedelta(weeks=WEEKS_PER_CYCLE + rng.randint(0, 3))
            cycles.append(
                _Cycle(
                    users.CycleData(_new_id(rng), "completed", start),
                    WEEKS_PER_CYCLE,
                    None,
                )
            )
        cycles.append(
            _Cycle(
                users.CycleData(_new_id(rng), "active", active_start),
                current_week - 1,
                current_week,
            )
        )
        if rng.random() < 0.35:
            start = active_start + timedelta(weeks=WEEKS_PER_CYCLE + rng.randint(0, 2))
            cycles.append(
                _Cycle(users.CycleData(_new_id(rng), "draft", start), 0, None)
            )

        user = users.UserData(
            id=user_id,
            email=f"{local}.{user_id.hex[:6]}@{SEED_EMAIL_DOMAIN}",
            # Signed up on an evening a few weeks before the first cycle.
            signed_up=_at(
                cycles[0].data.start_date - timedelta(days=rng.randint(4, 46)),
                rng.randint(18, 21),
                rng.randint(0, 59),
            ),
            vision=users.VisionData(
                _new_id(rng),
                rng.choice(content.VISION_TITLES),
                rng.choice(content.VISION_STATEMENTS).format(
                    job=fake.job().lower(), city=fake.city(), name=fake.first_name()
                ),
            ),
        )
        for cycle in cycles:
            self._plan_cycle(rng, fake, cycle, consistency)
            user.cycles.append(cycle.data)
        user.chats = self._chats(rng, first, cycles)
        return user

    def _fill(self, fake: Faker, rng: random.Random, text: str) -> str:
        return text.format(
            company=fake.company(),
            city=fake.city(),
            name=fake.first_name(),
            number=rng.choice((3, 5, 8, 10, 12, 1000, 2500, 5000)),
        )

    def _plan_cycle(
        self, rng: random.Random, fake: Faker, cycle: _Cycle, consistency: float
    ) -> None:
        data = cycle.data
        tasks: list[users.TaskData] = []
        for goal_type, templates in (
            ("professional", content.PROFESSIONAL_GOALS),
            ("personal", content.PERSONAL_GOALS),
        ):
            template = rng.choice(templates)
            goal = users.GoalData(
                id=_new_id(rng),
                goal_type=goal_type,
                title=self._fill(fake, rng, template.title),
                description=self._fill(fake, rng, template.description),
            )
            data.goals.append(goal)
            count = rng.randint(2, min(4, len(template.tactics)))
            for tactic in rng.sample(template.tactics, count):
                goal.tasks.append(
                    users.TaskData(
                        _new_id(rng), tactic.title, rng.randint(*tactic.quota)
                    )
                )
            tasks += goal.tasks

        for week_no in range(1, WEEKS_PER_CYCLE + 1):
            week_start = data.start_date + timedelta(weeks=week_no - 1)
            done = week_no <= cycle.done_weeks
            in_progress = week_no == cycle.current_week
            week = users.WeekData(_new_id(rng), week_no)
            if done and rng.random() < 0.6:
                week.reflection = rng.choice(content.REFLECTIONS)
            data.weeks.append(week)
            # A bad week drags every tactic down; most weeks go well.
            week_form = consistency if rng.random() > 0.12 else rng.uniform(0.0, 0.4)
            for task in tasks:
                quota = task.default_quota
                roll = rng.random()
                if roll < 0.03:
                    quota = 0
                elif roll < 0.13:
                    quota = max(1, quota + rng.choice((-1, 1)))
                completed = 0
                if done:
                    ratio = min(1.0, max(0.0, rng.gauss(week_form, 0.15)))
                    completed = round(quota * ratio)
                    if quota and rng.random() < 0.05:
                        completed = quota + 1
                elif in_progress and self.today > week_start:
                    elapsed = (self.today - week_start).days / 7
                    completed = round(quota * elapsed * rng.uniform(0.5, 1.0))
                notes = rng.choice(content.ITEM_NOTES) if rng.random() < 0.05 else None
                week.items.append(
                    users.ItemData(_new_id(rng), task.id, quota, completed, notes)
                )

        # Locked after the midpoint review; the database stamps locked_at.
        data.locked = cycle.done_weeks >= LAST_OPEN_WEEK and data.status != "draft"

    def _chats(
        self, rng: random.Random, first_name: str, cycles: list[_Cycle]
    ) -> list[users.ChatData]:
        chats = []
        worked = [c for c in cycles if c.done_weeks]
        for _ in range(rng.randint(1, 3)):
            cycle = rng.choice(worked)
            week = rng.randint(1, cycle.done_weeks)
            done, planned = cycle.data.weeks[week - 1].totals()
            score = round(100 * done / planned) if planned else 0
            goal = rng.choice(cycle.data.goals)
            task = rng.choice([t for g in cycle.data.goals for t in g.tasks])
            values = {
                "name": first_name,
                "goal": goal.title,
                "task": task.title,
                "week": week,
                "done": done,
                "planned": planned,
                "score": score,
            }
            week_end = cycle.data.start_date + timedelta(weeks=week, days=-1)
            sent = _at(week_end, rng.randint(17, 21), rng.randint(0, 59))
            chat = users.ChatData(
                id=_new_id(rng),
                cycle_id=cycle.data.id,
                title=rng.choice(content.CHAT_TITLES).format(
                    week=week, goal=goal.title
                ),
                context={
                    "source": rng.choice(("weekly_review", "chat", "planning")),
                    "week_no": week,
                    "execution_score": score,
                    "goal_type": goal.goal_type,
                },
            )
            chats.append(chat)
            model = rng.choice(content.MODELS)
            client = rng.choice(("web", "ios", "android"))
            for user_text, assistant_text in rng.choice(content.CONVERSATIONS):
                # Ids carry the time each message was sent: the conversation
                # sorts by (created_at, id) even where created_at ties.
                sent += timedelta(seconds=rng.randint(20, 240))
                chat.messages.append(
                    users.MessageData(
                        time_ordered_id(sent, rng.getrandbits(74)),
                        "user",
                        user_text.format(**values),
                        {"client": client},
                    )
                )
                sent += timedelta(seconds=rng.randint(2, 9))
                reply = assistant_text.format(**values)
                chat.messages.append(
                    users.MessageData(
                        time_ordered_id(sent, rng.getrandbits(74)),
                        "assistant",
                        reply,
                        {
                            "model": model,
                            "tokens": len(reply.split()) * 4 // 3 + rng.randint(20, 60),
                            "latency_ms": rng.randint(400, 3500),
                        },
                    )
                )
        return chats
