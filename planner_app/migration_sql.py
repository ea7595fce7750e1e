"""
Raw SQL steps of migrations, kept in ``.sql`` files beside each migration.

A migration ``planner_app_<id>.py`` that needs SQL Piccolo cannot express
reads ``planner_app_<id>.forwards.sql`` and ``planner_app_<id>.backwards.sql``
from its own folder (so linters can read the SQL, and the forwards and
backwards halves sit side by side). Both run inside the migration's
transaction, so a failure leaves nothing half-applied.
"""

from __future__ import annotations

from pathlib import Path

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

DIRECTIONS = ("forwards", "backwards")


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


def add_sql_steps(manager: MigrationManager, migration_file: str) -> MigrationManager:
    """
    Attach the migration's forwards and backwards SQL files to ``manager``.
    """
    forwards_sql = sql_path(migration_file, "forwards").read_text()
    backwards_sql = sql_path(migration_file, "backwards").read_text()

    async def run_forwards() -> None:
        await execute_in_migration(forwards_sql)

    async def run_backwards() -> None:
        await execute_in_migration(backwards_sql)

    # Kept on the steps so `piccolo planner_app migrate --dry_run` can show
    # the SQL without running it.
    run_forwards.sql = forwards_sql  # type: ignore[attr-defined]
    run_backwards.sql = backwards_sql  # type: ignore[attr-defined]
    manager.add_raw(run_forwards)
    manager.add_raw_backwards(run_backwards)
    return manager
