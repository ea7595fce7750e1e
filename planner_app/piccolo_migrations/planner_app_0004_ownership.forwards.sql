-- Ownership and integrity: the rules of docs/schema.md that Piccolo's table
-- definitions cannot express.
--
-- A parent that belongs to another user behaves exactly like a parent that
-- does not exist: the same SQLSTATE (23503), the same message, no value of
-- the other user's row, and no lock taken on it. So references go through
-- composite same-owner keys only, and the triggers that read a parent read
-- it as the writing role (row-level security applies) and for the row's own
-- owner.

-- btree_gist gives uuid a GiST operator class for the non-overlap exclusion.
-- Created (and later dropped) only when missing; where a schema
-- "extensions" exists (Supabase), it goes there like every extension.
do $ext$
begin
  if not exists (select 1 from pg_catalog.pg_extension where extname = 'btree_gist') then
    if exists (select 1 from pg_catalog.pg_namespace where nspname = 'extensions') then
      create extension btree_gist with schema extensions;
    else
      create extension btree_gist;
    end if;
    comment on extension btree_gist is 'planner_app:integrity';
  end if;
end
$ext$;

-- Every row belongs to an auth user; deleting the user deletes their data.
alter table public.vision add constraint vision_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;
alter table public.cycle add constraint cycle_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;
alter table public.goal add constraint goal_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;
alter table public.task add constraint task_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;
alter table public.weekly_plan add constraint weekly_plan_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;
alter table public.plan_item add constraint plan_item_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;
alter table public.chat_session add constraint chat_session_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;
alter table public.chat_message add constraint chat_message_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;

-- Derived columns get NOT NULL; their triggers below fill them.
alter table public.cycle alter column end_date set not null;
alter table public.task alter column cycle_id set not null;
alter table public.weekly_plan alter column week_start_date set not null;
alter table public.plan_item alter column cycle_id set not null;

-- Same-owner references: a child points at its parent through the parent's
-- (id, user_id) -- and (id, cycle_id, user_id) where the cycle matters -- so
-- no row can reference another user's row, whoever writes, and a plan item's
-- task and weekly plan always belong to the same cycle.
alter table public.vision add constraint vision_id_user_id_key unique (id, user_id);
alter table public.cycle add constraint cycle_id_user_id_key unique (id, user_id);
alter table public.goal add constraint goal_id_cycle_id_user_id_key
  unique (id, cycle_id, user_id);
alter table public.task add constraint task_id_cycle_id_user_id_key
  unique (id, cycle_id, user_id);
alter table public.weekly_plan add constraint weekly_plan_id_cycle_id_user_id_key
  unique (id, cycle_id, user_id);
alter table public.chat_session add constraint chat_session_id_user_id_key
  unique (id, user_id);

-- The single-column keys Piccolo creates for its ForeignKey columns would
-- find (and lock) another user's parent and so tell it apart from a
-- missing one: the same-owner keys replace them, with the same ON DELETE.
-- squawk-ignore ban-drop-constraint
alter table public.cycle drop constraint cycle_vision_id_fkey;
-- squawk-ignore ban-drop-constraint
alter table public.goal drop constraint goal_cycle_id_fkey;
-- squawk-ignore ban-drop-constraint
alter table public.task drop constraint task_goal_id_fkey;
-- squawk-ignore ban-drop-constraint
alter table public.weekly_plan drop constraint weekly_plan_cycle_id_fkey;
-- squawk-ignore ban-drop-constraint
alter table public.plan_item drop constraint plan_item_weekly_plan_id_fkey;
-- squawk-ignore ban-drop-constraint
alter table public.plan_item drop constraint plan_item_task_id_fkey;
-- squawk-ignore ban-drop-constraint
alter table public.chat_session drop constraint chat_session_cycle_id_fkey;
-- squawk-ignore ban-drop-constraint
alter table public.chat_message drop constraint chat_message_session_id_fkey;

alter table public.cycle add constraint cycle_vision_same_owner_fkey
  foreign key (vision_id, user_id) references public.vision (id, user_id)
  on delete set null (vision_id);
alter table public.goal add constraint goal_cycle_same_owner_fkey
  foreign key (cycle_id, user_id) references public.cycle (id, user_id)
  on delete cascade;
