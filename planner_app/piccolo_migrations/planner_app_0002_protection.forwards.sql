-- Protection of a user-owned table, attached by one call:
--
--   select planner_private.protect('public.<table>');
--
-- gives the table row-level security with owner-only policies, the exact
-- grants of Supabase's API roles, the database-maintained columns (id,
-- user_id, created_at, updated_at) and the audit log. Every table that has
-- `id uuid` and `user_id uuid` can be protected; the migration that creates
-- a table calls it in the same transaction, so the table is never exposed
-- (docs/migrations.md, "Adding a table"; docs/security.md).
--
-- The functions live in the schema planner_private: not exposed by
-- PostgREST, no privileges for the API roles.

create schema planner_private;
comment on schema planner_private is
  'Internal functions of the planner schema: triggers and helpers, no API';
-- Trigger functions run as the writing role, and the functions they call
-- are checked against it: every role may use the schema, and EXECUTE stays
-- only on the helpers that reveal nothing (each says so); it is revoked
-- from every other function here.
grant usage on schema planner_private to public;

-- Database-maintained columns. Client values for created_at / updated_at are
-- ignored: created_at is the insert time and never changes; updated_at is
-- the insert time, then the time of the last update that changed the row.
-- id and user_id never change (moving a row to another owner is not a
-- product operation): such an update is rejected, whoever asks.
-- Security invoker and fully qualified, so no search_path is needed; the
-- triggers' WHEN clauses keep the common cases from calling it at all.
create function planner_private.maintain_row() returns trigger
  language plpgsql
as $fn$
begin
  if tg_op = 'INSERT' then
    -- The transaction's time, or with the argument 'clock' the time of this
    -- very insert (rows written in one transaction then keep their order).
    if tg_nargs > 0 and tg_argv[0] = 'clock' then
      new.created_at := pg_catalog.clock_timestamp();
    else
      new.created_at := pg_catalog.now();
    end if;
    new.updated_at := new.created_at;
    return new;
  end if;
  if new.id is distinct from old.id then
    raise exception using
      errcode = 'check_violation',
      message = format('the id of a %s row never changes', tg_table_name),
      constraint = tg_table_name || '_id_never_changes',
      schema = tg_table_schema,
      table = tg_table_name,
      column = 'id';
  end if;
  if new.user_id is distinct from old.user_id then
    raise exception using
      errcode = 'check_violation',
      message = format('the owner (user_id) of a %s row never changes', tg_table_name),
      constraint = tg_table_name || '_user_id_never_changes',
      schema = tg_table_schema,
      table = tg_table_name,
      column = 'user_id';
  end if;
  new.created_at := old.created_at;
  new.updated_at := old.updated_at;
  if new is distinct from old then
    new.updated_at := pg_catalog.now();
  end if;
  return new;
end
$fn$;

-- The audit log: one statement-level trigger per event reads the statement's
-- transition tables and writes one audit_log row per changed row in a single
-- INSERT (the cost is paid per statement, not per row). Rows:
--   INSERT: before null, after = the new row;
--   UPDATE: before / after = the old / new values of the columns that
--           changed (updated_at left out: occurred_at says when); an UPDATE
--           that changed nothing writes nothing;
--   DELETE: before = the old row, after null.
-- Security definer: the acting role has no right to write audit_log.
create function planner_private.audit() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $fn$
declare
  actor uuid;
  -- The database role the change was made with: the role set by "set role"
  -- (as PostgREST does), else the login role. Unlike the JWT's role claim,
  -- it cannot be claimed without being granted.
  acting_role text := coalesce(
    nullif(pg_catalog.current_setting('role'), 'none'), session_user);
  tx bigint := pg_catalog.pg_current_xact_id()::text::bigint;
begin
  -- auth.uid() casts the JWT claim; a malformed claim must not block the
  -- write, it only leaves the actor unknown.
  if pg_catalog.current_setting('request.jwt.claims', true) <> ''
     or pg_catalog.current_setting('request.jwt.claim.sub', true) <> '' then
    begin
      actor := auth.uid();
    exception when invalid_text_representation then
      actor := null;
    end;
  end if;

  if tg_op = 'INSERT' then
    insert into public.audit_log
      (table_name, record_id, action, user_id, actor_id, actor_role, txid,
       before, after)
    select tg_table_name, n.id, 'INSERT', n.user_id, actor, acting_role, tx,
           null, pg_catalog.to_jsonb(n)
      from new_rows n;
  elsif tg_op = 'UPDATE' then
    insert into public.audit_log
      (table_name, record_id, action, user_id, actor_id, actor_role, txid,
       before, after)
    select tg_table_name, n.id, 'UPDATE', n.user_id, actor, acting_role, tx,
           d.before, d.after
      from old_rows o
      join new_rows n on n.id = o.id
     cross join lateral (
       -- One pass over the new image, each value compared with the old
       -- image's by key ("offset 0" builds the old image once per row).
       select pg_catalog.jsonb_object_agg(a.key, i.old_image -> a.key) as before,
              pg_catalog.jsonb_object_agg(a.key, a.value) as after
         from (select pg_catalog.to_jsonb(o) as old_image offset 0) i
        cross join pg_catalog.jsonb_each(pg_catalog.to_jsonb(n)) a
        where a.key <> 'updated_at'
          and a.value is distinct from i.old_image -> a.key
     ) d
     where d.before is not null;
  else
    insert into public.audit_log
      (table_name, record_id, action, user_id, actor_id, actor_role, txid,
       before, after)
    select tg_table_name, o.id, 'DELETE', o.user_id, actor, acting_role, tx,
           pg_catalog.to_jsonb(o), null
      from old_rows o;
  end if;
  return null;
