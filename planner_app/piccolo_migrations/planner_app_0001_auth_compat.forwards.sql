-- Supabase auth compatibility, and Piccolo's bookkeeping out of the API's reach.
--
-- On Supabase the roles anon / authenticated / service_role, the schema auth,
-- auth.uid() / auth.role() / auth.jwt() and auth.users already exist and are
-- owned by other roles (the migration role may not even have rights on
-- auth), so each piece is created only when the catalogs say it is missing.
-- Every object created here carries the comment 'planner_app:compat' so the
-- backwards step drops only what this step created. Roles are cluster-wide
-- and shared with other databases: they are never dropped.

do $compat$
begin
  -- Roles (as Supabase creates them: NOLOGIN, INHERIT; service_role bypasses
  -- row-level security). Created concurrently by another database's
  -- migration is fine.
  begin
    if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
      create role anon nologin;
    end if;
  exception when duplicate_object or unique_violation then null;
  end;
  begin
    if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
      create role authenticated nologin;
    end if;
  exception when duplicate_object or unique_violation then null;
  end;
  begin
    if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
      create role service_role nologin bypassrls;
    end if;
  exception when duplicate_object or unique_violation then null;
  end;

  if not exists (select 1 from pg_catalog.pg_namespace where nspname = 'auth') then
    create schema auth;
    comment on schema auth is 'planner_app:compat';
    grant usage on schema auth to anon, authenticated, service_role;
  end if;

  -- auth.uid(), auth.role() and auth.jwt() are Supabase's own definitions
  -- (PostgREST sets request.jwt.claims). Like Supabase's, they set no
  -- search_path, so PostgreSQL can inline them into the policies that call
  -- them; they use only pg_catalog, which is always searched first.
  if not exists (
    select 1 from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'uid'
  ) then
    create function auth.uid() returns uuid
      language sql stable
    as $fn$
      select coalesce(
        nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
        (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $fn$;
    comment on function auth.uid() is 'planner_app:compat';
    grant execute on function auth.uid() to anon, authenticated, service_role;
  end if;

  if not exists (
    select 1 from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'role'
  ) then
    create function auth.role() returns text
      language sql stable
    as $fn$
      select coalesce(
        nullif(pg_catalog.current_setting('request.jwt.claim.role', true), ''),
        (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
      )::text
    $fn$;
    comment on function auth.role() is 'planner_app:compat';
    grant execute on function auth.role() to anon, authenticated, service_role;
  end if;

  if not exists (
    select 1 from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'jwt'
  ) then
    create function auth.jwt() returns jsonb
      language sql stable
    as $fn$
      select coalesce(
        nullif(pg_catalog.current_setting('request.jwt.claim', true), ''),
        nullif(pg_catalog.current_setting('request.jwt.claims', true), '')
      )::jsonb
    $fn$;
    comment on function auth.jwt() is 'planner_app:compat';
    grant execute on function auth.jwt() to anon, authenticated, service_role;
  end if;

  -- A minimal auth.users: the planner only needs the id (and an email for
  -- people reading the data). Supabase's own table has many more columns.
  if not exists (
    select 1 from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'auth' and c.relname = 'users'
  ) then
    create table auth.users (
      id uuid primary key default gen_random_uuid(),
      email text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    comment on table auth.users is 'planner_app:compat';
  end if;
end
$compat$;

-- Piccolo's bookkeeping table sits in public, where PostgREST would expose it
-- (and Supabase's default privileges hand it to the API roles): no API role
-- may read or write it or use its sequence. Row-level security with no
-- policy hides it even from a role granted access later. The migration role
-- owns it and is not affected. Rolling back leaves it private.
do $bookkeeping$
begin
  if to_regclass('public.migration') is not null then
    alter table public.migration enable row level security;
    revoke all on table public.migration from public, anon, authenticated, service_role;
  end if;
  if to_regclass('public.migration_id_seq') is not null then
    revoke all on sequence public.migration_id_seq
      from public, anon, authenticated, service_role;
  end if;
end
$bookkeeping$;
