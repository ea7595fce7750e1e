-- The weeks 7-12 lock (docs/lock.md).
--
-- While cycle.lock_enforced is true, the plan of its weeks 7..12 is frozen:
-- no plan item may be added, removed, moved or given another task or quota,
-- and the weekly plan may not be deleted or renumbered. Execution
-- (completed_count, notes, reflection) stays writable, weeks 1..6 are never
-- locked, and deleting a whole cycle or user still cascades.
--
-- Violations raise SQLSTATE PL712 ("PLanner, weeks 7-12"), a class no
-- PostgreSQL error uses, with a message naming the cycle and the week, a JSON
-- DETAIL ({"cycle_id", "week_no", "operation"}) and a HINT.
--
-- Concurrency: the checks read the cycle row FOR SHARE, which conflicts with
-- the row lock taken by an UPDATE of cycle.lock_enforced. A writer that
-- checked first holds the lock switch back until it commits; a writer that
-- comes second waits for the switch to commit and then sees the lock. So no
-- plan change commits after the lock that froze it.
--
-- The triggers are ENABLE ALWAYS, so session_replication_role = replica does
-- not skip them either.

-- The one check: is week p_week_no of cycle p_cycle_id locked? Raises PL712
-- when it is. p_deleting marks a DELETE, which is allowed when it is part of
-- deleting the cycle or the owner (the parent row is already gone).
create function public.planner_assert_week_open(
  p_cycle_id uuid,
  p_week_no integer,
  p_owner uuid,
  p_operation text,
  p_action text,
  p_table text,
  p_deleting boolean
) returns void
  language plpgsql
  security definer
  set search_path = ''
as $fn$
declare
  locked boolean;
begin
  if p_week_no is null or p_week_no not between 7 and 12 then
    return;
  end if;
  -- FOR SHARE waits for an uncommitted change of the lock and then reads the
  -- committed row (see the header).
  select c.lock_enforced into locked
    from public.cycle c
   where c.id = p_cycle_id
     for share;
  if not found or not locked then
    -- No cycle: it is being deleted by this very statement (a cascade), or
    -- the foreign keys will reject the write.
    return;
  end if;
  if p_deleting
     and not exists (select 1 from auth.users u where u.id = p_owner) then
    -- The owner is being deleted: their cycles go with them, and the
    -- cascade may reach this row before it reaches the cycle.
    return;
  end if;
  raise exception using
    errcode = 'PL712',
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

create function public.planner_plan_item_lock() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $fn$
declare
  old_week smallint;
  old_cycle uuid;
  new_week smallint;
  new_cycle uuid;
begin
  -- FOR KEY SHARE (the lock the foreign key check takes anyway) keeps the
  -- week from being renumbered until this transaction ends.
  if tg_op <> 'INSERT' then
    select w.week_no, w.cycle_id into old_week, old_cycle
      from public.weekly_plan w
     where w.id = old.weekly_plan_id
       for key share;
  end if;
  if tg_op = 'UPDATE' and new.weekly_plan_id = old.weekly_plan_id then
    new_week := old_week;
    new_cycle := old_cycle;
  elsif tg_op <> 'DELETE' then
    select w.week_no, w.cycle_id into new_week, new_cycle
      from public.weekly_plan w
     where w.id = new.weekly_plan_id
       for key share;
  end if;

  if tg_op = 'INSERT' then
    perform public.planner_assert_week_open(
      new_cycle, new_week, new.user_id,
      'add_plan_item', 'add a plan item', 'plan_item', false);
    return new;
  end if;
  if tg_op = 'DELETE' then
    -- A weekly plan no longer visible is being deleted (its own trigger
    -- decided); old_week is then null and the check passes.
    perform public.planner_assert_week_open(
      old_cycle, old_week, old.user_id,
      'remove_plan_item', 'remove a plan item', 'plan_item', true);
    return old;
  end if;

  if new.weekly_plan_id is distinct from old.weekly_plan_id then
    perform public.planner_assert_week_open(
      old_cycle, old_week, old.user_id,
      'move_plan_item', 'move a plan item out of this week', 'plan_item', false);
    perform public.planner_assert_week_open(
      new_cycle, new_week, new.user_id,
      'move_plan_item', 'move a plan item into this week', 'plan_item', false);
  end if;
  if new.task_id is distinct from old.task_id then
    perform public.planner_assert_week_open(
      old_cycle, old_week, old.user_id,
      'change_task', 'change the task of a plan item', 'plan_item', false);
  end if;
  if new.quota is distinct from old.quota then
    perform public.planner_assert_week_open(
      new_cycle, new_week, new.user_id,
      'change_quota', 'change a plan item''s quota', 'plan_item', false);
  end if;
  return new;
end
$fn$;

