"""
Seed rows by column name, checked against the Piccolo tables.

Rows are added with :meth:`Batch.add`, naming each column
(``batch.add(Goal, id=..., title=...)``); its one caller is
:func:`seeds.users.add_user`, which the generator and the fixtures share.
The first row of a table with a given set of names is checked against the
table in ``planner_app/tables.py``:

- every name is a column of the table;
- no name is a column the database maintains (:func:`maintained_columns`):
  the seed leaves those to the database, as every client must;
- every required column (NOT NULL, no default, not maintained) is named.

So a new column with a default, or a nullable one, needs no change here: the
database fills it. A new required column makes the first row of its table
fail with :class:`~seeds.SeedError` naming it (``tests/test_seed_rows.py``
finds it without a database).

Rows of one table and one set of names are copied with one ``COPY`` per
batch (:func:`seeds.writer.write_batch`).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from piccolo.columns import UUID, Text, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from planner_app.tables import DOMAIN_TABLES
from seeds import SeedError


class AuthUser(Table, tablename="users", schema="auth"):
    """
    A user of Supabase Auth (``auth.users``), or of the compatibility table
    on plain PostgreSQL: only the columns every variant has. The writer adds
    Supabase's own columns where the table has them.
    """

    id = UUID(primary_key=True)
    email = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), null=False)
    updated_at = Timestamptz(default=TimestamptzNow(), null=False)


SEEDED_TABLES: tuple[type[Table], ...] = (AuthUser, *DOMAIN_TABLES)
"""Parents before children: the order rows are written in."""

MAINTAINED_IN_EVERY_TABLE = frozenset({"created_at", "updated_at"})
"""Set by the database on every planner table (client values are ignored)."""

DERIVED_COLUMNS: dict[str, frozenset[str]] = {
    "cycle": frozenset({"end_date", "locked_at"}),
    "task": frozenset({"cycle_id"}),
    "weekly_plan": frozenset({"week_start_date"}),
    "plan_item": frozenset({"cycle_id"}),
}
"""Filled by the database's triggers from other columns (docs/schema.md)."""


def table_name(table: type[Table]) -> str:
    """``schema.table`` outside ``public``, else the bare table name."""
    schema = table._meta.schema
    return f"{schema}.{table._meta.tablename}" if schema else table._meta.tablename


def column_names(table: type[Table]) -> tuple[str, ...]:
    return tuple(column._meta.db_column_name for column in table._meta.columns)


def maintained_columns(table: type[Table]) -> frozenset[str]:
    """The columns of ``table`` the database fills: a seed never writes them."""
    if table is AuthUser:
        # Supabase's table, written by Supabase Auth: the seed plays its part.
        return frozenset()
    return MAINTAINED_IN_EVERY_TABLE | DERIVED_COLUMNS.get(
        table._meta.tablename, frozenset()
    )


def required_columns(table: type[Table]) -> tuple[str, ...]:
    """
    The columns a row of ``table`` must name: NOT NULL, without a default
    and not filled by the database.
    """
    maintained = maintained_columns(table)
    return tuple(
        column._meta.db_column_name
        for column in table._meta.columns
        if not column._meta.null
        and column.default is None
        and column._meta.db_column_name not in maintained
    )


@functools.cache
def check_columns(table: type[Table], names: tuple[str, ...]) -> tuple[str, ...]:
    """
    ``names`` if a row of ``table`` may name exactly those columns, else
    :class:`~seeds.SeedError` naming what is wrong.
    """
    name = table_name(table)
    unknown = [n for n in names if n not in column_names(table)]
    if unknown:
        raise SeedError(f"{name} has no column {', '.join(unknown)}")
    maintained = sorted(maintained_columns(table).intersection(names))
    if maintained:
        raise SeedError(
            f"{name}.{', '.join(maintained)} is set by the database; "
            "the seed must leave it out"
        )
    missing = [n for n in required_columns(table) if n not in names]
    if missing:
        raise SeedError(
            f"the seed gives no value for the required column "
            f"{', '.join(f'{name}.{n}' for n in missing)}; "
            "add it to seeds/users.py and fill it in seeds/generate.py and "
            "seeds/fixtures/__init__.py"
        )
    return names


Rows = dict[tuple[str, ...], list[tuple[Any, ...]]]
"""One table's rows, grouped by the columns they name (one COPY each)."""


@dataclass
class Batch:
    """Rows of several users, per table, plus the cycles to lock last."""

    rows: dict[type[Table], Rows] = field(
        default_factory=lambda: {table: {} for table in SEEDED_TABLES}
    )
    locks: list[uuid.UUID] = field(default_factory=list)
    users: int = 0

    def add(self, table: type[Table], **values: Any) -> None:
        """Add a row of ``table``, its values by column name."""
        columns = check_columns(table, tuple(values))
        by_columns = self.rows.setdefault(table, {})
        by_columns.setdefault(columns, []).append(tuple(values.values()))

    def count(self, table: type[Table]) -> int:
        return sum(len(records) for records in self.rows.get(table, {}).values())

    def row_count(self) -> int:
        return sum(self.count(table) for table in self.rows)

    def values(self, table: type[Table], column: str) -> list[Any]:
        """The values of one column of ``table``, in the order rows were added."""
        found = []
        for columns, records in self.rows[table].items():
            position = columns.index(column)
            found += [record[position] for record in records]
        return found


def time_ordered_id(at: datetime, random_bits: int) -> uuid.UUID:
    """
    A version 7 UUID (RFC 9562): ``at`` to the millisecond, then 74 bits of
    ``random_bits``. Ids of rows created at increasing times sort in that
    order, which keeps a seeded conversation in order wherever its messages'
    ``created_at`` (stamped by the database) tie.
    """
    millis = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    rand_a = (random_bits >> 62) & 0xFFF
    rand_b = random_bits & ((1 << 62) - 1)
    return uuid.UUID(int=millis << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b)
