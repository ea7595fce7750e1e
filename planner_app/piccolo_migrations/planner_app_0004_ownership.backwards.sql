drop trigger chat_message_refuse_anothers_id on public.chat_message;
drop trigger chat_session_refuse_anothers_id on public.chat_session;
drop trigger plan_item_refuse_anothers_id on public.plan_item;
drop trigger weekly_plan_refuse_anothers_id on public.weekly_plan;
drop trigger task_refuse_anothers_id on public.task;
drop trigger goal_refuse_anothers_id on public.goal;
drop trigger cycle_refuse_anothers_id on public.cycle;
drop trigger vision_refuse_anothers_id on public.vision;
drop function planner_private.refuse_anothers_id();
drop trigger plan_item_derive on public.plan_item;
drop trigger weekly_plan_derive on public.weekly_plan;
drop trigger task_derive on public.task;
drop trigger goal_check_cycle on public.goal;
drop trigger cycle_move_weeks on public.cycle;
drop trigger cycle_derive on public.cycle;
drop function planner_private.plan_item_derive();
drop function planner_private.weekly_plan_derive();
drop function planner_private.task_derive();
drop function planner_private.goal_check_cycle();
drop function planner_private.cycle_move_weeks();
drop function planner_private.cycle_derive();
drop function planner_private.raise_missing_parent(text, text, text, text, uuid, uuid);

alter table public.cycle drop constraint cycle_no_overlap;
drop index public.cycle_one_active_per_user;
drop index public.vision_one_active_per_user;

drop index public.chat_message_session_id_user_id_created_at_idx;
drop index public.chat_session_cycle_id_user_id_idx;
drop index public.plan_item_task_id_cycle_id_user_id_idx;
drop index public.plan_item_weekly_plan_id_cycle_id_user_id_idx;
drop index public.weekly_plan_cycle_id_user_id_idx;
drop index public.task_goal_id_cycle_id_user_id_idx;
drop index public.goal_cycle_id_user_id_idx;
drop index public.cycle_vision_id_user_id_idx;

alter table public.chat_message drop constraint chat_message_session_same_owner_fkey;
alter table public.chat_session drop constraint chat_session_cycle_same_owner_fkey;
alter table public.plan_item drop constraint plan_item_task_same_cycle_fkey;
alter table public.plan_item drop constraint plan_item_weekly_plan_same_owner_fkey;
alter table public.weekly_plan drop constraint weekly_plan_cycle_same_owner_fkey;
alter table public.task drop constraint task_goal_same_owner_fkey;
alter table public.goal drop constraint goal_cycle_same_owner_fkey;
alter table public.cycle drop constraint cycle_vision_same_owner_fkey;

-- Piccolo's own single-column keys, as its tables migration made them.
alter table public.cycle add constraint cycle_vision_id_fkey
  foreign key (vision_id) references public.vision (id)
  on update cascade on delete set null;
alter table public.goal add constraint goal_cycle_id_fkey
  foreign key (cycle_id) references public.cycle (id)
  on update cascade on delete cascade;
alter table public.task add constraint task_goal_id_fkey
  foreign key (goal_id) references public.goal (id)
  on update cascade on delete cascade;
alter table public.weekly_plan add constraint weekly_plan_cycle_id_fkey
  foreign key (cycle_id) references public.cycle (id)
  on update cascade on delete cascade;
alter table public.plan_item add constraint plan_item_weekly_plan_id_fkey
  foreign key (weekly_plan_id) references public.weekly_plan (id)
  on update cascade on delete cascade;
alter table public.plan_item add constraint plan_item_task_id_fkey
  foreign key (task_id) references public.task (id)
  on update cascade on delete cascade;
alter table public.chat_session add constraint chat_session_cycle_id_fkey
  foreign key (cycle_id) references public.cycle (id)
  on update cascade on delete set null;
alter table public.chat_message add constraint chat_message_session_id_fkey
  foreign key (session_id) references public.chat_session (id)
  on update cascade on delete cascade;

alter table public.chat_session drop constraint chat_session_id_user_id_key;
alter table public.weekly_plan drop constraint weekly_plan_id_cycle_id_user_id_key;
alter table public.task drop constraint task_id_cycle_id_user_id_key;
alter table public.goal drop constraint goal_id_cycle_id_user_id_key;
alter table public.cycle drop constraint cycle_id_user_id_key;
alter table public.vision drop constraint vision_id_user_id_key;

alter table public.plan_item alter column cycle_id drop not null;
alter table public.weekly_plan alter column week_start_date drop not null;
alter table public.task alter column cycle_id drop not null;
alter table public.cycle alter column end_date drop not null;

alter table public.chat_message drop constraint chat_message_user_id_fkey;
alter table public.chat_session drop constraint chat_session_user_id_fkey;
alter table public.plan_item drop constraint plan_item_user_id_fkey;
alter table public.weekly_plan drop constraint weekly_plan_user_id_fkey;
alter table public.task drop constraint task_user_id_fkey;
alter table public.goal drop constraint goal_user_id_fkey;
alter table public.cycle drop constraint cycle_user_id_fkey;
alter table public.vision drop constraint vision_user_id_fkey;

-- Only when this migration created it.
do $ext$
begin
  if exists (
    select 1 from pg_catalog.pg_extension e
    where e.extname = 'btree_gist'
      and obj_description(e.oid, 'pg_extension') = 'planner_app:integrity'
  ) then
    drop extension btree_gist;
  end if;
end
$ext$;
