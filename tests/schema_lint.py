"""
Schema lint rules: every rule of Supabase's database linter (splinter) that
can fire on the project's objects, with the scope splinter gives it, plus a
few of the project's own. Each rule returns the problems it finds, one
readable line each, so the same rules check this run's database and the
Supabase-like database of the fidelity test (where splinter's Security
Advisor must report nothing, WARN, ERROR or INFO, on the project's objects).

Scopes, as splinter's:

- **project schemas**: every schema that is not Supabase's or the system's
  (:data:`NOT_THE_PROJECTS_SCHEMAS`), private ones included, and never an
  object that belongs to an extension;
- **API schemas**: the schemas PostgREST serves: ``public`` and any that
  ``pgrst.db_schemas`` names (:func:`api_schemas`), for the rules about what
  the API exposes (splinter reads the same setting).

Where a rule of ours is stricter than splinter's, its docstring says how.
Rules of splinter that cannot fire on the project's objects, and why, are
listed in docs/security.md ("The schema lint").
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import asyncpg

# Row-level security is enabled on these, but they have no policy on
# purpose, so no API role can read or write them (the migration role owns
# them and is not affected): Piccolo's bookkeeping table, the budgets'
# counters, written only by the budget triggers, and 0013's record of the
# large-object functions it revoked (splinter reports such a table at level
# INFO).
TABLES_WITHOUT_POLICIES = frozenset(
    {
        "public.migration",
        "planner_private.budget_usage",
        "planner_private.revoked_large_object_functions",
    }
)

# Schemas Supabase's linter leaves alone: its own and the system's. Every
# other schema holds the project's objects (planner_private, public, ...).
NOT_THE_PROJECTS_SCHEMAS = (
    "_timescaledb_cache",
    "_timescaledb_catalog",
    "_timescaledb_config",
    "_timescaledb_internal",
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

API_ROLES_OF_THE_LINT = ("anon", "authenticated")
"""The roles whose access splinter calls exposure."""

Rule = Callable[[asyncpg.Connection], Awaitable[list[str]]]


def _project(alias: str = "n") -> str:
    """SQL: the namespace ``alias`` is a project schema ($1 = the others)."""
    return (
        f"(not {alias}.nspname = any($1::text[]) "
        f"and {alias}.nspname !~ '^pg_(temp|toast_temp)_')"
    )


def _not_an_extension_member(oid: str, catalog: str = "pg_class") -> str:
    return (
        "not exists (select 1 from pg_catalog.pg_depend d "
        f"where d.classid = 'pg_catalog.{catalog}'::regclass "
        f"and d.objid = {oid} and d.deptype = 'e')"
    )


async def _project_rows(conn: asyncpg.Connection, sql: str) -> list[asyncpg.Record]:
    return await conn.fetch(sql, list(NOT_THE_PROJECTS_SCHEMAS))


async def api_schemas(conn: asyncpg.Connection) -> list[str]:
    """
    The schemas PostgREST serves: ``public``, and every schema named by
    ``pgrst.db_schemas`` in this session or in a role's settings (where
    PostgREST reads its in-database configuration), less Supabase's own.
    """
    rows = await conn.fetch(
        r"""
        select pg_catalog.current_setting('pgrst.db_schemas', true) as schemas
        union all
        select pg_catalog.substr(s, pg_catalog.strpos(s, '=') + 1)
          from pg_catalog.pg_db_role_setting, unnest(setconfig) as s
         where s like 'pgrst.db\_schemas=%'
        """
    )
    named = {"public"}
    for row in rows:
        named |= {part.strip() for part in (row["schemas"] or "").split(",")}
    return sorted(named - {""} - set(NOT_THE_PROJECTS_SCHEMAS))


async def _api_rows(conn: asyncpg.Connection, sql: str) -> list[asyncpg.Record]:
    return await conn.fetch(sql, await api_schemas(conn))


# -- Row-level security --------------------------------------------------


async def rls_disabled_in_public(conn: asyncpg.Connection) -> list[str]:
    """splinter 0013 (ERROR): every table of an API schema has row-level
    security (partitioned tables too)."""
    rows = await _api_rows(
        conn,
        f"""
        select n.nspname, c.relname from pg_catalog.pg_class c
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p') and n.nspname = any($1::text[])
           and not c.relrowsecurity and {_not_an_extension_member("c.oid")}
         order by 1, 2
        """,
    )
    return [f"{r[0]}.{r[1]} has row-level security disabled" for r in rows]


async def rls_enabled_no_policy(conn: asyncpg.Connection) -> list[str]:
    """splinter 0008 (INFO): a table with row-level security has a policy,
    in every project schema (``public.migration`` is private on purpose)."""
    rows = await _project_rows(
        conn,
        f"""
        select n.nspname || '.' || c.relname as name from pg_catalog.pg_class c
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p') and c.relrowsecurity and {_project()}
           and not exists (select 1 from pg_catalog.pg_policy p
                            where p.polrelid = c.oid)
           and {_not_an_extension_member("c.oid")}
         order by 1
        """,
    )
    return [
        f"{r['name']} has no policy"
        for r in rows
        if r["name"] not in TABLES_WITHOUT_POLICIES
    ]


async def policy_exists_rls_disabled(conn: asyncpg.Connection) -> list[str]:
    """splinter 0007 (INFO): a table with policies has row-level security on."""
    rows = await _project_rows(
        conn,
        f"""
        select n.nspname, c.relname,
               pg_catalog.string_agg(p.polname, ', ' order by p.polname)
          from pg_catalog.pg_policy p
          join pg_catalog.pg_class c on c.oid = p.polrelid
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where not c.relrowsecurity and {_project()}
           and {_not_an_extension_member("c.oid")}
         group by 1, 2 order by 1, 2
        """,
    )
    return [
        f"{r[0]}.{r[1]} has policies ({r[2]}) but row-level security disabled"
        for r in rows
    ]


_WRAPPED_AUTH_CALL = re.compile(
    r"\(\s*select\s+auth\.(uid|jwt|role|email)\(\)\s+as\s+\w+\s*\)", re.IGNORECASE
)
_AUTH_CALL = re.compile(
    r"auth\.(uid|jwt|role|email)\(\)|current_setting\(", re.IGNORECASE
)


async def _policies(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every policy of a project schema, with its table's RLS flag."""
    return await _project_rows(
        conn,
        f"""
        select p.schemaname, p.tablename, p.policyname, p.permissive, p.roles,
               p.cmd, p.qual, p.with_check, c.relrowsecurity
          from pg_catalog.pg_policies p
          join pg_catalog.pg_namespace n on n.nspname = p.schemaname
          join pg_catalog.pg_class c
            on c.relnamespace = n.oid and c.relname = p.tablename
         where {_project()}
         order by 1, 2, 3
        """,
    )


