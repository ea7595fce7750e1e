-- Drop only what the forwards step created (marked 'planner_app:compat');
-- never Supabase's own objects, never roles.

do $compat$
begin
  if to_regclass('auth.users') is not null
     and obj_description(to_regclass('auth.users'), 'pg_class') = 'planner_app:compat' then
    drop table auth.users;
  end if;
  if to_regprocedure('auth.jwt()') is not null
     and obj_description(to_regprocedure('auth.jwt()'), 'pg_proc') = 'planner_app:compat' then
    drop function auth.jwt();
  end if;
  if to_regprocedure('auth.role()') is not null
     and obj_description(to_regprocedure('auth.role()'), 'pg_proc') = 'planner_app:compat' then
    drop function auth.role();
  end if;
  if to_regprocedure('auth.uid()') is not null
     and obj_description(to_regprocedure('auth.uid()'), 'pg_proc') = 'planner_app:compat' then
    drop function auth.uid();
  end if;
  -- The schema goes only when it is ours and nothing else lives in it.
  if exists (
    select 1 from pg_catalog.pg_namespace n
    where n.nspname = 'auth'
      and obj_description(n.oid, 'pg_namespace') = 'planner_app:compat'
      and not exists (select 1 from pg_catalog.pg_class c where c.relnamespace = n.oid)
      and not exists (select 1 from pg_catalog.pg_proc p where p.pronamespace = n.oid)
      and not exists (select 1 from pg_catalog.pg_type t where t.typnamespace = n.oid)
  ) then
    drop schema auth;
  end if;
end
$compat$;
