-- Back to the separate triggers of 0002-0005 (as 0007 left them: every
-- function pinned to search_path = pg_catalog, pg_temp) and the id checks
-- that call planner_private.is_rfc_9562().

drop trigger plan_item_rules_delete on public.plan_item;
drop trigger weekly_plan_rules_delete on public.weekly_plan;
drop trigger cycle_rules_delete on public.cycle;
do $unfold$
declare
  table_name text;
begin
  foreach table_name in array array['vision', 'cycle', 'goal', 'task', 'weekly_plan',
                                    'plan_item', 'chat_session', 'chat_message'] loop
    execute pg_catalog.format('drop trigger %I on public.%I',
                              table_name || '_rules_insert', table_name);
    execute pg_catalog.format('drop trigger %I on public.%I',
                              table_name || '_rules_update', table_name);
    execute pg_catalog.format('drop trigger %I on public.%I',
                              table_name || '_rules_taken_id', table_name);
    execute pg_catalog.format(
      'alter table public.%I drop constraint %I, drop constraint %I', table_name,
      table_name || '_id_is_rfc_9562', table_name || '_user_id_is_rfc_9562');
  end loop;
end
$unfold$;
-- The same-owner keys attach_table_rules() added (the other tables had one
-- from 0004_ownership).
alter table public.plan_item drop constraint plan_item_id_user_id_key;
alter table public.chat_message drop constraint chat_message_id_user_id_key;

drop function planner_private.detach_table_rules(regclass);
drop function planner_private.attach_table_rules(regclass);
drop function planner_private.chat_message_rules();
drop function planner_private.plan_item_rules();
drop function planner_private.weekly_plan_rules();
drop function planner_private.task_rules();
drop function planner_private.goal_rules();
drop function planner_private.cycle_rules();
drop function planner_private.table_rules();
drop function planner_private.common_rules(text, regclass, anyelement, anyelement);

-- The functions as 0002_protection, 0004_ownership and 0005_lock created
-- them.
create function planner_private.is_rfc_9562(p_id uuid) returns boolean
  language sql
  immutable
  parallel safe
  set search_path = pg_catalog, pg_temp
  return (substr(p_id::text, 15, 1) between '1' and '8'
          and substr(p_id::text, 20, 1) in ('8', '9', 'a', 'b'))
      or p_id in ('00000000-0000-0000-0000-000000000000',
                  'ffffffff-ffff-ffff-ffff-ffffffffffff');

create function planner_private.maintain_row() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
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

create function planner_private.protect(p_table regclass) returns void
  language plpgsql
  set search_path = pg_catalog, pg_temp
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

create function planner_private.cycle_derive() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  -- Filled when left out, and following a moved start date; an explicit
  -- end date that is not start_date + 83 is rejected by the CHECK.
  if new.end_date is null
     or (tg_op = 'UPDATE' and new.end_date = old.end_date) then
    new.end_date := new.start_date + 83;
  end if;
  return new;
end
$fn$;

create function planner_private.goal_check_cycle() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  perform from public.cycle c where c.id = new.cycle_id and c.user_id = new.user_id;
  if not found then
    perform planner_private.raise_missing_parent(
      'goal', 'goal_cycle_same_owner_fkey', 'cycle', 'cycle_id', new.cycle_id,
      new.user_id);
  end if;
  return new;
end
$fn$;

create function planner_private.task_derive() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  select g.cycle_id into new.cycle_id
    from public.goal g
   where g.id = new.goal_id and g.user_id = new.user_id;
  if new.cycle_id is null then
    perform planner_private.raise_missing_parent(
      'task', 'task_goal_same_owner_fkey', 'goal', 'goal_id', new.goal_id,
      new.user_id);
  end if;
  return new;
end
$fn$;

create function planner_private.weekly_plan_derive() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  cycle_start date;
  week_start date;
begin
  select c.start_date into cycle_start
    from public.cycle c
   where c.id = new.cycle_id and c.user_id = new.user_id;
  if cycle_start is null then
    perform planner_private.raise_missing_parent(
      'weekly_plan', 'weekly_plan_cycle_same_owner_fkey', 'cycle', 'cycle_id',
      new.cycle_id, new.user_id);
  end if;
  week_start := cycle_start + 7 * (new.week_no - 1);
  -- Filled when left out (or kept from the old row); a week start the
  -- writer gives must be the cycle's (the writer's own cycle: only then is
  -- it read).
  if new.week_start_date is null
     or (tg_op = 'UPDATE' and new.week_start_date = old.week_start_date) then
    new.week_start_date := week_start;
  elsif new.week_start_date <> week_start then
    raise check_violation using
      message = format(
        'week %s of cycle %s starts on %s, not %s',
        new.week_no, new.cycle_id, week_start, new.week_start_date),
      constraint = 'weekly_plan_week_start_matches_cycle',
      schema = 'public',
      table = 'weekly_plan',
      column = 'week_start_date';
  end if;
  return new;
