"""
Writing ``schema/planner.zod.ts``: Zod 4 schemas and their TypeScript types,
``Row`` / ``Insert`` / ``Update`` per table (``Row`` only for a read-only
table or a view). The JSON Schema is produced from this file by Zod itself
(:mod:`planner_app.schema_export.json_schema`), so whatever is said here is
said there too.

The rules' front-end form:

- not blank: :data:`planner_app.rules.NOT_BLANK_PATTERN` as a JavaScript
  ``u`` regular expression (:func:`javascript_pattern`);
- text lengths in Unicode code points, as PostgreSQL's ``char_length``
  counts them (Zod's own ``.max()`` counts UTF-16 units), declared to the
  JSON Schema as ``maxLength`` (code points there too);
- JSON objects measured by ``jsonbTextBytes``, the size of PostgreSQL's
  ``jsonb::text``, declared to the JSON Schema as ``x-jsonb-max-bytes``,
  and without a key of ``rules.JSON_UNREPRESENTABLE_KEYS`` at any depth
  (``unrepresentableKey``), declared as ``x-json-unrepresentable-keys``;
- the date range as ``formatMinimum`` / ``formatMaximum`` (ajv-formats);
- ids and owners of user-owned rows as ``z.uuid()`` (the database accepts
  only RFC 9562 UUIDs there, ``rules.RFC_9562_ID_COLUMNS``); other uuid
  columns as ``z.guid()``: any UUID PostgreSQL stores.
"""

from __future__ import annotations

import json
import re

from planner_app import rules
from planner_app.schema_export.model import Column, TableSchema, enums
from planner_app.schema_export.shared import (
    DERIVED,
    GENERATED_BY,
    SchemaExportError,
    wrap,
)


def javascript_pattern(pattern: str) -> str:
    """
    A PostgreSQL regular expression of the rules (``\\uXXXX`` and
    ``\\UXXXXXXXX`` escapes) as the source of a JavaScript ``u`` regular
    expression, where a code point above U+FFFF is written ``\\u{XXXXX}``.
    """
    return re.sub(
        r"\\U([0-9a-fA-F]{8})",
        lambda match: f"\\u{{{int(match[1], 16):x}}}",
        pattern,
    )


