-- Reverse of the forwards step, in reverse order. Loses no rows: it only
-- drops rules, triggers, functions and indexes.

drop trigger plan_item_derive on plan_item;
drop function planner_plan_item_derive();
drop trigger weekly_plan_derive on weekly_plan;
drop function planner_weekly_plan_derive();
drop trigger task_derive on task;
drop function planner_task_derive();
drop trigger cycle_move_weeks on cycle;
drop function planner_cycle_move_weeks();
drop trigger cycle_derive on cycle;
drop function planner_cycle_derive();

drop index chat_message_session_id_created_at_idx;
drop index chat_session_cycle_id_idx;
drop index plan_item_task_id_idx;
drop index task_goal_id_idx;
drop index cycle_vision_id_idx;

alter table cycle drop constraint cycle_no_overlap;
drop index cycle_one_active_per_user;
drop index vision_one_active_per_user;

alter table chat_message drop constraint chat_message_session_same_owner_fkey;
alter table chat_session drop constraint chat_session_cycle_same_owner_fkey;
alter table plan_item drop constraint plan_item_task_same_cycle_fkey;
alter table plan_item drop constraint plan_item_weekly_plan_same_owner_fkey;
alter table weekly_plan drop constraint weekly_plan_cycle_same_owner_fkey;
alter table task drop constraint task_goal_same_owner_fkey;
alter table goal drop constraint goal_cycle_same_owner_fkey;
alter table cycle drop constraint cycle_vision_same_owner_fkey;

alter table chat_session drop constraint chat_session_id_user_id_key;
alter table weekly_plan drop constraint weekly_plan_id_cycle_id_user_id_key;
alter table task drop constraint task_id_cycle_id_user_id_key;
alter table goal drop constraint goal_id_cycle_id_user_id_key;
alter table cycle drop constraint cycle_id_user_id_key;
alter table vision drop constraint vision_id_user_id_key;

alter table plan_item alter column cycle_id drop not null;
alter table weekly_plan alter column week_start_date drop not null;
alter table task alter column cycle_id drop not null;
alter table cycle alter column end_date drop not null;

alter table chat_message drop constraint chat_message_user_id_fkey;
alter table chat_session drop constraint chat_session_user_id_fkey;
alter table plan_item drop constraint plan_item_user_id_fkey;
alter table weekly_plan drop constraint weekly_plan_user_id_fkey;
alter table task drop constraint task_user_id_fkey;
alter table goal drop constraint goal_user_id_fkey;
alter table cycle drop constraint cycle_user_id_fkey;
alter table vision drop constraint vision_user_id_fkey;

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
