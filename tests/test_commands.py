"""
The app's commands accept options the way the issues and docs spell them
(``--dry-run``) as well as Piccolo's (``--dry_run``), and reject bad options
with one line.
"""

from __future__ import annotations

import asyncpg
import pytest

from tests.support import run_cli


@pytest.mark.parametrize("option", ["--dry-run", "--dry_run"])
async def test_migrate_dry_run_takes_either_spelling_and_applies_nothing(
    fresh_database, option
):
    url = await fresh_database()
    result = run_cli("planner_app", "migrate", option, database_url=url)
    assert result.returncode == 0, result.stderr
    assert 'CREATE TABLE "vision"' in result.stdout
    conn = await asyncpg.connect(url)
    try:
        # Neither a migration's objects nor its record.
        assert await conn.fetchval("select to_regclass('public.vision')") is None
        if await conn.fetchval("select to_regclass('public.migration')"):
            assert await conn.fetchval("select count(*) from public.migration") == 0
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--lock-timeout=abc"],
            "error: --lock-timeout takes a whole number, got 'abc'",
        ),
        (
            ["--check", "--no-such-option"],
            "error: unknown option --no-such-option; "
            "see `piccolo planner_app migrate --help`",
        ),
    ],
)
def test_a_bad_option_is_one_line_and_a_non_zero_exit(migrated, args, message):
    result = run_cli("planner_app", "migrate", *args, database_url=migrated)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in result.stderr
