"""
``piccolo planner_app export_schema`` (docs/product.md, "Shared schema"): the
artifacts are generated from the tables, the rules and the database, checked
for drift, and proven in real TypeScript (Zod and the JSON Schema) against
rows a real database returns. The node packages come from
``npm ci --prefix schema``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from planner_app.schema_export import ARTIFACTS
from planner_app.schema_export import export_schema as write_artifacts
from planner_app.tables import TABLES
from planner_app.views import VIEWS
from tests.support import PROJECT_ROOT, run_cli


def export_schema(
    *args: str, database_url: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "planner_app", "export_schema", *args, database_url=database_url, env=env
    )


def test_committed_artifacts_match_the_tables_and_the_database(migrated: str) -> None:
    result = export_schema("--check", database_url=migrated)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "up to date" in result.stdout


def test_check_names_the_stale_artifact_and_writes_nothing(
    migrated: str, tmp_path: Path
) -> None:
    written = export_schema(f"--out={tmp_path}", database_url=migrated)
    assert written.returncode == 0, written.stderr
    for relative in ARTIFACTS:
        generated = (tmp_path / relative).read_text(encoding="utf-8")
        assert generated == (PROJECT_ROOT / relative).read_text(encoding="utf-8")

    zod = tmp_path / "schema/planner.zod.ts"
    tampered = zod.read_text(encoding="utf-8").replace(".max(12)", ".max(13)")
    zod.write_text(tampered, encoding="utf-8")
    (tmp_path / "docs/erd.md").unlink()

    stale = export_schema("--check", f"--out={tmp_path}", database_url=migrated)
    assert stale.returncode != 0
    assert "schema/planner.zod.ts" in stale.stderr
    assert "docs/erd.md" in stale.stderr
    assert "planner.schema.json" not in stale.stderr
    assert "Traceback" not in stale.stderr
    assert zod.read_text(encoding="utf-8") == tampered
    assert not (tmp_path / "docs/erd.md").exists()


async def test_a_table_change_without_regenerating_fails_the_check(
    fresh_database: Any,
) -> None:
    url = await fresh_database(migrated=True)
    assert export_schema("--check", database_url=url).returncode == 0

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "alter table weekly_plan drop constraint weekly_plan_week_no_1_to_12;"
            "alter table weekly_plan add constraint weekly_plan_week_no_1_to_13"
            " check (week_no between 1 and 13)"
        )
        ranged = export_schema("--check", database_url=url)
        assert ranged.returncode != 0
        assert "schema/planner.zod.ts" in ranged.stderr
        assert "planner.schema.json" in ranged.stderr

        await conn.execute("alter table goal add column colour text")
        added = export_schema("--check", database_url=url)
        assert added.returncode != 0
        assert "table goal differs from planner_app/tables.py in colour" in (
            added.stderr
        )
        assert len(added.stderr.strip().splitlines()) <= 2  # + the engine line
    finally:
        await conn.close()


def test_without_node_the_command_says_so_and_writes_nothing(
    migrated: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = export_schema(
        f"--out={out}", database_url=migrated, env={"PATH": str(tmp_path)}
    )
    assert result.returncode != 0
    assert "error: node is not installed" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


async def test_an_unmigrated_database_is_refused_in_one_line(
    fresh_database: Any, tmp_path: Path
) -> None:
    url = await fresh_database()
    result = export_schema(f"--out={tmp_path}", database_url=url)
    assert result.returncode != 0
    assert "piccolo migrations forwards all" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


async def test_insert_requires_only_what_the_database_cannot_fill(
    migrated: str, tmp_path: Path
) -> None:
    # What the generator writes, not how the command is called: no CLI here.
    assert await write_artifacts(migrated, tmp_path, check=False)
    schema = json.loads((tmp_path / "schema/planner.schema.json").read_text())
    defs = schema["$defs"]
    # Defaults of '' do not make a not-blank title optional; trigger-filled
    # columns are optional; nullable and defaulted columns are optional.
    assert defs["GoalInsert"]["required"] == [
        "user_id",
        "cycle_id",
        "goal_type",
        "title",
    ]
    assert defs["CycleInsert"]["required"] == ["user_id"]
    assert defs["PlanItemInsert"]["required"] == [
        "user_id",
        "weekly_plan_id",
        "task_id",
    ]
    assert defs["WeeklyPlanRow"]["properties"]["week_no"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 12,
    }
    assert defs["GoalType"] == {"type": "string", "enum": ["professional", "personal"]}
    # audit_log is written only by its trigger: the front end only reads it.
    assert "AuditLogRow" in defs
    assert "AuditLogInsert" not in defs and "AuditLogUpdate" not in defs


# -- The TypeScript proof ---------------------------------------------------


@pytest.fixture(scope="session")
def validator(compiled: Path) -> Path:
    return compiled / "validate.js"


async def export_rows(conn: asyncpg.Connection) -> dict[str, list[dict[str, Any]]]:
    """Every row of every planner table and view, as PostgreSQL's own JSON."""
    rows = {}
    for table in TABLES:
        name = table._meta.tablename
        text = await conn.fetchval(
            f"select coalesce(json_agg(t order by t.id), '[]') from {name} t"
        )
        rows[name] = json.loads(text)
    for view in VIEWS:
        text = await conn.fetchval(
            f"select coalesce(json_agg(v), '[]') from {view.name} v"
        )
        rows[view.name] = json.loads(text)
    return rows


async def seeded_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of the database seeded by the real CLI."""
    conn = await asyncpg.connect(url)
    try:
        rows = await export_rows(conn)
    finally:
        await conn.close()
    assert all(rows.values()), "every table needs rows to check"
    return rows


def run_validator(validator: Path, rows: dict[str, Any], tmp_path: Path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return subprocess.run(
        ["node", str(validator), str(path)], capture_output=True, text=True, timeout=120
    )


async def test_rows_from_a_seeded_database_parse_and_bad_objects_are_rejected(
    seeded_database: str, validator: Path, tmp_path: Path
) -> None:
    rows = await seeded_rows(seeded_database)
    result = run_validator(validator, rows, tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "bad objects rejected" in result.stdout


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("goal", "goal_type", "family"),
        ("weekly_plan", "week_no", 13),
        ("plan_item", "quota", -1),
        ("chat_message", "metadata", ["not", "an", "object"]),
        ("cycle", "id", "not-a-uuid"),
        ("vision", "title", "  "),
    ],
)
async def test_a_row_the_database_would_reject_fails_the_validation(
    seeded_database: str,
    validator: Path,
    tmp_path: Path,
    table: str,
    column: str,
    value: Any,
) -> None:
    rows = await seeded_rows(seeded_database)
    rows[table][0][column] = value
    result = run_validator(validator, rows, tmp_path)
    assert result.returncode == 1, result.stdout
    assert f"{table}[0] rejected by Zod: {column}" in result.stderr
    assert f"{table}[0] rejected by JSON Schema: data/{column}" in result.stderr
