-- updated_at: one generic trigger for every table that has the column. It
-- only moves when the row really changed, so a no-op UPDATE stays a no-op.

create function planner_set_updated_at() returns trigger
  language plpgsql
  set search_path = ''
as $fn$
begin
  new.updated_at := now();
  return new;
end
$fn$;

revoke execute on function planner_set_updated_at() from public;

create trigger vision_updated_at before update on vision
  for each row when (old is distinct from new) execute function planner_set_updated_at();
create trigger cycle_updated_at before update on cycle
  for each row when (old is distinct from new) execute function planner_set_updated_at();
create trigger goal_updated_at before update on goal
  for each row when (old is distinct from new) execute function planner_set_updated_at();
create trigger task_updated_at before update on task
  for each row when (old is distinct from new) execute function planner_set_updated_at();
create trigger weekly_plan_updated_at before update on weekly_plan
  for each row when (old is distinct from new) execute function planner_set_updated_at();
create trigger plan_item_updated_at before update on plan_item
  for each row when (old is distinct from new) execute function planner_set_updated_at();
create trigger chat_session_updated_at before update on chat_session
  for each row when (old is distinct from new) execute function planner_set_updated_at();
create trigger chat_message_updated_at before update on chat_message
  for each row when (old is distinct from new) execute function planner_set_updated_at();
