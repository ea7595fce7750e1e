"""
``piccolo planner_app export_schema``: write (or check) the front end's
shared schema.
"""

from __future__ import annotations

from planner_app.commands import (
    CommandError,
    cli_command,
    database_url,
    require_migrated,
)


@cli_command
async def export_schema(check: bool = False, out: str = "") -> None:
    """
    Generate schema/planner.zod.ts, schema/planner.schema.json,
    schema/database.types.ts and docs/erd.md from planner_app/tables.py,
    planner_app/rules.py and the migrated database (DATABASE_URL, or the
    embedded PostgreSQL), and the Supabase CLI's folder supabase/ (one SQL
    file per migration in supabase/migrations/, seed.sql from
    seeds/fixtures/, config.toml). Needs Node.js and `npm ci --prefix
    schema` (Zod writes the JSON Schema).

    :param check:
        Write nothing; fail naming every artifact that differs from what
        would be generated now.
    :param out:
        The project folder to write into or check (default: this project),
        given as --out=FOLDER.
    """
    from pathlib import Path

    from planner_app.database import PROJECT_ROOT
    from planner_app.schema_export import export_schema as export

    out_dir = Path(out) if out else PROJECT_ROOT
    await require_migrated()
    changed = await export(database_url(), out_dir, check=check)
    if check and changed:
        raise CommandError(
            f"stale: {', '.join(changed)}; run "
            "`piccolo planner_app export_schema` and commit the result"
        )
    if check:
        print("export_schema: every artifact is up to date")
    elif changed:
        print(f"export_schema: wrote {', '.join(changed)}")
    else:
        print("export_schema: nothing to change")
