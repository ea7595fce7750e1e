drop trigger chat_message_updated_at on chat_message;
drop trigger chat_session_updated_at on chat_session;
drop trigger plan_item_updated_at on plan_item;
drop trigger weekly_plan_updated_at on weekly_plan;
drop trigger task_updated_at on task;
drop trigger goal_updated_at on goal;
drop trigger cycle_updated_at on cycle;
drop trigger vision_updated_at on vision;
drop function planner_set_updated_at();
