"""
Lint the raw SQL of every migration with squawk, as CI does.

Forwards files are linted with ``.squawk.toml``. Backwards files are linted
with the same rules minus :data:`BACKWARDS_EXCLUDED_RULES`: a backwards file
exists to drop what its forwards file created, so the rules that warn about
dropping things would fire on every line of it. (squawk's ``--exclude``
replaces the config file's list instead of adding to it, hence this script.)

Exit status: squawk's (non-zero when it reports anything).

Usage: ``python scripts/lint_sql.py [squawk options]``
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG = PROJECT_ROOT / ".squawk.toml"
MIGRATIONS = PROJECT_ROOT / "planner_app" / "piccolo_migrations"

BACKWARDS_EXCLUDED_RULES = {
    "ban-drop-constraint": "rolling back drops the constraints forwards added",
    "ban-drop-function": "rolling back drops the functions forwards created",
    "ban-drop-not-null": "rolling back drops the NOT NULLs forwards set",
    "ban-drop-schema": "rolling back drops the schema forwards created",
    "ban-drop-view": "rolling back drops the views forwards created",
}


def squawk_executable() -> str:
    beside_python = Path(sys.executable).with_name("squawk")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("squawk")
    if found is None:
        raise SystemExit(
            "error: squawk not found; install the dev extras: pip install -e '.[dev]'"
        )
    return found


def config_excluded_rules() -> list[str]:
    with CONFIG.open("rb") as file:
        return list(tomllib.load(file).get("excluded_rules", []))


def commands(
    migrations: Path = MIGRATIONS, extra_args: Sequence[str] = ()
) -> list[list[str]]:
    """The squawk command lines for the forwards and the backwards files."""
    base = [squawk_executable(), "--config", str(CONFIG), *extra_args]
    backwards_excluded = [*config_excluded_rules(), *BACKWARDS_EXCLUDED_RULES]
    forwards = sorted(str(p) for p in migrations.glob("*.forwards.sql"))
    backwards = sorted(str(p) for p in migrations.glob("*.backwards.sql"))
    return [
        [*base, *forwards],
        [*base, f"--exclude={','.join(backwards_excluded)}", *backwards],
    ]


def lint(
    migrations: Path = MIGRATIONS, extra_args: Sequence[str] = (), **run: Any
) -> list[subprocess.CompletedProcess[str]]:
    """Run squawk over ``migrations``; ``run`` goes to ``subprocess.run``."""
    return [
        subprocess.run(command, cwd=PROJECT_ROOT, text=True, **run)
        for command in commands(migrations, extra_args)
    ]


def main(extra_args: list[str]) -> int:
    return max(result.returncode for result in lint(extra_args=extra_args))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
