-- Undo what the forwards step did for this database: its record, and the
-- cluster-wide limit it set, once no database of the cluster still relies
-- on it and the limit is still the one it set. Supabase's and operators'
-- limits were never recorded, so nothing of theirs changes.

do $timeouts$
declare
  limits constant text[][] := array[['anon', '3s'], ['authenticated', '8s']];
  api_role text;
  wanted text;
  role_oid oid;
  this_database oid := (select d.oid from pg_catalog.pg_database d
                         where d.datname = pg_catalog.current_database());
  i integer;
begin
  for i in 1 .. pg_catalog.array_length(limits, 1) loop
    api_role := limits[i][1];
    wanted := limits[i][2];
    select r.oid into role_oid from pg_catalog.pg_roles r where r.rolname = api_role;
    if role_oid is null or not exists (
      select 1 from pg_catalog.pg_db_role_setting d
       where d.setrole = role_oid and d.setdatabase = this_database
         and 'statement_timeout=' || wanted = any(d.setconfig)
    ) then
      continue;
    end if;
    execute pg_catalog.format(
      'alter role %I in database %I reset statement_timeout',
      api_role, pg_catalog.current_database());
    if pg_catalog.shobj_description(role_oid, 'pg_authid')
         = 'planner_app:statement_timeout'
       and exists (
         select 1 from pg_catalog.pg_db_role_setting d
          where d.setrole = role_oid and d.setdatabase = 0
            and 'statement_timeout=' || wanted = any(d.setconfig))
       and not exists (
         select 1 from pg_catalog.pg_db_role_setting d
          where d.setrole = role_oid and d.setdatabase <> 0
            and 'statement_timeout=' || wanted = any(d.setconfig)) then
      execute pg_catalog.format('alter role %I reset statement_timeout', api_role);
      execute pg_catalog.format('comment on role %I is null', api_role);
    end if;
  end loop;
end
$timeouts$;
