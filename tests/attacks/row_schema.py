"""
The generated Row and Insert schemas (``schema/planner.zod.ts``), mirrored in
Python from the same sources the generator reads (``planner_app/tables.py``
and ``planner_app/rules.py``), so a property test can check thousands of rows
without starting node per example:

- every column present, no other key (``z.strictObject``), null only where
  the column is nullable;
- uuids as ``z.uuid()`` accepts them (RFC 9562 versions 1-8, variant 10xx,
  nil, max); dates as ``z.iso.date()``; timestamps as
  ``z.iso.datetime({ offset: true })``; ``cycle.start_date`` in
  ``DATE_MIN..DATE_MAX``;
- choices as string unions; integers within their CHECKs and 32/16 bits;
- text at most ``TEXT_MAX_CHARS`` characters, not blank where
  ``NOT_BLANK_COLUMNS`` says so (``NOT_BLANK_PATTERN``); JSON objects at
  most ``JSON_MAX_BYTES`` bytes, without a key of
  ``JSON_UNREPRESENTABLE_KEYS`` at any depth.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from piccolo import columns

from planner_app.rules import (
    DATE_MAX,
    DATE_MIN,
    JSON_MAX_BYTES,
    JSON_UNREPRESENTABLE_KEYS,
    NOT_BLANK_COLUMNS,
    NOT_BLANK_PATTERN,
    TEXT_MAX_CHARS,
)
from planner_app.tables import TABLES

# Zod 4's own patterns (zod/v4/core/regexes.js).
ZOD_UUID = re.compile(
    r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}"
    r"-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000"
    r"|ffffffff-ffff-ffff-ffff-ffffffffffff)$"
)
ZOD_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ZOD_DATETIME_OFFSET = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)$"
)
NOT_BLANK = re.compile(NOT_BLANK_PATTERN)
INT_RANGE = {
    columns.Integer: (-(2**31), 2**31 - 1),
    columns.SmallInt: (-(2**15), 2**15 - 1),
    columns.BigInt: (-(2**63), 2**63 - 1),
}
# Lower bounds the tables' CHECKs put on integer columns.
INT_MIN = {
    "task.default_quota": 1,
    "plan_item.quota": 0,
    "plan_item.completed_count": 0,
    "weekly_plan.week_no": 1,
}
INT_MAX = {"weekly_plan.week_no": 12}

TABLES_BY_NAME = {table._meta.tablename: table for table in TABLES}


def _valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def value_problems(table: str, column: Any, value: Any) -> list[str]:
    """Why ``value`` is not a valid ``table.column`` for the Row schema."""
    name = column._meta.name
    key = f"{table}.{name}"
    if value is None:
        return [] if column._meta.null else [f"{key}: null"]
    if isinstance(column, (columns.UUID, columns.ForeignKey)):
        ok = isinstance(value, str) and ZOD_UUID.match(value)
        return [] if ok else [f"{key}: not a uuid: {value!r}"]
    if isinstance(column, columns.Timestamptz):
        match = isinstance(value, str) and ZOD_DATETIME_OFFSET.match(value)
        if not match or not _valid_date(match.group(1)):
            return [f"{key}: not an ISO date-time: {value!r}"]
        hour, minute = int(match.group(2)), int(match.group(3))
        second = int(match.group(4) or 0)
        return (
            [] if hour < 24 and minute < 60 and second < 60 else [f"{key}: {value!r}"]
        )
    if isinstance(column, columns.Date):
        if not (
            isinstance(value, str) and ZOD_DATE.match(value) and _valid_date(value)
        ):
            return [f"{key}: not an ISO date: {value!r}"]
        if key == "cycle.start_date" and not (
            DATE_MIN <= date.fromisoformat(value) <= DATE_MAX
        ):
            return [f"{key}: out of range: {value}"]
        return []
    if isinstance(column, columns.Boolean):
        return [] if isinstance(value, bool) else [f"{key}: not a boolean"]
    if isinstance(
        column, (columns.Integer, columns.SmallInt, columns.BigInt, columns.BigSerial)
    ):
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{key}: not an integer"]
        low, high = INT_RANGE.get(type(column), INT_RANGE[columns.BigInt])
        low, high = max(low, INT_MIN.get(key, low)), min(high, INT_MAX.get(key, high))
        return [] if low <= value <= high else [f"{key}: {value} out of range"]
    if isinstance(column, columns.JSONB):
        if not isinstance(value, dict):
            return [f"{key}: not a JSON object"]
        size = len(
            json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        )
        limit = JSON_MAX_BYTES.get(key)
        problems = [] if limit is None or size <= limit else [f"{key}: {size} bytes"]
        found = unrepresentable_key(value)
        return problems + ([f"{key}: holds the key {found}"] if found else [])
    if isinstance(column, (columns.Text, columns.Varchar)):
        if not isinstance(value, str):
            return [f"{key}: not a string"]
        problems = []
        choices = column._meta.choices
        if choices is not None and value not in {c.value for c in choices}:
            problems.append(f"{key}: {value!r} is not a choice")
        if isinstance(column, columns.Varchar) and len(value) > column.length:
            problems.append(f"{key}: longer than {column.length}")
        if key in TEXT_MAX_CHARS and len(value) > TEXT_MAX_CHARS[key]:
            problems.append(f"{key}: longer than {TEXT_MAX_CHARS[key]}")
        if key in NOT_BLANK_COLUMNS and not NOT_BLANK.search(value):
            problems.append(f"{key}: blank")
        return problems
    raise TypeError(f"no mirror for {key} ({type(column).__name__})")


def unrepresentable_key(value: Any) -> str | None:
    """The first key of ``JSON_UNREPRESENTABLE_KEYS`` at any depth of
    ``value``, as the generated ``unrepresentableKey`` finds it."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key in item:
                if key in JSON_UNREPRESENTABLE_KEYS:
                    return key
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def row_problems(table: str, row: dict[str, Any]) -> list[str]:
    """Why ``row`` (PostgreSQL's JSON of a row) fails ``<Table>Row``."""
    columns = {c._meta.name: c for c in TABLES_BY_NAME[table]._meta.columns}
    problems = [f"{table}: unexpected key {k}" for k in row.keys() - columns.keys()]
    problems += [f"{table}: missing key {k}" for k in columns.keys() - row.keys()]
    for name, column in columns.items():
        if name in row:
            problems += value_problems(table, column, row[name])
    return problems


def insert_problems(table: str, row: dict[str, Any]) -> list[str]:
    """Why ``row`` fails ``<Table>Insert``: the Row rules on the keys given."""
    columns = {c._meta.name: c for c in TABLES_BY_NAME[table]._meta.columns}
    problems = [f"{table}: unexpected key {k}" for k in row.keys() - columns.keys()]
    for name, value in row.items():
        if name in columns:
            if isinstance(value, (date, datetime)):
                value = value.isoformat()
            problems += value_problems(table, columns[name], value)
    return problems
