-- No caller's code runs inside the planner's functions.
--
-- PostgreSQL searches pg_temp before the schemas of search_path for
-- relations and types unless pg_temp is named in it, and every role may
-- create temporary objects (PUBLIC keeps TEMP, on Supabase too). A function
-- with search_path = '' that declares `actor uuid` would therefore resolve
-- `uuid` to a caller's pg_temp.uuid domain, whose CHECK runs the caller's
-- function with the privileges of the function's owner (inside a security
-- definer trigger: the migration role). Naming pg_temp last, after
-- pg_catalog, makes every bare type name and relation resolve to
-- pg_catalog's first; functions and operators are never looked up in
-- pg_temp. Every function of planner_private gets it, and so do the
-- compatibility step's auth functions where this project created them
-- (on Supabase those are Supabase's own and stay untouched). A function
-- created by a later migration states the same setting itself
-- (tests/test_schema_lint.py checks every function of the project).

do $pin$
declare
  fn regprocedure;
begin
  for fn in
    select p.oid::regprocedure
      from pg_catalog.pg_proc p
     where p.pronamespace = 'planner_private'::regnamespace
        or (p.pronamespace = (select n.oid from pg_catalog.pg_namespace n
                               where n.nspname = 'auth')
            and pg_catalog.obj_description(p.oid, 'pg_proc') = 'planner_app:compat')
     order by p.oid
  loop
    execute pg_catalog.format(
      'alter function %s set search_path = pg_catalog, pg_temp', fn);
  end loop;
end
$pin$;
