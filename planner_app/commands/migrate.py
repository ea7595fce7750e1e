"""
``piccolo planner_app migrate``: the deploy command (see planner_app/migrate.py).
"""

from __future__ import annotations

import asyncpg

from planner_app import migrate as deploy
from planner_app.commands import MIGRATE_HINT, CommandError, cli_command


@cli_command
async def migrate(
    check: bool = False,
    dry_run: bool = False,
    check_models: bool = False,
    lock_timeout: int = deploy.DEFAULT_LOCK_TIMEOUT,
    deploy_lock_timeout: int | None = None,
) -> None:
    """
    Apply every pending migration under a PostgreSQL advisory lock, each
    migration in one transaction with its record, so concurrent deployers
    queue and a failure leaves nothing half-applied.

    :param check:
        Apply nothing; list the pending migrations and exit 1 if there are
        any (a deploy gate).
    :param dry_run:
        Apply nothing; print the SQL the pending migrations would run.
    :param check_models:
        Apply nothing; exit 1 if tables.py has changes no migration
        captures (like ``piccolo migrations new --auto`` would find).
    :param lock_timeout:
        Seconds a migration may wait for a table lock before it is rolled
        back (0 keeps the server's setting).
    :param deploy_lock_timeout:
        Seconds to wait for the deploy lock (held by another deployer, or
        by any session that took its key) before giving up with the
        holder's pid; default: --lock-timeout (30 when that is 0).
    """
    if sum((check, dry_run, check_models)) > 1:
        raise CommandError("use only one of --check, --dry-run, --check-models")
    if lock_timeout < 0:
        raise CommandError("--lock-timeout must be 0 (no limit) or a number of seconds")
    if deploy_lock_timeout is not None and deploy_lock_timeout < 1:
        raise CommandError(
            "--deploy-lock-timeout must be a number of seconds, 1 or more"
        )
    try:
        if check_models:
            await _check_models()
        elif check:
            await _check()
        elif dry_run:
            pending = await deploy.preview()
            if not pending:
                print("No pending migrations: nothing would run")
        else:
            applied = await deploy.apply_pending(
                lock_timeout=lock_timeout, deploy_lock_timeout=deploy_lock_timeout
            )
            if applied:
                print(f"{len(applied)} migration(s) applied")
            else:
                print("No pending migrations: the database is up to date")
    except deploy.MigrateError as error:
        raise CommandError(str(error)) from error
    except (asyncpg.PostgresError, OSError) as error:
        raise CommandError(f"database error: {error}") from error


async def _check() -> None:
    await deploy.check_connection()
    pending = await deploy.pending_migrations()
    if not pending:
        print("No pending migrations")
        return
    for migration in pending:
        print(f"Pending {migration.label}: {migration.description}")
    raise CommandError(f"{len(pending)} pending migration(s); {MIGRATE_HINT}")


async def _check_models() -> None:
    statements = await deploy.model_drift()
    if not statements:
        print("tables.py matches the migrations")
        return
    for statement in statements:
        print(statement)
    raise CommandError(
        "tables.py has changes no migration captures; create one with "
        "`piccolo migrations new planner_app --auto`"
    )
