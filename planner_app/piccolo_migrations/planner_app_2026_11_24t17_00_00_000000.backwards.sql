-- Reverse of the forwards step: drops the lock's triggers and functions.
-- Loses no rows; lock_enforced and locked_at keep their values but are no
-- longer enforced.

drop trigger cycle_lock_switch_update on public.cycle;
drop trigger cycle_lock_switch_insert on public.cycle;
drop function public.planner_cycle_lock_switch();

drop trigger weekly_plan_lock_update on public.weekly_plan;
drop trigger weekly_plan_lock_delete on public.weekly_plan;
drop function public.planner_weekly_plan_lock();

drop trigger plan_item_lock_update on public.plan_item;
drop trigger plan_item_lock_insert_delete on public.plan_item;
drop function public.planner_plan_item_lock();

drop function public.planner_assert_week_open(
  uuid, integer, uuid, text, text, text, boolean);