end
$fn$;

create function planner_private.plan_item_derive() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  select w.cycle_id into new.cycle_id
    from public.weekly_plan w
   where w.id = new.weekly_plan_id and w.user_id = new.user_id;
  if new.cycle_id is null then
    perform planner_private.raise_missing_parent(
      'plan_item', 'plan_item_weekly_plan_same_owner_fkey', 'weekly_plan',
      'weekly_plan_id', new.weekly_plan_id, new.user_id);
  end if;
  return new;
end
$fn$;

create or replace function planner_private.refuse_anothers_id() returns trigger
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  taken boolean;
begin
  execute format(
    'select exists (select from %I.%I where id = $1 and user_id <> $2)',
    tg_table_schema, tg_table_name)
    into taken using new.id, new.user_id;
  if taken then
    raise exception using
      errcode = 'unique_violation',
      message = format('duplicate key value violates unique constraint "%s_pkey"',
                       tg_table_name),
      detail = format('Key (id)=(%s) already exists.', new.id),
      constraint = tg_table_name || '_pkey',
      schema = tg_table_schema,
      table = tg_table_name;
  end if;
  return new;
end
$fn$;

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
  -- committed row (see the header). Only the owner's own cycle.
  select c.lock_enforced into locked
    from public.cycle c
   where c.id = p_cycle_id and c.user_id = p_owner
     for share;
  if not found or not locked then
    return;
  end if;
  if p_deleting
     and not exists (select 1 from auth.users u where u.id = p_owner) then
    return;
  end if;
  raise exception using
    errcode = 'PT423',
    message = format('week %s of cycle %s is locked: cannot %s',
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

create function planner_private.plan_item_lock() returns trigger
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  old_week smallint;
  old_cycle uuid;
  new_week smallint;
  new_cycle uuid;
begin
  -- FOR KEY SHARE (the lock the foreign key check takes anyway) keeps the
  -- week from being renumbered until this transaction ends. Only the
  -- owner's own weekly plans are read.
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
    return new;
  end if;
  if tg_op = 'DELETE' then
    -- A weekly plan no longer visible is being deleted (its own trigger
    -- decided); old_week is then null and the check passes.
    perform planner_private.assert_week_open(
      old_cycle, old_week, old.user_id,
      'remove_plan_item', 'remove a plan item', 'plan_item', true);
    return old;
  end if;

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
  return new;
end
$fn$;

create function planner_private.weekly_plan_lock() returns trigger
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  if tg_op = 'DELETE' then
    perform planner_private.assert_week_open(
      old.cycle_id, old.week_no, old.user_id,
      'delete_weekly_plan', 'delete the weekly plan', 'weekly_plan', true);
    return old;
  end if;
  perform planner_private.assert_week_open(
    old.cycle_id, old.week_no, old.user_id,
    'renumber_weekly_plan', 'renumber or move the weekly plan', 'weekly_plan',
    false);
  perform planner_private.assert_week_open(
    new.cycle_id, new.week_no, new.user_id,
    'renumber_weekly_plan', 'renumber or move a weekly plan into this week',
    'weekly_plan', false);
  return new;
end
$fn$;

create function planner_private.cycle_lock_switch() returns trigger
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
begin
  if tg_op <> 'INSERT'
     and old.lock_enforced
     and (tg_op = 'DELETE' or not new.lock_enforced)
     and not planner_private.may_lift_lock() then
    raise exception using
      errcode = '42501',
      constraint = 'cycle_lock_one_way',
      message = format('role %s may not lift the lock of cycle %s%s',
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
      message = format(
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
  return new;
end
$fn$;

revoke all on function planner_private.maintain_row() from public, anon, authenticated, service_role;
revoke all on function planner_private.protect(regclass) from public, anon, authenticated, service_role;
revoke all on function planner_private.cycle_derive() from public, anon, authenticated, service_role;
revoke all on function planner_private.goal_check_cycle() from public, anon, authenticated, service_role;
revoke all on function planner_private.task_derive() from public, anon, authenticated, service_role;
revoke all on function planner_private.weekly_plan_derive() from public, anon, authenticated, service_role;
revoke all on function planner_private.plan_item_derive() from public, anon, authenticated, service_role;
revoke all on function planner_private.refuse_anothers_id() from public, anon, authenticated, service_role;
revoke all on function planner_private.assert_week_open(
  uuid, integer, uuid, text, text, text, boolean) from public, anon, authenticated, service_role;
revoke all on function planner_private.plan_item_lock() from public, anon, authenticated, service_role;
revoke all on function planner_private.weekly_plan_lock() from public, anon, authenticated, service_role;
revoke all on function planner_private.cycle_lock_switch() from public, anon, authenticated, service_role;

-- The triggers as 0002-0005 created them.
do $refold$
declare
  table_name text;
begin
  foreach table_name in array array['vision', 'cycle', 'goal', 'task', 'weekly_plan',
                                    'plan_item', 'chat_session', 'chat_message'] loop
    execute pg_catalog.format(
      'alter table public.%I add constraint %I check (planner_private.is_rfc_9562(id)),'
      ' add constraint %I check (planner_private.is_rfc_9562(user_id))',
      table_name, table_name || '_id_is_rfc_9562', table_name || '_user_id_is_rfc_9562');
    if table_name = 'chat_message' then
      create trigger chat_message_maintain_insert
        before insert on public.chat_message
        for each row execute function planner_private.maintain_row('clock');
    else
      execute pg_catalog.format(
        'create trigger %I before insert on public.%I for each row'
        ' when (new.created_at is distinct from pg_catalog.now()'
        ' or new.updated_at is distinct from pg_catalog.now())'
        ' execute function planner_private.maintain_row()',
        table_name || '_maintain_insert', table_name);
    end if;
    execute pg_catalog.format(
      'create trigger %I before update on public.%I for each row'
      ' when (old.* is distinct from new.*)'
      ' execute function planner_private.maintain_row()',
      table_name || '_maintain_update', table_name);
    execute pg_catalog.format(
      'create trigger %I before insert on public.%I for each row'
      ' when (pg_catalog.row_security_active(%L::pg_catalog.regclass))'
      ' execute function planner_private.refuse_anothers_id()',
      table_name || '_refuse_anothers_id', table_name, 'public.' || table_name);
  end loop;
end
$refold$;

create trigger cycle_derive
  before insert or update of start_date, end_date on public.cycle
  for each row execute function planner_private.cycle_derive();
create trigger goal_check_cycle
  before insert or update of cycle_id on public.goal
  for each row execute function planner_private.goal_check_cycle();
create trigger task_derive
  before insert or update of goal_id, cycle_id on public.task
  for each row execute function planner_private.task_derive();
create trigger weekly_plan_derive
  before insert or update of cycle_id, week_no, week_start_date
  on public.weekly_plan
  for each row execute function planner_private.weekly_plan_derive();
create trigger plan_item_derive
  before insert or update of weekly_plan_id, cycle_id on public.plan_item
  for each row execute function planner_private.plan_item_derive();

create trigger plan_item_lock_insert_delete
  before insert or delete on public.plan_item
  for each row execute function planner_private.plan_item_lock();
create trigger plan_item_lock_update
  before update of weekly_plan_id, task_id, quota on public.plan_item
  for each row
  when (old.weekly_plan_id is distinct from new.weekly_plan_id
        or old.task_id is distinct from new.task_id
        or old.quota is distinct from new.quota)
  execute function planner_private.plan_item_lock();
create trigger weekly_plan_lock_delete
  before delete on public.weekly_plan
  for each row
  when (planner_private.week_lockable(old.week_no))
  execute function planner_private.weekly_plan_lock();
create trigger weekly_plan_lock_update
  before update of week_no, cycle_id on public.weekly_plan
  for each row
  when (old.week_no is distinct from new.week_no
        or old.cycle_id is distinct from new.cycle_id)
  execute function planner_private.weekly_plan_lock();
create trigger cycle_lock_switch_insert
  before insert on public.cycle
  for each row
  when (new.lock_enforced or new.locked_at is not null)
  execute function planner_private.cycle_lock_switch();
create trigger cycle_lock_switch_update
  before update of lock_enforced, locked_at, start_date on public.cycle
  for each row
  when (old.lock_enforced is distinct from new.lock_enforced
        or old.locked_at is distinct from new.locked_at
        or (old.lock_enforced and old.start_date is distinct from new.start_date))
  execute function planner_private.cycle_lock_switch();
create trigger cycle_lock_switch_delete
  before delete on public.cycle
  for each row
  when (old.lock_enforced)
  execute function planner_private.cycle_lock_switch();
alter table public.plan_item enable always trigger plan_item_lock_insert_delete;
alter table public.plan_item enable always trigger plan_item_lock_update;
alter table public.weekly_plan enable always trigger weekly_plan_lock_delete;
alter table public.weekly_plan enable always trigger weekly_plan_lock_update;
alter table public.cycle enable always trigger cycle_lock_switch_insert;
alter table public.cycle enable always trigger cycle_lock_switch_update;
alter table public.cycle enable always trigger cycle_lock_switch_delete;
