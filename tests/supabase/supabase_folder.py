"""
Deploying the way the Supabase CLI does, without the CLI: every file of
``supabase/migrations/`` in version order, then ``supabase/seed.sql``, each
applied by ``psql -v ON_ERROR_STOP=1 --single-transaction -f`` (one
transaction per file, stopping at the first error, as ``supabase db reset``
and ``supabase db push`` do). And the schema as ``pg_dump --schema-only``
writes it, to compare two databases.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from planner_app.database import embedded_postgres_bin
from tests.support import PROJECT_ROOT

SUPABASE_DIR = PROJECT_ROOT / "supabase"
MIGRATION_FILES = sorted((SUPABASE_DIR / "migrations").glob("*.sql"))
SEED_FILE = SUPABASE_DIR / "seed.sql"


def program(name: str) -> str:
    """``psql`` or ``pg_dump`` of the embedded-postgres package (PostgreSQL 18:
    it talks to, and dumps, any server from 9.2 on)."""
    return str(embedded_postgres_bin() / name)


def apply_file(url: str, path: Path) -> subprocess.CompletedProcess[str]:
    """``psql -v ON_ERROR_STOP=1 --single-transaction -f path``."""
    return subprocess.run(
        [
            program("psql"),
            "--no-psqlrc",
            "--quiet",
            "--set=ON_ERROR_STOP=1",
            "--single-transaction",
            f"--file={path}",
            "--output=/dev/null",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def deploy(url: str, *, seed: bool = False) -> None:
    """Every migration file, then the seed when asked; each must succeed."""
    for path in [*MIGRATION_FILES, *([SEED_FILE] if seed else [])]:
        result = apply_file(url, path)
        assert result.returncode == 0, f"{path.name}: {result.stderr}"


# This machine's PostgreSQL 15 stamps every column with an attribute option
# pg_attver whose value differs from one database to the next: not schema.
_ATTVER = re.compile(r"pg_attver=\d+")


def schema_dump(url: str) -> str:
    """``pg_dump --schema-only`` of ``url``, without the dump's random keys."""
    result = subprocess.run(
        [program("pg_dump"), "--schema-only", url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = [
        _ATTVER.sub("pg_attver=N", line)
        for line in result.stdout.splitlines()
        if not line.startswith(("\\restrict ", "\\unrestrict "))
    ]
    return "\n".join(lines)
