"""
The Supabase CLI's folder (docs/migrations.md, "Deploying with the Supabase
CLI"): ``supabase/migrations/``, applied file by file as ``supabase db
reset`` applies them, builds exactly the schema ``piccolo migrations
forwards all`` builds, on the test server and on the Supabase-like cluster,
and leaves Piccolo's record as Piccolo would; ``supabase/seed.sql`` loads the
fixed dataset after them, readable by its users under row-level security.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from seeds.fixtures import build_fixture, load_fixture
from seeds.rows import SEEDED_TABLES, AuthUser
from tests.roles import acting_as, rejected_as
from tests.supabase.cluster import MIGRATOR, SUPERUSER, SupabaseCluster
from tests.supabase.migrations import migrate
from tests.supabase.supabase_folder import (
    MIGRATION_FILES,
    apply_file,
    deploy,
    schema_dump,
)
from tests.support import DOMAIN_TABLES, connected, run_cli

RECORD_SQL = "select app_name, name from public.migration order by name"


async def piccolo_record(url: str) -> list[tuple[str, str]]:
    async with connected(url) as conn:
        return [tuple(row) for row in await conn.fetch(RECORD_SQL)]


async def test_the_supabase_files_build_the_schema_piccolo_forwards_builds(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    by_files = await fresh_database()
    deploy(by_files)
    by_piccolo = await fresh_database(migrated=True)

    assert schema_dump(by_files) == schema_dump(by_piccolo)
    assert await piccolo_record(by_files) == await piccolo_record(by_piccolo)
    # Piccolo sees the database as migrated: nothing pending.
    check = run_cli("planner_app", "migrate", "--check", database_url=by_files)
    assert check.returncode == 0, check.stdout + check.stderr


async def test_on_supabase_the_files_build_what_piccolo_builds(
    supabase: SupabaseCluster, supabase_database: Callable[[], Awaitable[str]]
) -> None:
    by_files, by_piccolo = await supabase_database(), await supabase_database()
    # Both as the role Supabase's migrations run as (not a superuser).
    deploy(supabase.url(MIGRATOR, by_files))
    migrate(supabase.url(MIGRATOR, by_piccolo), "forwards", "all")

    files_dump = schema_dump(supabase.url(SUPERUSER, by_files))
    assert files_dump == schema_dump(supabase.url(SUPERUSER, by_piccolo))
    assert await piccolo_record(supabase.url(SUPERUSER, by_files)) == (
        await piccolo_record(supabase.url(SUPERUSER, by_piccolo))
    )


async def test_a_file_piccolo_already_applied_fails_whole_and_says_how_to_repair(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    url = await fresh_database(migrated=True)
    before = schema_dump(url), await piccolo_record(url)

    result = apply_file(url, MIGRATION_FILES[0])

    assert result.returncode != 0
    assert "already applied" in result.stderr
    version = MIGRATION_FILES[0].name.split("_", 1)[0]
    assert f"supabase migration repair --status applied {version}" in result.stderr
    assert (schema_dump(url), await piccolo_record(url)) == before


def columns_to_compare(conn: asyncpg.Connection, table: str) -> Awaitable[Any]:
    # The database stamps created_at, updated_at and locked_at when the rows
    # are written: everything else is the dataset's.
    return conn.fetch(
        "select column_name from information_schema.columns "
        "where table_schema = 'public' and table_name = $1 "
        "and data_type <> 'timestamp with time zone' order by ordinal_position",
        table,
    )


async def rows_of(url: str) -> dict[str, list[tuple[Any, ...]]]:
    async with connected(url) as conn:
        found = {
            "auth.users": [
                tuple(r)
                for r in await conn.fetch(
                    "select id, email, created_at from auth.users order by id"
                )
            ]
        }
        for table in DOMAIN_TABLES:
            names = [r[0] for r in await columns_to_compare(conn, table)]
            found[table] = [
                tuple(r)
                for r in await conn.fetch(
                    f"select {', '.join(names)} from public.{table} order by id"
                )
            ]
        return found


async def test_the_seed_loads_the_fixed_dataset_after_the_migrations(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    seeded = await fresh_database()
    deploy(seeded, seed=True)
    loaded = await fresh_database(migrated=True)
    async with connected(loaded) as conn:
        await load_fixture(conn, "small")

    rows = await rows_of(seeded)
    assert rows == await rows_of(loaded)
    assert all(rows[table] for table in DOMAIN_TABLES), "a domain table is empty"


async def test_every_fixture_user_reads_their_seeded_rows_under_row_level_security(
    supabase: SupabaseCluster, supabase_database: Callable[[], Awaitable[str]]
) -> None:
    name = await supabase_database()
    deploy(supabase.url(MIGRATOR, name), seed=True)
    data, batch = build_fixture("small")
    conn = await asyncpg.connect(supabase.url(MIGRATOR, name))
    try:
        for user in data.users.values():
            expected = {
                table._meta.tablename: batch.values(table, "user_id").count(user.id)
                for table in SEEDED_TABLES
                if table is not AuthUser
            }
            assert all(expected.values())
            async with acting_as(conn, "authenticated", user.id) as acting:
                seen = {
                    table: await acting.fetchval(f"select count(*) from public.{table}")
                    for table in expected
                }
                strangers = await acting.fetchval(
                    "select count(*) from public.plan_item where user_id <> $1",
                    user.id,
                )
            assert seen == expected
            assert strangers == 0
        refused = await rejected_as(conn, "anon", None, "select * from public.cycle")
        assert refused.sqlstate == "42501"
    finally:
        await conn.close()
