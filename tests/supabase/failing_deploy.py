"""
Piccolo's CLI, with one migration made to fail at its very end: after every
statement of it has run, before its transaction commits.

    python -m tests.supabase.failing_deploy <migration id> migrations forwards all

The migration's manager is run inside an outer transaction that its own
joins (Piccolo's ``engine.transaction()`` joins an enclosing one), and the
outer one is rolled back. Whatever the migration did outside its
transaction (another connection, a committed step) survives the failure,
which is what the tests look for. Piccolo's CLI reports the failure on
stdout (``deploy failed on purpose in <id>``) and exits non-zero.
"""

from __future__ import annotations

import sys
from typing import Any

from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.engine.finder import engine_finder

FAILURE = "deploy failed on purpose in {}"


class DeployFailed(Exception):
    pass


def fail_in(migration_id: str) -> None:
    """Make the migration ``migration_id`` fail once it has run."""
    load = BaseMigrationManager.get_migration_modules

    def get_migration_modules(self: Any, folder_path: str) -> dict[str, Any]:
        modules = load(self, folder_path)
        if migration_id not in modules:
            sys.exit(f"error: no migration {migration_id}")
        modules[migration_id] = FailingMigration(modules[migration_id])
        return modules

    BaseMigrationManager.get_migration_modules = get_migration_modules  # type: ignore[method-assign]


class FailingMigration:
    """A migration module whose manager fails after running."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self.ID = module.ID
        self.DESCRIPTION = getattr(module, "DESCRIPTION", "")
        self.VERSION = getattr(module, "VERSION", "")

    async def forwards(self) -> Any:
        manager = await self._module.forwards()
        run = manager.run

        async def run_then_fail(*args: Any, **kwargs: Any) -> None:
            engine = engine_finder()
            assert engine is not None
            async with engine.transaction():
                await run(*args, **kwargs)
                raise DeployFailed(FAILURE.format(self.ID))

        manager.run = run_then_fail
        return manager


def main() -> None:
    migration_id, *command = sys.argv[1:]
    fail_in(migration_id)
    sys.argv = ["piccolo", *command]
    from piccolo.main import main as piccolo

    piccolo()


if __name__ == "__main__":
    main()
