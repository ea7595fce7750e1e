"""
A fingerprint of everything the migrations create, read from the catalogs,
so two databases can be compared for an identical schema.
"""

from __future__ import annotations

from typing import Any

import asyncpg

SCHEMAS = ("public", "auth", "planner_private")

_QUERIES: dict[str, str] = {
    "columns": """
        select c.table_schema, c.table_name, c.column_name, c.data_type,
               c.is_nullable, c.column_default, c.is_identity
        from information_schema.columns c
        where c.table_schema = any($1)
    """,
    "constraints": """
        select n.nspname, t.relname, con.conname, pg_get_constraintdef(con.oid)
        from pg_constraint con
        join pg_class t on t.oid = con.conrelid
        join pg_namespace n on n.oid = t.relnamespace
        where n.nspname = any($1)
    """,
    "indexes": """
        select schemaname, tablename, indexname, indexdef
        from pg_indexes where schemaname = any($1)
    """,
    "triggers": """
        select n.nspname, c.relname, tg.tgname, pg_get_triggerdef(tg.oid),
               tg.tgenabled
        from pg_trigger tg
        join pg_class c on c.oid = tg.tgrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any($1) and not tg.tgisinternal
    """,
    "functions": """
        select n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
               pg_get_functiondef(p.oid), p.proacl::text
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = any($1) and p.prokind in ('f', 'p')
    """,
    "policies": """
        select schemaname, tablename, policyname, permissive, roles::text,
               cmd, qual, with_check
        from pg_policies where schemaname = any($1)
    """,
    "tables": """
        select n.nspname, c.relname, c.relkind, c.relrowsecurity,
               c.relforcerowsecurity, c.relacl::text
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any($1) and c.relkind in ('r', 'p', 'v', 'S')
    """,
    "extensions": "select extname from pg_extension where $1::text[] is not null",
    # What PUBLIC may not run among PostgreSQL's own functions (0013 revokes
    # the large-object ones): by meaning, not by the ACL's spelling.
    "system_functions_public_may_not_run": """
        select p.oid::regprocedure::text
        from pg_proc p
        where p.pronamespace = 'pg_catalog'::regnamespace
          and not has_function_privilege('public', p.oid, 'EXECUTE')
          and $1::text[] is not null
    """,
    "schemas": "select nspname from pg_namespace where nspname = any($1)",
}


async def schema_fingerprint(
    conn: asyncpg.Connection, schemas: tuple[str, ...] = SCHEMAS
) -> dict[str, list[Any]]:
    """Sorted catalog facts of ``schemas`` (by default the project's three)."""
    fingerprint: dict[str, list[Any]] = {}
    for name, query in _QUERIES.items():
        rows = await conn.fetch(query, list(schemas))
        fingerprint[name] = sorted(tuple(row) for row in rows)
    return fingerprint


async def planner_objects(conn: asyncpg.Connection) -> dict[str, list[str]]:
    """Tables, functions and triggers the planner owns in ``public``."""
    tables = await conn.fetch(
        "select tablename from pg_tables where schemaname = 'public' "
        "and tablename <> 'migration'"
    )
    functions = await conn.fetch(
        "select p.proname from pg_proc p join pg_namespace n "
        "on n.oid = p.pronamespace where n.nspname = 'public' "
        # functions of extensions (btree_gist) are not the planner's own
        "and not exists (select 1 from pg_depend d where d.objid = p.oid "
        "and d.deptype = 'e')"
    )
    triggers = await conn.fetch(
        "select tgname from pg_trigger tg join pg_class c on c.oid = tg.tgrelid "
        "join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'public' and not tg.tgisinternal"
    )
    return {
        "tables": sorted(r[0] for r in tables),
        "functions": sorted(r[0] for r in functions),
        "triggers": sorted(r[0] for r in triggers),
    }
