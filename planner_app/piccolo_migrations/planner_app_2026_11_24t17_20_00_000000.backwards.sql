-- Reverse of the forwards step: no policy, no row-level security, no grant
-- to the API roles. (On Supabase the tables then have none of the
-- privileges its default privileges gave them at creation; rolling back
-- further drops the tables anyway.) Execute on trigger functions is not
-- granted back: nobody can call a trigger function directly.

drop policy audit_log_owner_select on public.audit_log;

drop policy chat_message_owner_delete on public.chat_message;
drop policy chat_message_owner_update on public.chat_message;
drop policy chat_message_owner_insert on public.chat_message;
drop policy chat_message_owner_select on public.chat_message;

drop policy chat_session_owner_delete on public.chat_session;
drop policy chat_session_owner_update on public.chat_session;
drop policy chat_session_owner_insert on public.chat_session;
drop policy chat_session_owner_select on public.chat_session;

drop policy plan_item_owner_delete on public.plan_item;
drop policy plan_item_owner_update on public.plan_item;
drop policy plan_item_owner_insert on public.plan_item;
drop policy plan_item_owner_select on public.plan_item;

drop policy weekly_plan_owner_delete on public.weekly_plan;
drop policy weekly_plan_owner_update on public.weekly_plan;
drop policy weekly_plan_owner_insert on public.weekly_plan;
drop policy weekly_plan_owner_select on public.weekly_plan;

drop policy task_owner_delete on public.task;
drop policy task_owner_update on public.task;
drop policy task_owner_insert on public.task;
drop policy task_owner_select on public.task;

drop policy goal_owner_delete on public.goal;
drop policy goal_owner_update on public.goal;
drop policy goal_owner_insert on public.goal;
drop policy goal_owner_select on public.goal;

drop policy cycle_owner_delete on public.cycle;
drop policy cycle_owner_update on public.cycle;
drop policy cycle_owner_insert on public.cycle;
drop policy cycle_owner_select on public.cycle;

drop policy vision_owner_delete on public.vision;
drop policy vision_owner_update on public.vision;
drop policy vision_owner_insert on public.vision;
drop policy vision_owner_select on public.vision;

alter table public.migration disable row level security;

alter table public.audit_log disable row level security;
alter table public.chat_message disable row level security;
alter table public.chat_session disable row level security;
alter table public.plan_item disable row level security;
alter table public.weekly_plan disable row level security;
alter table public.task disable row level security;
alter table public.goal disable row level security;
alter table public.cycle disable row level security;
alter table public.vision disable row level security;

revoke all on table
  public.vision, public.cycle, public.goal, public.task, public.weekly_plan,
  public.plan_item, public.chat_session, public.chat_message, public.audit_log
  from anon, authenticated, service_role;