async def auth_rls_initplan(conn: asyncpg.Connection) -> list[str]:
    """
    splinter 0003 (WARN): ``auth.uid()`` and its siblings are called as
    ``(select auth.uid())``, once per statement instead of once per row.
    Stricter than splinter: *every* call must be wrapped (splinter passes a
    policy once one call is), and ``current_setting()`` never appears bare.
    """
    problems = []
    for row in await _policies(conn):
        for clause in ("qual", "with_check"):
            text = row[clause] or ""
            if _AUTH_CALL.search(_WRAPPED_AUTH_CALL.sub("", text)):
                problems.append(
                    f"policy {row['policyname']} on {row['schemaname']}."
                    f"{row['tablename']} calls auth per row in its {clause}: {text}"
                )
    return problems


async def multiple_permissive_policies(conn: asyncpg.Connection) -> list[str]:
    """
    splinter 0006 (WARN): at most one permissive policy per table, role
    (``public`` counts for every role) and command (``ALL`` counts for
    each), for the roles that row-level security binds.
    """
    rows = await _project_rows(
        conn,
        f"""
        select n.nspname, c.relname, r.rolname, cmd.name,
               pg_catalog.string_agg(p.polname, ', ' order by p.polname)
          from pg_catalog.pg_policy p
          join pg_catalog.pg_class c on c.oid = p.polrelid
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          join pg_catalog.pg_roles r
            on r.oid = any(p.polroles) or p.polroles = '{{0}}'::oid[]
         cross join lateral unnest(case p.polcmd
             when 'r' then array['SELECT'] when 'a' then array['INSERT']
             when 'w' then array['UPDATE'] when 'd' then array['DELETE']
             else array['SELECT', 'INSERT', 'UPDATE', 'DELETE'] end) as cmd(name)
         where p.polpermissive and {_project()}
           and not r.rolbypassrls and r.rolname !~ '^pg_'
           and r.rolname !~ '^supabase.*admin$'
         group by 1, 2, 3, 4 having count(*) > 1
         order by 1, 2, 3, 4
        """,
    )
    return [
        f"{r[0]}.{r[1]} has several permissive {r[3]} policies for {r[2]}: {r[4]}"
        for r in rows
    ]


