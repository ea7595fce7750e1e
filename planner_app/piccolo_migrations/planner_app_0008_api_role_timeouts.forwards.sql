-- The API roles' time limits, as Supabase sets them: statement_timeout 3s
-- for anon, 8s for authenticated, as settings of the roles.
--
-- Cluster-wide (ALTER ROLE ... SET), not per database: PostgREST logs in as
-- authenticator and SET ROLEs to the request's role, which applies no role
-- setting by itself; PostgREST applies the impersonated role's own settings
-- (pg_roles.rolconfig, the cluster-wide ones) to each request's
-- transaction, and reads no per-database setting of that role. The roles
-- themselves are cluster-wide and shared by every database of the cluster.
--
-- Only where a role has no statement_timeout of its own (the roles the
-- compatibility step created): Supabase's, or an operator's, is never
-- changed. A setting this step made is marked by the role's comment
-- 'planner_app:statement_timeout', and every database whose migration
-- relies on it records so with the same setting for that database only
-- (ALTER ROLE ... IN DATABASE, which takes effect only for a login as the
-- role, and anon / authenticated cannot log in). The backwards step removes
-- this database's record, and the cluster-wide setting only when no other
-- database of the cluster still relies on it (docs/migrations.md).

do $timeouts$
declare
  limits constant text[][] := array[['anon', '3s'], ['authenticated', '8s']];
  api_role text;
  wanted text;
  role_oid oid;
  current_limit text;
  i integer;
begin
  for i in 1 .. pg_catalog.array_length(limits, 1) loop
    api_role := limits[i][1];
    wanted := limits[i][2];
    select r.oid into role_oid from pg_catalog.pg_roles r where r.rolname = api_role;
    if role_oid is null then
      continue;
    end if;
    select pg_catalog.substr(s, pg_catalog.strpos(s, '=') + 1) into current_limit
      from pg_catalog.pg_db_role_setting d, unnest(d.setconfig) as s
     where d.setrole = role_oid and d.setdatabase = 0
       and s like 'statement\_timeout=%';
    begin
      if current_limit is null then
        execute pg_catalog.format(
          'alter role %I set statement_timeout = %L', api_role, wanted);
        if pg_catalog.shobj_description(role_oid, 'pg_authid') is null then
          execute pg_catalog.format(
            'comment on role %I is %L', api_role, 'planner_app:statement_timeout');
        end if;
      elsif current_limit is distinct from wanted
            or pg_catalog.shobj_description(role_oid, 'pg_authid')
               is distinct from 'planner_app:statement_timeout' then
        -- Supabase's or an operator's: not ours to change or to record.
        continue;
      end if;
      execute pg_catalog.format(
        'alter role %I in database %I set statement_timeout = %L',
        api_role, pg_catalog.current_database(), wanted);
    exception when insufficient_privilege then
      raise exception using
        errcode = 'insufficient_privilege',
        message = pg_catalog.format(
          'the role %I has no statement_timeout and %I may not give it one',
          api_role, current_user),
        hint = pg_catalog.format(
          'An administrator can run: alter role %I set statement_timeout = %L; '
          'then migrate again (a limit the role has is kept).', api_role, wanted);
    end;
  end loop;
end
$timeouts$;
