"""
``schema/database.types.ts`` against Supabase's own generator
(``@supabase/postgres-meta``, pinned in ``schema/package.json``, run offline
as ``supabase gen types typescript`` runs it) on the migrated test database:
``tsc`` proves the two agree on every table, view, column, type,
optionality and relationship, except for the narrowings docs/frontend.md
lists, each of which the database backs (:mod:`tests.schema_export.postgres_meta`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from planner_app.schema_export.catalog import read_catalog
from planner_app.schema_export.model import build_tables
from planner_app.tables import TABLES
from tests.schema_export.conftest import typescript
from tests.schema_export.postgres_meta import (
    comparison_source,
    database_facts,
    generate_types,
    write_comparison,
)
from tests.support import PROJECT_ROOT

OURS = PROJECT_ROOT / "schema" / "database.types.ts"


async def enum_columns(url: str) -> dict[str, tuple[str, str]]:
    """Each name of our ``Enums`` and the first column that uses it."""
    names = [table._meta.tablename for table in TABLES]
    found: dict[str, tuple[str, str]] = {}
    for table in build_tables(await read_catalog(url, names)):
        for column in table.columns:
            if column.database_type_enum:
                found.setdefault(column.database_type_enum, (table.name, column.name))
    return found


@pytest.fixture(scope="module")
async def generator_and_proof(migrated: str) -> tuple[str, str]:
    """The generator's output for the migrated database, and the proof."""
    source = comparison_source(
        await database_facts(migrated), await enum_columns(migrated)
    )
    return generate_types(migrated), source


def compiles(folder: Path, ours: str, generator_and_proof: tuple[str, str]):
    generated, source = generator_and_proof
    write_comparison(folder, ours, generated, source)
    return typescript(folder)


def test_our_database_type_is_the_generators_with_only_the_listed_narrowings(
    generator_and_proof: tuple[str, str], tmp_path: Path
) -> None:
    result = compiles(tmp_path, OURS.read_text(encoding="utf-8"), generator_and_proof)
    assert result.returncode == 0, result.stdout + result.stderr


FAKE_TABLE = """\
      extra: {
        Row: { id: string }
        Insert: { id?: string }
        Update: { id?: string }
        Relationships: []
      }
"""

# Each edit of our file is a difference the database does not back.
UNBACKED = {
    "a column's type": ("          quota: number\n", "          quota: string\n"),
    "a union without a CHECK": (
        "          statement: string\n",
        '          statement: "a" | "b"\n',
    ),
    "a column left out": ("          notes: string | null\n", ""),
    "an insert-optional column no trigger fills": (
        "          content: string\n          created_at?: string",
        "          content?: string\n          created_at?: string",
    ),
    "a table the database lacks": (
        "      vision: {\n",
        FAKE_TABLE + "      vision: {\n",
    ),
    "a one-to-one relationship": ("isOneToOne: false", "isOneToOne: true"),
    "a JSON column left wide": (
        "          context: JsonObject\n",
        "          context: Json\n",
    ),
}


@pytest.mark.parametrize("edit", sorted(UNBACKED))
def test_any_other_difference_from_the_generator_fails(
    edit: str, generator_and_proof: tuple[str, str], tmp_path: Path
) -> None:
    old, new = UNBACKED[edit]
    ours = OURS.read_text(encoding="utf-8")
    assert old in ours
    result = compiles(tmp_path, ours.replace(old, new, 1), generator_and_proof)
    assert result.returncode != 0, f"{edit} went unnoticed"
    assert "compare.ts" in result.stdout + result.stderr
