-- The rules every domain table gets, attached by one call, and one BEFORE
-- row trigger per table and event.
--
--   select planner_private.attach_table_rules('public.<table>');
--   select planner_private.detach_table_rules('public.<table>');
--
-- attach_table_rules() is the one list of what a protected table gets (it
-- replaces protect()): row-level security and exact grants, the owner-only
-- policies, the RFC 9562 id checks, a same-owner key, the rules trigger for
-- INSERT and UPDATE and the taken-id check, the audit triggers and the
-- triggers that keep the owners' budget figures (0010_budgets). It creates
-- what is missing and leaves what is there, so running it twice changes
-- nothing; the table's
-- own migration calls it in the transaction that creates the table
-- (docs/recipes.md, "Add a table"). detach_table_rules() removes the
-- triggers, policies and checks again (its rows then no longer count
-- towards budgets) and leaves the table closed: row-level security stays
-- on and no API role keeps a privilege.
--
-- One BEFORE row trigger per table and event (<table>_rules_insert,
-- _update and, where the table's own rules act on deletes, _delete) runs
-- the table's rules trigger function: planner_private.<table>_rules() where
-- the table has rules of its own, else planner_private.table_rules(). It
-- does, in this order, what separate triggers did before (each its own
-- PL/pgSQL call; together 35-46 % of a bare single-row UPDATE,
-- docs/performance.md):
--
--   1. the table's own rules: derived columns and same-owner parents
--      (0004_ownership), then the weeks 7-12 lock (0005_lock);
--   2. planner_private.common_rules(), the same for every table: the
--      maintained columns (0002_protection).
--
-- On INSERT by a writer under row-level security, <table>_rules_taken_id
-- then refuses another user's id (0004_ownership; below).
--
-- Errors, constraint names and messages are the ones the separate triggers
-- raised. Everything runs as the writing role (security invoker), so every
-- parent is read under the writer's row-level security: another user's
-- parent looks missing, and no value, lock or wait on it is possible. The
-- one lookup that must see past row-level security, another user's id, is
-- a security definer trigger function of its own.
--
-- Replica mode (session_replication_role = replica: restores, logical
-- replication) used to skip every trigger but the lock's, which were
-- ENABLE ALWAYS. The rules triggers are ENABLE ALWAYS, and in replica mode
-- they apply the lock only; everything else is skipped as before
-- (docs/security.md, "Replica mode").

-- Another user's id is refused the way any taken id is (23505 on
-- <table>_pkey, the writer's own id in the detail), and before PostgreSQL
-- would look at that row: an INSERT ... ON CONFLICT (id) DO UPDATE would
-- otherwise lock the other user's row (and wait for their transaction)
-- before row-level security refuses it, and a plain INSERT would wait while
-- the other user updates that row. Read with the writer's snapshot, so it
-- never waits. It stays a trigger of its own, <table>_rules_taken_id, for
-- writers under row-level security only (its WHEN clause): it must see the
-- rows the writer cannot, so it is security definer, and a security
-- definer function an end user could call is what splinter's rule 0029
-- (tests/schema_lint.py) refuses; a trigger function nobody can call. It
-- fires after <table>_rules_insert (triggers fire in name order), as it
-- fired after the other checks before. The id is compared with the rows of
-- anyone but the writer (auth.uid()), no longer with those of anyone but
-- the user_id the new row claims: a writer who claimed another user's
-- user_id could tell that user's ids from others' (42501 from row-level
-- security for theirs, 23505 for the rest).
create or replace function planner_private.refuse_anothers_id() returns trigger
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  taken boolean;
begin
  execute pg_catalog.format(
    'select exists (select from %I.%I where id = $1 and user_id is distinct from $2)',
    tg_table_schema, tg_table_name)
    into taken using new.id, auth.uid();
  if taken then
    raise exception using
      errcode = 'unique_violation',
      message = pg_catalog.format(
        'duplicate key value violates unique constraint "%s_pkey"', tg_table_name),
      detail = pg_catalog.format('Key (id)=(%s) already exists.', new.id),
      constraint = tg_table_name || '_pkey',
      schema = tg_table_schema,
      table = tg_table_name;
  end if;
  return new;
end
$fn$;

-- The one check of the lock, as in 0005_lock, now run as the writing role
-- (the rules trigger functions are security invoker): the cycle is read FOR
-- SHARE under the writer's row-level security (only their own cycle). The
-- exception for deleting the owner reads auth.users only for a writer that
-- row-level security does not restrict: the cascades that delete a user's
-- rows run as the table owner. For a writer it restricts (end users), or
-- one that may not read auth.users, the owner exists and the week stays
-- locked.
create or replace function planner_private.assert_week_open(
  p_cycle_id uuid,
  p_week_no integer,
  p_owner uuid,
  p_operation text,
  p_action text,
  p_table text,
  p_deleting boolean
) returns void
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  locked boolean;
begin
  if not planner_private.week_lockable(p_week_no) then
    return;
  end if;
  -- FOR SHARE waits for an uncommitted change of the lock and then reads the
  -- committed row (0005_lock's header). Only the owner's own cycle.
  select c.lock_enforced into locked
    from public.cycle c
   where c.id = p_cycle_id and c.user_id = p_owner
     for share;
  if not found or not locked then
    return;
  end if;
  if p_deleting
     and not pg_catalog.row_security_active(pg_catalog.format('public.%I', p_table)) then
    begin
      if not exists (select from auth.users u where u.id = p_owner) then
        return;
      end if;
    exception when insufficient_privilege then
      null;
    end;
  end if;
  raise exception using
    errcode = 'PT423',
    message = pg_catalog.format('week %s of cycle %s is locked: cannot %s',
                                p_week_no, p_cycle_id, p_action),
    detail = pg_catalog.json_build_object(
               'cycle_id', p_cycle_id,
               'week_no', p_week_no,
               'operation', p_operation)::text,
    hint = 'Weeks 7-12 of a cycle are frozen while cycle.lock_enforced is true. '
           'Record execution (completed_count, notes, reflection) instead; only '
           'service_role or the table owner can lift the lock.',
    schema = 'public',
    table = p_table;
end
$fn$;

-- The rules every row of a domain table follows, after its table's own
-- rules (see the header): the maintained columns.
-- Client values for created_at / updated_at are ignored: created_at is the
-- insert time and never changes; updated_at is the insert time, then the
-- time of the last update that changed the row. id and user_id never
-- change. Called by every rules trigger function with the row being
-- written (p_new) and, for an update, the row as it was (p_old); returns
-- the row to write. Nothing is done in replica mode.
create function planner_private.common_rules(
  p_op text, p_table regclass, p_new anyelement, p_old anyelement
) returns anyelement
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  row_to_write record := p_new;
  table_name name;
  table_schema name;
begin
  if pg_catalog.current_setting('session_replication_role') = 'replica' then
    return p_new;
  end if;
  if p_op = 'INSERT' then
    row_to_write.created_at := pg_catalog.now();
    row_to_write.updated_at := row_to_write.created_at;
    return row_to_write;
  end if;
  if p_new.id is distinct from p_old.id
     or p_new.user_id is distinct from p_old.user_id then
    select c.relname, n.nspname into table_name, table_schema
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.oid = p_table;
    if p_new.id is distinct from p_old.id then
      raise exception using
        errcode = 'check_violation',
        message = pg_catalog.format('the id of a %s row never changes', table_name),
        constraint = table_name || '_id_never_changes',
        schema = table_schema,
        table = table_name,
        column = 'id';
    end if;
    raise exception using
      errcode = 'check_violation',
      message = pg_catalog.format(
        'the owner (user_id) of a %s row never changes', table_name),
      constraint = table_name || '_user_id_never_changes',
      schema = table_schema,
      table = table_name,
      column = 'user_id';
  end if;
  row_to_write.created_at := p_old.created_at;
  row_to_write.updated_at := p_old.updated_at;
  if row_to_write is distinct from p_old then
    row_to_write.updated_at := pg_catalog.now();
  end if;
  return row_to_write;
end
$fn$;

-- The rules trigger function of a table without rules of its own.
create function planner_private.table_rules() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  return planner_private.common_rules(tg_op, tg_relid, new, old);
end
$fn$;

-- A table's own rules run when the columns they watch change (the separate
-- triggers ran when the statement named them: the same result, since a
-- named column that keeps its value changes nothing they derive or check).

-- end_date, and the lock's one-way switch.
create function planner_private.cycle_rules() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  -- end_date: filled when left out and following a moved start date; an
  -- explicit end date that is not start_date + 83 is rejected by the CHECK.
  if tg_op <> 'DELETE'
     and pg_catalog.current_setting('session_replication_role') <> 'replica'
     and (new.end_date is null
          or (tg_op = 'UPDATE' and new.end_date = old.end_date)) then
    new.end_date := new.start_date + 83;
  end if;
  -- The one-way switch (in replica mode too). Anyone who may update the
  -- cycle may enforce the lock; lifting it, or deleting a locked cycle (the
  -- delete trigger fires for locked cycles only), needs
  -- planner_private.may_lift_lock(). A locked cycle's start date never
  -- moves. locked_at is stamped when the lock is enforced, kept while it
  -- stays enforced, cleared when it is lifted.
  if tg_op = 'DELETE'
     or (tg_op = 'INSERT' and (new.lock_enforced or new.locked_at is not null))
     or (tg_op = 'UPDATE'
         and (old.lock_enforced is distinct from new.lock_enforced
              or old.locked_at is distinct from new.locked_at
              or (old.lock_enforced
                  and old.start_date is distinct from new.start_date))) then
    if tg_op <> 'INSERT'
       and old.lock_enforced
       and (tg_op = 'DELETE' or not new.lock_enforced)
       and not planner_private.may_lift_lock() then
      raise exception using
        errcode = '42501',
        constraint = 'cycle_lock_one_way',
        message = pg_catalog.format(
          'role %s may not lift the lock of cycle %s%s',
          current_user, old.id,
          case when tg_op = 'DELETE'
               then ' (deleting a locked cycle lifts its lock)'
               else '' end),
        hint = 'Enforcing the weeks 7-12 lock is one-way for end users; '
               'service_role or the table owner can lift it (the change is audited).',
        schema = 'public',
        table = 'cycle',
        column = 'lock_enforced';
    end if;
    if tg_op = 'DELETE' then
      return old;
    end if;
    if tg_op = 'UPDATE' and old.lock_enforced and new.lock_enforced
       and new.start_date is distinct from old.start_date then
      raise exception using
        errcode = 'PT423',
        message = pg_catalog.format(
          'cycle %s is locked: cannot move its start date (weeks 7-12 would move)',
          old.id),
        detail = pg_catalog.json_build_object(
                   'cycle_id', old.id,
                   'week_no', null,
                   'operation', 'move_start_date')::text,
        hint = 'Weeks 7-12 of a cycle are frozen while cycle.lock_enforced is true. '
               'Record execution (completed_count, notes, reflection) instead; only '
               'service_role or the table owner can lift the lock.',
        schema = 'public',
        table = 'cycle',
        column = 'start_date';
    end if;
    if not new.lock_enforced then
      new.locked_at := null;
    elsif tg_op = 'INSERT' or not old.lock_enforced then
      new.locked_at := pg_catalog.now();
    else
      new.locked_at := old.locked_at;
    end if;
  end if;
  return planner_private.common_rules(tg_op, tg_relid, new, old);
end
$fn$;

-- The cycle must be the owner's own.
create function planner_private.goal_rules() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  if (tg_op = 'INSERT' or new.cycle_id is distinct from old.cycle_id)
     and pg_catalog.current_setting('session_replication_role') <> 'replica' then
    perform from public.cycle c where c.id = new.cycle_id and c.user_id = new.user_id;
    if not found then
      perform planner_private.raise_missing_parent(
        'goal', 'goal_cycle_same_owner_fkey', 'cycle', 'cycle_id', new.cycle_id,
        new.user_id);
    end if;
  end if;
  return planner_private.common_rules(tg_op, tg_relid, new, old);
end
$fn$;

-- cycle_id: the goal's, whatever the writer sent.
create function planner_private.task_rules() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  if (tg_op = 'INSERT'
      or new.goal_id is distinct from old.goal_id
      or new.cycle_id is distinct from old.cycle_id)
     and pg_catalog.current_setting('session_replication_role') <> 'replica' then
    select g.cycle_id into new.cycle_id
      from public.goal g
     where g.id = new.goal_id and g.user_id = new.user_id;
    if new.cycle_id is null then
      perform planner_private.raise_missing_parent(
        'task', 'task_goal_same_owner_fkey', 'goal', 'goal_id', new.goal_id,
        new.user_id);
    end if;
  end if;
  return planner_private.common_rules(tg_op, tg_relid, new, old);
end
$fn$;

-- week_start_date, and the lock: a weekly plan of a locked week is not
-- deleted (the delete trigger fires for weeks that can lock only),
-- renumbered or moved.
create function planner_private.weekly_plan_rules() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  cycle_start date;
  week_start date;
begin
  if tg_op = 'DELETE' then
    perform planner_private.assert_week_open(
      old.cycle_id, old.week_no, old.user_id,
      'delete_weekly_plan', 'delete the weekly plan', 'weekly_plan', true);
    return old;
  end if;
  -- The cycle's start + 7 * (week_no - 1), filled when left out (or kept
  -- from the old row); a week start the writer gives must be that one (the
  -- writer's own cycle: only then is it read).
  if (tg_op = 'INSERT'
      or new.cycle_id is distinct from old.cycle_id
      or new.week_no is distinct from old.week_no
      or new.week_start_date is distinct from old.week_start_date)
     and pg_catalog.current_setting('session_replication_role') <> 'replica' then
    select c.start_date into cycle_start
      from public.cycle c
     where c.id = new.cycle_id and c.user_id = new.user_id;
    if cycle_start is null then
      perform planner_private.raise_missing_parent(
        'weekly_plan', 'weekly_plan_cycle_same_owner_fkey', 'cycle', 'cycle_id',
        new.cycle_id, new.user_id);
    end if;
    week_start := cycle_start + 7 * (new.week_no - 1);
    if new.week_start_date is null
       or (tg_op = 'UPDATE' and new.week_start_date = old.week_start_date) then
      new.week_start_date := week_start;
    elsif new.week_start_date <> week_start then
      raise check_violation using
        message = pg_catalog.format(
          'week %s of cycle %s starts on %s, not %s',
          new.week_no, new.cycle_id, week_start, new.week_start_date),
        constraint = 'weekly_plan_week_start_matches_cycle',
        schema = 'public',
        table = 'weekly_plan',
        column = 'week_start_date';
    end if;
  end if;
  if tg_op = 'UPDATE'
     and (old.week_no is distinct from new.week_no
          or old.cycle_id is distinct from new.cycle_id) then
    perform planner_private.assert_week_open(
      old.cycle_id, old.week_no, old.user_id,
      'renumber_weekly_plan', 'renumber or move the weekly plan', 'weekly_plan',
      false);
    perform planner_private.assert_week_open(
      new.cycle_id, new.week_no, new.user_id,
      'renumber_weekly_plan', 'renumber or move a weekly plan into this week',
      'weekly_plan', false);
  end if;
  return planner_private.common_rules(tg_op, tg_relid, new, old);
end
$fn$;

-- cycle_id, and the lock: no plan item is added to, removed from or moved
-- into or out of a locked week, and its task and quota stay. An update of
-- execution columns only passes straight to the common rules.
create function planner_private.plan_item_rules() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  old_week smallint;
  old_cycle uuid;
  new_week smallint;
  new_cycle uuid;
begin
  -- cycle_id: the weekly plan's, whatever the writer sent.
  if tg_op <> 'DELETE'
     and (tg_op = 'INSERT'
          or new.weekly_plan_id is distinct from old.weekly_plan_id
          or new.cycle_id is distinct from old.cycle_id)
     and pg_catalog.current_setting('session_replication_role') <> 'replica' then
    select w.cycle_id into new.cycle_id
      from public.weekly_plan w
     where w.id = new.weekly_plan_id and w.user_id = new.user_id;
    if new.cycle_id is null then
      perform planner_private.raise_missing_parent(
        'plan_item', 'plan_item_weekly_plan_same_owner_fkey', 'weekly_plan',
        'weekly_plan_id', new.weekly_plan_id, new.user_id);
    end if;
  end if;
  if tg_op = 'UPDATE'
     and old.weekly_plan_id is not distinct from new.weekly_plan_id
     and old.task_id is not distinct from new.task_id
     and old.quota is not distinct from new.quota then
    return planner_private.common_rules(tg_op, tg_relid, new, old);
  end if;
  -- FOR KEY SHARE (the lock the foreign key check takes anyway) keeps the
  -- week from being renumbered until this transaction ends. Only the
  -- owner's own weekly plans, under the writer's row-level security.
  if tg_op <> 'INSERT' then
    select w.week_no, w.cycle_id into old_week, old_cycle
      from public.weekly_plan w
     where w.id = old.weekly_plan_id and w.user_id = old.user_id
       for key share;
  end if;
  if tg_op = 'UPDATE' and new.weekly_plan_id = old.weekly_plan_id then
    new_week := old_week;
    new_cycle := old_cycle;
  elsif tg_op <> 'DELETE' then
    select w.week_no, w.cycle_id into new_week, new_cycle
      from public.weekly_plan w
     where w.id = new.weekly_plan_id and w.user_id = new.user_id
       for key share;
  end if;
  if tg_op = 'INSERT' then
    perform planner_private.assert_week_open(
      new_cycle, new_week, new.user_id,
      'add_plan_item', 'add a plan item', 'plan_item', false);
  elsif tg_op = 'DELETE' then
    -- A weekly plan no longer visible is being deleted (its own rules
    -- decided); old_week is then null and the check passes.
    perform planner_private.assert_week_open(
      old_cycle, old_week, old.user_id,
      'remove_plan_item', 'remove a plan item', 'plan_item', true);
    return old;
  else
    if new.weekly_plan_id is distinct from old.weekly_plan_id then
      perform planner_private.assert_week_open(
        old_cycle, old_week, old.user_id,
        'move_plan_item', 'move a plan item out of this week', 'plan_item', false);
      perform planner_private.assert_week_open(
        new_cycle, new_week, new.user_id,
        'move_plan_item', 'move a plan item into this week', 'plan_item', false);
    end if;
    if new.task_id is distinct from old.task_id then
      perform planner_private.assert_week_open(
        old_cycle, old_week, old.user_id,
        'change_task', 'change the task of a plan item', 'plan_item', false);
    end if;
    if new.quota is distinct from old.quota then
      perform planner_private.assert_week_open(
        new_cycle, new_week, new.user_id,
        'change_quota', 'change a plan item''s quota', 'plan_item', false);
    end if;
  end if;
  return planner_private.common_rules(tg_op, tg_relid, new, old);
end
$fn$;

-- A session's messages are ordered by creation time, also when one
-- transaction writes several of them: a message's created_at is the clock
-- time of its insert, not the transaction's.
create function planner_private.chat_message_rules() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  new := planner_private.common_rules(tg_op, tg_relid, new, old);
  if tg_op = 'INSERT'
     and pg_catalog.current_setting('session_replication_role') <> 'replica' then
    new.created_at := pg_catalog.clock_timestamp();
    new.updated_at := new.created_at;
  end if;
  return new;
end
$fn$;

-- The one list of what a protected table gets. The table needs `id uuid`,
-- `user_id uuid`, `created_at` and `updated_at`.
create function planner_private.attach_table_rules(p_table regclass) returns void
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  name constant text := (select c.relname from pg_catalog.pg_class c where c.oid = p_table);
  owner_only constant text := '((select auth.uid()) = user_id)';
  -- An RFC 9562 UUID of version 1-8 and variant 10xx, or the nil or max
  -- UUID: the ids the front end's schemas accept (Zod's z.uuid()). The text
  -- form of a uuid is canonical, so fixed positions hold the version (15)
  -- and variant (20) digits. Written into each CHECK, so it costs no
  -- function call per written row.
  rfc_9562 constant text :=
    '(pg_catalog.substr(%1$I::text, 15, 1) between ''1'' and ''8'''
    ' and pg_catalog.substr(%1$I::text, 20, 1) in (''8'', ''9'', ''a'', ''b''))'
    ' or %1$I in (''00000000-0000-0000-0000-000000000000'','
    ' ''ffffffff-ffff-ffff-ffff-ffffffffffff'')';
  -- The table's own rules trigger function, if it has rules of its own.
  rules constant regprocedure := coalesce(
    pg_catalog.to_regprocedure(pg_catalog.format('planner_private.%I()', name || '_rules')),
    'planner_private.table_rules()'::pg_catalog.regprocedure);
  policy record;
  checks text[] := '{}';
  column_name text;