alter table public.task add constraint task_goal_same_owner_fkey
  foreign key (goal_id, cycle_id, user_id)
  references public.goal (id, cycle_id, user_id)
  on delete cascade;
alter table public.weekly_plan add constraint weekly_plan_cycle_same_owner_fkey
  foreign key (cycle_id, user_id) references public.cycle (id, user_id)
  on delete cascade;
alter table public.plan_item add constraint plan_item_weekly_plan_same_owner_fkey
  foreign key (weekly_plan_id, cycle_id, user_id)
  references public.weekly_plan (id, cycle_id, user_id)
  on delete cascade;
alter table public.plan_item add constraint plan_item_task_same_cycle_fkey
  foreign key (task_id, cycle_id, user_id)
  references public.task (id, cycle_id, user_id)
  on delete cascade;
alter table public.chat_session add constraint chat_session_cycle_same_owner_fkey
  foreign key (cycle_id, user_id) references public.cycle (id, user_id)
  on delete set null (cycle_id);
alter table public.chat_message add constraint chat_message_session_same_owner_fkey
  foreign key (session_id, user_id) references public.chat_session (id, user_id)
  on delete cascade;

-- Every foreign key is covered by an index whose leading columns are the
-- key's columns in the key's order (Supabase's unindexed_foreign_keys rule;
-- the user_id keys are covered by Piccolo's user_id indexes).
create index cycle_vision_id_user_id_idx on public.cycle (vision_id, user_id);
create index goal_cycle_id_user_id_idx on public.goal (cycle_id, user_id);
create index task_goal_id_cycle_id_user_id_idx
  on public.task (goal_id, cycle_id, user_id);
create index weekly_plan_cycle_id_user_id_idx on public.weekly_plan (cycle_id, user_id);
create index plan_item_weekly_plan_id_cycle_id_user_id_idx
  on public.plan_item (weekly_plan_id, cycle_id, user_id);
create index plan_item_task_id_cycle_id_user_id_idx
  on public.plan_item (task_id, cycle_id, user_id);
create index chat_session_cycle_id_user_id_idx on public.chat_session (cycle_id, user_id);
-- Also the order of a session's messages (row-level security adds the
-- user_id equality).
create index chat_message_session_id_user_id_created_at_idx
  on public.chat_message (session_id, user_id, created_at, id);

-- At most one active vision and one active cycle per user.
create unique index vision_one_active_per_user on public.vision (user_id)
  where status = 'active';
create unique index cycle_one_active_per_user on public.cycle (user_id)
  where status = 'active';

-- A user's cycles never overlap (both ends inclusive).
alter table public.cycle add constraint cycle_no_overlap
  exclude using gist (user_id with =, daterange(start_date, end_date, '[]') with &&);

