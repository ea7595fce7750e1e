"""
How ``supabase/`` is generated (:mod:`planner_app.schema_export.supabase_migrations`,
:mod:`planner_app.schema_export.supabase_seed`): file names and their order,
what each migration's file holds, and that the folder holds nothing else.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from planner_app.migration_sql import MigrationManager, sql_step
from planner_app.schema_export import SchemaExportError
from planner_app.schema_export import export_schema as write_artifacts
from planner_app.schema_export.supabase_migrations import (
    SupabaseMigration,
    _check_versions_keep_the_order,
    concern,
    file_name,
    render_migration,
    supabase_version,
    terminated,
)
from planner_app.schema_export.supabase_seed import render_config, sql_literal
from tests.support import PROJECT_ROOT


def test_a_file_is_named_by_the_migrations_second_and_its_concern() -> None:
    assert (
        file_name(
            "planner_app", "planner_app_0001_auth_compat", "2026-11-26T00:00:01:000000"
        )
        == "20261126000001_auth_compat.sql"
    )
    assert concern("planner_app", "planner_app_2026_12_01t10_00_00_123456") == (
        "migration"
    )
    assert concern("other", "other_0002_tables") == "other_tables"
    with pytest.raises(SchemaExportError, match="not a Piccolo timestamp"):
        supabase_version("0001")


def migration(
    module: str, migration_id: str, manager: object = None
) -> SupabaseMigration:
    return SupabaseMigration("planner_app", migration_id, module, "", manager)


def test_two_migrations_in_one_second_are_refused_not_reordered() -> None:
    first = migration("planner_app_0008_a", "2026-12-05T00:00:08:000000")
    same_second = migration("planner_app_0009_b", "2026-12-05T00:00:08:500000")
    with pytest.raises(SchemaExportError, match="at least one second later"):
        _check_versions_keep_the_order([first, same_second])


def test_every_statement_ends_before_the_next_one_starts() -> None:
    assert terminated("select 1;\n-- done\n") == "select 1;\n-- done"
    assert terminated("do $x$ begin end $x$") == "do $x$ begin end $x$;"
    assert terminated("select 1\n-- done") == "select 1\n-- done\n;"


async def test_a_file_holds_the_raw_steps_then_the_operations_then_the_sql_after() -> (
    None
):
    manager = MigrationManager(
        migration_id="2026-12-05T00:00:08:000000", app_name="planner_app"
    )
    manager.add_raw(sql_step("select 'raw first';"))
    manager.add_raw_after(sql_step("select 'after last';"))
    manager.add_table(class_name="Note", tablename="note")
    text = await render_migration(
        migration("planner_app_0008_notes", manager.migration_id, manager)
    )
    order = [
        'CREATE TABLE IF NOT EXISTS "migration"',
        "already applied",
        "select 'raw first';",
        'CREATE TABLE "note"',
        "select 'after last';",
        'INSERT INTO "migration" ("name", "app_name") VALUES '
        "('2026-12-05T00:00:08:000000', 'planner_app');",
    ]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)


async def test_a_python_step_cannot_be_written_as_sql() -> None:
    manager = MigrationManager(
        migration_id="2026-12-05T00:00:08:000000", app_name="planner_app"
    )

    async def python_step() -> None:
        return None

    manager.add_raw(python_step)
    with pytest.raises(SchemaExportError, match="raw Python step"):
        await render_migration(
            migration("planner_app_0008_python", manager.migration_id, manager)
        )


def test_seed_values_are_sql_literals() -> None:
    assert sql_literal("it's") == "'it''s'"
    assert sql_literal(None) == "null"
    assert sql_literal(True) == "true"
    assert sql_literal({"a": 1}) == """'{"a": 1}'"""


def test_config_points_the_cli_at_the_generated_seed() -> None:
    config = tomllib.loads(render_config())
    assert config["db"]["major_version"] == 15
    assert config["db"]["seed"]["sql_paths"] == ["./seed.sql"]
    assert (PROJECT_ROOT / "supabase" / "seed.sql").exists()


async def test_a_file_no_migration_generates_is_stale_and_removed(
    migrated: str, tmp_path: Path
) -> None:
    assert await write_artifacts(migrated, tmp_path, check=False)
    stray = tmp_path / "supabase/migrations/20990101000000_by_hand.sql"
    stray.write_text("select 1;\n", encoding="utf-8")

    assert await write_artifacts(migrated, tmp_path, check=True) == [
        "supabase/migrations/20990101000000_by_hand.sql"
    ]
    assert stray.exists()
    assert await write_artifacts(migrated, tmp_path, check=False) == [
        "supabase/migrations/20990101000000_by_hand.sql"
    ]
    assert not stray.exists()
