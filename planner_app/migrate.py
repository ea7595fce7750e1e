"""
Safe deploys: apply pending migrations under a PostgreSQL advisory lock.

``piccolo migrations forwards all`` takes no lock and records a migration
only after the migration's transaction has committed, so two deployers
starting at once collide, and a crash between the commit and the record
leaves a migration applied but unrecorded. :func:`apply_pending` instead
runs every pending migration in its own transaction that

1. takes the transaction-level advisory lock :data:`LOCK_KEY` (a second
   deployer queues here, for at most ``deploy_lock_timeout`` seconds: any
   session can take the key, see ``planner_app/deploy_lock.py``),
2. re-reads, under the lock, whether the migration is recorded (it skips
   what another deployer applied while it waited),
3. runs the migration (raw SQL steps and Piccolo's operations),
4. inserts the migration's row into Piccolo's ``migration`` table,

and commits, so a migration and its record commit together or not at all.
The lock is released with the transaction, so it can never outlive the work
it protects (a lost connection rolls the work back and frees the lock), and
another deployer can never interleave a half-applied migration.

One transaction per migration, not one for all pending ones: DDL holds
``ACCESS EXCLUSIVE`` locks until commit, so a single transaction would block
the application on every touched table for the whole deploy; and it is the
unit ``piccolo migrations backwards`` undoes, so a failure leaves the
database at a state Piccolo can name (every migration before the failing one
applied and recorded, the failing one and later ones not).

:func:`pending_migrations` (``--check``), :func:`preview` (``--dry_run``)
and :func:`model_drift` (``--check_models``) write nothing.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import asyncpg
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import AppConfig, MigrationModule
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

from planner_app import deploy_lock
from planner_app.deploy_lock import LOCK_KEY as LOCK_KEY  # the key deployers lock
from planner_app.deploy_lock import DeployLockBusy

# SQLSTATEs raised when a concurrent, unlocked ``create table migration``
# (Piccolo's CLI runs one before every app command) wins the race.
_ALREADY_EXISTS = {"42P07", "23505"}

DEFAULT_LOCK_TIMEOUT = 30


class MigrateError(RuntimeError):
    """A deploy step failed; the message says what to fix."""


@dataclass(frozen=True)
class PendingMigration:
    app_name: str
    migration_id: str
    description: str
    module: MigrationModule

    @property
    def label(self) -> str:
        return f"{self.app_name} {self.migration_id}"


def _engine() -> PostgresEngine:
    engine = engine_finder()
    if not isinstance(engine, PostgresEngine):
        raise MigrateError("piccolo_conf.py must configure a PostgresEngine as DB")
    return engine


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


async def check_connection(engine: PostgresEngine | None = None) -> None:
    """
    :raises MigrateError:
        When the database cannot be reached or refuses the login.
    """
    engine = engine or _engine()
    try:
        connection = await engine.get_new_connection()
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise MigrateError(
            f"cannot connect to the database: {_one_line(error)}; check DATABASE_URL"
        ) from error
    await connection.close()


async def _busy(
    engine: PostgresEngine, error: DeployLockBusy, applied: int
) -> MigrateError:
    """The error naming the sessions that held the deploy lock."""
    try:
        connection = await engine.get_new_connection()
        try:
            found = await deploy_lock.holders(connection)
        finally:
            await connection.close()
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        found = None
    outcome = (
        f"{applied} migration(s) applied by this run before it"
        if applied
        else "nothing applied"
    )
    return MigrateError(deploy_lock.busy_message(error.timeout, found, outcome))


async def ensure_migration_table(
    engine: PostgresEngine | None = None,
    deploy_lock_timeout: int = DEFAULT_LOCK_TIMEOUT,
) -> None:
    """
    Create Piccolo's ``migration`` table when missing, under the lock, so
    concurrent deployers never race to create it.

    :raises DeployLockBusy:
        When the deploy lock stayed busy for ``deploy_lock_timeout`` seconds.
    """
    engine = engine or _engine()
    for _attempt in range(3):
        try:
            async with engine.transaction() as transaction:
                await deploy_lock.take(transaction.connection, deploy_lock_timeout)
                if not await Migration.table_exists().run():
                    await Migration.create_table(if_not_exists=True).run()
            return
        except asyncpg.PostgresError as error:
            # Only an unlocked creator outside this command can get here.
            if getattr(error, "sqlstate", None) not in _ALREADY_EXISTS:
                raise MigrateError(
                    f"cannot create Piccolo's migration table: {_one_line(error)}"
                ) from error
    raise MigrateError("could not create Piccolo's migration table")


def app_configs() -> list[AppConfig]:
    """Every registered app, dependencies first (like ``forwards all``)."""
    finder = BaseMigrationManager()
    return [
        finder.get_app_config(app_name) for app_name in finder.get_sorted_app_names()
    ]


async def _recorded(app_name: str) -> set[str]:
    if not await Migration.table_exists().run():
        return set()
    return set(await Migration.get_migrations_which_ran(app_name=app_name))


async def pending_migrations(
    apps: Sequence[AppConfig] | None = None,
) -> list[PendingMigration]:
    """
    The migrations whose ID is not recorded in Piccolo's ``migration``
    table, app by app in dependency order, each app's in ID order. Reads
    only (a missing ``migration`` table means nothing is applied).
    """
    finder = BaseMigrationManager()
    pending: list[PendingMigration] = []
    for app in apps if apps is not None else app_configs():
        modules = finder.get_migration_modules(app.resolved_migrations_folder_path)
        recorded = await _recorded(app.app_name)
        for migration_id in finder.get_migration_ids(modules):
            if migration_id in recorded:
                continue
            module = modules[migration_id]
            pending.append(
                PendingMigration(
                    app_name=app.app_name,
                    migration_id=migration_id,
                    description=getattr(module, "DESCRIPTION", ""),
                    module=module,
                )
            )
    return pending


async def _apply_one(
    engine: PostgresEngine,
    migration: PendingMigration,
    lock_timeout: int,
    deploy_lock_timeout: int,
) -> bool:
    """
    Apply ``migration`` and record it in one transaction. Returns False when
    another deployer recorded it while this one waited for the lock.
    """
    async with engine.transaction() as transaction:
        await deploy_lock.take(transaction.connection, deploy_lock_timeout)
        already = await Migration.exists().where(
            (Migration.name == migration.migration_id)
            & (Migration.app_name == migration.app_name)
        )
        if already:
            return False
        if lock_timeout:
            # Set after the advisory lock, which has a bound of its own.
            await transaction.connection.execute(
                f"set local lock_timeout = '{int(lock_timeout)}s'"
            )
        manager = await migration.module.forwards()
        if isinstance(manager, MigrationManager) and not manager.fake:
            # Piccolo prints a progress fragment per migration; the caller
            # reports the outcome instead.
            with contextlib.redirect_stdout(io.StringIO()):
                # Joins this transaction (Piccolo nests transactions).
                await manager.run()
        await Migration.insert(
            Migration(name=migration.migration_id, app_name=migration.app_name)
        ).run()
    return True


async def apply_pending(
    report: Callable[[str], Any] = print,
    lock_timeout: int = DEFAULT_LOCK_TIMEOUT,
    deploy_lock_timeout: int | None = None,
) -> list[PendingMigration]:
    """
    Apply every pending migration of every app, each in one transaction with
    its bookkeeping row, under the advisory lock. Returns what this call
    applied (not what a concurrent deployer applied).

    :param lock_timeout:
        Seconds a migration's statement may wait for a table lock (the
        application's queries queue behind a waiting DDL statement) before
        the migration is rolled back; 0 keeps the server's setting.
    :param deploy_lock_timeout:
        Seconds to wait for the deploy lock before each migration (and
        before creating Piccolo's ``migration`` table); ``None`` takes
        ``lock_timeout``, or :data:`DEFAULT_LOCK_TIMEOUT` when that is 0.
        Always bounded: any session can hold the key.

    :raises MigrateError:
        Naming the failing migration and the database's message; the failing
        migration left nothing behind, earlier ones stay applied.
    """
    if deploy_lock_timeout is None:
        deploy_lock_timeout = lock_timeout or DEFAULT_LOCK_TIMEOUT
    if deploy_lock_timeout < 1:
        raise MigrateError("the deploy lock timeout must be 1 second or more")
    engine = _engine()
    await check_connection(engine)
    try:
        await ensure_migration_table(engine, deploy_lock_timeout)
    except DeployLockBusy as error:
        raise await _busy(engine, error, 0) from error
    applied: list[PendingMigration] = []
    for migration in await pending_migrations():
        try:
            done = await _apply_one(
                engine, migration, lock_timeout, deploy_lock_timeout
            )
        except DeployLockBusy as error:
            raise await _busy(engine, error, len(applied)) from error
        except Exception as error:
            # The database's message, or a broken migration module's error.
            raise MigrateError(
                f"migration {migration.label} failed and was rolled back "
                f"({len(applied)} applied by this run before it): {_one_line(error)}"
            ) from error
        if done:
            applied.append(migration)
            report(f"Applied {migration.label}: {migration.description}")
        else:
            report(f"Skipped {migration.label}: applied by a concurrent deploy")
    return applied


class _RollbackPreview(Exception):
    """Raised to roll back the preview transaction."""


def _raw_sql(steps: list[Any]) -> list[str]:
    lines = []
    for step in steps:
        sql = getattr(step, "sql", None)
        if sql is None:
            name = getattr(step, "__qualname__", repr(step))
            lines.append(f"-- raw Python step {name}: not previewable")
        else:
            lines.append(sql.rstrip())
    return lines


async def preview(report: Callable[[str], Any] = print) -> list[PendingMigration]:
    """
    Print the SQL each pending migration would run: its ``add_raw`` steps,
    Piccolo's operations in preview mode, then the ``.sql`` steps that
    ``planner_app.migration_sql`` runs after them. Runs inside a transaction
    that is always rolled back, so nothing is
    written even if a step did touch the database.
    """
    engine = _engine()
    await check_connection(engine)
    pending = await pending_migrations()
    try:
        async with engine.transaction():
            for migration in pending:
                report(f"-- {migration.label}: {migration.description}")
                manager = await migration.module.forwards()
                if not isinstance(manager, MigrationManager):
                    continue
                for sql in _raw_sql(manager.raw):
                    report(sql)
                manager.preview = True
                output = io.StringIO()
                with contextlib.redirect_stdout(output):
                    await manager.run()
                # Drop Piccolo's "- <id> [preview forwards]..." prefix.
                operations = output.getvalue().split("... ", 1)[-1].strip()
                if operations:
                    report(operations)
                # planner_app.migration_sql's steps run after the operations.
                for sql in _raw_sql(getattr(manager, "raw_after", [])):
                    report(sql)
            raise _RollbackPreview
    except _RollbackPreview:
        pass
    return pending


async def model_drift(app: AppConfig | None = None) -> list[str]:
    """
    The statements ``piccolo migrations new <app> --auto`` would write: the
    difference between the app's table classes and the schema its migration
    files build. Empty when every model change is captured by a migration.
    Writes no file and does not touch the database.

    :param app:
        Defaults to the ``planner_app`` app (tests pass a modified copy).
    """
    # Imported here: it brings jinja2 and Piccolo's templates.
    from piccolo.apps.migrations.commands.new import AutoMigrationManager

    if app is None:
        app = BaseMigrationManager().get_app_config("planner_app")
    # A column dropped and another added look like a rename, which Piccolo
    # asks about; either answer yields statements, "n" keeps it quiet.
    with contextlib.redirect_stdout(io.StringIO()):
        alter_statements = await AutoMigrationManager(
            auto_input="n"
        ).get_alter_statements(app_config=app)
    return list(chain.from_iterable(i.statements for i in alter_statements))