begin
  -- Row-level security, and exactly these privileges: Supabase's default
  -- privileges hand every new table to all three API roles (TRUNCATE
  -- included, which ignores row-level security), so everything is revoked
  -- first. anon gets nothing; service_role bypasses row-level security.
  execute pg_catalog.format('alter table %s enable row level security', p_table);
  execute pg_catalog.format(
    'revoke all on table %s from public, anon, authenticated, service_role', p_table);
  execute pg_catalog.format(
    'grant select, insert, update, delete on table %s to authenticated, service_role',
    p_table);

  -- Owner-only policies, one per command, as Supabase recommends: "to
  -- authenticated" and "(select auth.uid())" evaluated once per statement
  -- (every table has an index leading with user_id). A policy that exists
  -- is kept: a later migration may have narrowed it (0006_coach_messages).
  for policy in
    select * from (values
      ('select', pg_catalog.format('using %s', owner_only)),
      ('insert', pg_catalog.format('with check %s', owner_only)),
      ('update', pg_catalog.format('using %s with check %s', owner_only, owner_only)),
      ('delete', pg_catalog.format('using %s', owner_only))
    ) as p (command, clauses)
  loop
    if not exists (select from pg_catalog.pg_policy p
                    where p.polrelid = p_table
                      and p.polname = name || '_owner_' || policy.command) then
      execute pg_catalog.format('create policy %I on %s for %s to authenticated %s',
                                name || '_owner_' || policy.command, p_table,
                                policy.command, policy.clauses);
    end if;
  end loop;

  -- id and user_id (GoTrue's ids are version 4) in the form the front end
  -- reads; every other uuid column copies or references one of them.
  foreach column_name in array array['id', 'user_id'] loop
    if not exists (select from pg_catalog.pg_constraint c
                    where c.conrelid = p_table
                      and c.conname = name || '_' || column_name || '_is_rfc_9562') then
      checks := checks || pg_catalog.format(
        'add constraint %I check (%s)', name || '_' || column_name || '_is_rfc_9562',
        pg_catalog.format(rfc_9562, column_name));
    end if;
  end loop;
  if checks <> '{}' then
    execute pg_catalog.format('alter table %s %s', p_table,
                              pg_catalog.array_to_string(checks, ', '));
  end if;

  -- The same-owner key a child references (docs/schema.md): unique
  -- (id, user_id), unless a key of that form with more columns between
  -- (id, cycle_id, user_id) already serves.
  if not exists (
    select from pg_catalog.pg_constraint c
     where c.conrelid = p_table and c.contype = 'u'
       and c.conkey[1] = (select a.attnum from pg_catalog.pg_attribute a
                           where a.attrelid = p_table and a.attname = 'id')
       and c.conkey[pg_catalog.cardinality(c.conkey)]
           = (select a.attnum from pg_catalog.pg_attribute a
               where a.attrelid = p_table and a.attname = 'user_id')) then
    execute pg_catalog.format('alter table %s add constraint %I unique (id, user_id)',
                              p_table, name || '_id_user_id_key');
  end if;

  -- The rules trigger, one per event. ALWAYS: in replica mode it still
  -- fires, and applies only the lock. An update that changes nothing never
  -- calls it. (A table whose own rules act on deletes gets its
  -- <table>_rules_delete trigger from the migration of those rules.)
  execute pg_catalog.format(
    'create or replace trigger %I before insert on %s for each row execute function %s',
    name || '_rules_insert', p_table, rules);
  execute pg_catalog.format(
    'create or replace trigger %I before update on %s for each row'
    ' when (old.* is distinct from new.*) execute function %s',
    name || '_rules_update', p_table, rules);
  execute pg_catalog.format('alter table %s enable always trigger %I',
                            p_table, name || '_rules_insert');
  execute pg_catalog.format('alter table %s enable always trigger %I',
                            p_table, name || '_rules_update');
  -- Another user's id, for writers under row-level security (the others
  -- see every row anyway).
  execute pg_catalog.format(
    'create or replace trigger %I before insert on %s for each row'
    ' when (pg_catalog.row_security_active(%L::pg_catalog.regclass))'
    ' execute function planner_private.refuse_anothers_id()',
    name || '_rules_taken_id', p_table, p_table::text);

  -- Audit: one statement-level trigger per event (a trigger with transition
  -- tables may have only one), see 0002_protection.
  execute pg_catalog.format(
    'create or replace trigger %I after insert on %s referencing new table as new_rows'
    ' for each statement execute function planner_private.audit()',
    name || '_audit_insert', p_table);
  execute pg_catalog.format(
    'create or replace trigger %I after update on %s'
    ' referencing old table as old_rows new table as new_rows'
    ' for each statement execute function planner_private.audit()',
    name || '_audit_update', p_table);
  execute pg_catalog.format(
    'create or replace trigger %I after delete on %s referencing old table as old_rows'
    ' for each statement execute function planner_private.audit()',
    name || '_audit_delete', p_table);

  -- The owners' budget figures (planner_app_0010_budgets). A table that
  -- already holds rows is counted by planner_private.recount_usage(), which
  -- the migration calls once after attaching.
  perform planner_private.attach_budgets(p_table);
