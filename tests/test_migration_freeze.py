"""
Released migrations are frozen (docs/migrations.md, "The freeze rule"):
``planner_app/piccolo_migrations/released.sha256`` pins the SHA-256 of every
released migration module, of its SQL files and of the file the Supabase CLI
applies for it (``supabase/migrations/``, named relative to the manifest's
folder), so editing one fails here and a change has to be a new migration.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

import pytest

from planner_app.migration_sql import DIRECTIONS
from planner_app.schema_export.supabase_migrations import MIGRATIONS_FOLDER, file_name

MIGRATIONS = (
    Path(__file__).resolve().parent.parent / "planner_app" / "piccolo_migrations"
)
MANIFEST = MIGRATIONS / "released.sha256"
PROJECT_ROOT = MIGRATIONS.parent.parent


def released() -> dict[str, str]:
    """File name -> pinned SHA-256, as ``sha256sum`` writes them."""
    pins: dict[str, str] = {}
    for line in MANIFEST.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            pins[name.lstrip("*")] = digest
    return pins


def migration_id(module_path: Path) -> str:
    spec = importlib.util.spec_from_file_location(
        f"frozen_{module_path.stem}", module_path
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ID


def supabase_file(module_path: Path) -> Path:
    """The migration's file in ``supabase/migrations/``."""
    name = file_name("planner_app", module_path.stem, migration_id(module_path))
    return PROJECT_ROOT / MIGRATIONS_FOLDER / name


def migration_files(module_path: Path) -> list[Path]:
    """The module, the SQL files it reads and its Supabase CLI file."""
    return (
        [module_path]
        + [
            path
            for direction in DIRECTIONS
            if (
                path := module_path.with_name(f"{module_path.stem}.{direction}.sql")
            ).exists()
        ]
        + [supabase_file(module_path)]
    )


def pinned_name(path: Path) -> str:
    """How the manifest names ``path``: relative to its own folder."""
    return os.path.relpath(path, MIGRATIONS)


@pytest.mark.parametrize("name", sorted(released()))
def test_released_migration_file_is_unchanged(name: str) -> None:
    path = MIGRATIONS / name
    assert path.exists(), f"released migration file {name} was removed"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == released()[name], (
        f"{name} is released and frozen: revert the edit and write a new "
        "migration (`piccolo migrations new planner_app --auto`) instead"
    )


def test_every_migration_up_to_the_last_release_is_pinned_whole() -> None:
    pins = released()
    modules = sorted(
        path for path in MIGRATIONS.glob("*.py") if path.name != "__init__.py"
    )
    released_ids = {
        migration_id(MIGRATIONS / name) for name in pins if name.endswith(".py")
    }
    assert released_ids, "the manifest pins no migration module"
    last_release = max(released_ids)
    for module in modules:
        if migration_id(module) <= last_release:
            for path in migration_files(module):
                assert pinned_name(path) in pins, (
                    f"{pinned_name(path)} belongs to the released history "
                    f"(up to {last_release}) but is not pinned"
                )
