-- Reverse of the forwards step, in reverse order. Keeps every audit row.

drop trigger chat_message_audit_update on public.chat_message;
drop trigger chat_message_audit on public.chat_message;
drop trigger chat_session_audit_update on public.chat_session;
drop trigger chat_session_audit on public.chat_session;
drop trigger plan_item_audit_update on public.plan_item;
drop trigger plan_item_audit on public.plan_item;
drop trigger weekly_plan_audit_update on public.weekly_plan;
drop trigger weekly_plan_audit on public.weekly_plan;
drop trigger task_audit_update on public.task;
drop trigger task_audit on public.task;
drop trigger goal_audit_update on public.goal;
drop trigger goal_audit on public.goal;
drop trigger cycle_audit_update on public.cycle;
drop trigger cycle_audit on public.cycle;
drop trigger vision_audit_update on public.vision;
drop trigger vision_audit on public.vision;

drop trigger audit_log_no_truncate on public.audit_log;
drop trigger audit_log_append_only on public.audit_log;
drop trigger audit_log_written_by_trigger_only on public.audit_log;
drop function public.planner_audit_log_append_only();
drop function public.planner_audit();

drop index public.audit_log_user_id_occurred_at_idx;
drop index public.audit_log_record_id_id_idx;

comment on column public.audit_log.user_id is null;

-- Back to the bigserial Piccolo created, continuing after the highest id.
-- squawk-ignore ban-alter-identity
alter table public.audit_log alter column id drop identity;
create sequence public.audit_log_id_seq owned by public.audit_log.id;
alter table public.audit_log alter column id
  set default pg_catalog.nextval('public.audit_log_id_seq'::regclass);
select pg_catalog.setval(
  'public.audit_log_id_seq',
  coalesce((select max(id) from public.audit_log), 0) + 1,
  false
);
