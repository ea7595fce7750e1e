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
-- pg_temp. Every function of planner_private gets it; a function created by
-- a later migration states the same setting itself (tests/schema_lint.py
-- checks every function of the project's schemas).
--
-- The compatibility step's auth.uid(), auth.role() and auth.jwt() keep
-- Supabase's own definitions, which set no search_path so that PostgreSQL
-- can inline them into the policies (a SET clause would make every
-- `(select auth.uid())` plan and run a function call of its own). They
-- name only pg_catalog functions; their casts resolve with the search_path
-- of whoever runs them: inside the planner's functions the pinned one,
-- in a caller's own statement the caller's, where a temporary type can run
-- only the caller's code as the caller (tests/attacks/test_owner_code.py).

do $pin$
declare
  fn regprocedure;
begin
  for fn in
    select p.oid::regprocedure
      from pg_catalog.pg_proc p
     where p.pronamespace = 'planner_private'::regnamespace
     order by p.oid
  loop
    execute pg_catalog.format(
      'alter function %s set search_path = pg_catalog, pg_temp', fn);
  end loop;
end
$pin$;
