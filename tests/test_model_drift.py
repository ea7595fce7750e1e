"""
Every change to ``planner_app/tables.py`` is captured by a migration: the
auto-diff Piccolo's ``migrations new --auto`` would write is empty (like
Django's ``makemigrations --check``). No migration file is written.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from piccolo.columns import Text
from piccolo.table import Table

from planner_app.migrate import model_drift
from planner_app.piccolo_app import APP_CONFIG
from planner_app.tables import Goal
from tests.support import run_cli


def app_with_tables(tables: list[type[Table]]):
    return dataclasses.replace(APP_CONFIG, table_classes=tables)


def replaced(old: type[Table], new: type[Table]) -> list[type[Table]]:
    return [new if table is old else table for table in APP_CONFIG.table_classes]


async def test_tables_py_has_no_change_that_no_migration_captures():
    assert await model_drift() == []


async def test_a_column_added_to_a_model_without_a_migration_is_drift():
    goal_with_extra_column = type(
        "Goal", (Goal,), {"motivation": Text(default="")}, tablename="goal"
    )

    drift = await model_drift(app_with_tables(replaced(Goal, goal_with_extra_column)))

    assert len(drift) == 1
    assert "add_column" in drift[0] and "'motivation'" in drift[0]


async def test_a_column_changed_in_a_model_without_a_migration_is_drift():
    goal_with_nullable_title = type(
        "Goal", (Goal,), {"title": Text(null=True)}, tablename="goal"
    )

    drift = await model_drift(app_with_tables(replaced(Goal, goal_with_nullable_title)))

    assert any("alter_column" in s and "'title'" in s for s in drift), drift


async def test_a_model_removed_without_a_migration_is_drift():
    tables = [table for table in APP_CONFIG.table_classes if table is not Goal]

    drift = await model_drift(app_with_tables(tables))

    assert drift == [
        "manager.drop_table(class_name='Goal', tablename='goal', schema=None)"
    ]


def test_check_models_command_passes_and_writes_no_migration(database_url):
    folder = APP_CONFIG.resolved_migrations_folder_path
    before = sorted(p.name for p in Path(folder).iterdir())

    result = run_cli("planner_app", "migrate", "--check_models")

    assert result.returncode == 0, result.stdout + result.stderr
    after = sorted(p.name for p in Path(folder).iterdir())
    assert after == before