-- The error of a missing (or another user's) parent, raised by the triggers
-- below before a unique index could tell the two apart; the same shape as
-- PostgreSQL's own foreign-key message.
create function planner_private.raise_missing_parent(
  p_table text, p_constraint text, p_parent text, p_column text, p_id uuid,
  p_owner uuid
) returns void
  language plpgsql
as $fn$
begin
  raise exception using
    errcode = 'foreign_key_violation',
    message = format(
      'insert or update on table "%s" violates foreign key constraint "%s"',
      p_table, p_constraint),
    detail = format('Key (%s, user_id)=(%s, %s) is not present in table "%s".',
                    p_column, p_id, p_owner, p_parent),
    constraint = p_constraint,
    schema = 'public',
    table = p_table;
end
$fn$;

-- Derived columns and parent checks, filled from the parent row of the same
-- owner, read as the writing role.
create function planner_private.cycle_derive() returns trigger
  language plpgsql
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

create trigger cycle_derive
  before insert or update of start_date, end_date on public.cycle
  for each row execute function planner_private.cycle_derive();

create function planner_private.cycle_move_weeks() returns trigger
  language plpgsql
as $fn$
begin
  update public.weekly_plan
     set week_start_date = new.start_date + 7 * (week_no - 1)
   where cycle_id = new.id and user_id = new.user_id;
  return null;
end
$fn$;

create trigger cycle_move_weeks
  after update of start_date on public.cycle
  for each row when (old.start_date is distinct from new.start_date)
  execute function planner_private.cycle_move_weeks();

create function planner_private.goal_check_cycle() returns trigger
  language plpgsql
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

create trigger goal_check_cycle
  before insert or update of cycle_id on public.goal
  for each row execute function planner_private.goal_check_cycle();

create function planner_private.task_derive() returns trigger
  language plpgsql
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

create trigger task_derive
  before insert or update of goal_id, cycle_id on public.task
  for each row execute function planner_private.task_derive();

create function planner_private.weekly_plan_derive() returns trigger
  language plpgsql
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

create trigger weekly_plan_derive
  before insert or update of cycle_id, week_no, week_start_date
  on public.weekly_plan
  for each row execute function planner_private.weekly_plan_derive();

create function planner_private.plan_item_derive() returns trigger
  language plpgsql
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

create trigger plan_item_derive
  before insert or update of weekly_plan_id, cycle_id on public.plan_item
  for each row execute function planner_private.plan_item_derive();

-- A client may choose a new row's id, and ids are unique across users, so an
-- id another user's row holds can only be refused. It is refused the way
-- any taken id is (23505 on <table>_pkey, the writer's own id in the
-- detail), and before PostgreSQL would look at that row: an INSERT ... ON
-- CONFLICT (id) DO UPDATE would otherwise lock the other user's row (and
-- wait for their transaction) before row-level security refuses it, and a
-- plain INSERT would wait while the other user updates that row. Read with
-- the writer's snapshot, so it never waits. Only for writers under
-- row-level security (the WHEN clause): service_role and the owner see
-- every row anyway. Security definer: it must see the row the writer
-- cannot.
create function planner_private.refuse_anothers_id() returns trigger
  language plpgsql
  security definer
  set search_path = ''
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

create trigger vision_refuse_anothers_id before insert on public.vision
  for each row when (pg_catalog.row_security_active('public.vision'::pg_catalog.regclass))
  execute function planner_private.refuse_anothers_id();
create trigger cycle_refuse_anothers_id before insert on public.cycle
  for each row when (pg_catalog.row_security_active('public.cycle'::pg_catalog.regclass))
  execute function planner_private.refuse_anothers_id();
create trigger goal_refuse_anothers_id before insert on public.goal
  for each row when (pg_catalog.row_security_active('public.goal'::pg_catalog.regclass))
  execute function planner_private.refuse_anothers_id();
create trigger task_refuse_anothers_id before insert on public.task
  for each row when (pg_catalog.row_security_active('public.task'::pg_catalog.regclass))
  execute function planner_private.refuse_anothers_id();
create trigger weekly_plan_refuse_anothers_id before insert on public.weekly_plan
  for each row when (pg_catalog.row_security_active('public.weekly_plan'::pg_catalog.regclass))
  execute function planner_private.refuse_anothers_id();
create trigger plan_item_refuse_anothers_id before insert on public.plan_item
  for each row when (pg_catalog.row_security_active('public.plan_item'::pg_catalog.regclass))
  execute function planner_private.refuse_anothers_id();
create trigger chat_session_refuse_anothers_id before insert on public.chat_session
  for each row when (pg_catalog.row_security_active('public.chat_session'::pg_catalog.regclass))
  execute function planner_private.refuse_anothers_id();
create trigger chat_message_refuse_anothers_id before insert on public.chat_message
  for each row when (pg_catalog.row_security_active('public.chat_message'::pg_catalog.regclass))
  execute function planner_private.refuse_anothers_id();

-- Trigger functions are not an API: nobody calls them directly.
-- raise_missing_parent keeps EXECUTE for every role: the triggers call it
-- as the writing role, and it only raises what it is given.
revoke all on function planner_private.cycle_derive() from public, anon, authenticated, service_role;
revoke all on function planner_private.cycle_move_weeks() from public, anon, authenticated, service_role;
revoke all on function planner_private.goal_check_cycle() from public, anon, authenticated, service_role;
revoke all on function planner_private.task_derive() from public, anon, authenticated, service_role;
revoke all on function planner_private.weekly_plan_derive() from public, anon, authenticated, service_role;
revoke all on function planner_private.plan_item_derive() from public, anon, authenticated, service_role;
revoke all on function planner_private.refuse_anothers_id() from public, anon, authenticated, service_role;
