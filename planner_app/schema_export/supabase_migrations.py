"""
Writing ``supabase/migrations/``: every Piccolo migration as the plain SQL
file the Supabase CLI applies (``supabase db reset``, ``supabase db push``).

One file per migration, in Piccolo's order (apps in dependency order, each
app's migrations by ID), named ``<version>_<concern>.sql``: the version is
the migration ID to the second (``2026-11-26T00:00:01:000000`` ->
``20261126000001``), the concern the module's name without its app and
number (``planner_app_0001_auth_compat`` -> ``auth_compat``). Each file holds,
in this order:

1. Piccolo's ``migration`` table, created when missing exactly as Piccolo's
   CLI creates it and made private in the same transaction, as the
   project's engine does (:data:`planner_app.engine.BOOKKEEPING_PRIVATE`);
2. a guard that fails the file, and so the whole deploy, when Piccolo's
   record says the migration is already applied (a database deployed with
   Piccolo must have its versions marked in Supabase's history instead,
   ``docs/migrations.md``, "Deploying with the Supabase CLI");
3. the migration itself, as the project's ``MigrationManager`` runs it:
   its ``add_raw`` steps, Piccolo's operations (the statements Piccolo
   would execute, taken from its preview mode, so no database is needed),
   then the ``.forwards.sql`` steps of ``planner_app.migration_sql``;
4. the migration's row in Piccolo's record, so a database deployed with the
   Supabase CLI is migrated in Piccolo's eyes too (``piccolo planner_app
   migrate``, ``seed`` and ``export_schema`` see it as such).

The CLI runs each file in one transaction (as ``psql --single-transaction``
does), so a file applies whole or not at all, with its record.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import (
    MigrationManager as PiccoloMigrationManager,
)
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.tables import Migration

from planner_app.engine import BOOKKEEPING_PRIVATE
from planner_app.schema_export.shared import SchemaExportError, wrap

MIGRATIONS_FOLDER = "supabase/migrations"

_ID_FORMAT = "%Y-%m-%dT%H:%M:%S:%f"
_VERSION_FORMAT = "%Y%m%d%H%M%S"


def supabase_version(migration_id: str) -> str:
    """``2026-11-26T00:00:01:000000`` -> ``20261126000001``."""
    try:
        moment = datetime.strptime(migration_id, _ID_FORMAT)
    except ValueError:
        raise SchemaExportError(
            f"migration ID {migration_id!r} is not a Piccolo timestamp "
            "(YYYY-MM-DDTHH:MM:SS:ffffff)"
        ) from None
    return moment.strftime(_VERSION_FORMAT)


def concern(app_name: str, module_name: str) -> str:
    """
    ``planner_app_0001_auth_compat`` -> ``auth_compat``; a module named as
    ``piccolo migrations new`` names it (its ID) -> ``migration``; a module
    of another app keeps its app's name in front (``other_app_tables``).
    """
    rest = module_name.removeprefix(f"{app_name}_")
    if re.fullmatch(r"\d{4}_\d{2}_\d{2}t\d{2}_\d{2}_\d{2}_\d{6}", rest):
        # Piccolo's own name for a new migration: its ID, which the version holds.
        rest = "migration"
    rest = re.sub(r"^\d+_", "", rest) or module_name
    rest = re.sub(r"[^a-z0-9_]+", "_", rest.lower()).strip("_")
    return rest if app_name == "planner_app" else f"{app_name}_{rest}"


def file_name(app_name: str, module_name: str, migration_id: str) -> str:
    """The migration's file in ``supabase/migrations/``."""
    return f"{supabase_version(migration_id)}_{concern(app_name, module_name)}.sql"


@dataclass(frozen=True)
class SupabaseMigration:
    app_name: str
    migration_id: str
    module_name: str
    description: str
    manager: Any

    @property
    def path(self) -> str:
        """Relative to the project folder."""
        name = file_name(self.app_name, self.module_name, self.migration_id)
        return f"{MIGRATIONS_FOLDER}/{name}"

    @property
    def version(self) -> str:
        return supabase_version(self.migration_id)


async def piccolo_migrations() -> list[SupabaseMigration]:
    """Every migration of every registered app, in Piccolo's order."""
    finder = BaseMigrationManager()
    found = []
    for app_name in finder.get_sorted_app_names():
        app = finder.get_app_config(app_name)
        modules = finder.get_migration_modules(app.resolved_migrations_folder_path)
        for migration_id in finder.get_migration_ids(modules):
            module = modules[migration_id]
            found.append(
                SupabaseMigration(
                    app_name=app_name,
                    migration_id=migration_id,
                    module_name=module.__name__.rsplit(".", 1)[-1],
                    description=getattr(module, "DESCRIPTION", ""),
                    manager=await module.forwards(),
                )
            )
    _check_versions_keep_the_order(found)
    return found


def _check_versions_keep_the_order(migrations: list[SupabaseMigration]) -> None:
    # The CLI applies files by version; Piccolo by app, then ID.
    for before, after in zip(migrations, migrations[1:], strict=False):
        if after.version <= before.version:
            raise SchemaExportError(
                f"{after.module_name} ({after.migration_id}) would get Supabase "
                f"version {after.version}, not after {before.module_name}'s "
                f"{before.version}: give it an ID at least one second later"
            )


