"""
supabase-js's ``Database`` type (:mod:`planner_app.schema_export.database_types`):
its shape, and the type tests of ``schema/database.typetest.ts`` compiled
against the pinned ``@supabase/supabase-js``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from planner_app.schema_export.catalog import ForeignKey
from planner_app.schema_export.database_types import render_database_types
from planner_app.schema_export.model import Column, TableSchema
from planner_app.tables import GoalType
from tests.schema_export.conftest import SCHEMA_DIR, typescript
from tests.support import PROJECT_ROOT


def goal_table() -> TableSchema:
    columns = [
        Column("id", "uuid", nullable=False, default="gen_random_uuid()"),
        Column("user_id", "uuid", nullable=False),
        Column("cycle_id", "uuid", nullable=False),
        Column("goal_type", "varchar", nullable=False, enum=GoalType),
        Column("title", "text", nullable=False, default="''::text", not_blank=True),
        Column("week_start", "date", nullable=False, derived=True),
        Column("notes", "text", nullable=True),
        Column("context", "jsonb", nullable=False, default="'{}'::jsonb"),
    ]
    keys = [
        ForeignKey("goal_user_id_fkey", ("user_id",), "auth", "users", ("id",)),
        ForeignKey(
            "goal_cycle_same_owner_fkey",
            ("cycle_id", "user_id"),
            "public",
            "cycle",
            ("id", "user_id"),
        ),
        ForeignKey("goal_cycle_id_fkey", ("cycle_id",), "public", "cycle", ("id",)),
    ]
    return TableSchema("goal", "Goal", "A goal.", columns, keys, [])


def section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def test_the_database_type_has_supabases_shape() -> None:
    text = render_database_types([goal_table()])
    row = section(text, "Row: {", "}")
    insert = section(text, "Insert: {", "}")
    update = section(text, "Update: {", "}")
    # Columns by name, like `supabase gen types`.
    fields = [
        line.split(":")[0].strip() for line in row.splitlines()[1:] if line.strip()
    ]
    assert fields == sorted(c.name for c in goal_table().columns)
    assert 'goal_type: Database["public"]["Enums"]["goal_type"]' in row
    assert "notes: string | null" in row
    assert "context: JsonObject" in row
    # Required on insert: no value from the database ('' fails not-blank).
    assert "title: string\n" in insert and "user_id: string\n" in insert
    # Optional: a default, a trigger, nullable.
    for optional in ("id?: string", "week_start?: string", "notes?: string | null"):
        assert optional in insert
    assert all("?:" in line for line in update.splitlines()[1:] if line.strip())
    assert 'goal_type: "professional" | "personal"' in text
    assert 'goal_type: ["professional", "personal"]' in text
    for part in ("Views: {", "Functions: {", "CompositeTypes: {"):
        assert part + "\n      [_ in never]: never" in text


def test_relationships_are_the_public_foreign_keys_by_name() -> None:
    text = render_database_types([goal_table()])
    relationships = section(text, "Relationships: [", "        ]\n")
    names = [
        json.loads(line.split(":", 1)[1])
        for line in relationships.splitlines()
        if "foreignKeyName" in line
    ]
    assert names == ["goal_cycle_id_fkey", "goal_cycle_same_owner_fkey"]
    assert 'columns: ["cycle_id", "user_id"]' in relationships
    assert 'referencedColumns: ["id", "user_id"]' in relationships
    assert "isOneToOne: false" in relationships
    assert "users" not in relationships


def test_a_read_only_table_takes_no_insert_or_update() -> None:
    table = goal_table()
    table.name = "audit_log"
    text = render_database_types([table])
    assert "Insert: never" in text and "Update: never" in text


def test_the_supabase_client_type_tests_compile(compiled: Path) -> None:
    # `compiled` type-checked schema/database.typetest.ts: every call that
    # must compile does, and every `@ts-expect-error` line fails to.
    assert (compiled / "database.typetest.js").exists()


def test_the_type_tests_fail_when_the_types_are_too_loose() -> None:
    """A `Database` that lets any goal type through fails the type tests."""
    loose = (PROJECT_ROOT / "schema/database.types.ts").read_text(encoding="utf-8")
    loose = loose.replace(
        'goal_type: "professional" | "personal"', "goal_type: string"
    ).replace(
        "title: string\n          updated_at?", "title?: string\n          updated_at?"
    )
    with tempfile.TemporaryDirectory(dir=SCHEMA_DIR, prefix=".typetest-") as folder:
        project = Path(folder)
        shutil.copy(SCHEMA_DIR / "database.typetest.ts", project)
        (project / "database.types.ts").write_text(loose, encoding="utf-8")
        config = json.loads((SCHEMA_DIR / "tsconfig.json").read_text())
        config["compilerOptions"].update(noEmit=True, rootDir=".")
        config["include"] = ["database.typetest.ts"]
        (project / "tsconfig.json").write_text(json.dumps(config), encoding="utf-8")
        result = typescript(project)
    assert result.returncode != 0
    unused = [line for line in result.stdout.splitlines() if "TS2578" in line]
    assert len(unused) == 2, result.stdout
