-- Runs after Piccolo has created the nine tables, in the same transaction:
-- no table of the planner is ever committed without row-level security.

-- The eight user-owned tables: row-level security, owner-only policies,
-- grants, maintained columns and audit (planner_app_0002_protection).
select planner_private.protect('public.vision');
select planner_private.protect('public.cycle');
select planner_private.protect('public.goal');
select planner_private.protect('public.task');
select planner_private.protect('public.weekly_plan');
select planner_private.protect('public.plan_item');
select planner_private.protect('public.chat_session');
select planner_private.protect('public.chat_message');

-- Ids in the form the front end's schemas accept (Zod's z.uuid(): an RFC 9562
-- UUID of version 1-8 and variant 10xx, or the nil and max UUIDs): a client
-- may choose a row's id (supabase-js optimistic ids, idempotent upserts), but
-- not one the generated Row schema would then reject. user_id is checked
-- too: the owner's id comes from auth.users, whose ids GoTrue generates as
-- version 4. Every other uuid column copies or references one of these.
-- The text form of a uuid is canonical (lowercase, hyphenated), so fixed
-- positions hold the version (15) and variant (20) digits.
alter table public.vision add constraint vision_id_is_rfc_9562 check (
  (substr(id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.vision add constraint vision_user_id_is_rfc_9562 check (
  (substr(user_id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(user_id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or user_id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.cycle add constraint cycle_id_is_rfc_9562 check (
  (substr(id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.cycle add constraint cycle_user_id_is_rfc_9562 check (
  (substr(user_id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(user_id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or user_id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.goal add constraint goal_id_is_rfc_9562 check (
  (substr(id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.goal add constraint goal_user_id_is_rfc_9562 check (
  (substr(user_id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(user_id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or user_id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.task add constraint task_id_is_rfc_9562 check (
  (substr(id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.task add constraint task_user_id_is_rfc_9562 check (
  (substr(user_id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(user_id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or user_id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.weekly_plan add constraint weekly_plan_id_is_rfc_9562 check (
  (substr(id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.weekly_plan add constraint weekly_plan_user_id_is_rfc_9562 check (
  (substr(user_id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(user_id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or user_id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.plan_item add constraint plan_item_id_is_rfc_9562 check (
  (substr(id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.plan_item add constraint plan_item_user_id_is_rfc_9562 check (
  (substr(user_id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(user_id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or user_id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.chat_session add constraint chat_session_id_is_rfc_9562 check (
  (substr(id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.chat_session add constraint chat_session_user_id_is_rfc_9562 check (
  (substr(user_id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(user_id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or user_id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.chat_message add constraint chat_message_id_is_rfc_9562 check (
  (substr(id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));
alter table public.chat_message add constraint chat_message_user_id_is_rfc_9562 check (
  (substr(user_id::text, 15, 1) in ('1', '2', '3', '4', '5', '6', '7', '8')
   and substr(user_id::text, 20, 1) in ('8', '9', 'a', 'b'))
  or user_id in ('00000000-0000-0000-0000-000000000000',
         'ffffffff-ffff-ffff-ffff-ffffffffffff'));

-- A column either has a default its own constraints accept, or none: Piccolo
-- writes DEFAULT null / '' for required columns it cannot default. The
-- tables are empty and no client exists yet.
-- squawk-ignore ban-drop-default
alter table public.vision alter column user_id drop default;
-- squawk-ignore ban-drop-default
alter table public.vision alter column title drop default;
-- squawk-ignore ban-drop-default
alter table public.vision alter column statement drop default;
-- squawk-ignore ban-drop-default
alter table public.cycle alter column user_id drop default;
-- squawk-ignore ban-drop-default
alter table public.goal alter column user_id drop default;
-- squawk-ignore ban-drop-default
alter table public.goal alter column goal_type drop default;
-- squawk-ignore ban-drop-default
alter table public.goal alter column title drop default;
-- squawk-ignore ban-drop-default
alter table public.task alter column user_id drop default;
-- squawk-ignore ban-drop-default
alter table public.task alter column title drop default;
-- squawk-ignore ban-drop-default
alter table public.weekly_plan alter column user_id drop default;
-- squawk-ignore ban-drop-default
alter table public.weekly_plan alter column week_no drop default;
-- squawk-ignore ban-drop-default
alter table public.plan_item alter column user_id drop default;
-- squawk-ignore ban-drop-default
alter table public.chat_session alter column user_id drop default;
-- squawk-ignore ban-drop-default
alter table public.chat_message alter column user_id drop default;
-- squawk-ignore ban-drop-default
alter table public.chat_message alter column role drop default;
-- squawk-ignore ban-drop-default
alter table public.chat_message alter column content drop default;
-- squawk-ignore ban-drop-default
alter table public.audit_log alter column table_name drop default;
-- squawk-ignore ban-drop-default
alter table public.audit_log alter column record_id drop default;
-- squawk-ignore ban-drop-default
alter table public.audit_log alter column action drop default;
-- squawk-ignore ban-drop-default
alter table public.audit_log alter column user_id drop default;
-- squawk-ignore ban-drop-default
alter table public.audit_log alter column txid drop default;

-- audit_log: the append-only change history, written only by
-- planner_private.audit().
--
-- Its id becomes a bigint identity (Piccolo creates a bigserial): compact,
-- ordered, and "generated always" so nobody picks their own id. The table
-- is empty here.
-- squawk-ignore ban-drop-default
-- squawk-ignore ban-drop-default
alter table public.audit_log alter column id drop default;
-- squawk-ignore ban-drop-sequence
drop sequence public.audit_log_id_seq;
alter table public.audit_log alter column id
  -- squawk-ignore ban-alter-identity
  add generated always as identity (sequence name public.audit_log_id_seq);

-- user_id deliberately has no foreign key to auth.users: the history must
-- outlive a deleted user, and deleting a user writes audit rows (one per
-- cascaded delete) for that very user.
comment on column public.audit_log.user_id is
  'Owner of the changed row (an auth.users id, no foreign key: history outlives the user)';

-- "The history of one record" and "a user's recent changes". Record ids are
-- UUIDs, unique across tables, so the table name need not be in the key.
create index audit_log_record_id_id_idx on public.audit_log (record_id, id);
create index audit_log_user_id_occurred_at_idx
  on public.audit_log (user_id, occurred_at desc, id desc);

-- Read-only, and only to the user whose rows changed; no API role may use
-- the sequence.
alter table public.audit_log enable row level security;
revoke all on table public.audit_log from public, anon, authenticated, service_role;
revoke all on sequence public.audit_log_id_seq
  from public, anon, authenticated, service_role;
grant select on table public.audit_log to authenticated, service_role;
create policy audit_log_owner_select on public.audit_log for select to authenticated
  using ((select auth.uid()) = user_id);

-- Append-only, whoever asks (the API roles have no such privileges either).
-- The table owner can still purge deliberately by disabling these triggers
-- in a transaction; docs/security.md has the procedure.
create function planner_private.audit_log_append_only() returns trigger
  language plpgsql
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
revoke all on function planner_private.audit_log_append_only() from public, anon, authenticated, service_role;

-- An insert straight into audit_log runs at trigger depth 0; one made by
-- planner_private.audit() runs at depth 1.
create trigger audit_log_written_by_trigger_only
  before insert on public.audit_log
  for each row when (pg_catalog.pg_trigger_depth() = 0)
  execute function planner_private.audit_log_append_only();
create trigger audit_log_append_only
  before update or delete on public.audit_log
  for each row execute function planner_private.audit_log_append_only();
create trigger audit_log_no_truncate
  before truncate on public.audit_log
  for each statement execute function planner_private.audit_log_append_only();
