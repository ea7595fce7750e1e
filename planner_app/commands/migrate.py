"""
``piccolo planner_app migrate``: the deploy command (see planner_app/migrate.py).
"""

from __future__ import annotations

import asyncpg

from planner_app import migrate as deploy
from planner_app.commands import cli_options


@cli_options
async def migrate(
    check: bool = False,
    dry_run: bool = False,
    check_models: bool = False,
    lock_timeout: int = deploy.DEFAULT_LOCK_TIMEOUT,
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
    """
    if sum((check, dry_run, check_models)) > 1:
        deploy.fail("use only one of --check, --dry_run, --check_models")
    if lock_timeout < 0:
        deploy.fail("--lock_timeout must be 0 (no limit) or a number of seconds")
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
            applied = await deploy.apply_pending(lock_timeout=lock_timeout)
            if applied:
                print(f"{len(applied)} migration(s) applied")
            else:
                print("No pending migrations: the database is up to date")
    except deploy.MigrateError as error:
        deploy.fail(str(error))
    except (asyncpg.PostgresError, OSError) as error:
        deploy.fail(f"database error: {' '.join(str(error).split())}")


async def _check() -> None:
    await deploy.check_connection()
    pending = await deploy.pending_migrations()
    if not pending:
        print("No pending migrations")
        return
    for migration in pending:
        print(f"Pending {migration.label}: {migration.description}")
    deploy.fail(
        f"{len(pending)} pending migration(s); "
        "apply them with `piccolo planner_app migrate`"
    )


async def _check_models() -> None:
    statements = await deploy.model_drift()
    if not statements:
        print("tables.py matches the migrations")
        return
    for statement in statements:
        print(statement)
    deploy.fail(
        "tables.py has changes no migration captures; create one with "
        "`piccolo migrations new planner_app --auto`"
    )
