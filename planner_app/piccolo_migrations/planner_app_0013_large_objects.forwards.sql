-- Large objects (docs/security.md, "Resource exhaustion"): PostgreSQL lets
-- every role run its server-side large-object functions (lo_create,
-- lo_from_bytea, lowrite, lo_put, ...; EXECUTE granted to PUBLIC), and the
-- client protocol's large-object calls are calls of the same functions. A
-- user on a direct connection as authenticated (or anon) could so store
-- data without limit outside every budget, in objects owned by the shared
-- API role, which every other user could then read, overwrite and unlink.
-- The project keeps no large object, so no role but the owner needs them:
-- this step revokes EXECUTE from PUBLIC on each of them that PUBLIC may run.
--
-- Only where the migration role may change them (the functions' owner or a
-- superuser, as on plain PostgreSQL): on Supabase the migration role is not,
-- so nothing changes there; PostgREST exposes no function of pg_catalog,
-- and no end user has a direct connection. What was revoked is recorded so
-- that rolling back grants exactly that back.

create table planner_private.revoked_large_object_functions (
  signature text primary key
);
comment on table planner_private.revoked_large_object_functions is
  'planner_app:derived: the large-object functions 0013_large_objects revoked from PUBLIC; rolling back grants them back';
revoke all on table planner_private.revoked_large_object_functions
  from public, anon, authenticated, service_role;
alter table planner_private.revoked_large_object_functions enable row level security;

do $large_objects$
declare
  owner_of_them constant oid := (
    select p.proowner from pg_catalog.pg_proc p
     where p.oid = 'pg_catalog.lo_create(pg_catalog.oid)'::pg_catalog.regprocedure);
  signature text;
begin
  if not pg_catalog.pg_has_role(current_user, owner_of_them, 'USAGE') then
    return;
  end if;
  for signature in
    select pg_catalog.format('pg_catalog.%I(%s)', p.proname,
                             pg_catalog.pg_get_function_identity_arguments(p.oid))
      from pg_catalog.pg_proc p
     where p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace
       and (p.proname like 'lo\_%' or p.proname in ('loread', 'lowrite'))
       and pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')
     order by 1
  loop
    execute pg_catalog.format('revoke execute on function %s from public', signature);
    insert into planner_private.revoked_large_object_functions (signature)
    values (signature);
  end loop;
end
$large_objects$;
