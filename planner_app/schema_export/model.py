"""
The planner tables as the front end sees them: the Piccolo tables, the rules
and the live catalog put together, ready for every writer.

Where each fact comes from
    - the tables, their order, docstrings and columns: ``planner_app/tables.py``
      (the database must have exactly these columns, or nothing is generated);
    - enumerations: the Piccolo ``choices`` enums of ``tables.py``;
    - text maximum lengths, not-blank text, JSON object sizes and the date
      range: ``planner_app/rules.py``; every JSONB column holds a JSON object
      (the product's rule);
    - types, nullability, defaults, identity, trigger-filled columns,
      foreign keys, unique keys and exclusions: the live catalog
      (:mod:`planner_app.schema_export.catalog`);
    - integer bounds: the CHECK constraints, read with the grammar of
      :func:`integer_bounds`.

A CHECK that is neither an integer bound nor on a single column that a rule
above already describes (``goal_type_valid``, ``vision_title_not_blank``,
``chat_session_context_max_size``...) is a rule only the database checks: it
is listed by name in the generated comments (``cycle_end_date_is_start_plus_83``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

from piccolo.table import Table

from planner_app import rules
from planner_app.schema_export.catalog import CatalogTable, ForeignKey
from planner_app.schema_export.shared import SchemaExportError, snake
from planner_app.tables import DOMAIN_TABLES, TABLES

READ_ONLY_TABLES = frozenset({"audit_log"})
"""Tables the front end only reads: written by the audit trigger alone."""

INTEGER_RANGES = {
    "int2": (-(2**15), 2**15 - 1),
    "int4": (-(2**31), 2**31 - 1),
    # JSON numbers beyond 2**53 lose precision: bigint stays a safe integer.
    "int8": (None, None),
}

TEXT_TYPES = frozenset({"text", "varchar"})


@dataclass
class Column:
    name: str
    sql_type: str
    nullable: bool
    default: str | None = None
    identity: bool = False
    primary_key: bool = False
    derived: bool = False
    """Filled by a trigger (``cycle.end_date``...): optional on insert."""
    enum: type[Enum] | None = None
    max_chars: int | None = None
    not_blank: bool = False
    json_max_bytes: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    date_min: date | None = None
    date_max: date | None = None
    foreign_key: bool = False
    unique_keys: list[str] = field(default_factory=list)
    rfc_9562: bool = False
    """Only RFC 9562 UUIDs (``z.uuid()``); other uuid columns take any UUID."""

    @property
    def enum_values(self) -> tuple[str, ...] | None:
        return tuple(m.value for m in self.enum) if self.enum else None

    @property
    def enum_name(self) -> str | None:
        """The enum's name in the generated code (``GoalType``)."""
        return self.enum.__name__ if self.enum else None

    @property
    def database_type_enum(self) -> str | None:
        """The enum's name in ``Database['public']['Enums']`` (``goal_type``)."""
        return snake(self.enum.__name__) if self.enum else None

    @property
    def json_object(self) -> bool:
        return self.sql_type in ("json", "jsonb")

    @property
    def database_fills(self) -> bool:
        """An insert may leave it out and the database supplies a valid value."""
        if self.identity or self.derived:
            return True
        if self.default is None:
            return False
        value = default_literal(self.default)
        return value is NOT_LITERAL or self.accepts(value)

    @property
    def insert_optional(self) -> bool:
        return self.nullable or self.database_fills

    @property
    def bounds(self) -> tuple[int | None, int | None]:
        """The numeric range: the type's (integers), narrowed by the CHECKs."""
        low, high = INTEGER_RANGES.get(self.sql_type, (None, None))
        if self.minimum is not None:
            low = self.minimum if low is None else max(low, self.minimum)
        if self.maximum is not None:
            high = self.maximum if high is None else min(high, self.maximum)
        return low, high

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` passes the rules known for the column."""
        if value is None:
            return self.nullable
        if self.enum_values is not None and value not in self.enum_values:
            return False
        if isinstance(value, str):
            if self.not_blank and not re.search(rules.NOT_BLANK_PATTERN, value):
                return False
            if self.max_chars is not None and len(value) > self.max_chars:
                return False
        if self.json_object and not isinstance(value, dict):
            return False
        if isinstance(value, int) and self.minimum is not None and value < self.minimum:
            return False
        return not (
            isinstance(value, int) and self.maximum is not None and value > self.maximum
        )


@dataclass
class TableSchema:
    name: str
    class_name: str
    doc: str
    columns: list[Column]
    foreign_keys: list[ForeignKey]
    database_only_rules: list[str]
    view: bool = False
    """A view (:mod:`planner_app.schema_export.views`): read only."""
    row_of: tuple[str, str] | None = None
    """A view's table, one row of the view per row of it, and the view's
    column that copies the table's primary key."""
    view_relationships: list[ForeignKey] = field(default_factory=list)
    """Relationships to or from views, as PostgREST infers them
    (:func:`~planner_app.schema_export.views.view_relationships`)."""

    @property
    def read_only(self) -> bool:
        return self.view or self.name in READ_ONLY_TABLES

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


NOT_LITERAL = object()


def default_literal(expression: str) -> Any:
    """
    The value of a column default such as ``'draft'::character varying``,
    ``1``, ``false``, ``'{}'::jsonb`` or ``NULL::text`` (``None``);
    ``NOT_LITERAL`` for an expression (``gen_random_uuid()``, ``CURRENT_DATE``).
    """
    text = re.fullmatch(r"'((?:[^']|'')*)'::([\w ]+)", expression)
    if text:
        value = text.group(1).replace("''", "'")
        return json.loads(value) if text.group(2) in ("json", "jsonb") else value
    if re.fullmatch(r"NULL(?:::[\w ]+)?", expression):
        return None
    if re.fullmatch(r"-?\d+", expression):
        return int(expression)
    if expression in ("true", "false"):
        return expression == "true"
    return NOT_LITERAL


_COMPARISON = re.compile(r"(\w+) (>=|<=|>|<) (\d+)")


def integer_bounds(definition: str) -> tuple[str, int | None, int | None] | None:
    """
    The column and bounds of a CHECK that bounds one integer column, as
    PostgreSQL prints it, or ``None`` for any other CHECK.

    The grammar: ``CHECK <c> <op> <n>``, optionally followed by
    ``AND <c> <op> <n>`` on the same column, each comparison possibly in
    parentheses; ``<c>`` a column name, ``<op>`` one of ``>= <= > <``, ``<n>``
    a non-negative integer literal (``BETWEEN 1 AND 12`` prints this way).
    """
    body = definition.removeprefix("CHECK ").removesuffix(" NOT VALID")
    matches = [_COMPARISON.fullmatch(part.strip("() ")) for part in body.split(" AND ")]
    if not all(matches) or len({m[1] for m in matches if m}) != 1:
        return None
    low: int | None = None
    high: int | None = None
    for match in matches:
        assert match is not None
        op, value = match[2], int(match[3])
        if op in (">=", ">"):
            bound = value + (op == ">")
            low = bound if low is None else max(low, bound)
        else:
            bound = value - (op == "<")
            high = bound if high is None else min(high, bound)
    return matches[0][1], low, high  # type: ignore[index]


def build_tables(catalog: dict[str, CatalogTable]) -> list[TableSchema]:
    """
    The planner tables as the front end sees them, in the domain order of
    :data:`planner_app.tables.TABLES`.

    :raises SchemaExportError:
        When the database's tables or columns differ from the Piccolo tables
        (the database is not migrated), or ``rules.py`` names a column that
        does not exist or leaves a text or JSON column without a maximum.
    """
    tables = [_table_schema(table, catalog) for table in TABLES]
    _check_rules_name_real_columns(tables)
    return tables


def _table_schema(table: type[Table], catalog: dict[str, CatalogTable]) -> TableSchema:
    name = table._meta.tablename
    live = catalog.get(name)
    if live is None:
        raise SchemaExportError(
            f"the database has no table {name}: run "
            "`piccolo migrations forwards all` first"
        )
    models = {c._meta.db_column_name: c for c in table._meta.columns}
    difference = sorted(set(models) ^ set(live.columns))
    if difference:
        raise SchemaExportError(
            f"table {name} differs from planner_app/tables.py in "
            f"{', '.join(difference)}: migrate the database"
        )
    columns = []
    # In the order of the model, whatever order the migrations left.
    for column_name, model in models.items():
        found = live.columns[column_name]
        key = f"{name}.{column_name}"
        column = Column(
            name=column_name,
            sql_type=found.sql_type,
            nullable=found.nullable,
            default=found.default,
            identity=found.identity,
            primary_key=model._meta.primary_key,
            derived=found.filled_by_trigger,
            enum=model._meta.choices,
            max_chars=rules.TEXT_MAX_CHARS.get(key),
            not_blank=key in rules.NOT_BLANK_COLUMNS,
            json_max_bytes=rules.JSON_MAX_BYTES.get(key),
            rfc_9562=table in DOMAIN_TABLES
            and column_name in rules.RFC_9562_ID_COLUMNS,
        )
        if column.max_chars is None and found.sql_type == "varchar" and not column.enum:
            column.max_chars = found.max_length
        # The date range bounds every date a client writes; the dates a
        # trigger derives from them follow.
        if found.sql_type == "date" and not column.derived:
            column.date_min, column.date_max = rules.DATE_MIN, rules.DATE_MAX
        columns.append(column)
    schema = TableSchema(
        name=name,
        class_name=table.__name__,
        doc=" ".join((table.__doc__ or "").split()),
        columns=columns,
        foreign_keys=list(live.foreign_keys),
        database_only_rules=[],
    )
    _apply_constraints(schema, live)
    return schema


def _described_by_rules(column: Column) -> bool:
    return bool(
        column.enum
        or column.not_blank
        or column.max_chars is not None
        or column.json_object
        or column.date_min is not None
        or column.rfc_9562
    )


def _apply_constraints(schema: TableSchema, live: CatalogTable) -> None:
    for check in live.checks:
        bounds = integer_bounds(check.definition)
        if (
            bounds
            and check.columns == (bounds[0],)
            and schema.column(bounds[0]).sql_type in INTEGER_RANGES
        ):
            column = schema.column(bounds[0])
            low, high = bounds[1], bounds[2]
            if low is not None:
                column.minimum = (
                    low if column.minimum is None else max(low, column.minimum)
                )
            if high is not None:
                column.maximum = (
                    high if column.maximum is None else min(high, column.maximum)
                )
        elif not (
            len(check.columns) == 1
            and _described_by_rules(schema.column(check.columns[0]))
        ):
            schema.database_only_rules.append(check.name)
    for key in live.foreign_keys:
        for name in key.columns:
            schema.column(name).foreign_key = True
    primary_key = {c.name for c in schema.columns if c.primary_key}
    for unique in live.unique_keys:
        # A unique key holding the primary key says nothing new (it only
        # serves the same-owner foreign keys).
        if unique.primary or primary_key <= set(unique.columns):
            continue
        schema.database_only_rules.append(unique.name)
        note = unique.name
        if unique.predicate:
            note += f" where {_plain_sql(unique.predicate)}"
        for name in unique.columns:
            schema.column(name).unique_keys.append(note)
    schema.database_only_rules += live.exclusions
    schema.database_only_rules.sort()


def _plain_sql(expression: str) -> str:
    """``((status)::text = 'active'::text)`` -> ``status = 'active'``."""
    expression = re.sub(r"::(?:character varying|[a-z]+)(?:\[\])?", "", expression)
    expression = re.sub(r"\((\w+)\)", r"\1", expression)
    while expression.startswith("(") and expression.endswith(")"):
        expression = expression[1:-1]
    return expression


def _check_rules_name_real_columns(tables: list[TableSchema]) -> None:
    columns = {f"{t.name}.{c.name}": c for t in tables for c in t.columns}
    for rule, keys in (
        ("TEXT_MAX_CHARS", rules.TEXT_MAX_CHARS),
        ("NOT_BLANK_COLUMNS", rules.NOT_BLANK_COLUMNS),
        ("JSON_MAX_BYTES", rules.JSON_MAX_BYTES),
    ):
        for key in sorted(keys):
            column = columns.get(key)
            wanted = ("json", "jsonb") if rule == "JSON_MAX_BYTES" else TEXT_TYPES
            if column is None or column.sql_type not in wanted:
                kind = "JSON" if rule == "JSON_MAX_BYTES" else "text"
                raise SchemaExportError(
                    f"planner_app/rules.py {rule} names {key}, which is not a "
                    f"{kind} column of planner_app/tables.py"
                )
    for table in tables:
        if table.read_only:
            continue
        for column in table.columns:
            key = f"{table.name}.{column.name}"
            if column.sql_type == "text" and key not in rules.TEXT_MAX_CHARS:
                raise SchemaExportError(
                    f"{key} has no maximum: add it to planner_app/rules.py "
                    "TEXT_MAX_CHARS"
                )
            if column.json_object and key not in rules.JSON_MAX_BYTES:
                raise SchemaExportError(
                    f"{key} has no maximum: add it to planner_app/rules.py "
                    "JSON_MAX_BYTES"
                )


def enums(tables: list[TableSchema]) -> dict[str, type[Enum]]:
    """Every enumeration of the tables by its name, in first-use order."""
    found: dict[str, type[Enum]] = {}
    for table in tables:
        for column in table.columns:
            if column.enum:
                found.setdefault(column.enum.__name__, column.enum)
    return found
