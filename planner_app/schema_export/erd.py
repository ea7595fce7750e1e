"""
Writing ``docs/erd.md``: the Mermaid ER diagram of the planner tables and
views. A view is drawn as an entity titled "(view)", linked one-to-one to the
table whose rows it describes; its other keys are its table's.
"""

from __future__ import annotations

import re

from planner_app.schema_export.catalog import ForeignKey
from planner_app.schema_export.model import Column, TableSchema
from planner_app.schema_export.shared import GENERATED_BY

SQL_TYPES = {"int2": "smallint", "int4": "integer", "int8": "bigint", "bool": "boolean"}


def _entity(name: str) -> str:
    return f'"{name}"' if not re.fullmatch(r"\w+", name) else name


def relationships(tables: list[TableSchema]) -> list[tuple[TableSchema, ForeignKey]]:
    """
    One line per parent/child link: a foreign key whose columns contain those
    of another key to the same parent (a same-owner key beside a
    single-column key) adds nothing.
    """
    links = []
    for table in tables:
        if table.view:
            continue
        for key in table.foreign_keys:
            covered = any(
                other is not key
                and other.referenced_relation == key.referenced_relation
                and set(other.columns) < set(key.columns)
                for other in table.foreign_keys
            )
            if not covered:
                links.append((table, key))
    return links


def column_note(column: Column) -> str:
    """What the diagram says about a column beyond its type and keys."""
    notes = []
    if column.enum_values:
        notes.append(" | ".join(column.enum_values))
    if column.minimum is not None or column.maximum is not None:
        low, high = column.minimum, column.maximum
        if low is not None and high is not None:
            notes.append(f"{low}..{high}")
        else:
            notes.append(f">= {low}" if low is not None else f"<= {high}")
    if column.date_min and column.date_max:
        notes.append(f"{column.date_min}..{column.date_max}")
    if column.not_blank:
        notes.append("not blank")
    if column.max_chars is not None and not column.enum:
        notes.append(f"<= {column.max_chars} chars")
    if column.json_object:
        notes.append("JSON object")
    if column.json_max_bytes is not None:
        notes.append(f"<= {column.json_max_bytes} bytes")
    if column.derived:
        notes.append("set by trigger")
    notes += column.unique_keys
    return "; ".join(notes).replace('"', "'")


def render_erd(tables: list[TableSchema]) -> str:
    """The text of ``docs/erd.md``."""
    links = relationships(tables)
    outside = sorted(
        {key.referenced_relation for _, key in links} - {t.name for t in tables}
    )
    lines = ["erDiagram"]
    for parent in outside:
        columns = sorted(
            {
                c
                for _, k in links
                if k.referenced_relation == parent
                for c in k.referenced_columns
            }
        )
        lines.append(f"    {_entity(parent)} {{")
        lines += [f"        uuid {c} PK" for c in columns]
        lines.append("    }")
    for table in tables:
        title = f'["{table.name} (view)"]' if table.view else ""
        lines.append(f"    {table.name}{title} {{")
        for column in table.columns:
            keys = [
                k
                for k, present in (
                    ("PK", column.primary_key),
                    ("FK", column.foreign_key),
                    ("UK", bool(column.unique_keys)),
                )
                if present
            ]
            sql_type = SQL_TYPES.get(column.sql_type, column.sql_type)
            line = f"        {sql_type} {column.name}"
            if keys:
                line += " " + ", ".join(keys)
            if note := column_note(column):
                line += f' "{note}"'
            lines.append(line)
        lines.append("    }")
    for table, key in links:
        optional = any(table.column(c).nullable for c in key.columns)
        parent_end, line = ("|o", "..") if optional else ("||", "--")
        label = ", ".join(key.columns)
        lines.append(
            f"    {_entity(key.referenced_relation)} {parent_end}{line}o{{ "
            f'{table.name} : "{label}"'
        )
    for view in tables:
        if view.row_of:
            parent, column = view.row_of
            lines.append(f'    {_entity(parent)} ||--|| {view.name} : "{column}"')
    return "\n".join(
        [
            "# Entity-relationship diagram",
            "",
            f"<!-- {GENERATED_BY} -->",
            "",
            "The nine planner tables, the `auth.users` table they belong to, "
            "and the read-only views (one row per row of the table they are "
            "linked to one-to-one). "
            "Keys: `PK` primary key, `FK` foreign key, `UK` part of a unique key "
            "(named in the note). A solid line is a required parent, a dashed "
            "line an optional one (`ON DELETE SET NULL`); every child may have "
            "any number of rows per parent. The same-owner foreign keys (a "
            "child's `user_id` equals its parent's) and the rules named in "
            "[`schema/planner.zod.ts`](../schema/planner.zod.ts) are described "
            "in [schema.md](schema.md).",
            "",
            "```mermaid",
            *lines,
            "```",
            "",
        ]
    )