-- Runs after plan_item_derive (triggers fire in name order). Updates that
-- touch only execution columns never call the function.
create trigger plan_item_lock_insert_delete
  before insert or delete on public.plan_item
  for each row execute function public.planner_plan_item_lock();

create trigger plan_item_lock_update
  before update of weekly_plan_id, task_id, quota on public.plan_item
  for each row
  when (old.weekly_plan_id is distinct from new.weekly_plan_id
        or old.task_id is distinct from new.task_id
        or old.quota is distinct from new.quota)
  execute function public.planner_plan_item_lock();

create function public.planner_weekly_plan_lock() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $fn$
begin
  if tg_op = 'DELETE' then
    perform public.planner_assert_week_open(
      old.cycle_id, old.week_no, old.user_id,
      'delete_weekly_plan', 'delete the weekly plan', 'weekly_plan', true);
    return old;
  end if;
  perform public.planner_assert_week_open(
    old.cycle_id, old.week_no, old.user_id,
    'renumber_weekly_plan', 'renumber or move the weekly plan', 'weekly_plan',
    false);
  perform public.planner_assert_week_open(
    new.cycle_id, new.week_no, new.user_id,
    'renumber_weekly_plan', 'renumber or move a weekly plan into this week',
    'weekly_plan', false);
  return new;
end
$fn$;

create trigger weekly_plan_lock_delete
  before delete on public.weekly_plan
  for each row
  when (old.week_no between 7 and 12)
  execute function public.planner_weekly_plan_lock();

create trigger weekly_plan_lock_update
  before update of week_no, cycle_id on public.weekly_plan
  for each row
  when (old.week_no is distinct from new.week_no
        or old.cycle_id is distinct from new.cycle_id)
  execute function public.planner_weekly_plan_lock();

-- The one-way switch. Not security definer: it judges the role that writes.
-- Anyone who may update the cycle may enforce the lock; lifting it needs a
-- superuser, a role with the privileges of the table owner, or service_role.
-- locked_at is kept by the database: stamped when the lock is enforced,
-- kept while it stays enforced, cleared when it is lifted (the audit log
-- keeps the history).
create function public.planner_cycle_lock_switch() returns trigger
  language plpgsql
  set search_path = ''
as $fn$
begin
  if tg_op = 'UPDATE' and old.lock_enforced and not new.lock_enforced
     and not (
       exists (select 1 from pg_catalog.pg_roles r
                where r.rolname = current_user and r.rolsuper)
       or pg_catalog.pg_has_role(
            current_user,
            (select c.relowner from pg_catalog.pg_class c where c.oid = tg_relid),
            'USAGE')
       or exists (select 1 from pg_catalog.pg_roles r
                   where r.rolname = 'service_role'
                     and pg_catalog.pg_has_role(current_user, r.oid, 'USAGE'))
     ) then
    raise exception using
      errcode = '42501',
      constraint = 'cycle_lock_one_way',
      message = format('role %s may not lift the lock of cycle %s',
                       current_user, old.id),
      hint = 'Enforcing the weeks 7-12 lock is one-way for end users; '
             'service_role or the table owner can lift it (the change is audited).',
      schema = 'public',
      table = 'cycle',
      column = 'lock_enforced';
  end if;
  if not new.lock_enforced then
    new.locked_at := null;
  elsif tg_op = 'INSERT' or not old.lock_enforced then
    new.locked_at := now();
  else
    new.locked_at := old.locked_at;
  end if;
  return new;
end
$fn$;

create trigger cycle_lock_switch_insert
  before insert on public.cycle
  for each row
  when (new.lock_enforced or new.locked_at is not null)
  execute function public.planner_cycle_lock_switch();

create trigger cycle_lock_switch_update
  before update of lock_enforced, locked_at on public.cycle
  for each row
  when (old.lock_enforced is distinct from new.lock_enforced
        or old.locked_at is distinct from new.locked_at)
  execute function public.planner_cycle_lock_switch();

alter table public.plan_item enable always trigger plan_item_lock_insert_delete;
alter table public.plan_item enable always trigger plan_item_lock_update;
alter table public.weekly_plan enable always trigger weekly_plan_lock_delete;
alter table public.weekly_plan enable always trigger weekly_plan_lock_update;
alter table public.cycle enable always trigger cycle_lock_switch_insert;
alter table public.cycle enable always trigger cycle_lock_switch_update;

-- Trigger functions are not an API: nobody calls them directly. The check
-- is security definer and not a trigger function, so it is also revoked
-- from the API roles by name (Supabase's default privileges grant them
-- execute on every new function).
revoke execute on function public.planner_assert_week_open(
  uuid, integer, uuid, text, text, text, boolean)
  from public, anon, authenticated, service_role;
revoke execute on function public.planner_plan_item_lock() from public;
revoke execute on function public.planner_weekly_plan_lock() from public;
revoke execute on function public.planner_cycle_lock_switch() from public;
