-- The settings the functions had before: search_path = '' for the security
-- definer functions and protect(), none for the others.

alter function planner_private.audit() set search_path = '';
alter function planner_private.protect(regclass) set search_path = '';
alter function planner_private.refuse_anothers_id() set search_path = '';
alter function planner_private.plan_item_lock() set search_path = '';
alter function planner_private.weekly_plan_lock() set search_path = '';

alter function planner_private.maintain_row() reset search_path;
alter function planner_private.is_rfc_9562(uuid) reset search_path;
alter function planner_private.raise_missing_parent(text, text, text, text, uuid, uuid) reset search_path;
alter function planner_private.cycle_derive() reset search_path;
alter function planner_private.cycle_move_weeks() reset search_path;
alter function planner_private.goal_check_cycle() reset search_path;
alter function planner_private.task_derive() reset search_path;
alter function planner_private.weekly_plan_derive() reset search_path;
alter function planner_private.plan_item_derive() reset search_path;
alter function planner_private.week_lockable(integer) reset search_path;
alter function planner_private.may_lift_lock() reset search_path;
alter function planner_private.assert_week_open(uuid, integer, uuid, text, text, text, boolean) reset search_path;
alter function planner_private.cycle_lock_switch() reset search_path;
alter function planner_private.audit_log_append_only() reset search_path;