end
$fn$;

-- Ids in the form the front end's schemas accept (Zod's z.uuid()): an RFC
-- 9562 UUID of version 1-8 and variant 10xx, or the nil and max UUIDs. A
-- client may choose a row's id (supabase-js optimistic ids, idempotent
-- upserts), but not one the generated Row schema would then reject. The
-- text form of a uuid is canonical (lowercase, hyphenated), so fixed
-- positions hold the version (15) and variant (20) digits. Inlined into the
-- CHECKs that call it; it reveals nothing, so every role may execute it.
create function planner_private.is_rfc_9562(p_id uuid) returns boolean
  language sql
  immutable
  parallel safe
  return (substr(p_id::text, 15, 1) between '1' and '8'
          and substr(p_id::text, 20, 1) in ('8', '9', 'a', 'b'))
      or p_id in ('00000000-0000-0000-0000-000000000000',
                  'ffffffff-ffff-ffff-ffff-ffffffffffff');

-- The one call that protects a table.
create function planner_private.protect(p_table regclass) returns void
  language plpgsql
  set search_path = ''
as $fn$
declare
  name text := (select c.relname from pg_catalog.pg_class c where c.oid = p_table);
  owner_only constant text := '((select auth.uid()) = user_id)';
begin
  -- Row-level security, and exactly these privileges: Supabase's default
  -- privileges hand every new table to all three API roles (TRUNCATE
  -- included, which ignores row-level security), so everything is revoked
  -- first. anon gets nothing; service_role bypasses row-level security.
  execute format('alter table %s enable row level security', p_table);
  execute format(
    'revoke all on table %s from public, anon, authenticated, service_role', p_table);
  execute format(
    'grant select, insert, update, delete on table %s to authenticated, service_role',
    p_table);

  -- id and user_id (GoTrue's ids are version 4) in the form the front end
  -- reads; every other uuid column copies or references one of them.
  execute format(
    'alter table %s add constraint %I check (planner_private.is_rfc_9562(id)),'
    ' add constraint %I check (planner_private.is_rfc_9562(user_id))',
    p_table, name || '_id_is_rfc_9562', name || '_user_id_is_rfc_9562');

  -- Owner-only policies, one per command, as Supabase recommends:
  -- "to authenticated" and "(select auth.uid())" evaluated once per
  -- statement (every table has an index leading with user_id).
  execute format('create policy %I on %s for select to authenticated using %s',
                 name || '_owner_select', p_table, owner_only);
  execute format('create policy %I on %s for insert to authenticated with check %s',
                 name || '_owner_insert', p_table, owner_only);
  execute format(
    'create policy %I on %s for update to authenticated using %s with check %s',
    name || '_owner_update', p_table, owner_only, owner_only);
  execute format('create policy %I on %s for delete to authenticated using %s',
                 name || '_owner_delete', p_table, owner_only);

  -- Maintained columns. An insert that leaves created_at / updated_at to
  -- their defaults (now()) and an update that changes nothing never call
  -- the function.
  execute format(
    'create trigger %I before insert on %s for each row'
    ' when (new.created_at is distinct from pg_catalog.now()'
    ' or new.updated_at is distinct from pg_catalog.now())'
    ' execute function planner_private.maintain_row()',
    name || '_maintain_insert', p_table);
  execute format(
    'create trigger %I before update on %s for each row'
    ' when (old.* is distinct from new.*)'
    ' execute function planner_private.maintain_row()',
    name || '_maintain_update', p_table);

  -- Audit: one trigger per event (a trigger with transition tables may
  -- have only one).
  execute format(
    'create trigger %I after insert on %s referencing new table as new_rows'
    ' for each statement execute function planner_private.audit()',
    name || '_audit_insert', p_table);
  execute format(
    'create trigger %I after update on %s'
    ' referencing old table as old_rows new table as new_rows'
    ' for each statement execute function planner_private.audit()',
    name || '_audit_update', p_table);
  execute format(
    'create trigger %I after delete on %s referencing old table as old_rows'
    ' for each statement execute function planner_private.audit()',
    name || '_audit_delete', p_table);
end
$fn$;

revoke all on function planner_private.maintain_row() from public, anon, authenticated, service_role;
revoke all on function planner_private.audit() from public, anon, authenticated, service_role;
revoke all on function planner_private.protect(regclass) from public, anon, authenticated, service_role;
