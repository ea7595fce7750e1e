-- Ownership and integrity: the rules of docs/schema.md that Piccolo's table
-- definitions cannot express.

-- btree_gist gives uuid a GiST operator class for the non-overlap exclusion.
-- Created (and later dropped) only when missing; on Supabase it goes into
-- the extensions schema like every other extension there.
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
alter table vision add constraint vision_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;
alter table cycle add constraint cycle_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;
alter table goal add constraint goal_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;
alter table task add constraint task_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;
alter table weekly_plan add constraint weekly_plan_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;
alter table plan_item add constraint plan_item_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;
alter table chat_session add constraint chat_session_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;
alter table chat_message add constraint chat_message_user_id_fkey
  foreign key (user_id) references auth.users (id) on delete cascade;

-- Derived columns get NOT NULL once their trigger fills them.
alter table cycle alter column end_date set not null;
alter table task alter column cycle_id set not null;
alter table weekly_plan alter column week_start_date set not null;
alter table plan_item alter column cycle_id set not null;

-- Same-owner references: a child points at its parent through the parent's
-- (id, user_id) -- and (id, cycle_id, user_id) where the cycle matters -- so
-- no row can reference another user's row, whoever writes, and a plan item's
-- task and weekly plan always belong to the same cycle.
alter table vision add constraint vision_id_user_id_key unique (id, user_id);
alter table cycle add constraint cycle_id_user_id_key unique (id, user_id);
alter table goal add constraint goal_id_cycle_id_user_id_key unique (id, cycle_id, user_id);
alter table task add constraint task_id_cycle_id_user_id_key unique (id, cycle_id, user_id);
alter table weekly_plan add constraint weekly_plan_id_cycle_id_user_id_key
  unique (id, cycle_id, user_id);
alter table chat_session add constraint chat_session_id_user_id_key unique (id, user_id);

alter table cycle add constraint cycle_vision_same_owner_fkey
  foreign key (vision_id, user_id) references vision (id, user_id)
  on delete set null (vision_id);
alter table goal add constraint goal_cycle_same_owner_fkey
  foreign key (cycle_id, user_id) references cycle (id, user_id)
  on delete cascade;
alter table task add constraint task_goal_same_owner_fkey
  foreign key (goal_id, cycle_id, user_id) references goal (id, cycle_id, user_id)
  on delete cascade;
alter table weekly_plan add constraint weekly_plan_cycle_same_owner_fkey
  foreign key (cycle_id, user_id) references cycle (id, user_id)
  on delete cascade;
alter table plan_item add constraint plan_item_weekly_plan_same_owner_fkey
  foreign key (weekly_plan_id, cycle_id, user_id)
  references weekly_plan (id, cycle_id, user_id)
  on delete cascade;
alter table plan_item add constraint plan_item_task_same_cycle_fkey
  foreign key (task_id, cycle_id, user_id) references task (id, cycle_id, user_id)
  on delete cascade;
alter table chat_session add constraint chat_session_cycle_same_owner_fkey
  foreign key (cycle_id, user_id) references cycle (id, user_id)
  on delete set null (cycle_id);
alter table chat_message add constraint chat_message_session_same_owner_fkey
  foreign key (session_id, user_id) references chat_session (id, user_id)
  on delete cascade;

-- At most one active vision and one active cycle per user.
create unique index vision_one_active_per_user on vision (user_id)
  where status = 'active';
create unique index cycle_one_active_per_user on cycle (user_id)
  where status = 'active';

-- A user's cycles never overlap (both ends inclusive).
alter table cycle add constraint cycle_no_overlap
  exclude using gist (user_id with =, daterange(start_date, end_date, '[]') with &&);

-- Indexes on foreign-key columns that no other index leads with.
create index cycle_vision_id_idx on cycle (vision_id);
create index task_goal_id_idx on task (goal_id);
create index plan_item_task_id_idx on plan_item (task_id);
create index chat_session_cycle_id_idx on chat_session (cycle_id);
create index chat_message_session_id_created_at_idx
  on chat_message (session_id, created_at, id);

-- Derived columns, filled from the parent row whoever writes. The lookups
-- are security definer so a parent hidden by row-level security still
-- yields its cycle, and the same-owner keys (not a "not found") decide.
create function planner_cycle_derive() returns trigger
  language plpgsql
  set search_path = ''
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
  for each row execute function planner_cycle_derive();

create function planner_cycle_move_weeks() returns trigger
  language plpgsql
  set search_path = ''
as $fn$
begin
  update public.weekly_plan
     set week_start_date = new.start_date + 7 * (week_no - 1)
   where cycle_id = new.id;
  return null;
end
$fn$;

create trigger cycle_move_weeks
  after update of start_date on public.cycle
  for each row when (old.start_date is distinct from new.start_date)
  execute function planner_cycle_move_weeks();

create function planner_task_derive() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $fn$
begin
  select g.cycle_id into new.cycle_id from public.goal g where g.id = new.goal_id;
  if new.cycle_id is null then
    raise foreign_key_violation using
      message = format('goal %s does not exist', new.goal_id),
      constraint = 'task_goal_same_owner_fkey';
  end if;
  return new;
end
$fn$;

create trigger task_derive
  before insert or update of goal_id, cycle_id on public.task
  for each row execute function planner_task_derive();

create function planner_weekly_plan_derive() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $fn$
declare
  cycle_start date;
  week_start date;
begin
  select c.start_date into cycle_start from public.cycle c where c.id = new.cycle_id;
  if cycle_start is null then
    raise foreign_key_violation using
      message = format('cycle %s does not exist', new.cycle_id),
      constraint = 'weekly_plan_cycle_same_owner_fkey';
  end if;
  week_start := cycle_start + 7 * (new.week_no - 1);
  -- Filled when left out (or kept from the old row); a week start the
  -- writer gives must be the cycle's.
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
  before insert or update of cycle_id, week_no, week_start_date on public.weekly_plan
  for each row execute function planner_weekly_plan_derive();

create function planner_plan_item_derive() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $fn$
begin
  select w.cycle_id into new.cycle_id from public.weekly_plan w
   where w.id = new.weekly_plan_id;
  if new.cycle_id is null then
    raise foreign_key_violation using
      message = format('weekly plan %s does not exist', new.weekly_plan_id),
      constraint = 'plan_item_weekly_plan_same_owner_fkey';
  end if;
  return new;
end
$fn$;

create trigger plan_item_derive
  before insert or update of weekly_plan_id, cycle_id on public.plan_item
  for each row execute function planner_plan_item_derive();

-- Trigger functions are not an API: nobody calls them directly.
revoke execute on function planner_cycle_derive() from public;
revoke execute on function planner_cycle_move_weeks() from public;
revoke execute on function planner_task_derive() from public;
revoke execute on function planner_weekly_plan_derive() from public;
revoke execute on function planner_plan_item_derive() from public;
