"""
Schema lint rules, modelled on Supabase's database linter (splinter). Each
rule returns the list of problems it finds, one readable line each, so the
same rules check this run's database and the Supabase-like database of the
fidelity test.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import asyncpg

# Piccolo's bookkeeping table: row-level security is enabled on it (the
# migration role owns it and is not affected), but it has no policy on
# purpose, so no API role can read or write it.
TABLES_WITHOUT_POLICIES = frozenset({"migration"})

_WRAPPED_AUTH_CALL = re.compile(
    r"\(\s*select\s+auth\.(uid|jwt|role)\(\)\s+as\s+\w+\s*\)", re.IGNORECASE
)
_AUTH_CALL = re.compile(r"auth\.(uid|jwt|role)\(\)|current_setting\(", re.IGNORECASE)

Rule = Callable[[asyncpg.Connection], Awaitable[list[str]]]


async def tables_without_row_level_security(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "select c.relname from pg_catalog.pg_class c "
        "where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') "
        "and not c.relrowsecurity order by 1"
    )
    return [f"public.{r['relname']} has row-level security disabled" for r in rows]


async def tables_without_policies(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "select c.relname from pg_catalog.pg_class c "
        "where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') "
        "and not exists "
        "(select 1 from pg_catalog.pg_policy p where p.polrelid = c.oid) "
        "and not c.relname = any($1::text[]) order by 1",
        sorted(TABLES_WITHOUT_POLICIES),
    )
    return [f"public.{r['relname']} has no policy" for r in rows]


async def policies_calling_auth_per_row(conn: asyncpg.Connection) -> list[str]:
    """auth.uid() / auth.jwt() must be wrapped in (select ...): one call per
    statement instead of one per row."""
    problems = []
    rows = await conn.fetch(
        "select tablename, policyname, qual, with_check from pg_catalog.pg_policies "
        "where schemaname = 'public' order by 1, 2"
    )
    for row in rows:
        for clause in ("qual", "with_check"):
            text = row[clause] or ""
            if _AUTH_CALL.search(_WRAPPED_AUTH_CALL.sub("", text)):
                problems.append(
                    f"policy {row['policyname']} on public.{row['tablename']} calls "
                    f"auth per row in its {clause}: {text}"
                )
    return problems


async def policies_open_to_anon(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "select tablename, policyname, roles from pg_catalog.pg_policies "
        "where schemaname = 'public' "
        "and (roles && array['public', 'anon']::name[]) order by 1, 2"
    )
    return [
        f"policy {r['policyname']} on public.{r['tablename']} applies to {r['roles']}"
        for r in rows
    ]


async def tables_granted_to_anon(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "select c.relname, p.privilege from pg_catalog.pg_class c "
        "cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', "
        "'TRUNCATE', 'REFERENCES', 'TRIGGER']) as p(privilege) "
        "where c.relnamespace = 'public'::regnamespace "
        "and c.relkind in ('r', 'p', 'v', 'm') "
        "and has_table_privilege('anon', c.oid, p.privilege) order by 1, 2"
    )
    return [f"anon has {r['privilege']} on public.{r['relname']}" for r in rows]


async def unindexed_foreign_keys(conn: asyncpg.Connection) -> list[str]:
    """
    Supabase's ``unindexed_foreign_keys`` rule, exactly: a foreign key is
    covered only by a valid index whose leading columns are the key's
    columns in the key's declared order. ``(parent_id, user_id)`` is not
    covered by an index on ``(user_id, parent_id)`` nor by one on
    ``parent_id`` alone.
    """
    rows = await conn.fetch(
        """
        select c.conrelid::regclass::text as tablename, c.conname
          from pg_catalog.pg_constraint c
         where c.contype = 'f'
           and c.connamespace = 'public'::regnamespace
           and not exists (
             select 1
               from pg_catalog.pg_index i
              where i.indrelid = c.conrelid
                and i.indisvalid
                and (string_to_array(i.indkey::text, ' ')::int2[])
                      [1:cardinality(c.conkey)] = c.conkey
           )
         order by 1, 2
        """
    )
    return [
        f"foreign key {r['conname']} on {r['tablename']} has no index" for r in rows
    ]


# Schemas Supabase's linter leaves alone: its own and the system's. Every
# other schema holds the project's functions (planner_private, public, ...).
NOT_THE_PROJECTS_SCHEMAS = (
    "auth",
    "cron",
    "extensions",
    "graphql",
    "graphql_public",
    "information_schema",
    "net",
    "pgbouncer",
    "pg_catalog",
    "pg_toast",
    "pgmq",
    "pgroonga",
    "pgsodium",
    "pgsodium_masks",
    "pgtle",
    "realtime",
    "repack",
    "storage",
    "supabase_functions",
    "supabase_migrations",
    "tiger",
    "topology",
    "vault",
)


async def functions_without_search_path(conn: asyncpg.Connection) -> list[str]:
    """
    Every function of every schema that is not Supabase's own (as Supabase's
    ``function_search_path_mutable`` rule judges), and the auth functions
    the compatibility step created (marked ``planner_app:compat``), must
    pin ``search_path`` with ``pg_temp`` named last: PostgreSQL searches
    ``pg_temp`` first for relations and types unless it is named, so
    ``search_path = ''`` would still let a caller's temporary domain run the
    caller's code inside the function. Functions of extensions are the
    extension's.
    """
    rows = await conn.fetch(
        r"""
        select p.oid::regprocedure::text as name,
               (select s from unnest(p.proconfig) as s
                 where s like 'search\_path=%') as setting
          from pg_catalog.pg_proc p
          join pg_catalog.pg_namespace n on n.oid = p.pronamespace
         where p.prokind in ('f', 'p')
           and n.nspname not like 'pg\_temp\_%'
           and n.nspname not like 'pg\_toast\_temp\_%'
           and (not n.nspname = any($1::text[])
                or pg_catalog.obj_description(p.oid, 'pg_proc')
                   = 'planner_app:compat')
           and not exists (
             select 1 from pg_catalog.pg_depend d
              where d.classid = 'pg_catalog.pg_proc'::regclass
                and d.objid = p.oid and d.deptype = 'e'
           )
         order by 1
        """,
        list(NOT_THE_PROJECTS_SCHEMAS),
    )
    problems = []
    for row in rows:
        setting = row["setting"]
        if setting is None:
            problems.append(f"function {row['name']} does not set search_path")
        elif [part.strip() for part in setting.split("=", 1)[1].split(",")][
            -1
        ] != "pg_temp":
            problems.append(
                f"function {row['name']} has {setting}: pg_temp must come last"
            )
    return problems


async def security_definer_functions_executable_by_anon(
    conn: asyncpg.Connection,
) -> list[str]:
    rows = await conn.fetch(
        "select p.oid::regprocedure::text as name from pg_catalog.pg_proc p "
        "where p.prosecdef "
        "and p.pronamespace::regnamespace::text not in "
        "('pg_catalog', 'information_schema') "
        "and has_function_privilege('anon', p.oid, 'execute') order by 1"
    )
    return [f"anon may execute security definer {r['name']}" for r in rows]


RULES: tuple[Rule, ...] = (
    tables_without_row_level_security,
    tables_without_policies,
    policies_calling_auth_per_row,
    policies_open_to_anon,
    tables_granted_to_anon,
    unindexed_foreign_keys,
    functions_without_search_path,
    security_definer_functions_executable_by_anon,
)


async def lint(conn: asyncpg.Connection) -> list[str]:
    """Every problem every rule finds."""
    problems: list[str] = []
    for rule in RULES:
        problems.extend(await rule(conn))
    return problems