def terminated(sql: str) -> str:
    """
    ``sql`` ending with a semicolon outside any trailing comment, so the
    next statement of the file starts a statement of its own (an extra
    ``;`` is an empty statement, harmless).
    """
    text = sql.strip()
    code_lines = [
        line
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("--")
    ]
    if code_lines and not code_lines[-1].rstrip().endswith(";"):
        last = text.splitlines()[-1]
        text += ";" if last == code_lines[-1] else "\n;"
    return text


def _raw_sql(migration: SupabaseMigration, steps: list[Any]) -> list[str]:
    texts = []
    for step in steps:
        sql = getattr(step, "sql", None)
        if sql is None:
            name = getattr(step, "__qualname__", repr(step))
            raise SchemaExportError(
                f"{migration.module_name} has a raw Python step ({name}) that "
                "cannot be written as SQL for the Supabase CLI: make it a SQL "
                "step (planner_app.migration_sql.sql_step)"
            )
        texts.append(terminated(sql))
    return texts


def _statements(migration: SupabaseMigration, query: Any) -> list[str]:
    """The SQL Piccolo executes for one of its operations' queries."""
    ddl = getattr(query, "ddl", None)
    if isinstance(ddl, str):
        return [ddl]
    if ddl is not None:
        return list(ddl)
    statements = []
    for querystring in query.querystrings:
        sql, args = querystring.compile_string(engine_type="postgres")
        if args:
            raise SchemaExportError(
                f"{migration.module_name} runs a query with parameters "
                f"({sql}), which a SQL file cannot hold as Piccolo runs it"
            )
        statements.append(sql)
    return statements


async def _operations_sql(migration: SupabaseMigration) -> list[str]:
    """
    The statements of Piccolo's operations (``add_table``, ``add_column``...)
    in the order Piccolo runs them, from its preview mode: Piccolo's own
    ``run`` hands every query to ``_print_query`` instead of executing it,
    and only that, so nothing connects to a database.
    """
    manager = migration.manager
    statements: list[str] = []

    async def record(query: Any) -> None:
        statements.extend(_statements(migration, query))

    manager.preview = True
    manager.wrap_in_transaction = False
    manager._print_query = record
    with contextlib.redirect_stdout(io.StringIO()):
        # Piccolo's run, not the project's subclass: the raw steps are
        # written from their SQL above and below.
        await PiccoloMigrationManager.run(manager)
    return [f"{statement.strip()};" for statement in statements]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _bookkeeping() -> list[str]:
    create = Migration.create_table(if_not_exists=True).ddl
    return [
        "-- Piccolo's record of applied migrations, created when missing as "
        "Piccolo's CLI",
        "-- creates it, and out of the API roles' reach in the same transaction.",
        *(f"{statement};" for statement in create),
        terminated(BOOKKEEPING_PRIVATE),
    ]


def _guard(migration: SupabaseMigration) -> str:
    message = (
        f"{migration.app_name} migration {migration.migration_id} is already "
        "applied (Piccolo's migration table records it)"
    )
    hint = (
        "mark it applied in Supabase's history instead of applying it: "
        f"supabase migration repair --status applied {migration.version} "
        '(docs/migrations.md, "Deploying with the Supabase CLI")'
    )
    return "\n".join(
        [
            "-- Applied by Piccolo already: stop here, nothing of this file is kept.",
            "do $applied$",
            "begin",
            "  if exists (",
            "    select 1 from public.migration",
            f"    where app_name = {_literal(migration.app_name)}",
            f"      and name = {_literal(migration.migration_id)}",
            "  ) then",
            f"    raise exception using message = {_literal(message)},",
            f"      hint = {_literal(hint)};",
            "  end if;",
            "end",
            "$applied$;",
        ]
    )


def _record(migration: SupabaseMigration) -> str:
    return (
        "-- Recorded in Piccolo's migration table too, in this file's transaction.\n"
        'INSERT INTO "migration" ("name", "app_name") VALUES '
        f"({_literal(migration.migration_id)}, {_literal(migration.app_name)});"
    )


def _header(migration: SupabaseMigration) -> list[str]:
    lines = [
        f"Generated by `piccolo planner_app export_schema` from the Piccolo "
        f"migration {migration.module_name} ({migration.migration_id}). Do not "
        "edit: Piccolo's migrations are the source; a change is a new "
        'migration, then regenerate (docs/migrations.md, "Deploying with the '
        'Supabase CLI").',
    ]
    if migration.description:
        lines.append(migration.description)
    return [f"-- {line}" for text in lines for line in wrap(text, 77)]


async def render_migration(migration: SupabaseMigration) -> str:
    """The text of one migration's file."""
    manager = migration.manager
    if not isinstance(manager, PiccoloMigrationManager):
        raise SchemaExportError(
            f"{migration.module_name}'s forwards() returns no MigrationManager"
        )
    parts = [
        "\n".join(_header(migration)),
        "\n".join(_bookkeeping()),
        _guard(migration),
    ]
    body = _raw_sql(migration, list(manager.raw))
    operations = await _operations_sql(migration)
    if operations:
        body.append(
            "-- Piccolo's operations, as Piccolo runs them.\n" + "\n".join(operations)
        )
    body += _raw_sql(migration, list(getattr(manager, "raw_after", [])))
    parts += body
    parts.append(_record(migration))
    return "\n\n".join(parts) + "\n"


async def render_migration_files() -> dict[str, str]:
    """Every file of ``supabase/migrations/`` by its path in the project."""
    return {
        migration.path: await render_migration(migration)
        for migration in await piccolo_migrations()
    }
