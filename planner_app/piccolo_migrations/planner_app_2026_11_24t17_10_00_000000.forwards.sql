-- Audit log: every INSERT, UPDATE and DELETE on the eight domain tables
-- writes one audit_log row, through one generic trigger function (the way
-- supa_audit does it). docs/security.md says what the log guarantees.

-- audit_log.id becomes a bigint identity (Piccolo created a bigserial):
-- compact, ordered, and "generated always" so nobody picks their own id.
-- The sequence keeps its name and continues after the highest id.
-- Only the audit trigger ever inserts into audit_log (the guard below
-- rejects every other writer), so no client depends on the old default.
-- squawk-ignore ban-drop-default
alter table public.audit_log alter column id drop default;
-- squawk-ignore ban-drop-sequence
drop sequence public.audit_log_id_seq;
alter table public.audit_log alter column id
  -- squawk-ignore ban-alter-identity
  add generated always as identity (sequence name public.audit_log_id_seq);
select pg_catalog.setval(
  'public.audit_log_id_seq',
  coalesce((select max(id) from public.audit_log), 0) + 1,
  false
);

-- user_id deliberately has no foreign key to auth.users: the history must
-- outlive a deleted user, and deleting a user writes audit rows (one per
-- cascaded delete) for that very user.
comment on column public.audit_log.user_id is
  'Owner of the changed row (an auth.users id, no foreign key: history outlives the user)';

-- "The history of one record" and "a user's recent changes". Record ids are
-- UUIDs, unique across tables, so the table name need not be in the key.
create index audit_log_record_id_id_idx
  on public.audit_log (record_id, id);
create index audit_log_user_id_occurred_at_idx
  on public.audit_log (user_id, occurred_at desc, id desc);

-- The generic trigger. security definer: the acting role (authenticated,
-- service_role) has no right to write audit_log; only this function does.
create function public.planner_audit() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $fn$
declare
  row_before jsonb;
  row_after jsonb;
  row_id uuid;
  owner_id uuid;
  actor uuid;
begin
  -- Every audited table has id and user_id.
  if tg_op = 'DELETE' then
    row_before := pg_catalog.to_jsonb(old);
    row_id := old.id;
    owner_id := old.user_id;
  else
    if tg_op = 'UPDATE' then
      row_before := pg_catalog.to_jsonb(old);
    end if;
    row_after := pg_catalog.to_jsonb(new);
    row_id := new.id;
    owner_id := new.user_id;
  end if;

  -- auth.uid() casts the JWT claim; a malformed claim must not block the
  -- write, it only leaves the actor unknown. The exception block (a
  -- subtransaction) is entered only when a request set claims.
  if pg_catalog.current_setting('request.jwt.claims', true) <> ''
     or pg_catalog.current_setting('request.jwt.claim.sub', true) <> '' then
    begin
      actor := auth.uid();
    exception when invalid_text_representation then
      actor := null;
    end;
  end if;

  insert into public.audit_log
    (table_name, record_id, action, user_id, actor_id, actor_role, txid,
     before, after)
  values (
    tg_table_name,
    row_id,
    tg_op,
    owner_id,
    actor,
    -- The database role the change was made with: the role set by
    -- "set role" (as PostgREST does), else the login role. Unlike the JWT's
    -- role claim, it cannot be claimed without being granted.
    coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user),
    pg_catalog.pg_current_xact_id()::text::bigint,
    row_before,
    row_after
  );
  return null;
end
$fn$;

-- Append-only: audit rows are written by planner_audit() only, and never
-- updated, deleted or truncated, whoever asks (the API roles have no such
-- privileges either). The table owner can still purge deliberately by
-- disabling these triggers in a transaction; docs/security.md has the
-- procedure.
create function public.planner_audit_log_append_only() returns trigger
  language plpgsql
  set search_path = ''
as $fn$
begin
  if tg_op = 'INSERT' then
    raise exception 'audit_log rows are written only by the audit trigger'
      using errcode = 'restrict_violation';
  end if;
  raise exception 'audit_log is append-only: % is not allowed', tg_op
    using errcode = 'restrict_violation',
          hint = 'See "Purging audit history" in docs/security.md.';
end
$fn$;

revoke execute on function public.planner_audit() from public;
revoke execute on function public.planner_audit_log_append_only() from public;

-- An insert straight into audit_log runs at trigger depth 0; one made by
-- planner_audit() runs at depth 1.
create trigger audit_log_written_by_trigger_only
  before insert on public.audit_log
  for each row when (pg_catalog.pg_trigger_depth() = 0)
  execute function public.planner_audit_log_append_only();
create trigger audit_log_append_only
  before update or delete on public.audit_log
  for each row execute function public.planner_audit_log_append_only();
create trigger audit_log_no_truncate
  before truncate on public.audit_log
  for each statement execute function public.planner_audit_log_append_only();

-- UPDATEs that change nothing write no row (the WHEN clause costs no
-- function call).
create trigger vision_audit
  after insert or delete on public.vision
  for each row execute function public.planner_audit();
create trigger vision_audit_update
  after update on public.vision
  for each row when (old is distinct from new) execute function public.planner_audit();
create trigger cycle_audit
  after insert or delete on public.cycle
  for each row execute function public.planner_audit();
create trigger cycle_audit_update
  after update on public.cycle
  for each row when (old is distinct from new) execute function public.planner_audit();
create trigger goal_audit
  after insert or delete on public.goal
  for each row execute function public.planner_audit();
create trigger goal_audit_update
  after update on public.goal
  for each row when (old is distinct from new) execute function public.planner_audit();
create trigger task_audit
  after insert or delete on public.task
  for each row execute function public.planner_audit();
create trigger task_audit_update
  after update on public.task
  for each row when (old is distinct from new) execute function public.planner_audit();
create trigger weekly_plan_audit
  after insert or delete on public.weekly_plan
  for each row execute function public.planner_audit();
create trigger weekly_plan_audit_update
  after update on public.weekly_plan
  for each row when (old is distinct from new) execute function public.planner_audit();
create trigger plan_item_audit
  after insert or delete on public.plan_item
  for each row execute function public.planner_audit();
create trigger plan_item_audit_update
  after update on public.plan_item
  for each row when (old is distinct from new) execute function public.planner_audit();
create trigger chat_session_audit
  after insert or delete on public.chat_session
  for each row execute function public.planner_audit();
create trigger chat_session_audit_update
  after update on public.chat_session
  for each row when (old is distinct from new) execute function public.planner_audit();
create trigger chat_message_audit
  after insert or delete on public.chat_message
  for each row execute function public.planner_audit();
create trigger chat_message_audit_update
  after update on public.chat_message
  for each row when (old is distinct from new) execute function public.planner_audit();
