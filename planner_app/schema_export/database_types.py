"""
Writing ``schema/database.types.ts``: the ``Database`` type that
``@supabase/supabase-js`` takes (``createClient<Database>(…)``), in the shape
``supabase gen types typescript`` writes, with what Supabase's generator
cannot know:

- enumerations (CHECK constraints here, not PostgreSQL enum types) as
  string-literal unions under ``Enums`` (``goal_type``, ``cycle_status``...);
- ``Insert`` fields optional exactly where the database supplies a valid
  value (a default its own rules accept, an identity, a trigger-filled
  column) or the column is nullable;
- JSONB columns as JSON objects (``JsonObject``), not any JSON;
- a read-only table (``audit_log``) with ``Insert`` and ``Update`` of type
  ``never``: no insert or update of it compiles;
- views under ``Views`` with ``Row`` and ``Relationships`` only, as
  Supabase writes a view that is not updatable: every column ``| null``,
  as PostgreSQL reports view columns (the Zod Row schemas say which are
  never null, and check it), narrowed like the tables' otherwise.

``Relationships`` lists every foreign key the live database has between two
tables of ``public``, and the relationships PostgREST infers through views,
as Supabase does (keys to ``auth.users`` are left out), so embedded selects
such as ``goal(*, task(*))`` are typed. Tables, columns
and relationships are sorted by name, like Supabase's output.
"""

# not in the schema: cycle_status (the Database type's name for cycle.status)
from __future__ import annotations

import json

from planner_app.schema_export.model import Column, TableSchema, enums
from planner_app.schema_export.shared import GENERATED_BY, snake, wrap

POSTGREST_VERSION = "12"
"""The PostgREST major supabase-js should expect (the tests run 12.0.2)."""

_NEVER = "{\n      [_ in never]: never\n    }"

_HELPERS = """\
type PublicSchema = Database["public"]
type Relations = PublicSchema["Tables"] & PublicSchema["Views"]

/** The row of a table or a view: `Tables<"goal">`. */
export type Tables<Name extends keyof Relations> = Relations[Name] extends {
  Row: infer Row
}
  ? Row
  : never

/** What an insert into a table takes: `TablesInsert<"goal">`. */
export type TablesInsert<Name extends keyof PublicSchema["Tables"]> =
  PublicSchema["Tables"][Name]["Insert"]

/** What an update of a table takes: `TablesUpdate<"goal">`. */
export type TablesUpdate<Name extends keyof PublicSchema["Tables"]> =
  PublicSchema["Tables"][Name]["Update"]

/** The values of an enumeration: `Enums<"goal_type">`. */
export type Enums<Name extends keyof PublicSchema["Enums"]> =
  PublicSchema["Enums"][Name]
"""


def ts_type(column: Column) -> str:
    """The TypeScript type of a column's values (without ``| null``)."""
    if column.enum:
        return f'Database["public"]["Enums"]["{column.database_type_enum}"]'
    if column.json_object:
        return "JsonObject"
    if column.sql_type in ("int2", "int4", "int8", "float4", "float8", "numeric"):
        return "number"
    if column.sql_type == "bool":
        return "boolean"
    return "string"


def _fields(table: TableSchema, shape: str) -> list[str]:
    lines = []
    for column in sorted(table.columns, key=lambda c: c.name):
        optional = shape == "Update" or (shape == "Insert" and column.insert_optional)
        nullable = " | null" if column.nullable or table.view else ""
        marker = "?" if optional else ""
        lines.append(f"          {column.name}{marker}: {ts_type(column)}{nullable}")
    return lines


def _relationships(table: TableSchema) -> list[str]:
    keys = sorted(
        (
            k
            for k in [*table.foreign_keys, *table.view_relationships]
            if k.referenced_schema == "public"
        ),
        key=lambda k: (k.name, k.referenced_table, k.referenced_columns),
    )
    if not keys:
        return ["        Relationships: []"]
    lines = ["        Relationships: ["]
    for key in keys:
        referenced = json.dumps(list(key.referenced_columns))
        lines += [
            "          {",
            f"            foreignKeyName: {json.dumps(key.name)}",
            f"            columns: {json.dumps(list(key.columns))}",
            f"            isOneToOne: {'true' if key.one_to_one else 'false'}",
            f"            referencedRelation: {json.dumps(key.referenced_table)}",
            f"            referencedColumns: {referenced}",
            "          },",
        ]
    lines.append("        ]")
    return lines


def _table(table: TableSchema) -> list[str]:
    lines = [
        f"      {table.name}: {{",
        "        Row: {",
        *_fields(table, "Row"),
        "        }",
    ]
    if table.read_only:
        lines += [
            "        /** Written by the database alone: no insert, no update. */",
            "        Insert: never",
            "        Update: never",
        ]
    else:
        for shape in ("Insert", "Update"):
            lines += [f"        {shape}: {{", *_fields(table, shape), "        }"]
    lines += _relationships(table)
    lines.append("      }")
    return lines


def _views(tables: list[TableSchema]) -> list[str]:
    views = sorted((t for t in tables if t.view), key=lambda t: t.name)
    if not views:
        return [f"    Views: {_NEVER}"]
    lines = ["    Views: {"]
    for view in views:
        lines += [f"      {view.name}: {{", "        Row: {"]
        lines += [*_fields(view, "Row"), "        }", *_relationships(view), "      }"]
    return [*lines, "    }"]


def render_database_types(tables: list[TableSchema]) -> str:
    """The text of ``schema/database.types.ts``."""
    found = enums(tables)
    enum_lines = [
        f"      {snake(name)}: " + " | ".join(json.dumps(m.value) for m in enum)
        for name, enum in sorted(found.items(), key=lambda item: snake(item[0]))
    ]
    constants = [
        f"      {snake(name)}: [{', '.join(json.dumps(m.value) for m in enum)}],"
        for name, enum in sorted(found.items(), key=lambda item: snake(item[0]))
    ]
    out = [
        *(f"// {line}" for line in wrap(GENERATED_BY, 77)),
        *(
            f"// {line}"
            for line in wrap(
                "The Database type of @supabase/supabase-js, in the shape of "
                "`supabase gen types typescript`: `createClient<Database>(url, key)`. "
                "Enumerations are CHECK constraints in the database, not enum types.",
                77,
            )
        ),
        "",
        "export type Json =",
        "  | string",
        "  | number",
        "  | boolean",
        "  | null",
        "  | { [key: string]: Json | undefined }",
        "  | Json[]",
        "",
        "/** A JSON object: what every JSONB column holds. */",
        "export type JsonObject = { [key: string]: Json | undefined }",
        "",
        "export type Database = {",
        "  // Tells createClient which PostgREST it talks to.",
        "  __InternalSupabase: {",
        f"    PostgrestVersion: {json.dumps(POSTGREST_VERSION)}",
        "  }",
        "  public: {",
        "    Tables: {",
    ]
    for table in sorted(tables, key=lambda t: t.name):
        if not table.view:
            out += _table(table)
    out += [
        "    }",
        *_views(tables),
        f"    Functions: {_NEVER}",
        "    Enums: {" if enum_lines else f"    Enums: {_NEVER}",
    ]
    if enum_lines:
        out += [*enum_lines, "    }"]
    out += [
        f"    CompositeTypes: {_NEVER}",
        "  }",
        "}",
        "",
        _HELPERS,
        "export const Constants = {",
        "  public: {",
        "    Enums: {",
        *constants,
        "    },",
        "  },",
        "} as const",
        "",
    ]
    return "\n".join(out)
