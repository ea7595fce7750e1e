"""
What the Supabase-fidelity tests read from the catalogs: what Supabase owns
(so a test can prove the migrations left it as found) and what the API
roles can reach (so a test can prove nothing is exposed).
"""

from __future__ import annotations

from typing import Any

import asyncpg

# Sections of :func:`supabase_state`, each one query; every row is made of
# names and text only (no oids), so two databases compare equal.
SUPABASE_STATE: dict[str, str] = {
    "roles": """
        select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb,
               rolcanlogin, rolreplication, rolbypassrls, rolconnlimit,
               coalesce(array_to_string(rolconfig, ','), '') as config
          from pg_catalog.pg_roles
         where rolname !~ '^pg_'
         order by 1
    """,
    "memberships": """
        select am.roleid::regrole::text as role, am.member::regrole::text as member,
               am.grantor::regrole::text as grantor,
               (to_jsonb(am) - array['oid', 'roleid', 'member', 'grantor'])::text
                 as options
          from pg_catalog.pg_auth_members am
         order by 1, 2, 3
    """,
    "database": """
        select d.datdba::regrole::text,
               coalesce(d.datacl::text, ''),
               coalesce((select array_to_string(s.setconfig, ',')
                           from pg_catalog.pg_db_role_setting s
                          where s.setdatabase = d.oid and s.setrole = 0), '')
          from pg_catalog.pg_database d
         where d.datname = current_database()
    """,
    "role settings in this database": """
        select s.setrole::regrole::text, array_to_string(s.setconfig, ',')
          from pg_catalog.pg_db_role_setting s
         where s.setdatabase = (select oid from pg_catalog.pg_database
                                 where datname = current_database())
           and s.setrole <> 0
         order by 1
    """,
    "schemas": """
        select n.nspname, n.nspowner::regrole::text, coalesce(n.nspacl::text, ''),
               coalesce(obj_description(n.oid, 'pg_namespace'), '')
          from pg_catalog.pg_namespace n
         where n.nspname !~ '^pg_(temp|toast_temp)_'
           -- The planner's own schema (created and dropped by its
           -- migrations) is not Supabase's.
           and n.nspname <> 'planner_private'
         order by 1
    """,
    "default privileges": """
        select d.defaclrole::regrole::text,
               coalesce(d.defaclnamespace::regnamespace::text, ''),
               d.defaclobjtype::text, d.defaclacl::text
          from pg_catalog.pg_default_acl d
         order by 1, 2, 3
    """,
    "event triggers": """
        select e.evtname, e.evtevent, e.evtowner::regrole::text,
               e.evtenabled::text, e.evtfoid::regprocedure::text,
               coalesce(array_to_string(e.evttags, ','), '')
          from pg_catalog.pg_event_trigger e
         order by 1
    """,
    "auth relations": """
        select c.relname, c.relkind::text, c.relowner::regrole::text,
               coalesce(c.relacl::text, ''), c.relrowsecurity,
               c.relforcerowsecurity,
               coalesce(obj_description(c.oid, 'pg_class'), ''),
               coalesce(pg_catalog.pg_get_indexdef(c.oid), ''),
               coalesce((
                 select string_agg(
                          a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                          || case when a.attnotnull then ' not null' else '' end
                          || coalesce(' default ' || pg_catalog.pg_get_expr(
                               ad.adbin, ad.adrelid), '')
                          || coalesce(' acl ' || a.attacl::text, ''),
                          ', ' order by a.attnum)
                   from pg_catalog.pg_attribute a
                   left join pg_catalog.pg_attrdef ad
                     on ad.adrelid = a.attrelid and ad.adnum = a.attnum
                  where a.attrelid = c.oid and a.attnum > 0
                    and not a.attisdropped), '')
          from pg_catalog.pg_class c
         where c.relnamespace = 'auth'::regnamespace
         order by 1
    """,
    "auth constraints": """
        select conrelid::regclass::text, conname,
               pg_catalog.pg_get_constraintdef(oid)
          from pg_catalog.pg_constraint
         where connamespace = 'auth'::regnamespace
         order by 1, 2
    """,
    "auth policies and triggers": """
        select 'policy', tablename, policyname,
               concat_ws(' ', permissive, roles::text, cmd, qual, with_check)
          from pg_catalog.pg_policies where schemaname = 'auth'
        union all
        select 'trigger', t.tgrelid::regclass::text, t.tgname,
               pg_catalog.pg_get_triggerdef(t.oid)
          from pg_catalog.pg_trigger t
          join pg_catalog.pg_class c on c.oid = t.tgrelid
         where c.relnamespace = 'auth'::regnamespace and not t.tgisinternal
         order by 1, 2, 3
    """,
    "auth functions": """
        select p.oid::regprocedure::text, p.proowner::regrole::text,
               coalesce(p.proacl::text, ''), p.prosecdef, p.provolatile::text,
               p.prosrc, coalesce(array_to_string(p.proconfig, ','), ''),
               coalesce(obj_description(p.oid, 'pg_proc'), '')
          from pg_catalog.pg_proc p
         where p.pronamespace = 'auth'::regnamespace
         order by 1
    """,
    "auth types": """
        select t.typname, t.typowner::regrole::text, coalesce(t.typacl::text, '')
          from pg_catalog.pg_type t
         where t.typnamespace = 'auth'::regnamespace
         order by 1
    """,
    "auth users": """
        select u::text from auth.users u order by u.id
    """,
    "extensions": """
        select e.extname, e.extnamespace::regnamespace::text,
               e.extowner::regrole::text, e.extversion
          from pg_catalog.pg_extension e
         order by 1
    """,
}

