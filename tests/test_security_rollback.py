"""
Rolling back the tables migration (which protects each table in its own
transaction) and the protection helper leaves none of their objects behind;
migrating forwards again gives the same security state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from tests.support import PLANNER_TABLES, run_cli

PROTECTION_MIGRATION = "2026-11-26T00:00:02:000000"
TABLES_MIGRATION = "2026-11-26T00:00:03:000000"

SECURITY_STATE = """
select 'rls' as kind, relname as name, relrowsecurity::text as detail
  from pg_catalog.pg_class
 where relnamespace = 'public'::regnamespace and relkind = 'r'
union all
select 'policy', tablename || '.' || policyname, coalesce(qual, '')
  from pg_catalog.pg_policies where schemaname = 'public'
union all
select 'trigger', tgrelid::regclass::text || '.' || tgname, tgenabled::text
  from pg_catalog.pg_trigger
 where not tgisinternal and tgrelid::regclass::text = any($1::text[])
union all
select 'function', p.oid::regprocedure::text, coalesce(p.proacl::text, '')
  from pg_catalog.pg_proc p
 where p.pronamespace in (select oid from pg_catalog.pg_namespace
                           where nspname in ('public', 'planner_private'))
   and not exists (select 1 from pg_catalog.pg_depend d
                    where d.objid = p.oid and d.deptype = 'e')
union all
select 'grant', grantee || ' ' || table_name, privilege_type
  from information_schema.role_table_grants
 where table_schema = 'public'
   and grantee in ('anon', 'authenticated', 'service_role')
union all
select 'index', indexname, indexdef from pg_catalog.pg_indexes
 where schemaname = 'public' and tablename = 'audit_log'
union all
select 'audit_log.id', column_name,
       concat_ws(' ', column_default, is_identity, identity_generation)
  from information_schema.columns
 where table_schema = 'public' and table_name = 'audit_log' and column_name = 'id'
order by 1, 2, 3
"""


async def security_state(conn: asyncpg.Connection) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await conn.fetch(SECURITY_STATE, list(PLANNER_TABLES))]


def migrate(url: str, *args: str) -> None:
    result = run_cli("migrations", *args, database_url=url)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_rolling_back_the_tables_and_their_protection_leaves_nothing_of_theirs(
    fresh_database: Callable[[], Awaitable[str]],
) -> None:
    url = await fresh_database(migrated=True)
    conn = await asyncpg.connect(url)
    try:
        migrated = await security_state(conn)
        assert {kind for kind, _, _ in migrated} >= {"policy", "grant", "trigger"}

        migrate(url, "backwards", "planner_app", TABLES_MIGRATION, "--auto_agree")
        rolled_back = await security_state(conn)
        names = {name for _, name, _ in rolled_back}
        assert not any(table in name for name in names for table in PLANNER_TABLES)
        functions = {name for kind, name, _ in rolled_back if kind == "function"}
        assert functions == {
            "planner_private.audit()",
            "planner_private.is_rfc_9562(uuid)",
            "planner_private.maintain_row()",
            "planner_private.protect(regclass)",
        }

        migrate(url, "backwards", "planner_app", PROTECTION_MIGRATION, "--auto_agree")
        assert not await conn.fetchval(
            "select exists (select 1 from pg_namespace "
            "where nspname = 'planner_private')"
        )

        migrate(url, "forwards", "all")
        assert await security_state(conn) == migrated
    finally:
        await conn.close()
