"""
The rollback guard: a backwards migration step never deletes user data
silently (``docs/migrations.md``, "Rolling back").

It knows nothing about any one migration, so it covers every released one
(which are frozen) and every later one alike. Inside the migration's
transaction it notes the tables (and their columns) of every schema that is
not PostgreSQL's own, runs the backwards step in a savepoint and looks at
what it took away:

- a table (or materialized view) that is gone,
- a column that is gone from a table that stays,
- a table emptied by ``truncate``, or rows removed by ``delete``.

Nothing taken away: the step's result is kept. Otherwise it rolls back to
the savepoint, locks the tables concerned (so no row slips in behind the
count) and counts their rows. All empty: the step runs again, for real. Any
rows: it refuses, naming each table and its row count, and the migration's
transaction rolls back, unless the operator opted in by setting
:data:`OPT_IN_VARIABLE` (then it says what it deletes, on stderr, and
proceeds). ``--auto_agree`` answers Piccolo's question; it is not the
opt-in.

When ``piccolo migrations backwards`` reverses several migrations, the first
of them also runs all of them in a savepoint first, so a refusal comes
before any migration is reversed, not after the ones before the data-losing
step.

The refusal is a :class:`RollbackRefused`, a ``SystemExit``: Piccolo's CLI
catches every ``Exception`` and answers with its usage dump, so this is how
its ``backwards`` command ends with the project's one ``error:`` line and
exit status 1.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

OPT_IN_VARIABLE = "PLANNER_ALLOW_DATA_LOSS"
_OPT_IN_VALUES = {"1", "true", "yes"}
_SAVEPOINT = "planner_rollback_guard"

Step = Callable[[], Awaitable[Any]]

_TABLES = r"""
select c.oid, c.relfilenode,
       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'm') and c.relpersistence <> 't'
   and n.nspname <> 'information_schema'
   and n.nspname !~ '^pg_(catalog$|toast|temp_)'
   -- Tables of figures the database derives from the user's rows (the
   -- budgets' counters) hold no user data of their own.
   and coalesce(pg_catalog.obj_description(c.oid, 'pg_class'), '')
       not like 'planner\_app:derived%'
 order by 3
"""
_COLUMNS = """
select a.attrelid, a.attnum, pg_catalog.quote_ident(a.attname)
  from pg_catalog.pg_attribute a
 where a.attrelid = any($1::oid[]) and a.attnum > 0 and not a.attisdropped
"""
_DELETED = """
select relid, n_tup_del from pg_catalog.pg_stat_xact_user_tables
 where relid = any($1::oid[])