# The helpers every generated file starts with: the rules' front-end form.
PRELUDE = """\
/**
 * Not blank: holds a character outside Unicode White_Space and
 * Default_Ignorable_Code_Point (`NOT_BLANK_PATTERN` of planner_app/rules.py,
 * the pattern of the database's not-blank CHECKs).
 */
export const NOT_BLANK = /%(not_blank)s/u;

/** Bytes of `text` in UTF-8. */
function utf8Bytes(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** A number as PostgreSQL's numeric prints it: never with an exponent. */
function numericText(value: number): string {
  const written = String(value);
  const match = /^(-?)(\\d+)(?:\\.(\\d+))?e([+-]\\d+)$/.exec(written);
  if (!match) return written;
  const [, sign = "", whole = "", fraction = "", exponent = "0"] = match;
  const digits = whole + fraction;
  const point = whole.length + Number(exponent);
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function jsonbText(value: unknown): number {
  if (value === null) return 4;
  if (typeof value === "boolean") return value ? 4 : 5;
  if (typeof value === "number") return numericText(value).length;
  if (typeof value === "string") return utf8Bytes(JSON.stringify(value));
  const items: [string | null, unknown][] = Array.isArray(value)
    ? value.map((item) => [null, item])
    : Object.entries(value as Record<string, unknown>);
  let bytes = 2 + 2 * Math.max(0, items.length - 1);
  for (const [key, item] of items) {
    if (key !== null) bytes += utf8Bytes(JSON.stringify(key)) + 2;
    bytes += jsonbText(item);
  }
  return bytes;
}

/**
 * The size of a JSON value as the database measures it: the UTF-8 bytes of
 * PostgreSQL's `jsonb::text`, which puts ", " and ": " between items and
 * writes numbers out in full. `value` is taken as `JSON.stringify` sends it.
 */
export function jsonbTextBytes(value: unknown): number {
  return jsonbText(JSON.parse(JSON.stringify(value) ?? "null"));
}

/** Text of at most `max` characters, counted as PostgreSQL counts them. */
const text = (max: number) =>
  z
    .string()
    .refine((value) => [...value].length <= max, `must be at most ${max} characters`)
    .meta({ maxLength: max });

/** Text that is not blank (`NOT_BLANK`). */
const notBlank = (max: number) => text(max).regex(NOT_BLANK, "must not be blank");

/**
 * Keys no JSON object may hold, at any depth (`JSON_UNREPRESENTABLE_KEYS` of
 * planner_app/rules.py): `JSON.parse` keeps `__proto__` as an own key, but
 * Zod leaves it out of what it parses and assigning it to an object sets the
 * object's prototype instead, so the value would not read back the same.
 * The database refuses them too (`<table>_<column>_keys_representable`).
 */
export const UNREPRESENTABLE_KEYS: readonly string[] = %(unrepresentable_keys)s;

/**
 * The first of `keys` that any object inside `value` (itself included, at
 * any depth, in arrays too) has as an own key, or null. Iterative, so a
 * deeply nested value cannot overflow the stack.
 */
export function unrepresentableKey(
  value: unknown,
  keys: readonly string[] = UNREPRESENTABLE_KEYS,
): string | null {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item !== "object" || item === null) continue;
    for (const key of Object.keys(item)) {
      if (keys.includes(key)) return key;
    }
    for (const inner of Object.values(item)) pending.push(inner);
  }
  return null;
}

/**
 * A JSON object of at most `maxBytes` bytes (`jsonbTextBytes`) without an
 * unrepresentable key. The keys are checked on the input, before the record
 * schema would leave `__proto__` out.
 */
const jsonObject = (maxBytes?: number) => {
  const object = z
    .unknown()
    .refine(
      (value) => unrepresentableKey(value) === null,
      `no key ${UNREPRESENTABLE_KEYS.join(", ")}, at any depth`,
    )
    .pipe(z.record(z.string(), z.unknown()));
  const keys = { "x-json-unrepresentable-keys": [...UNREPRESENTABLE_KEYS] };
  if (maxBytes === undefined) return object.meta(keys);
  return object
    .refine((value) => jsonbTextBytes(value) <= maxBytes, `at most ${maxBytes} bytes`)
    .meta({ ...keys, "x-jsonb-max-bytes": maxBytes });
};

/** A date (`YYYY-MM-DD`), optionally within `[min, max]`. */
const date = (min?: string, max?: string) => {
  const plain = z.iso.date();
  if (min === undefined || max === undefined) return plain;
  return plain
    .refine((value) => value >= min && value <= max, `from ${min} to ${max}`)
    .meta({ formatMinimum: min, formatMaximum: max });
};

/** A timestamp as PostgREST returns it: ISO 8601 with an offset. */
const timestamp = () => z.iso.datetime({ offset: true });

/** Any UUID PostgreSQL stores, whatever its version. */
const uuid = () => z.guid();

/** An RFC 9562 UUID (or nil/max): the ids and owners of user-owned rows. */
const rfcUuid = () => z.uuid();
"""


def zod_type(column: Column) -> str:
    """The Zod expression of a column's values (without null or optional)."""
    sql_type = column.sql_type
    if column.enum_name:
        return column.enum_name
    if sql_type == "uuid":
        return "rfcUuid()" if column.rfc_9562 else "uuid()"
    if sql_type == "timestamptz":
        return "timestamp()"
    if sql_type == "date":
        if column.date_min and column.date_max:
            low, high = column.date_min.isoformat(), column.date_max.isoformat()
            return f'date("{low}", "{high}")'
        return "date()"
    if sql_type == "bool":
        return "z.boolean()"
    if sql_type in ("int2", "int4", "int8", "float4", "float8"):
        low, high = column.bounds
        return (
            ("z.number()" if sql_type.startswith("float") else "z.int()")
            + (f".min({low})" if low is not None else "")
            + (f".max({high})" if high is not None else "")
        )
    if sql_type in ("text", "varchar"):
        if column.max_chars is None:
            return "z.string()"
        return f"{'notBlank' if column.not_blank else 'text'}({column.max_chars})"
    if column.json_object:
        return f"jsonObject({column.json_max_bytes or ''})"
    raise SchemaExportError(f"no schema for type {sql_type} of column {column.name}")


