"""
Running the project's migrations on the Supabase-like cluster with the real
CLI, one migration at a time or with one of them made to fail.
"""

from __future__ import annotations

import importlib
import os
import subprocess

from tests.support import FORK_SERVER, PROJECT_ROOT, run_cli

MIGRATIONS_PACKAGE = "planner_app.piccolo_migrations"
MIGRATIONS_FOLDER = PROJECT_ROOT / "planner_app" / "piccolo_migrations"


def migration_ids() -> list[str]:
    """
    The ``ID`` of every migration module, in the order Piccolo applies them
    (sorted).
    """
    ids = []
    for path in MIGRATIONS_FOLDER.glob("*.py"):
        if path.name == "__init__.py":
            continue
        module = importlib.import_module(f"{MIGRATIONS_PACKAGE}.{path.stem}")
        migration_id = getattr(module, "ID", None)
        if migration_id:
            ids.append(migration_id)
    return sorted(ids)


def migrate(url: str, *args: str) -> None:
    """Run ``piccolo migrations <args>`` on ``url``; it must succeed."""
    result = run_cli("migrations", *args, database_url=url)
    assert result.returncode == 0, result.stdout + result.stderr


def deploy_failing_in(migration_id: str, url: str) -> subprocess.CompletedProcess[str]:
    """``piccolo migrations forwards all`` with ``migration_id`` made to fail."""
    return FORK_SERVER.run(
        [migration_id, "migrations", "forwards", "all"],
        module="tests.supabase.failing_deploy",
        cwd=str(PROJECT_ROOT),
        env={**os.environ, "DATABASE_URL": url},
        input=None,
        timeout=300,
    )