"""


class RollbackRefused(SystemExit):
    """A backwards step would delete user data and nobody opted in."""

    def __init__(self, message: str) -> None:
        self.message = message
        # Printed on stderr by the interpreter, with exit status 1.
        super().__init__(f"error: {message}")


def opted_in() -> bool:
    """Whether :data:`OPT_IN_VARIABLE` says to delete user data anyway."""
    return os.environ.get(OPT_IN_VARIABLE, "").strip().lower() in _OPT_IN_VALUES


@dataclass
class Catalog:
    """The tables, columns and per-table deletes of this transaction."""

    tables: dict[int, tuple[int, str]] = field(default_factory=dict)
    columns: dict[tuple[int, int], str] = field(default_factory=dict)
    deleted: dict[int, int] = field(default_factory=dict)


async def read_catalog(conn: asyncpg.Connection) -> Catalog:
    tables = {oid: (node, name) for oid, node, name in await conn.fetch(_TABLES)}
    oids = list(tables)
    columns = {(rel, num): name for rel, num, name in await conn.fetch(_COLUMNS, oids)}
    deleted = dict(tuple(row) for row in await conn.fetch(_DELETED, oids))
    return Catalog(tables, columns, deleted)


@dataclass(frozen=True)
class Candidate:
    """Something a step took away that may have held rows."""

    migration_id: str
    table_oid: int
    table: str
    column: str | None = None
    # Rows known to be deleted (``delete``), or None: count them.
    deleted: int | None = None

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}" if self.column else self.table

    @property
    def count_sql(self) -> str:
        where = f" where {self.column} is not null" if self.column else ""
        return f"select pg_catalog.count(*) from {self.table}{where}"


async def _emptied(conn: asyncpg.Connection, oid: int, table: str) -> bool:
    """
    Whether a table with a new file (``truncate``, or a rewrite, which
    keeps the rows) is empty; a table this role cannot read is not one the
    step emptied.
    """
    if not await conn.fetchval(
        "select pg_catalog.has_table_privilege($1::oid, 'SELECT')", oid
    ):
        return False
    return not await conn.fetchval(f"select exists (select from {table})")


async def taken_away(
    conn: asyncpg.Connection, migration_id: str, before: Catalog, after: Catalog
) -> list[Candidate]:
    found: list[Candidate] = []
    for oid, (node, table) in before.tables.items():
        if oid not in after.tables:
            found.append(Candidate(migration_id, oid, table))
            continue
        deleted = after.deleted.get(oid, 0) - before.deleted.get(oid, 0)
        if deleted > 0:
            found.append(Candidate(migration_id, oid, table, deleted=deleted))
        elif after.tables[oid][0] != node and await _emptied(conn, oid, table):
            found.append(Candidate(migration_id, oid, table))
    for (oid, number), column in before.columns.items():
        if oid in after.tables and (oid, number) not in after.columns:
            found.append(Candidate(migration_id, oid, before.tables[oid][1], column))
    return found


async def count_rows(
    conn: asyncpg.Connection, candidates: list[Candidate], lock: bool
) -> list[tuple[Candidate, int]]:
    """
    The rows each candidate held before the step (run after rolling back to
    the savepoint); ``lock`` keeps writers out until the transaction ends.
    """
    present = [
        c
        for c in candidates
        if await conn.fetchval("select pg_catalog.to_regclass($1)", c.table)
    ]
    if lock and present:
        tables = ", ".join(sorted({c.table for c in present}))
        await conn.execute(f"lock table {tables} in access exclusive mode")
    counted = []
    for candidate in present:
        rows = candidate.deleted
        if rows is None:
            rows = await conn.fetchval(candidate.count_sql)
        if rows:
            counted.append((candidate, rows))
    return counted


def describe(losses: list[tuple[Candidate, int]]) -> str:
    """``public.goal (20 rows), ... by <id>; auth.users (3 rows) by <id>``."""
    by_migration: dict[str, list[str]] = {}
    for candidate, rows in losses:
        unit = "row" if rows == 1 else "rows"
        what = "values in" if candidate.column else ""
        text = f"{what} {candidate.name} ({rows:,} {unit})".strip()
        by_migration.setdefault(candidate.migration_id, []).append(text)
    return "; ".join(
        f"{', '.join(texts)} by {migration_id}"
        for migration_id, texts in by_migration.items()
    )


def decide(app_name: str, losses: list[tuple[Candidate, int]], outcome: str) -> None:
    """
    Refuse (:class:`RollbackRefused`) unless opted in; when opted in, say on
    stderr what is deleted.
    """
    if not losses:
        return
    total = sum(rows for _, rows in losses)
    what = f"{total:,} row(s) of user data: {describe(losses)}"
    if opted_in():
        print(
            f"warning: {OPT_IN_VARIABLE} is set: rolling back {app_name} "
            f"deletes {what}",
            file=sys.stderr,
        )
        return
    raise RollbackRefused(
        f"rolling back {app_name} would delete {what}; {outcome}. Back up "
        f"first, then rerun with {OPT_IN_VARIABLE}=1 to delete it "
        '(docs/migrations.md, "Rolling back")'
    )


@dataclass(frozen=True)
class Chain:
    """The migrations one ``piccolo migrations backwards`` run reverses."""

    app_name: str
    steps: list[tuple[str, Step]]


async def probe(
    transaction: Any, steps: list[tuple[str, Step]]
) -> tuple[list[Candidate], str]:
    """
    Run ``steps`` in a new savepoint, noting what each took away; the
    savepoint stays open (:func:`keep` or :func:`undo` it). Returns the
    candidates and what the steps printed.
    """
    conn = transaction.connection
    found: list[Candidate] = []
    output = io.StringIO()
    previous = await read_catalog(conn)
    await transaction.savepoint(_SAVEPOINT)
    with contextlib.redirect_stdout(output):
        for migration_id, step in steps:
            await step()
            current = await read_catalog(conn)
            found += await taken_away(conn, migration_id, previous, current)
            previous = current
    return found, output.getvalue()


async def keep(transaction: Any) -> None:
    await transaction.connection.execute(f"release savepoint {_SAVEPOINT}")


async def undo(transaction: Any) -> None:
    await transaction.rollback_to(_SAVEPOINT)
    await keep(transaction)


async def guarded(
    transaction: Any,
    app_name: str,
    migration_id: str,
    step: Step,
    chain: Chain | None = None,
) -> None:
    """
    Run the backwards ``step`` of ``migration_id`` in ``transaction`` under
    the guard (see the module's docstring).

    :param chain:
        When this step is the first of several that a ``backwards`` run
        reverses: all of them, checked together before this one runs.
    """
    conn = transaction.connection
    if chain is not None and len(chain.steps) > 1 and not opted_in():
        found, _ = await probe(transaction, chain.steps)
        await undo(transaction)
        losses = await count_rows(conn, found, lock=False)
        decide(chain.app_name, losses, "nothing was rolled back")
    found, output = await probe(transaction, [(migration_id, step)])
    if not found:
        await keep(transaction)
        sys.stdout.write(output)
        return
    await undo(transaction)
    losses = await count_rows(conn, found, lock=True)
    decide(app_name, losses, f"{migration_id} was not rolled back")
    await step()


def piccolo_chain(migration_id: str) -> Chain | None:
    """
    The migrations ``piccolo migrations backwards`` is reversing, when this
    call comes from it and ``migration_id`` is the first of them; found in
    the calling frames (Piccolo passes no context to a migration). None
    otherwise, or if Piccolo's internals changed: each step is still
    guarded on its own (``tests/attacks/test_rollback_guard.py`` notices
    a refusal that comes too late).
    """
    from piccolo.apps.migrations.auto.migration_manager import MigrationManager
    from piccolo.apps.migrations.commands.backwards import BackwardsMigrationManager

    frame = sys._getframe(1)
    while frame is not None:
        caller = frame.f_locals.get("self")
        if isinstance(caller, BackwardsMigrationManager):
            ids = frame.f_locals.get("reversed_migration_ids")
            modules = frame.f_locals.get("migration_modules")
            if not ids or not modules or ids[0] != migration_id or caller.preview:
                return None

            def step(module: Any) -> Step:
                async def run() -> None:
                    manager = await module.forwards()
                    if isinstance(manager, MigrationManager):
                        await MigrationManager.run(manager, backwards=True)

                return run

            return Chain(caller.app_name, [(i, step(modules[i])) for i in ids])
        frame = frame.f_back
    return None
