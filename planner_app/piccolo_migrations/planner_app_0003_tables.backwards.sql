-- Piccolo drops the nine tables next, and their policies, triggers,
-- indexes and sequences with them.
drop trigger audit_log_no_truncate on public.audit_log;
drop trigger audit_log_append_only on public.audit_log;
drop trigger audit_log_written_by_trigger_only on public.audit_log;
drop function planner_private.audit_log_append_only();
