"""
The front end's shared schema, generated from the tables, the rules and the
migrated database (``piccolo planner_app export_schema``).

One module per job:

- :mod:`~planner_app.schema_export.catalog` reads the live database
  (columns, defaults, identity, trigger-filled columns, keys, CHECKs);
- :mod:`~planner_app.schema_export.model` puts it together with
  ``planner_app/tables.py`` (columns, enums) and ``planner_app/rules.py``
  (sizes, not-blank, date range) into what the writers need;
- one writer per artifact (``ARTIFACTS``):
  :mod:`~planner_app.schema_export.zod` (Zod 4 schemas and their types),
  :mod:`~planner_app.schema_export.json_schema` (JSON Schema 2020-12, made
  from the Zod schemas by ``z.toJSONSchema()``),
  :mod:`~planner_app.schema_export.database_types` (supabase-js's
  ``Database`` type) and :mod:`~planner_app.schema_export.erd` (the Mermaid
  ER diagram of ``docs/erd.md``);
- the Supabase CLI's folder ``supabase/``:
  :mod:`~planner_app.schema_export.supabase_migrations` (one SQL file per
  Piccolo migration) and :mod:`~planner_app.schema_export.supabase_seed`
  (the fixed development dataset, ``config.toml``).

Every table gets three shapes, like Supabase's generated types: ``Row`` (what
a select returns), ``Insert`` (columns the database fills are optional) and
``Update`` (everything optional). ``audit_log`` is written only by the audit
trigger and is read-only to its owner, so it gets ``Row`` only, and so does
every view (``planner_app/views.py``, read by
:mod:`~planner_app.schema_export.views`): the writers take the views with
the tables, each marked ``view``.
"""

from __future__ import annotations

from pathlib import Path

from planner_app.schema_export.catalog import read_catalog
from planner_app.schema_export.database_types import render_database_types
from planner_app.schema_export.erd import render_erd
from planner_app.schema_export.json_schema import render_json_schema
from planner_app.schema_export.model import TableSchema, build_tables, enums
from planner_app.schema_export.shared import SchemaExportError
from planner_app.schema_export.supabase_migrations import (
    MIGRATIONS_FOLDER,
    render_migration_files,
)
from planner_app.schema_export.supabase_seed import (
    CONFIG_PATH,
    SEED_PATH,
    render_config,
    render_seed,
)
from planner_app.schema_export.views import build_views
from planner_app.schema_export.zod import render_zod
from planner_app.tables import TABLES
from planner_app.views import VIEWS

ARTIFACTS = (
    "schema/planner.zod.ts",
    "schema/planner.schema.json",
    "schema/database.types.ts",
    "docs/erd.md",
    SEED_PATH,
    CONFIG_PATH,
)
"""The artifacts of fixed name; ``supabase/migrations/`` holds one more per
migration."""

__all__ = ["ARTIFACTS", "SchemaExportError", "export_schema", "render_artifacts"]


def schema_names(tables: list[TableSchema]) -> list[str]:
    """The Zod file's schemas in the order the JSON Schema lists them."""
    names = list(enums(tables))
    for table in tables:
        shapes = ("Row",) if table.read_only else ("Row", "Insert", "Update")
        names += [f"{table.class_name}{shape}" for shape in shapes]
    return names


def render_artifacts(tables: list[TableSchema]) -> dict[str, str]:
    """
    The text of every artifact, by path relative to the project folder.

    :param tables: the tables, then the views.
    """
    zod = render_zod(tables)
    texts = (
        zod,
        render_json_schema(zod, schema_names(tables)),
        render_database_types(tables),
        render_erd(tables),
        render_seed(),
        render_config(),
    )
    return dict(zip(ARTIFACTS, texts, strict=True))


async def export_schema(database_url: str, out_dir: Path, *, check: bool) -> list[str]:
    """
    Generate the artifacts from the tables, the rules and the database at
    ``database_url`` into ``out_dir``.

    :param check:
        Write nothing; only compare with the files in ``out_dir``.
    :returns:
        The stale artifacts (``check``) or the ones written, as relative paths;
        a file of ``supabase/migrations/`` that no migration generates is
        stale, and removed when writing.
    :raises SchemaExportError:
        When the database is unreachable or not migrated to the current
        tables, the rules name unknown columns, or node is missing.
    """
    names = [table._meta.tablename for table in TABLES] + [v.name for v in VIEWS]
    catalog = await read_catalog(database_url, names)
    tables = build_tables(catalog)
    artifacts = render_artifacts(tables + build_views(catalog, tables))
    artifacts.update(await render_migration_files())
    changed = []
    for relative, text in artifacts.items():
        path = out_dir / relative
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        changed.append(relative)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for stray in sorted((out_dir / MIGRATIONS_FOLDER).glob("*.sql")):
        relative = f"{MIGRATIONS_FOLDER}/{stray.name}"
        if relative not in artifacts:
            changed.append(relative)
            if not check:
                stray.unlink()
    return changed
