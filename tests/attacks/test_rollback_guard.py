"""
A rollback never destroys user data silently: ``piccolo migrations
backwards`` refuses a step that would delete rows, naming each table and
its row count, and changes nothing, unless the operator opted in with
``PLANNER_ALLOW_DATA_LOSS=1``; answering Piccolo's question (``y`` or
``--auto_agree``) is not opting in. On an empty database it proceeds.
(planner_app/rollback_guard.py; the Supabase-like variant is in
tests/supabase/test_deploy_safety.py.)
"""

from __future__ import annotations

import subprocess
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from planner_app.engine import PlannerEngine
from planner_app.rollback_guard import OPT_IN_VARIABLE, RollbackRefused, guarded
from tests.catalog import schema_fingerprint
from tests.support import PLANNER_TABLES, connected, run_cli, snapshot

COMPAT_MIGRATION = "2026-11-26T00:00:01:000000"
TABLES_MIGRATION = "2026-11-26T00:00:03:000000"
OWNERSHIP_MIGRATION = "2026-11-26T00:00:04:000000"
NOT_OPTED_IN = {OPT_IN_VARIABLE: ""}


def backwards(
    url: str,
    target: str,
    *args: str,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``piccolo migrations backwards planner_app <target> <args>``."""
    return run_cli(
        "migrations",
        "backwards",
        "planner_app",
        target,
        *args,
        database_url=url,
        env=env if env is not None else NOT_OPTED_IN,
        input=input,
    )


async def recorded(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch("select name from migration order by name")
    return [row["name"] for row in rows]


async def seeded_database(fresh_database: Callable[..., Awaitable[str]]) -> str:
    from seeds import seed

    url = await fresh_database(migrated=True)
    report = await seed(url, users=2)
    assert report.users_created == 2
    return url


async def planner_row_counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {
        f"public.{table}": await conn.fetchval(f"select count(*) from {table}")
        for table in PLANNER_TABLES
    }


def the_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "The command failed" not in result.stdout, "Piccolo's usage dump"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "answer",
    [{"args": ("--auto_agree",)}, {"input": "y\n"}],
    ids=["auto_agree", "typed_y"],
)
async def test_rolling_back_the_tables_with_user_rows_is_refused_and_changes_nothing(
    fresh_database, answer
):
    url = await seeded_database(fresh_database)
    async with connected(url) as conn:
        counts = await planner_row_counts(conn)
        assert all(counts.values()), counts
        before = await snapshot(conn, None)
        schema = await schema_fingerprint(conn)
        records = await recorded(conn)

        result = backwards(
            url, TABLES_MIGRATION, *answer.get("args", ()), input=answer.get("input")
        )

        line = the_error_line(result)
        for table, rows in counts.items():
            assert f"{table} ({rows:,} rows)" in line, line
        assert f"{sum(counts.values()):,} row(s)" in line
        assert TABLES_MIGRATION in line and OPT_IN_VARIABLE in line
        # Refused before any migration was reversed, the later ones included.
        assert "nothing was rolled back" in line
        assert await snapshot(conn, None) == before
        assert await schema_fingerprint(conn) == schema
        assert await recorded(conn) == records


async def test_rolling_back_everything_also_names_the_users_it_would_delete(
    fresh_database,
):
    url = await seeded_database(fresh_database)
    async with connected(url) as conn:
        users = await conn.fetchval("select count(*) from auth.users")
        records = await recorded(conn)

        line = the_error_line(backwards(url, "all", "--auto_agree"))

        assert f"auth.users ({users:,} rows) by {COMPAT_MIGRATION}" in line
        assert await recorded(conn) == records
        assert await conn.fetchval("select count(*) from auth.users") == users


async def test_the_last_migration_alone_is_refused_when_it_would_delete_rows(
    fresh_database,
):
    url = await seeded_database(fresh_database)
    async with connected(url) as conn:
        # Rolling back to the ownership migration keeps every row.
        kept = backwards(url, OWNERSHIP_MIGRATION, "--auto_agree")
        assert kept.returncode == 0, kept.stdout + kept.stderr
        before = await snapshot(conn, None)
        records = await recorded(conn)
        assert records[-1] == TABLES_MIGRATION

        line = the_error_line(backwards(url, "1", "--auto_agree"))

        assert f"{TABLES_MIGRATION} was not rolled back" in line
        assert "public.plan_item (" in line
        assert await snapshot(conn, None) == before
        assert await recorded(conn) == records


async def test_opting_in_deletes_the_rows_and_says_so(fresh_database):
    url = await seeded_database(fresh_database)
    async with connected(url) as conn:
        counts = await planner_row_counts(conn)

        result = backwards(
            url, TABLES_MIGRATION, "--auto_agree", env={OPT_IN_VARIABLE: "1"}
        )

        assert result.returncode == 0, result.stdout + result.stderr
        assert f"warning: {OPT_IN_VARIABLE} is set" in result.stderr
        assert f"public.plan_item ({counts['public.plan_item']:,} rows)" in (
            result.stderr
        )
        for table in PLANNER_TABLES:
            assert await conn.fetchval("select to_regclass($1)", table) is None
        assert max(await recorded(conn)) < TABLES_MIGRATION


async def test_on_an_empty_database_the_rollback_proceeds_without_opting_in(
    fresh_database,
):
    url = await fresh_database(migrated=True)
    async with connected(url) as conn:
        result = backwards(url, "all", "--auto_agree")

        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stderr == ""
        assert await recorded(conn) == []
        assert await conn.fetchval("select to_regclass('auth.users')") is None


# The guard knows no migration: whatever a backwards step takes away is
# checked, a dropped column or deleted rows as much as a dropped table.


@pytest.fixture
async def guard_database(fresh_database) -> str:
    url = await fresh_database()
    async with connected(url) as conn:
        await conn.execute(
            """
            create schema kept;
            create table kept.note (id int primary key, body text, spare text);
            insert into kept.note values (1, 'a', null), (2, 'b', null);
            create table kept.empty (id int);
            """
        )
    return url


async def run_guarded(url: str, sql: str) -> None:
    """Run ``sql`` as a backwards step under the guard, in one transaction."""
    engine = PlannerEngine(database_url=lambda: url, held=False)
    async with engine.transaction() as transaction:

        async def step() -> None:
            await transaction.connection.execute(sql)

        await guarded(transaction, "planner_app", "test-step", step)


async def notes(url: str) -> list[tuple]:
    async with connected(url) as conn:
        return [tuple(r) for r in await conn.fetch("select * from kept.note")]


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("drop table kept.note", "kept.note (2 rows)"),
        ("alter table kept.note drop column body", "values in kept.note.body"),
        ("delete from kept.note where id = 1", "kept.note (1 row)"),
        ("truncate kept.note", "kept.note (2 rows)"),
    ],
    ids=["drop_table", "drop_column", "delete", "truncate"],
)
async def test_any_step_that_takes_rows_away_is_refused(
    guard_database, monkeypatch, sql, named
):
    monkeypatch.delenv(OPT_IN_VARIABLE, raising=False)
    before = await notes(guard_database)

    with pytest.raises(RollbackRefused) as refused:
        await run_guarded(guard_database, sql)

    assert named in refused.value.message
    assert "test-step was not rolled back" in refused.value.message
    assert refused.value.code == f"error: {refused.value.message}"
    assert await notes(guard_database) == before


@pytest.mark.parametrize(
    "sql",
    [
        "drop table kept.empty",
        "alter table kept.note drop column spare",
        "alter table kept.note alter column body type varchar(10)",
    ],
    ids=["empty_table", "column_of_nulls", "rewrite_keeps_rows"],
)
async def test_a_step_that_takes_no_rows_away_runs(guard_database, monkeypatch, sql):
    monkeypatch.delenv(OPT_IN_VARIABLE, raising=False)

    await run_guarded(guard_database, f"{sql}; create table kept.ran (id int)")

    async with connected(guard_database) as conn:
        assert await conn.fetchval("select to_regclass('kept.ran')") is not None
    assert len(await notes(guard_database)) == 2
