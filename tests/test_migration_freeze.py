"""
Released migrations are frozen (docs/migrations.md, "The freeze rule"):
``planner_app/piccolo_migrations/released.sha256`` pins the SHA-256 of every
released migration module and of its SQL files, so editing one fails here
and a change has to be a new migration.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest

from planner_app.migration_sql import DIRECTIONS

MIGRATIONS = (
    Path(__file__).resolve().parent.parent / "planner_app" / "piccolo_migrations"
)
MANIFEST = MIGRATIONS / "released.sha256"


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


def migration_files(module_path: Path) -> list[Path]:
    """The module and the SQL files it reads."""
    return [module_path] + [
        path
        for direction in DIRECTIONS
        if (
            path := module_path.with_name(f"{module_path.stem}.{direction}.sql")
        ).exists()
    ]


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
                assert path.name in pins, (
                    f"{path.name} belongs to the released history "
                    f"(up to {last_release}) but is not pinned"
                )
