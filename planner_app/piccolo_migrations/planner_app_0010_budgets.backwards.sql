-- Exactly what the forwards step added: the budget triggers of the eight
-- domain tables, the functions and the usage figures (derived data: the
-- forwards step counts them again from the rows).
select planner_private.detach_budgets('public.vision');
select planner_private.detach_budgets('public.cycle');
select planner_private.detach_budgets('public.goal');
select planner_private.detach_budgets('public.task');
select planner_private.detach_budgets('public.weekly_plan');
select planner_private.detach_budgets('public.plan_item');
select planner_private.detach_budgets('public.chat_session');
select planner_private.detach_budgets('public.chat_message');

drop function planner_private.recount_usage();
drop function planner_private.attach_budgets(regclass);
drop function planner_private.detach_budgets(regclass);
drop function planner_private.account_usage();
drop function planner_private.charge_usage(uuid, bigint, bigint, bigint, bigint, boolean, text, boolean);
drop function planner_private.raise_budget_exceeded(text, bigint, bigint, text);
drop function planner_private.budget_limit(text);
-- squawk-ignore ban-drop-table
drop table planner_private.budget_usage;
