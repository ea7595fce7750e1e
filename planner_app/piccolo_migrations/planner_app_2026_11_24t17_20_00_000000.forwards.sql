-- Row-level security and the privileges of Supabase's API roles.
--
-- anon: nothing. authenticated: its own rows only (owner-only policies).
-- service_role: every row (it has BYPASSRLS), but only the privileges
-- granted here. On Supabase, default privileges hand every new table,
-- sequence and function in public to all three roles (TRUNCATE included,
-- which ignores row-level security), so everything is revoked first and
-- then granted exactly. Schema usage is left alone: public is usable by
-- PUBLIC on PostgreSQL and granted by Supabase itself.

revoke all on table
  public.vision, public.cycle, public.goal, public.task, public.weekly_plan,
  public.plan_item, public.chat_session, public.chat_message, public.audit_log
  from public, anon, authenticated, service_role;
revoke all on sequence public.audit_log_id_seq
  from public, anon, authenticated, service_role;

grant select, insert, update, delete on table
  public.vision, public.cycle, public.goal, public.task, public.weekly_plan,
  public.plan_item, public.chat_session, public.chat_message
  to authenticated, service_role;
grant select on table public.audit_log to authenticated, service_role;

-- Trigger functions are called by triggers, never through the API (and
-- Supabase's default privileges would let the API roles execute them).
do $revoke$
declare
  fn regprocedure;
begin
  for fn in
    select p.oid::regprocedure
      from pg_catalog.pg_proc p
     where p.pronamespace = 'public'::regnamespace
       and p.prorettype = 'pg_catalog.trigger'::regtype
  loop
    execute format('revoke execute on function %s from public, anon, authenticated, service_role', fn);
  end loop;
end
$revoke$;

alter table public.vision enable row level security;
alter table public.cycle enable row level security;
alter table public.goal enable row level security;
alter table public.task enable row level security;
alter table public.weekly_plan enable row level security;
alter table public.plan_item enable row level security;
alter table public.chat_session enable row level security;
alter table public.chat_message enable row level security;
alter table public.audit_log enable row level security;

-- Piccolo's own bookkeeping table lives in public too, where PostgREST
-- would expose it: row-level security with no policy and no grants hides it
-- from the API roles (the migration role owns it and is not affected).
alter table public.migration enable row level security;
revoke all on table public.migration from anon, authenticated, service_role;

-- Owner-only policies, one per command, written the way Supabase
-- recommends: "to authenticated", "(select auth.uid())" evaluated once per
-- statement, and an index leading with user_id on every table.
create policy vision_owner_select on public.vision for select to authenticated
  using ((select auth.uid()) = user_id);
create policy vision_owner_insert on public.vision for insert to authenticated
  with check ((select auth.uid()) = user_id);
create policy vision_owner_update on public.vision for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy vision_owner_delete on public.vision for delete to authenticated
  using ((select auth.uid()) = user_id);

create policy cycle_owner_select on public.cycle for select to authenticated
  using ((select auth.uid()) = user_id);
create policy cycle_owner_insert on public.cycle for insert to authenticated
  with check ((select auth.uid()) = user_id);
create policy cycle_owner_update on public.cycle for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy cycle_owner_delete on public.cycle for delete to authenticated
  using ((select auth.uid()) = user_id);

create policy goal_owner_select on public.goal for select to authenticated
  using ((select auth.uid()) = user_id);
create policy goal_owner_insert on public.goal for insert to authenticated
  with check ((select auth.uid()) = user_id);
create policy goal_owner_update on public.goal for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy goal_owner_delete on public.goal for delete to authenticated
  using ((select auth.uid()) = user_id);

create policy task_owner_select on public.task for select to authenticated
  using ((select auth.uid()) = user_id);
create policy task_owner_insert on public.task for insert to authenticated
  with check ((select auth.uid()) = user_id);
create policy task_owner_update on public.task for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy task_owner_delete on public.task for delete to authenticated
  using ((select auth.uid()) = user_id);

create policy weekly_plan_owner_select on public.weekly_plan for select to authenticated
  using ((select auth.uid()) = user_id);
create policy weekly_plan_owner_insert on public.weekly_plan for insert to authenticated
  with check ((select auth.uid()) = user_id);
create policy weekly_plan_owner_update on public.weekly_plan for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy weekly_plan_owner_delete on public.weekly_plan for delete to authenticated
  using ((select auth.uid()) = user_id);

create policy plan_item_owner_select on public.plan_item for select to authenticated
  using ((select auth.uid()) = user_id);
create policy plan_item_owner_insert on public.plan_item for insert to authenticated
  with check ((select auth.uid()) = user_id);
create policy plan_item_owner_update on public.plan_item for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy plan_item_owner_delete on public.plan_item for delete to authenticated
  using ((select auth.uid()) = user_id);

create policy chat_session_owner_select on public.chat_session for select to authenticated
  using ((select auth.uid()) = user_id);
create policy chat_session_owner_insert on public.chat_session for insert to authenticated
  with check ((select auth.uid()) = user_id);
create policy chat_session_owner_update on public.chat_session for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy chat_session_owner_delete on public.chat_session for delete to authenticated
  using ((select auth.uid()) = user_id);

create policy chat_message_owner_select on public.chat_message for select to authenticated
  using ((select auth.uid()) = user_id);
create policy chat_message_owner_insert on public.chat_message for insert to authenticated
  with check ((select auth.uid()) = user_id);
create policy chat_message_owner_update on public.chat_message for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create policy chat_message_owner_delete on public.chat_message for delete to authenticated
  using ((select auth.uid()) = user_id);

-- The audit log is read-only, and only to the user whose rows changed.
create policy audit_log_owner_select on public.audit_log for select to authenticated
  using ((select auth.uid()) = user_id);
