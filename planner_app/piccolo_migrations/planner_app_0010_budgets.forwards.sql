-- Budgets: one user cannot fill the database (docs/security.md, "Resource
-- exhaustion"; the limits are planner_app/rules.py BUDGETS).
--
-- Four budgets per user, refused with SQLSTATE PT429 (PostgREST answers
-- HTTP 429) naming the budget:
--
--   live_rows          rows the user keeps in the eight domain tables
--   live_bytes         bytes of those rows
--   daily_audit_rows   audit rows the user's own changes write in a UTC day
--   daily_audit_bytes  bytes of the row images those audit rows hold
--
-- A row's bytes are the length of its text form (row::text), printed with
-- fixed settings (DateStyle ISO, TimeZone UTC), so the same row measures the
-- same whoever writes or deletes it and whatever their session settings.
-- An audit row is charged the images it holds: the new row (insert), the old
-- and the new row (update; an upper bound, the log keeps the changed columns
-- only). Deletes are never refused and charge no audit budget: a user can
-- always free space, and a delete's audit row holds no more than the row's
-- last write did.
--
-- Who is refused: writes under row-level security (end users,
-- authenticated). service_role and the owner are never refused. The live
-- figures count every row of the user whoever writes it (the coach's
-- messages too, cascades, the seed), so they stay exact; the daily figures
-- count only the user's own writes.
--
-- Concurrency: each statement adds its change to the user's one row of
-- planner_private.budget_usage with INSERT ... ON CONFLICT DO UPDATE. That
-- row stays locked until the transaction ends, so the same user's
-- concurrent writers queue on it and each sees the other's committed total
-- (under REPEATABLE READ the second gets 40001). No other user's row is read
-- or locked.

create table planner_private.budget_usage (
  user_id uuid primary key,
  live_rows bigint not null default 0,
  live_bytes bigint not null default 0,
  audit_day date not null,
  audit_rows bigint not null default 0,
  audit_bytes bigint not null default 0
) with (fillfactor = 50);
-- Derived data: the figures are counted again from the rows
-- (planner_private.recount_usage()), so rolling them back loses nothing.
comment on table planner_private.budget_usage is
  'planner_app:derived: per-user budget figures, kept by planner_private.account_usage()';
-- Private from this transaction: no API role may read or write it, and
-- row-level security (no policy) stays on should a grant ever slip in.
-- No foreign key to auth.users: deleting a user deletes their rows, whose
-- triggers update this row in the same cascade.
revoke all on table planner_private.budget_usage
  from public, anon, authenticated, service_role;
alter table planner_private.budget_usage enable row level security;

-- The limits, stated once in planner_app/rules.py (a test checks that they
-- agree). Immutable: a call with a constant argument is folded into the
-- plan.
create function planner_private.budget_limit(p_budget text) returns bigint
  language sql
  immutable
  parallel safe
  set search_path = pg_catalog, pg_temp
  return case p_budget
    when 'live_rows' then 100000
    when 'live_bytes' then 100000000
    when 'daily_audit_rows' then 10000
    when 'daily_audit_bytes' then 10000000
  end;

-- The refusal: only the writer's own figures. "used" is what the user had
-- before the statement, "requested" what the statement adds.
create function planner_private.raise_budget_exceeded(
  p_budget text, p_used bigint, p_requested bigint, p_table text
) returns void
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  budget_limit constant bigint := planner_private.budget_limit(p_budget);
  daily constant boolean := p_budget in ('daily_audit_rows', 'daily_audit_bytes');
  resets_at constant text := pg_catalog.to_char(
    pg_catalog.date_trunc('day', pg_catalog.timezone('UTC', pg_catalog.now()))
      + interval '1 day',
    'YYYY-MM-DD"T"HH24:MI:SS"Z"');
begin
  raise exception using
    errcode = 'PT429',
    message = pg_catalog.format(
      'budget %s exceeded: %s (%s used, this statement adds %s)',
      p_budget,
      case p_budget
        when 'live_rows' then pg_catalog.format('a user keeps at most %s rows', budget_limit)
        when 'live_bytes' then pg_catalog.format('a user keeps at most %s bytes of rows', budget_limit)
        when 'daily_audit_rows' then pg_catalog.format(
          'a user''s changes write at most %s audit rows a day', budget_limit)
        else pg_catalog.format(
          'a user''s changes write at most %s bytes of audit a day', budget_limit)
      end,
      p_used, p_requested),
    detail = case
      when daily then pg_catalog.json_build_object(
        'budget', p_budget, 'limit', budget_limit, 'used', p_used,
        'requested', p_requested, 'resets_at', resets_at)
      else pg_catalog.json_build_object(
        'budget', p_budget, 'limit', budget_limit, 'used', p_used,
        'requested', p_requested)
    end::text,
    hint = case
      when daily then 'Daily budgets start again at 00:00 UTC (resets_at). '
                      'Deletes are never refused.'
      else 'Delete rows you no longer need (old chat sessions, past cycles) to '
           'make room: deletes are never refused.'
    end,
    schema = 'public',
    table = p_table;
end
$fn$;

-- One user's change of one statement: added to their row of budget_usage
-- (created on their first write), then, for writers under row-level
-- security, checked against each budget in turn. Only those writers' changes
-- count towards the daily figures. A delete only subtracts (a user without
-- a row has nothing to subtract from) and is never refused.
create function planner_private.charge_usage(
  p_user_id uuid, p_live_rows bigint, p_live_bytes bigint, p_audit_rows bigint,
  p_audit_bytes bigint, p_enforce boolean, p_table text, p_deleting boolean
) returns void
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  total record;
begin
  if not p_enforce then
    p_audit_rows := 0;
    p_audit_bytes := 0;
  end if;
  if p_deleting then
    update planner_private.budget_usage u
       set live_rows = u.live_rows + p_live_rows,
           live_bytes = u.live_bytes + p_live_bytes
     where u.user_id = p_user_id;
    return;
  end if;
  insert into planner_private.budget_usage as u
    (user_id, live_rows, live_bytes, audit_day, audit_rows, audit_bytes)
  values (p_user_id, p_live_rows, p_live_bytes, pg_catalog.now()::date,
          p_audit_rows, p_audit_bytes)
  on conflict (user_id) do update
     set live_rows = u.live_rows + excluded.live_rows,
         live_bytes = u.live_bytes + excluded.live_bytes,
         -- A new day starts from zero; a transaction that began before the
         -- user's latest day still counts towards that day.
         audit_rows = excluded.audit_rows
           + case when excluded.audit_day > u.audit_day then 0 else u.audit_rows end,
         audit_bytes = excluded.audit_bytes
           + case when excluded.audit_day > u.audit_day then 0 else u.audit_bytes end,
         audit_day = greatest(u.audit_day, excluded.audit_day)
  returning u.live_rows, u.live_bytes, u.audit_rows, u.audit_bytes into total;
  if not p_enforce then
    return;
  end if;
  if p_live_rows > 0
     and total.live_rows > planner_private.budget_limit('live_rows') then
    perform planner_private.raise_budget_exceeded(
      'live_rows', total.live_rows - p_live_rows, p_live_rows, p_table);
  end if;
  if p_live_bytes > 0
     and total.live_bytes > planner_private.budget_limit('live_bytes') then
    perform planner_private.raise_budget_exceeded(
      'live_bytes', total.live_bytes - p_live_bytes, p_live_bytes, p_table);
  end if;
  if p_audit_rows > 0
     and total.audit_rows > planner_private.budget_limit('daily_audit_rows') then
    perform planner_private.raise_budget_exceeded(
      'daily_audit_rows', total.audit_rows - p_audit_rows, p_audit_rows, p_table);
  end if;
  if p_audit_bytes > 0
     and total.audit_bytes > planner_private.budget_limit('daily_audit_bytes') then
    perform planner_private.raise_budget_exceeded(
      'daily_audit_bytes', total.audit_bytes - p_audit_bytes, p_audit_bytes, p_table);
  end if;
end
$fn$;

-- The accounting, once per statement, from the statement's transition
-- tables (the audit triggers make PostgreSQL capture them anyway).
-- tg_argv[0] is 'enforce' for writers under row-level security (the
-- trigger's WHEN clause judges the writer, before this function takes its
-- owner's rights) and 'count' for everyone else, whose changes count towards
-- the live figures only. Security definer: the writer has no right on
-- budget_usage. Settings pinned so that row::text does not depend on the
-- writer's session.
--
-- A statement's rows almost always belong to one user: plain aggregates,
-- one charge. Otherwise (the owner or service_role writing for several
-- users) one charge per user, in user_id order. No query joins the
-- transition tables: a plan cached for a one-row statement must stay cheap
-- for a 10,000-row one. An update's unchanged rows (which write no audit
-- row) are the images found in both tables: an image starts with the row's
-- id, so no other row's image can match.
create function planner_private.account_usage() returns trigger
  language plpgsql
  security definer
  set search_path = pg_catalog, pg_temp
  set datestyle = 'ISO, YMD'
  set intervalstyle = 'postgres'
  set timezone = 'UTC'
as $fn$
declare
  enforce constant boolean := tg_argv[0] = 'enforce';
  deleting constant boolean := tg_op = 'DELETE';
  one record;
  change record;
begin
  if tg_op = 'INSERT' then
    select (select f.user_id from new_rows f limit 1) as user_id,
           pg_catalog.count(*) as live_rows,
           coalesce(pg_catalog.sum(pg_catalog.octet_length(r::text)), 0) as live_bytes,
           coalesce(pg_catalog.bool_and(
             r.user_id = (select f.user_id from new_rows f limit 1)), true) as alone
      into one
      from new_rows r;
    if one.live_rows = 0 then
      return null;
    elsif one.alone then
      perform planner_private.charge_usage(
        one.user_id, one.live_rows, one.live_bytes, one.live_rows,
        one.live_bytes, enforce, tg_table_name, false);
      return null;
    end if;
    for change in
      select n.user_id, pg_catalog.count(*) as live_rows,
             pg_catalog.sum(pg_catalog.octet_length(n::text)) as live_bytes
        from new_rows n
       group by n.user_id
       order by n.user_id
    loop
      perform planner_private.charge_usage(
        change.user_id, change.live_rows, change.live_bytes, change.live_rows,
        change.live_bytes, enforce, tg_table_name, false);
    end loop;
  elsif tg_op = 'UPDATE' then
    select n.user_id, n.live_rows, n.alone,
           n.live_bytes - o.live_bytes as live_bytes,
           case when n.image is distinct from o.image then 1 else 0 end as changed,
           n.live_bytes + o.live_bytes as images
      into one
      from (select (select f.user_id from new_rows f limit 1) as user_id,
                   pg_catalog.count(*) as live_rows,
                   coalesce(pg_catalog.sum(pg_catalog.octet_length(x.image)), 0)
                     as live_bytes,
                   coalesce(pg_catalog.bool_and(
                     x.user_id = (select f.user_id from new_rows f limit 1)), true)
                     as alone,
                   pg_catalog.min(x.image collate pg_catalog."C") as image
              from (select r.user_id, r::text as image from new_rows r) x) n,
           (select coalesce(pg_catalog.sum(pg_catalog.octet_length(x.image)), 0)
                     as live_bytes,
                   pg_catalog.min(x.image collate pg_catalog."C") as image
              from (select r::text as image from old_rows r) x) o;
    if one.live_rows = 0 then
      return null;
    elsif one.alone and one.live_rows = 1 then
      if one.live_bytes <> 0 or (enforce and one.changed = 1) then
        perform planner_private.charge_usage(
          one.user_id, 0, one.live_bytes, one.changed, one.changed * one.images,
          enforce, tg_table_name, false);
      end if;
      return null;
    end if;
    for change in
      with n as materialized (select r.user_id, r::text as image from new_rows r),
           o as materialized (select r.user_id, r::text as image from old_rows r)
      select c.user_id,
             pg_catalog.sum(c.new_bytes) - pg_catalog.sum(c.old_bytes) as live_bytes,
             pg_catalog.sum(c.new_rows) - pg_catalog.sum(c.same_rows) as audit_rows,
             pg_catalog.sum(c.new_bytes) + pg_catalog.sum(c.old_bytes)
               - 2 * pg_catalog.sum(c.same_bytes) as audit_bytes
        from (select n.user_id, pg_catalog.octet_length(n.image) as new_bytes,
                     0 as old_bytes, 1 as new_rows, 0 as same_rows, 0 as same_bytes
                from n
              union all
              select o.user_id, 0, pg_catalog.octet_length(o.image), 0, 0, 0
                from o
              union all
              select s.user_id, 0, 0, 0, 1, pg_catalog.octet_length(s.image)
                from (select n.user_id, n.image from n
                      intersect all
                      select o.user_id, o.image from o) s) c
       group by c.user_id
       order by c.user_id
    loop
      if change.live_bytes <> 0 or (enforce and change.audit_rows > 0) then
        perform planner_private.charge_usage(
          change.user_id, 0, change.live_bytes, change.audit_rows,
          change.audit_bytes, enforce, tg_table_name, false);
      end if;
    end loop;
  else
    select (select f.user_id from old_rows f limit 1) as user_id,
           pg_catalog.count(*) as live_rows,
           coalesce(pg_catalog.sum(pg_catalog.octet_length(r::text)), 0) as live_bytes,
           coalesce(pg_catalog.bool_and(
             r.user_id = (select f.user_id from old_rows f limit 1)), true) as alone
      into one
      from old_rows r;
    if one.live_rows = 0 then
      return null;
    elsif one.alone then
      perform planner_private.charge_usage(
        one.user_id, -one.live_rows, -one.live_bytes, 0, 0, enforce,
        tg_table_name, deleting);
      return null;
    end if;
    for change in
      select o.user_id, pg_catalog.count(*) as live_rows,
             pg_catalog.sum(pg_catalog.octet_length(o::text)) as live_bytes
        from old_rows o
       group by o.user_id
       order by o.user_id
    loop
      perform planner_private.charge_usage(
        change.user_id, -change.live_rows, -change.live_bytes, 0, 0, enforce,
        tg_table_name, deleting);
    end loop;
  end if;
  return null;
end
$fn$;

-- The one call that puts a table under the budgets (safe to run again):
-- per event, an enforcing trigger for writers under row-level security and
-- a counting one for everyone else; exactly one of the two fires.
create function planner_private.attach_budgets(p_table regclass) returns void
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  name constant text := (select c.relname from pg_catalog.pg_class c
                          where c.oid = p_table);
  under_rls constant text := pg_catalog.format(
    'pg_catalog.row_security_active(%L::pg_catalog.regclass)', p_table::text);
  event text;
  transition text;
begin
  if (select pg_catalog.count(*) from pg_catalog.pg_attribute a
       where a.attrelid = p_table and a.attname in ('id', 'user_id')
         and not a.attisdropped) <> 2 then
    raise exception 'budgets need a table with id and user_id columns: %', p_table;
  end if;
  perform planner_private.detach_budgets(p_table);
  foreach event in array array['insert', 'update', 'delete'] loop
    transition := case event
      when 'insert' then 'new table as new_rows'
      when 'update' then 'old table as old_rows new table as new_rows'
      else 'old table as old_rows'
    end;
    execute pg_catalog.format(
      'create trigger %I after %s on %s referencing %s for each statement'
      ' when (%s) execute function planner_private.account_usage(''enforce'')',
      name || '_budget_' || event, event, p_table, transition, under_rls);
    execute pg_catalog.format(
      'create trigger %I after %s on %s referencing %s for each statement'
      ' when (not %s) execute function planner_private.account_usage(''count'')',
      name || '_usage_' || event, event, p_table, transition, under_rls);
  end loop;
end
$fn$;

create function planner_private.detach_budgets(p_table regclass) returns void
  language plpgsql
  set search_path = pg_catalog, pg_temp
as $fn$
declare
  name constant text := (select c.relname from pg_catalog.pg_class c
                          where c.oid = p_table);
  event text;
begin
  foreach event in array array['insert', 'update', 'delete'] loop
    execute pg_catalog.format('drop trigger if exists %I on %s',
                              name || '_budget_' || event, p_table);
    execute pg_catalog.format('drop trigger if exists %I on %s',
                              name || '_usage_' || event, p_table);
  end loop;
end
$fn$;

-- The live figures of every user, counted again from the rows of every
-- table under budgets (the daily figures are left as they are). For this
-- migration, and for the owner after anything that bypassed the triggers
-- (session_replication_role = replica, a restore with triggers disabled).
-- Blocks writers of those tables until the transaction ends, so the count is
-- exact.
create function planner_private.recount_usage() returns void
  language plpgsql
  set search_path = pg_catalog, pg_temp
  set datestyle = 'ISO, YMD'
  set intervalstyle = 'postgres'
  set timezone = 'UTC'
as $fn$
declare
  budgeted regclass;
  counted text;
begin
  for budgeted in
    select distinct t.tgrelid::pg_catalog.regclass
      from pg_catalog.pg_trigger t
     where t.tgfoid = 'planner_private.account_usage()'::pg_catalog.regprocedure
     order by 1
  loop
    execute pg_catalog.format('lock table %s in share mode', budgeted);
    counted := coalesce(counted || ' union all ', '') || pg_catalog.format(
      'select t.user_id, pg_catalog.octet_length(t::text) as size from %s t',
      budgeted);
  end loop;
  update planner_private.budget_usage u set live_rows = 0, live_bytes = 0
   where u.live_rows <> 0 or u.live_bytes <> 0;
  if counted is null then
    return;
  end if;
  execute pg_catalog.format(
    'insert into planner_private.budget_usage as u'
    ' (user_id, live_rows, live_bytes, audit_day)'
    ' select c.user_id, pg_catalog.count(*), pg_catalog.sum(c.size),'
    ' pg_catalog.now()::date from (%s) c group by c.user_id'
    ' on conflict (user_id) do update'
    ' set live_rows = excluded.live_rows, live_bytes = excluded.live_bytes',
    counted);
end
$fn$;

revoke all on function planner_private.budget_limit(text) from public, anon, authenticated, service_role;
revoke all on function planner_private.raise_budget_exceeded(text, bigint, bigint, text) from public, anon, authenticated, service_role;
revoke all on function planner_private.charge_usage(uuid, bigint, bigint, bigint, bigint, boolean, text, boolean) from public, anon, authenticated, service_role;
revoke all on function planner_private.account_usage() from public, anon, authenticated, service_role;
revoke all on function planner_private.attach_budgets(regclass) from public, anon, authenticated, service_role;
revoke all on function planner_private.detach_budgets(regclass) from public, anon, authenticated, service_role;
revoke all on function planner_private.recount_usage() from public, anon, authenticated, service_role;

-- The eight domain tables. Creating a trigger blocks the table's writers
-- until this transaction commits, so the recount below sees every row and
-- no write escapes both.
select planner_private.attach_budgets('public.vision');
select planner_private.attach_budgets('public.cycle');
select planner_private.attach_budgets('public.goal');
select planner_private.attach_budgets('public.task');
select planner_private.attach_budgets('public.weekly_plan');
select planner_private.attach_budgets('public.plan_item');
select planner_private.attach_budgets('public.chat_session');
select planner_private.attach_budgets('public.chat_message');
select planner_private.recount_usage();
