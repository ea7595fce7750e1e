"""
The seed builds its rows from the Piccolo tables, by column name, one batch
of users at a time. No database: these run in well under a second, so a
column added to ``planner_app/tables.py`` that the seed cannot fill is named
here, not at seed time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import date

import pytest
from piccolo.columns import UUID, Integer

from planner_app.tables import DOMAIN_TABLES, Cycle, Goal, Task, Vision
from seeds import SeedError
from seeds.fixtures import build_fixture
from seeds.generate import Generator, user_chunks
from seeds.rows import (
    DERIVED_COLUMNS,
    SEEDED_TABLES,
    Batch,
    column_names,
    maintained_columns,
    required_columns,
    table_name,
)
from seeds.writer import users_to_write
from tests.support import PROJECT_ROOT

TODAY = date(2026, 11, 25)


def seeded_batches() -> list[Batch]:
    """What the generator and the fixtures build (a few users each)."""
    _, fixture = build_fixture("small", namespace="rows-test")
    return [Generator(1, TODAY).batch(range(8)), fixture]


def test_required_columns_are_read_from_the_tables():
    assert required_columns(Goal) == ("user_id", "cycle_id", "goal_type")
    # A default (status, lock_enforced) or a nullable column (vision_id) is
    # the database's to fill; so are the columns it maintains.
    assert required_columns(Cycle) == ("user_id",)


def test_the_generator_and_the_fixtures_fill_every_required_column():
    for batch in seeded_batches():
        for table in SEEDED_TABLES:
            assert batch.count(table) > 0, f"no {table_name(table)} rows"
            for columns in batch.rows[table]:
                missing = set(required_columns(table)) - set(columns)
                assert not missing, f"{table_name(table)}: {sorted(missing)}"


def test_seeded_rows_leave_every_maintained_column_to_the_database():
    for batch in seeded_batches():
        for table in DOMAIN_TABLES:
            for columns in batch.rows[table]:
                written = maintained_columns(table).intersection(columns)
                assert not written, f"{table_name(table)} writes {sorted(written)}"


def test_maintained_columns_are_columns_of_their_tables():
    by_name = {table._meta.tablename: table for table in DOMAIN_TABLES}
    for name, columns in DERIVED_COLUMNS.items():
        assert columns <= set(column_names(by_name[name])), name
    for table in DOMAIN_TABLES:
        assert {"created_at", "updated_at"} <= set(column_names(table))


class TaskWithPriority(Task, tablename="task"):
    """``task`` as it would be with a new required column."""

    priority = Integer(null=False, default=None)


def test_a_new_required_column_fails_generation_naming_it(monkeypatch):
    monkeypatch.setattr("seeds.users.Task", TaskWithPriority)

    with pytest.raises(SeedError, match=r"required column task\.priority"):
        Generator(1, TODAY).batch([0])


class TaskWithLabel(Task, tablename="task"):
    """``task`` with a new column the database can fill."""

    label = UUID(null=True, default=None)
    rank = Integer(null=False, default=3)


def test_a_new_column_with_a_default_or_nullable_needs_no_seed_change(monkeypatch):
    monkeypatch.setattr("seeds.users.Task", TaskWithLabel)

    batch = Generator(1, TODAY).batch([0])

    assert batch.count(TaskWithLabel) > 0


@pytest.mark.parametrize(
    ("table", "values", "named"),
    [
        (Vision, {"created_at": None}, r"vision\.created_at is set by the database"),
        (Cycle, {"end_date": None}, r"cycle\.end_date is set by the database"),
        (Cycle, {"locked_at": None}, r"cycle\.locked_at is set by the database"),
        (Task, {"cycle_id": None}, r"task\.cycle_id is set by the database"),
        (Goal, {"goal_typo": "x"}, r"goal has no column goal_typo"),
    ],
)
def test_a_row_naming_a_maintained_or_unknown_column_is_refused(table, values, named):
    row = {name: uuid.uuid4() for name in required_columns(table)}

    with pytest.raises(SeedError, match=named):
        Batch().add(table, **row, **values)


def test_user_indexes_are_chunked_lazily():
    chunks = user_chunks(10**15, 200)

    assert next(chunks) == range(0, 200)
    assert next(chunks) == range(200, 400)


class CountingConnection:
    """Answers the existence check: nobody is in the database yet."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    async def fetch(self, query: str, *args: object) -> list[object]:
        assert "auth.users" in query
        (ids,) = args
        self.asked.append(len(ids))  # type: ignore[arg-type]
        return []


async def test_the_seed_holds_one_batch_of_user_ids_at_a_time(monkeypatch):
    made = []
    real_user_id = Generator.user_id

    def counting_user_id(self: Generator, index: int) -> uuid.UUID:
        made.append(index)
        return real_user_id(self, index)

    monkeypatch.setattr(Generator, "user_id", counting_user_id)
    conn = CountingConnection()
    plans = users_to_write(conn, Generator(1, TODAY), 10**6, 50)

    first = await anext(plans)
    second = await anext(plans)
    await plans.aclose()

    assert first == (0, list(range(50))) and second == (0, list(range(50, 100)))
    assert conn.asked == [50, 50]
    assert len(made) == 100, "only the ids of the batches taken so far"


def test_importing_the_cli_loads_neither_faker_nor_the_generator():
    code = (
        "import sys, piccolo_conf, planner_app.piccolo_app\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] == 'faker'"
        " or m in ('seeds.generate', 'seeds.writer', 'seeds.rows'))\n"
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"
