-- The weeks 7-12 lock (docs/lock.md).
--
-- While cycle.lock_enforced is true, the plan of its weeks 7..12 is frozen:
-- no plan item may be added, removed, moved or given another task or quota,
-- and the weekly plan may not be deleted or renumbered. Execution
-- (completed_count, notes, reflection) stays writable and weeks 1..6 are
-- never locked. The lock has no back door: the start date of a locked cycle
-- cannot move (it would renumber the weeks), and for end users deleting a
-- locked cycle is lifting its lock. Deleting a user still cascades.
--
-- Violations raise SQLSTATE PT423, which PostgREST answers with HTTP 423
-- Locked, with a message naming the cycle and the week, a JSON DETAIL
-- ({"cycle_id", "week_no", "operation"}) and a HINT. Only the writer's own
-- cycle is ever read: the lock is checked after the same-owner checks.
--
-- Concurrency: the checks read the cycle row FOR SHARE, which conflicts with
-- the row lock taken by an UPDATE of cycle.lock_enforced. A writer that
-- checked first holds the lock switch back until it commits; a writer that
-- comes second waits for the switch to commit and then sees the lock.
--
-- The triggers are ENABLE ALWAYS, so session_replication_role = replica does
-- not skip them either.

-- The locked weeks, stated once (planner_app/rules.py says the same; a test
-- checks that they agree). Inlined where it is called.
create function planner_private.week_lockable(p_week_no integer) returns boolean
  language sql
  immutable
  parallel safe
  return p_week_no between 7 and 12;

-- Who may lift a lock (and so delete a locked cycle): a superuser, a role
-- with the privileges of the table's owner, or service_role. It judges the
-- role that writes, so it is not security definer.
create function planner_private.may_lift_lock() returns boolean
  language sql
  stable
  return exists (select 1 from pg_catalog.pg_roles r
                  where r.rolname = current_user and r.rolsuper)
      or pg_catalog.pg_has_role(
           current_user,
           (select c.relowner from pg_catalog.pg_class c
             where c.oid = 'public.cycle'::pg_catalog.regclass),
           'USAGE')
      or exists (select 1 from pg_catalog.pg_roles r
                  where r.rolname = 'service_role'
                    and pg_catalog.pg_has_role(current_user, r.oid, 'USAGE'));

-- The one check: is week p_week_no of the owner's cycle p_cycle_id locked?
-- Raises PT423 when it is. p_deleting marks a DELETE, which is allowed when
-- it is part of deleting the owner (their cycles go with them, and the
-- cascade may reach this row before it reaches the cycle) or the cycle
-- (then the cycle row is already gone). Called only by the lock triggers,
-- which are security definer (it reads auth.users, which the API roles
-- cannot, and it would tell whether any cycle is locked): no API role may
-- execute it.
create function planner_private.assert_week_open(
  p_cycle_id uuid,
  p_week_no integer,
  p_owner uuid,
  p_operation text,
  p_action text,
  p_table text,
  p_deleting boolean
) returns void
  language plpgsql
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
  set search_path = ''
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

-- Runs after plan_item_derive (triggers fire in name order), so the weekly
-- plan is known to be the writer's own. Updates that touch only execution
-- columns never call the function.
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

create function planner_private.weekly_plan_lock() returns trigger
  language plpgsql
  security definer
  set search_path = ''
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

-- The one-way switch, and the doors around it. Anyone who may update the
-- cycle may enforce the lock; lifting it, or deleting a locked cycle, needs
-- planner_private.may_lift_lock(). A locked cycle's start date never moves
-- (lift the lock first). locked_at is kept by the database: stamped when
-- the lock is enforced, kept while it stays enforced, cleared when it is
-- lifted (the audit log keeps the history).
create function planner_private.cycle_lock_switch() returns trigger
  language plpgsql
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

-- Not an API: nobody calls these directly.
-- week_lockable and may_lift_lock keep EXECUTE for every role: they are
-- evaluated as the writing role (a trigger's WHEN clause, the switch) and
-- tell nothing about any row.
revoke all on function planner_private.assert_week_open(
  uuid, integer, uuid, text, text, text, boolean) from public, anon, authenticated, service_role;
revoke all on function planner_private.plan_item_lock() from public, anon, authenticated, service_role;
revoke all on function planner_private.weekly_plan_lock() from public, anon, authenticated, service_role;
revoke all on function planner_private.cycle_lock_switch() from public, anon, authenticated, service_role;
