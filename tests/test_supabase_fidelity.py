"""
Supabase fidelity: docs/product.md, "The same migrations run unchanged on
Supabase ... Rolling back never drops objects that Supabase owns."

The database here is built the way Supabase builds it before any migration
of ours runs: the schema ``auth`` with ``auth.users`` and ``auth.uid()`` /
``auth.role()`` / ``auth.jwt()``, owned by ``supabase_auth_admin``, and
default privileges that hand every new object in ``public`` to ``anon``,
``authenticated`` and ``service_role``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from tests import schema_lint
from tests.roles import acting_as
from tests.support import PLANNER_TABLES, run_cli

AUTH_OWNER = "supabase_auth_admin"
EXISTING_USER = uuid.UUID("00000000-0000-4000-8000-000000000001")

SUPABASE_AUTH = f"""
create schema auth authorization {AUTH_OWNER};
grant usage on schema auth to anon, authenticated, service_role;
set role {AUTH_OWNER};
create table auth.users (
  instance_id uuid,
  id uuid primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  phone text unique,
  is_anonymous boolean not null default false
);
create index users_instance_id_idx on auth.users (instance_id);
create function auth.uid() returns uuid language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
create function auth.role() returns text language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
create function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;
comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';
grant execute on function auth.uid(), auth.role(), auth.jwt()
  to anon, authenticated, service_role;
grant select on table auth.users to service_role;
reset role;
insert into auth.users (id, aud, role, email, created_at, updated_at)
  values ('{EXISTING_USER}', 'authenticated', 'authenticated',
          'existing@example.test', now(), now());
alter default privileges in schema public
  grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public
  grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public
  grant all on functions to anon, authenticated, service_role;
"""

# Roles are shared by every database of the server: created when missing
# (by the compatibility migration or here), never dropped.
ENSURE_ROLES = """
do $roles$
declare
  name text;
begin
  foreach name in array array['anon', 'authenticated', '{owner}'] loop
    begin
      if not exists (select 1 from pg_catalog.pg_roles where rolname = name) then
        execute format('create role %I nologin noinherit', name);
      end if;
    exception when duplicate_object or unique_violation then null;
    end;
  end loop;
  begin
    if not exists (
      select 1 from pg_catalog.pg_roles where rolname = 'service_role'
    ) then
      create role service_role nologin noinherit bypassrls;
    end if;
  exception when duplicate_object or unique_violation then null;
  end;
end
$roles$;
""".replace("{owner}", AUTH_OWNER)

AUTH_CATALOG = """
select 'schema' as kind, n.nspname as name, n.nspowner::regrole::text as owner,
       coalesce(n.nspacl::text, '') as acl,
       coalesce(obj_description(n.oid, 'pg_namespace'), '') as detail
  from pg_catalog.pg_namespace n where n.nspname = 'auth'
union all
select 'relation', c.relname, c.relowner::regrole::text, coalesce(c.relacl::text, ''),
       c.relkind::text || ':' || coalesce((
         select string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                           || case when a.attnotnull then ' not null' else '' end,
                           ', ' order by a.attnum)
           from pg_catalog.pg_attribute a
          where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '')
  from pg_catalog.pg_class c where c.relnamespace = 'auth'::regnamespace
union all
select 'function', p.oid::regprocedure::text, p.proowner::regrole::text,
       coalesce(p.proacl::text, ''),
       p.prosrc || coalesce(array_to_string(p.proconfig, ','), '')
       || coalesce(obj_description(p.oid, 'pg_proc'), '')
  from pg_catalog.pg_proc p where p.pronamespace = 'auth'::regnamespace
union all
select 'role', r.rolname, '', '',
       concat_ws(',', r.rolsuper, r.rolinherit, r.rolcanlogin, r.rolbypassrls)
  from pg_catalog.pg_roles r
 where r.rolname in ('anon', 'authenticated', 'service_role', 'supabase_auth_admin')
order by 1, 2
"""


async def auth_state(conn: asyncpg.Connection) -> list[tuple[Any, ...]]:
    """Everything Supabase owns that our migrations must leave alone."""
    catalog = [tuple(r) for r in await conn.fetch(AUTH_CATALOG)]
    users = [tuple(r) for r in await conn.fetch("select * from auth.users order by id")]
    return [*catalog, *users]


async def planner_tables(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "select relname from pg_catalog.pg_class "
        "where relnamespace = 'public'::regnamespace and relname = any($1::text[])",
        list(PLANNER_TABLES),
    )
    return sorted(r["relname"] for r in rows)


def migrate(url: str, *args: str) -> None:
    result = run_cli("migrations", *args, database_url=url)
    assert result.returncode == 0, result.stdout + result.stderr


async def assert_migrated_like_supabase(
    conn: asyncpg.Connection, supabase_auth: list[tuple[Any, ...]]
) -> None:
    assert await auth_state(conn) == supabase_auth
    assert await planner_tables(conn) == sorted(PLANNER_TABLES)
    assert await schema_lint.lint(conn) == []
    # Supabase's default privileges gave the API roles everything: the
    # migrations leave exactly the intended privileges.
    privileges = await conn.fetch(
        "select grantee, table_name, string_agg(privilege_type, ',' "
        "order by privilege_type) as granted "
        "from information_schema.role_table_grants "
        "where table_schema = 'public' "
        "and grantee in ('anon', 'authenticated', 'service_role') "
        "group by 1, 2 order by 1, 2"
    )
    expected = []
    for role in ("authenticated", "service_role"):
        for table in sorted(PLANNER_TABLES):
            granted = (
                "SELECT" if table == "audit_log" else "DELETE,INSERT,SELECT,UPDATE"
            )
            expected.append((role, table, granted))
    assert [tuple(r) for r in privileges] == expected
    # And the pre-existing user can use the planner through Supabase's auth.
    async with acting_as(conn, "authenticated", EXISTING_USER) as acting:
        vision_id = await acting.fetchval(
            "insert into vision (user_id, title, statement) "
            "values ($1, 'Vision', 'Statement') returning id",
            EXISTING_USER,
        )
        audit = await acting.fetchrow(
            "select actor_id, actor_role, after from audit_log where record_id = $1",
            vision_id,
        )
    assert (audit["actor_id"], audit["actor_role"]) == (EXISTING_USER, "authenticated")
    assert json.loads(audit["after"])["id"] == str(vision_id)


async def test_migrations_apply_and_roll_back_on_a_supabase_like_database(
    fresh_database: Callable[[], Awaitable[str]],
) -> None:
    url = await fresh_database()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(ENSURE_ROLES)
        await conn.execute(SUPABASE_AUTH)
        supabase_auth = await auth_state(conn)
        assert (
            await conn.fetchval(
                "select nspowner::regrole::text from pg_catalog.pg_namespace "
                "where nspname = 'auth'"
            )
            == AUTH_OWNER
        )

        migrate(url, "forwards", "all")
        await assert_migrated_like_supabase(conn, supabase_auth)

        migrate(url, "backwards", "planner_app", "all", "--auto_agree")
        assert await auth_state(conn) == supabase_auth
        assert await planner_tables(conn) == []
        leftovers = await conn.fetch(
            "select p.proname from pg_catalog.pg_proc p "
            "where p.pronamespace = 'public'::regnamespace "
            "and not exists (select 1 from pg_catalog.pg_depend d "
            "where d.objid = p.oid and d.deptype = 'e')"
        )
        assert leftovers == []

        migrate(url, "forwards", "all")
        await assert_migrated_like_supabase(conn, supabase_auth)
    finally:
        await conn.close()