# Migrations may add extensions (in schema extensions); rolling back takes
# them away again.
CHANGED_BY_FORWARDS = frozenset({"extensions"})


async def supabase_state(
    conn: asyncpg.Connection, *, leave_out: frozenset[str] = frozenset()
) -> dict[str, list[tuple[Any, ...]]]:
    """
    Every role (attributes, settings, memberships), schema (owner, ACL),
    default privilege, event trigger, extension and ``auth`` object (with
    its ACL) of the database, read as a superuser.
    """
    return {
        section: [tuple(row) for row in await conn.fetch(query)]
        for section, query in SUPABASE_STATE.items()
        if section not in leave_out
    }


def differences(
    before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]
) -> list[str]:
    """One line per row that appeared or disappeared, by section."""
    lines = []
    for section in before.keys() | after.keys():
        old = set(before.get(section, []))
        new = set(after.get(section, []))
        lines += [f"{section}: lost {row}" for row in sorted(old - new, key=repr)]
        lines += [f"{section}: gained {row}" for row in sorted(new - old, key=repr)]
    return sorted(lines)


EXPOSED_RELATIONS = """
with relation as (
  select c.oid, c.relname, c.relkind, c.relrowsecurity,
         coalesce('security_invoker=true' = any(c.reloptions)
                  or 'security_invoker=on' = any(c.reloptions), false)
           as security_invoker
    from pg_catalog.pg_class c
   where c.relnamespace = 'public'::regnamespace
     and c.relkind in ('r', 'p', 'v', 'm', 'f')
     and c.relname <> 'migration'
), access as (
  select r.relname, r.relkind, r.relrowsecurity, r.security_invoker, role.name,
         has_any_column_privilege(role.name, r.oid, 'SELECT') as can_select,
         has_any_column_privilege(role.name, r.oid, 'INSERT') as can_insert,
         has_any_column_privilege(role.name, r.oid, 'UPDATE') as can_update,
         has_table_privilege(role.name, r.oid, 'DELETE') as can_delete,
         has_table_privilege(role.name, r.oid, 'TRUNCATE') as can_truncate
    from relation r
   cross join unnest(array['anon', 'authenticated']) as role(name)
)
select relname, relkind::text, name, can_select, can_insert, can_update,
       can_delete, can_truncate,
       case
         when relkind in ('r', 'p') then not relrowsecurity
         when relkind = 'v' then not security_invoker
         else true
       end as unprotected
  from access
 where can_select or can_insert or can_update or can_delete or can_truncate
 order by 1, 3
"""

KINDS = {
    "r": "table",
    "p": "table",
    "v": "view",
    "m": "materialized view",
    "f": "foreign table",
}

BOOKKEEPING = """
select c.relname, role.name,
       array_remove(array[
         case when has_table_privilege(role.name, c.oid, 'SELECT') then 'SELECT' end,
         case when has_table_privilege(role.name, c.oid, 'INSERT') then 'INSERT' end,
         case when has_table_privilege(role.name, c.oid, 'UPDATE') then 'UPDATE' end,
         case when has_table_privilege(role.name, c.oid, 'DELETE') then 'DELETE' end,
         case when has_table_privilege(role.name, c.oid, 'TRUNCATE')
              then 'TRUNCATE' end
       ], null) as privileges
  from pg_catalog.pg_class c
 cross join unnest(array['anon', 'authenticated', 'service_role']) as role(name)
 where c.relnamespace = 'public'::regnamespace and c.relname = 'migration'
union all
select c.relname, role.name,
       array_remove(array[
         case when has_sequence_privilege(role.name, c.oid, 'USAGE') then 'USAGE' end,
         case when has_sequence_privilege(role.name, c.oid, 'SELECT') then 'SELECT' end,
         case when has_sequence_privilege(role.name, c.oid, 'UPDATE') then 'UPDATE' end
       ], null)
  from pg_catalog.pg_class c
 cross join unnest(array['anon', 'authenticated', 'service_role']) as role(name)
 where c.relnamespace = 'public'::regnamespace and c.relkind = 'S'
 order by 1, 2
"""


async def exposures(conn: asyncpg.Connection) -> list[str]:
    """
    What the API roles can reach that they must not, one line each:

    - a table (or view, materialized view, foreign table) of ``public``
      that ``anon`` or ``authenticated`` may read or write while row-level
      security does not apply to it (off on the table; a view that is not
      ``security_invoker``; relations without row-level security at all);
      Piccolo's ``migration`` table is held to the stricter rule below;
    - TRUNCATE on a table for ``anon`` or ``authenticated`` (TRUNCATE
      ignores row-level security);
    - any privilege of ``anon``, ``authenticated`` or ``service_role`` on a
      sequence of ``public`` or on Piccolo's ``migration`` table.
    """
    problems = []
    for row in await conn.fetch(EXPOSED_RELATIONS):
        kind = KINDS[row["relkind"]]
        granted = [
            privilege
            for privilege in ("select", "insert", "update", "delete", "truncate")
            if row[f"can_{privilege}"]
        ]
        if row["unprotected"]:
            problems.append(
                f"{row['name']} can {'/'.join(granted)} {kind} public."
                f"{row['relname']} while row-level security is off"
            )
        elif row["can_truncate"]:
            problems.append(
                f"{row['name']} can truncate {kind} public.{row['relname']} "
                "(TRUNCATE ignores row-level security)"
            )
    for row in await conn.fetch(BOOKKEEPING):
        if row["privileges"]:
            problems.append(
                f"{row['name']} has {','.join(row['privileges'])} on "
                f"public.{row['relname']}"
            )
    return problems
