"""
Raw SQL steps of migrations, kept in ``.sql`` files beside each migration.

A migration ``<module>.py`` that needs SQL Piccolo cannot express reads
``<module>.forwards.sql`` and ``<module>.backwards.sql`` from its own folder
(so linters can read the SQL, and the two halves sit side by side, like
Django's ``RunSQL(sql, reverse_sql)``).

Both run inside the migration's one transaction, and in mirror order:

- forwards: Piccolo's operations (``create table`` ...), **then** the
  forwards SQL;
- backwards: the backwards SQL, **then** Piccolo reverses its operations.

Piccolo itself runs raw steps *before* its operations in both directions,
which would leave a table created by a migration unprotected until a later
migration's transaction: :class:`MigrationManager` adds the "after" half.
So a migration can create a table and make it private (row-level security,
grants, policies, audit) before its transaction commits
(``docs/migrations.md``, "Adding a table").
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from piccolo.apps.migrations.auto.migration_manager import (
    MigrationManager as PiccoloMigrationManager,
)
from piccolo.engine.finder import engine_finder

from planner_app import rollback_guard

DIRECTIONS = ("forwards", "backwards")

Step = Callable[[], Awaitable[None]]

# Piccolo's operation collections whose tables it visits in set order
# (``list({...})``), which changes from one Python process to the next.
_COLLECTIONS = (
    "add_columns",
    "drop_columns",
    "rename_columns",
    "alter_columns",
    "add_constraints",
    "drop_constraints",
)


@functools.cache
def _in_written_order(collection_class: type) -> type:
    """``collection_class`` visiting its tables in the migration's order."""
    items = dataclasses.fields(collection_class)[0].name

    class InWrittenOrder(collection_class):
        @property
        def table_class_names(self) -> list[str]:
            return list(dict.fromkeys(i.table_class_name for i in getattr(self, items)))

    InWrittenOrder.__name__ = collection_class.__name__
    return InWrittenOrder


@dataclass
class MigrationManager(PiccoloMigrationManager):
    """
    Piccolo's migration manager plus steps that run after its operations, in
    the same transaction (the migration's ``add_raw`` steps still run before
    them), and its operations in the order the migration lists them, so a
    migration runs (and ``export_schema`` writes it) the same way every time.
    """

    raw_after: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in _COLLECTIONS:
            collection = getattr(self, name)
            ordered = _in_written_order(type(collection))
            setattr(self, name, ordered(**vars(collection)))

    def add_raw_after(self, step: Step) -> None:
        """
        :param step:
            Runs after the auto operations when migrating forwards.
        """
        self.raw_after.append(step)

    async def run(self, backwards: bool = False) -> None:
        engine = engine_finder()
        if engine is None:
            raise RuntimeError("No Piccolo engine configured")
        # Piccolo's own run() joins this transaction (nested transactions
        # are shared), so the steps below commit or roll back with it.
        async with engine.transaction() as transaction:
            if backwards and not self.preview:
                # Never deletes user data silently (planner_app/rollback_guard.py).
                await rollback_guard.guarded(
                    transaction,
                    self.app_name,
                    self.migration_id,
                    functools.partial(
                        PiccoloMigrationManager.run, self, backwards=True
                    ),
                    chain=rollback_guard.piccolo_chain(self.migration_id),
                )
                return
            await super().run(backwards=backwards)
            if backwards or self.preview:
                return
            for step in self.raw_after:
                result = step()
                if inspect.isawaitable(result):
                    await result


def sql_path(migration_file: str, direction: str) -> Path:
    """
    :param migration_file:
        The ``__file__`` of the migration module.
    :param direction:
        ``forwards`` or ``backwards``.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}")
    path = Path(migration_file)
    return path.with_name(f"{path.stem}.{direction}.sql")


async def execute_in_migration(sql: str) -> None:
    """
    Run ``sql`` (several statements allowed) on the connection of the
    migration's transaction.
    """
    engine = engine_finder()
    if engine is None:
        raise RuntimeError("No Piccolo engine configured")
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("SQL steps must run inside the migration transaction")
    await transaction.connection.execute(sql)


def sql_step(sql: str) -> Step:
    """A step that runs ``sql``; the text stays readable on its ``sql`` attribute."""

    async def run() -> None:
        await execute_in_migration(sql)

    # Kept on the step so `piccolo planner_app migrate --dry-run` can show
    # the SQL without running it.
    run.sql = sql  # type: ignore[attr-defined]
    return run


def add_sql_steps(manager: MigrationManager, migration_file: str) -> MigrationManager:
    """
    Attach the migration's forwards SQL (after its operations) and backwards
    SQL (before Piccolo reverses them) to ``manager``.
    """
    if not isinstance(manager, MigrationManager):
        raise TypeError(
            "use planner_app.migration_sql.MigrationManager, whose forwards SQL "
            "runs after the migration's operations"
        )
    manager.add_raw_after(sql_step(sql_path(migration_file, "forwards").read_text()))
    manager.add_raw_backwards(
        sql_step(sql_path(migration_file, "backwards").read_text())
    )
    return manager