async def policies_open_to_anon(conn: asyncpg.Connection) -> list[str]:
    """The project's own: no policy applies to ``anon`` or ``public``."""
    return [
        f"policy {r['policyname']} on {r['schemaname']}.{r['tablename']} "
        f"applies to {r['roles']}"
        for r in await _policies(conn)
        if {"public", "anon"} & set(r["roles"])
    ]


_ALWAYS_TRUE = {"true", "(true)", "1=1", "(1=1)"}


def _always_true(clause: str | None) -> bool:
    return re.sub(r"\s", "", (clause or "").lower()) in _ALWAYS_TRUE


async def rls_policy_always_true(conn: asyncpg.Connection) -> list[str]:
    """
    splinter 0024 (WARN): no permissive policy of ``anon``, ``authenticated``
    or ``public`` lets every row through a write: ``using (true)`` on an
    update or delete, ``with check (true)`` (or none) on an insert or
    update.
    """
    problems = []
    for row in await _policies(conn):
        roles = set(row["roles"])
        if not (row["relrowsecurity"] and row["permissive"] == "PERMISSIVE"):
            continue
        if not roles & {"public", "anon", "authenticated"}:
            continue
        cmd, qual, check = row["cmd"], row["qual"], row["with_check"]
        open_using = cmd in ("UPDATE", "DELETE", "ALL") and (
            qual is None or _always_true(qual)
        )
        open_check = _always_true(check) or (
            check is None
            and (cmd == "INSERT" or (cmd in ("UPDATE", "ALL") and _always_true(qual)))
        )
        if open_using or open_check:
            problems.append(
                f"policy {row['policyname']} on {row['schemaname']}."
                f"{row['tablename']} lets every row through a {cmd}"
            )
    return problems


_NULL_AUTH = re.compile(
    r"(auth\.(uid|jwt|role|email)\(\)|current_setting\([^)]*\))"
    r"(\s+as\s+\w+)?\s*\)?\s*is\s+null"
    r"|not\s*\(\s*\(?\s*(select\s+)?(auth\.(uid|jwt|role|email)\(\)"
    r"|current_setting\([^)]*\))(\s+as\s+\w+)?\s*\)?\s*is\s+not\s+null",
    re.IGNORECASE,
)


async def rls_policy_null_auth_disjunct(conn: asyncpg.Connection) -> list[str]:
    """
    splinter 0030 (WARN): no read policy is true because an auth function
    returns null (``auth.uid() is null or ...`` admits every row to a
    request without a user). Stricter than splinter: any null test of an
    auth call in a read policy is refused, wherever it sits.
    """
    return [
        f"policy {r['policyname']} on {r['schemaname']}.{r['tablename']} "
        f"tests an auth call for null: {r['qual']}"
        for r in await _policies(conn)
        if r["cmd"] in ("SELECT", "ALL")
        and r["permissive"] == "PERMISSIVE"
        and _NULL_AUTH.search(r["qual"] or "")
    ]


async def rls_references_user_metadata(conn: asyncpg.Connection) -> list[str]:
    """splinter 0015 (ERROR): no policy reads ``user_metadata``, which every
    user may edit. Stricter than splinter: any mention counts."""
    return [
        f"policy {r['policyname']} on {r['schemaname']}.{r['tablename']} "
        "reads user_metadata"
        for r in await _policies(conn)
        if "user_metadata" in (r["qual"] or "") + (r["with_check"] or "")
    ]


# -- Privileges and exposure ------------------------------------------------


async def tables_granted_to_anon(conn: asyncpg.Connection) -> list[str]:
    """The project's own (covers splinter 0026, pg_graphql's view of
    ``anon``): ``anon`` has no privilege on any relation of the project."""
    rows = await _project_rows(
        conn,
        f"""
        select n.nspname, c.relname, p.privilege from pg_catalog.pg_class c
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE',
           'TRUNCATE', 'REFERENCES', 'TRIGGER']) as p(privilege)
         where c.relkind in ('r', 'p', 'v', 'm', 'f') and {_project()}
           and pg_catalog.has_table_privilege('anon', c.oid, p.privilege)
         order by 1, 2, 3
        """,
    )
    return [f"anon has {r[2]} on {r[0]}.{r[1]}" for r in rows]