end
$fn$;

-- Removes what attach_table_rules() added, except the same-owner key (a
-- child's key may depend on it), and leaves the table closed. A
-- <table>_rules_delete trigger stays: it is not the helper's.
create function planner_private.detach_table_rules(p_table regclass) returns void
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  name constant text := (select c.relname from pg_catalog.pg_class c where c.oid = p_table);
  suffix text;
begin
  foreach suffix in array array['rules_insert', 'rules_update', 'rules_taken_id',
                                'audit_insert', 'audit_update', 'audit_delete'] loop
    execute pg_catalog.format('drop trigger if exists %I on %s', name || '_' || suffix,
                              p_table);
  end loop;
  foreach suffix in array array['select', 'insert', 'update', 'delete'] loop
    execute pg_catalog.format('drop policy if exists %I on %s',
                              name || '_owner_' || suffix, p_table);
  end loop;
  execute pg_catalog.format(
    'alter table %s drop constraint if exists %I, drop constraint if exists %I',
    p_table, name || '_id_is_rfc_9562', name || '_user_id_is_rfc_9562');
  execute pg_catalog.format('alter table %s enable row level security', p_table);
  execute pg_catalog.format(
    'revoke all on table %s from public, anon, authenticated, service_role', p_table);
  -- Its rows no longer count towards their owners' budgets.
  perform planner_private.detach_budgets(p_table);
  perform planner_private.recount_usage();
end
$fn$;

-- Nobody calls these but migrations and the triggers. The lock check and
-- common_rules() are called by the writing role, every writer: neither is
-- security definer, and each reads only what row-level security lets the
-- writer read, or nothing.
do $revoke$
declare
  fn regprocedure;
begin
  foreach fn in array array[
    'planner_private.table_rules()', 'planner_private.cycle_rules()',
    'planner_private.goal_rules()', 'planner_private.task_rules()',
    'planner_private.weekly_plan_rules()', 'planner_private.plan_item_rules()',
    'planner_private.chat_message_rules()',
    'planner_private.attach_table_rules(regclass)',
    'planner_private.detach_table_rules(regclass)']::regprocedure[]
  loop
    execute pg_catalog.format(
      'revoke all on function %s from public, anon, authenticated, service_role', fn);
  end loop;
end
$revoke$;
grant execute on function planner_private.assert_week_open(
  uuid, integer, uuid, text, text, text, boolean) to public;

-- The separate triggers and their functions give way to the rules trigger.
drop trigger cycle_derive on public.cycle;
drop trigger cycle_lock_switch_insert on public.cycle;
drop trigger cycle_lock_switch_update on public.cycle;
drop trigger cycle_lock_switch_delete on public.cycle;
drop trigger goal_check_cycle on public.goal;
drop trigger task_derive on public.task;
drop trigger weekly_plan_derive on public.weekly_plan;
drop trigger weekly_plan_lock_update on public.weekly_plan;
drop trigger weekly_plan_lock_delete on public.weekly_plan;
drop trigger plan_item_derive on public.plan_item;
drop trigger plan_item_lock_insert_delete on public.plan_item;
drop trigger plan_item_lock_update on public.plan_item;
do $fold$
declare
  table_name text;
begin
  foreach table_name in array array['vision', 'cycle', 'goal', 'task', 'weekly_plan',
                                    'plan_item', 'chat_session', 'chat_message'] loop
    execute pg_catalog.format('drop trigger %I on public.%I',
                              table_name || '_maintain_insert', table_name);
    execute pg_catalog.format('drop trigger %I on public.%I',
                              table_name || '_maintain_update', table_name);
    execute pg_catalog.format('drop trigger %I on public.%I',
                              table_name || '_refuse_anothers_id', table_name);
    -- The id checks called planner_private.is_rfc_9562(), which has a SET
    -- clause since 0007 and so is no longer inlined: attach writes the
    -- expression into the CHECKs instead (one scan of each table).
    execute pg_catalog.format(
      'alter table public.%I drop constraint %I, drop constraint %I', table_name,
      table_name || '_id_is_rfc_9562', table_name || '_user_id_is_rfc_9562');
    perform planner_private.attach_table_rules(
      pg_catalog.format('public.%I', table_name)::pg_catalog.regclass);
  end loop;
end
$fold$;

-- The tables whose own rules act on deletes: the lock.
create trigger cycle_rules_delete
  before delete on public.cycle
  for each row
  when (old.lock_enforced)
  execute function planner_private.cycle_rules();
create trigger weekly_plan_rules_delete
  before delete on public.weekly_plan
  for each row
  when (planner_private.week_lockable(old.week_no))
  execute function planner_private.weekly_plan_rules();
create trigger plan_item_rules_delete
  before delete on public.plan_item
  for each row
  execute function planner_private.plan_item_rules();
alter table public.cycle enable always trigger cycle_rules_delete;
alter table public.weekly_plan enable always trigger weekly_plan_rules_delete;
alter table public.plan_item enable always trigger plan_item_rules_delete;

-- The functions of the separate triggers (none is an API: planner_private is
-- not exposed, and only triggers and migrations called them).
-- squawk-ignore ban-drop-function
drop function planner_private.protect(regclass);
-- squawk-ignore ban-drop-function
drop function planner_private.maintain_row();
-- squawk-ignore ban-drop-function
drop function planner_private.is_rfc_9562(uuid);
-- squawk-ignore ban-drop-function
drop function planner_private.cycle_derive();
-- squawk-ignore ban-drop-function
drop function planner_private.goal_check_cycle();
-- squawk-ignore ban-drop-function
drop function planner_private.task_derive();
-- squawk-ignore ban-drop-function
drop function planner_private.weekly_plan_derive();
-- squawk-ignore ban-drop-function
drop function planner_private.plan_item_derive();
-- squawk-ignore ban-drop-function
drop function planner_private.cycle_lock_switch();
-- squawk-ignore ban-drop-function
drop function planner_private.weekly_plan_lock();
-- squawk-ignore ban-drop-function
drop function planner_private.plan_item_lock();