def _fields(table: TableSchema, shape: str) -> list[str]:
    lines = []
    for column in table.columns:
        zod = zod_type(column)
        if column.nullable:
            zod += ".nullable()"
        if shape == "Insert" and column.insert_optional:
            zod += ".optional()"
        if shape == "Insert" and column.derived:
            lines.append(f"  /** {DERIVED} */")
            zod += f".meta({{ description: {json.dumps(DERIVED)} }})"
        lines.append(f"  {column.name}: {zod},")
    return lines


def _describe(table: TableSchema, shape: str) -> str:
    kind = " (view)" if table.view else ""
    return json.dumps(f"`{table.name}`{kind} {shape.lower()}: {table.doc}")


def _object_schema(table: TableSchema, shape: str) -> list[str]:
    """The strict object schema of ``table`` for ``shape``, and its type."""
    name = f"{table.class_name}{shape}"
    return [
        f"export const {name} = z",
        "  .strictObject({",
        *("  " + line for line in _fields(table, shape)),
        "  })",
        f"  .meta({{ description: {_describe(table, shape)} }});",
        f"export type {name} = z.infer<typeof {name}>;",
        "",
    ]


def render_zod(tables: list[TableSchema]) -> str:
    """The text of ``schema/planner.zod.ts``."""
    out = [
        *(f"// {line}" for line in wrap(GENERATED_BY, 77)),
        'import { z } from "zod";',
        "",
        PRELUDE
        % {
            "not_blank": javascript_pattern(rules.NOT_BLANK_PATTERN),
            "unrepresentable_keys": json.dumps(list(rules.JSON_UNREPRESENTABLE_KEYS)),
        },
    ]
    for name, enum in enums(tables).items():
        quoted = ", ".join(json.dumps(member.value) for member in enum)
        out += [
            f"export const {name} = z.enum([{quoted}]);",
            f"export type {name} = z.infer<typeof {name}>;",
            "",
        ]
    for table in tables:
        prefix = table.class_name
        out.append("/**")
        out.append(f" * `{table.name}`{' (view)' if table.view else ''}: {table.doc}")
        if table.database_only_rules:
            out.append(" *")
            rules_text = "Rules only the database checks: " + ", ".join(
                table.database_only_rules
            )
            out += [f" * {line}" for line in wrap(rules_text, 74)]
        out.append(" */")
        out += _object_schema(table, "Row")
        if table.read_only:
            continue
        out += _object_schema(table, "Insert")
        out += [
            f"export const {prefix}Update = {prefix}Insert.partial().meta({{",
            f"  description: {_describe(table, 'Update')},",
            "});",
            f"export type {prefix}Update = z.infer<typeof {prefix}Update>;",
            "",
        ]
    out.append("/** Every table's shapes by table name (`audit_log` is read-only). */")
    out.append("export const tables = {")
    for table in tables:
        if table.view:
            continue
        prefix = table.class_name
        shapes = [f"Row: {prefix}Row"]
        if not table.read_only:
            shapes += [f"Insert: {prefix}Insert", f"Update: {prefix}Update"]
        out.append(f"  {table.name}: {{ {', '.join(shapes)} }},")
    out += ["} as const;", "export type TableName = keyof typeof tables;", ""]
    views = [table for table in tables if table.view]
    if views:
        out.append("/** Every view's row by view name (views are read-only). */")
        out.append("export const views = {")
        out += [f"  {view.name}: {{ Row: {view.class_name}Row }}," for view in views]
        out += ["} as const;", "export type ViewName = keyof typeof views;", ""]
    return "\n".join(out)