async def _exposed(conn: asyncpg.Connection, relkind: str) -> list[asyncpg.Record]:
    """Relations of ``relkind`` in an API schema that anon or authenticated
    may read."""
    return await _api_rows(
        conn,
        f"""
        select n.nspname, c.relname, c.reloptions from pg_catalog.pg_class c
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where c.relkind = '{relkind}' and n.nspname = any($1::text[])
           and (pg_catalog.has_table_privilege('anon', c.oid, 'SELECT')
                or pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT'))
           and {_not_an_extension_member("c.oid")}
         order by 1, 2
        """,
    )


async def security_definer_view(conn: asyncpg.Connection) -> list[str]:
    """splinter 0010 (ERROR): a view the API serves runs as its caller
    (``security_invoker``), so row-level security applies to the caller."""
    invoker = re.compile(r"^security_invoker=(1|true|yes|on)$", re.IGNORECASE)
    return [
        f"view {r[0]}.{r[1]} is not security_invoker"
        for r in await _exposed(conn, "v")
        if not any(invoker.match(option) for option in r["reloptions"] or [])
    ]


async def materialized_view_in_api(conn: asyncpg.Connection) -> list[str]:
    """splinter 0016 (WARN): no materialized view (which has no row-level
    security) is readable through the API."""
    return [
        f"materialized view {r[0]}.{r[1]} is readable through the API"
        for r in await _exposed(conn, "m")
    ]


async def foreign_table_in_api(conn: asyncpg.Connection) -> list[str]:
    """splinter 0017 (WARN): no foreign table is readable through the API."""
    return [
        f"foreign table {r[0]}.{r[1]} is readable through the API"
        for r in await _exposed(conn, "f")
    ]


async def auth_users_exposed(conn: asyncpg.Connection) -> list[str]:
    """splinter 0002 (ERROR): no view the API serves reads ``auth.users``."""
    rows = await _api_rows(
        conn,
        """
        select distinct n.nspname, c.relname
          from pg_catalog.pg_depend d
          join pg_catalog.pg_rewrite w on w.oid = d.objid
          join pg_catalog.pg_class c on c.oid = w.ev_class
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where d.classid = 'pg_catalog.pg_rewrite'::regclass
           and d.refobjid = pg_catalog.to_regclass('auth.users')
           and c.relkind in ('v', 'm') and n.nspname = any($1::text[])
           and (pg_catalog.has_table_privilege('anon', c.oid, 'SELECT')
                or pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT'))
         order by 1, 2
        """,
    )
    return [f"{r[0]}.{r[1]} exposes auth.users to the API" for r in rows]


async def _definer_functions_executable_by(
    conn: asyncpg.Connection, role: str
) -> list[str]:
    rows = await _project_rows(
        conn,
        f"""
        select p.oid::regprocedure::text as name from pg_catalog.pg_proc p
          join pg_catalog.pg_namespace n on n.oid = p.pronamespace
         where p.prosecdef and {_project()}
           and pg_catalog.has_function_privilege('{role}', p.oid, 'execute')
         order by 1
        """,
    )
    return [f"{role} may execute security definer {r['name']}" for r in rows]


async def anon_security_definer_function_executable(
    conn: asyncpg.Connection,
) -> list[str]:
    """splinter 0028 (WARN): ``anon`` may not run a security definer function."""
    return await _definer_functions_executable_by(conn, "anon")


async def authenticated_security_definer_function_executable(
    conn: asyncpg.Connection,
) -> list[str]:
    """splinter 0029 (WARN): nor may ``authenticated`` (the project's are
    trigger functions, which nobody calls)."""
    return await _definer_functions_executable_by(conn, "authenticated")


# -- Functions -----------------------------------------------------------


async def function_search_path_mutable(conn: asyncpg.Connection) -> list[str]:
    """
    splinter 0011 (WARN): every function of every project schema pins
    ``search_path``. Stricter than splinter: with ``pg_temp`` named last.
    (``auth`` is Supabase's schema: the compatibility step's ``auth.uid()``
    and friends keep Supabase's definitions, see
    ``planner_app_0007_function_search_path.forwards.sql``.) PostgreSQL
    searches ``pg_temp`` first for relations and types unless it is named,
    so ``search_path = ''`` would still let a caller's temporary domain run
    the caller's code inside the function (tests/attacks/test_owner_code.py).
    """
    rows = await _project_rows(
        conn,
        rf"""
        select p.oid::regprocedure::text as name,
               (select s from unnest(p.proconfig) as s
                 where s like 'search\_path=%') as setting
          from pg_catalog.pg_proc p
          join pg_catalog.pg_namespace n on n.oid = p.pronamespace
         where p.prokind in ('f', 'p')
           and {_project()}
           and {_not_an_extension_member("p.oid", "pg_proc")}
         order by 1
        """,
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


# -- Tables, keys and indexes -----------------------------------------------


async def no_primary_key(conn: asyncpg.Connection) -> list[str]:
    """splinter 0004 (INFO): every table of the project has a primary key."""
    rows = await _project_rows(
        conn,
        f"""
        select n.nspname, c.relname from pg_catalog.pg_class c
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p') and {_project()}
           and not exists (select 1 from pg_catalog.pg_index i
                            where i.indrelid = c.oid and i.indisprimary)
           and {_not_an_extension_member("c.oid")}
         order by 1, 2
        """,
    )
    return [f"{r[0]}.{r[1]} has no primary key" for r in rows]


async def unindexed_foreign_keys(conn: asyncpg.Connection) -> list[str]:
    """
    splinter 0001 (INFO), in every project schema: a foreign key is covered
    only by a valid index whose leading columns are the key's columns in the
    key's declared order. ``(parent_id, user_id)`` is not covered by an
    index on ``(user_id, parent_id)`` nor by one on ``parent_id`` alone.
    """
    rows = await _project_rows(
        conn,
        f"""
        select c.conrelid::regclass::text as tablename, c.conname
          from pg_catalog.pg_constraint c
          join pg_catalog.pg_namespace n on n.oid = c.connamespace
         where c.contype = 'f' and {_project()}
           and {_not_an_extension_member("c.conrelid")}
           and not exists (
             select 1
               from pg_catalog.pg_index i
              where i.indrelid = c.conrelid
                and i.indisvalid
                and (string_to_array(i.indkey::text, ' ')::int2[])
                      [1:cardinality(c.conkey)] = c.conkey
           )
         order by 1, 2
        """,
    )
    return [
        f"foreign key {r['conname']} on {r['tablename']} has no index" for r in rows
    ]


async def fkey_to_auth_unique(conn: asyncpg.Connection) -> list[str]:
    """splinter 0021 (ERROR): a foreign key into ``auth`` references a
    primary key (GoTrue may drop its other unique constraints)."""
    rows = await _project_rows(
        conn,
        f"""
        select c.conrelid::regclass::text, c.conname
          from pg_catalog.pg_constraint c
          join pg_catalog.pg_namespace n on n.oid = c.connamespace
          join pg_catalog.pg_class r on r.oid = c.confrelid
          join pg_catalog.pg_index i on i.indexrelid = c.conindid
         where c.contype = 'f' and {_project()}
           and r.relnamespace = (select oid from pg_catalog.pg_namespace
                                  where nspname = 'auth')
           and i.indisunique and not i.indisprimary
         order by 1, 2
        """,
    )
    return [
        f"foreign key {r[1]} on {r[0]} references a unique key of auth" for r in rows
    ]


async def duplicate_index(conn: asyncpg.Connection) -> list[str]:
    """splinter 0009 (WARN): no two indexes of a table are the same index
    (columns, operator classes, collations, options, expressions,
    predicate, method and uniqueness)."""
    rows = await _project_rows(
        conn,
        f"""
        select t.oid::regclass::text as tablename,
               pg_catalog.string_agg(ic.relname, ', ' order by ic.relname) as names
          from pg_catalog.pg_index i
          join pg_catalog.pg_class ic on ic.oid = i.indexrelid
          join pg_catalog.pg_class t on t.oid = i.indrelid
          join pg_catalog.pg_namespace n on n.oid = t.relnamespace
         where t.relkind in ('r', 'p', 'm') and {_project()}
           and {_not_an_extension_member("t.oid")}
         group by t.oid, ic.relam, i.indkey::text, i.indclass::text,
                  i.indcollation::text, i.indoption::text, i.indisunique,
                  pg_catalog.pg_get_expr(i.indexprs, i.indrelid),
                  pg_catalog.pg_get_expr(i.indpred, i.indrelid)
        having count(*) > 1
         order by 1, 2
        """,
    )
    return [f"{r['tablename']} has identical indexes {r['names']}" for r in rows]


async def invalid_index(conn: asyncpg.Connection) -> list[str]:
    """splinter 0030 (WARN): no index is left invalid (a failed
    ``create index concurrently``)."""
    rows = await _project_rows(
        conn,
        f"""
        select ic.relname, t.oid::regclass::text
          from pg_catalog.pg_index i
          join pg_catalog.pg_class ic on ic.oid = i.indexrelid
          join pg_catalog.pg_class t on t.oid = i.indrelid
          join pg_catalog.pg_namespace n on n.oid = t.relnamespace
         where not i.indisvalid and i.indisready and {_project()}
           and not exists (select 1 from pg_catalog.pg_stat_progress_create_index p
                            where p.index_relid = i.indexrelid)
           and {_not_an_extension_member("ic.oid")}
         order by 2, 1
        """,
    )
    return [f"index {r[0]} on {r[1]} is invalid" for r in rows]


async def unsupported_reg_types(conn: asyncpg.Connection) -> list[str]:
    """splinter 0018 (WARN): no stored column has a ``reg*`` type that
    ``pg_upgrade`` cannot carry over."""
    rows = await _project_rows(
        conn,
        f"""
        select c.oid::regclass::text, a.attname, t.typname
          from pg_catalog.pg_attribute a
          join pg_catalog.pg_class c on c.oid = a.attrelid
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          join pg_catalog.pg_type t on t.oid = a.atttypid
         where c.relkind in ('r', 'p', 'm') and a.attnum > 0
           and not a.attisdropped and {_project()}
           and t.typnamespace = 'pg_catalog'::regnamespace
           and t.typname in ('regcollation', 'regconfig', 'regdictionary',
                             'regnamespace', 'regoper', 'regoperator',
                             'regproc', 'regprocedure')
         order by 1, 2
        """,
    )
    return [f"{r[0]}.{r[1]} has the type {r[2]}" for r in rows]


async def autovacuum_disabled(conn: asyncpg.Connection) -> list[str]:
    """splinter 0030 (INFO): no table of the project turns autovacuum off."""
    rows = await _project_rows(
        conn,
        f"""
        select c.oid::regclass::text from pg_catalog.pg_class c
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where c.relkind = 'r' and {_project()}
           and exists (select 1 from unnest(c.reloptions) as o
                        where o ~* '^autovacuum_enabled=(false|off|no|0)$')
         order by 1
        """,
    )
    return [f"{r[0]} has autovacuum disabled" for r in rows]


# -- Extensions --------------------------------------------------------------


async def extension_in_public(conn: asyncpg.Connection) -> list[str]:
    """
    splinter 0014 (WARN): no extension sits in ``public`` (``plpgsql``
    aside). Where the database has no schema ``extensions`` (plain
    PostgreSQL, not Supabase), an extension the project created there
    itself (marked ``planner_app:integrity``: ``btree_gist``) is allowed:
    ``public`` is then where PostgreSQL puts extensions, and docs/security.md
    says why it is harmless.
    """
    rows = await conn.fetch(
        """
        select e.extname,
               pg_catalog.obj_description(e.oid, 'pg_extension') as comment
          from pg_catalog.pg_extension e
         where e.extnamespace = 'public'::regnamespace and e.extname <> 'plpgsql'
         order by 1
        """
    )
    convention = await conn.fetchval(
        "select pg_catalog.to_regnamespace('extensions') is not null"
    )
    return [
        f"extension {r['extname']} is in public"
        + (", not in extensions" if convention else "")
        for r in rows
        if convention or r["comment"] != "planner_app:integrity"
    ]


RULES: tuple[Rule, ...] = (
    rls_disabled_in_public,
    rls_enabled_no_policy,
    policy_exists_rls_disabled,
    auth_rls_initplan,
    multiple_permissive_policies,
    policies_open_to_anon,
    rls_policy_always_true,
    rls_policy_null_auth_disjunct,
    rls_references_user_metadata,
    tables_granted_to_anon,
    security_definer_view,
    materialized_view_in_api,
    foreign_table_in_api,
    auth_users_exposed,
    anon_security_definer_function_executable,
    authenticated_security_definer_function_executable,
    function_search_path_mutable,
    no_primary_key,
    unindexed_foreign_keys,
    fkey_to_auth_unique,
    duplicate_index,
    invalid_index,
    unsupported_reg_types,
    autovacuum_disabled,
    extension_in_public,
)


async def lint(conn: asyncpg.Connection) -> list[str]:
    """Every problem every rule finds, each prefixed with its rule's name."""
    problems: list[str] = []
    for rule in RULES:
        problems.extend(f"{rule.__name__}: {p}" for p in await rule(conn))
    return problems
