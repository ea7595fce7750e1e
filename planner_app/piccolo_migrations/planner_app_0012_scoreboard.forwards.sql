-- The 12-week scoreboard (docs/product.md, "The scoreboard"): the weekly
-- execution score of every weekly plan and the score of every cycle, as
-- two read-only views, so every client reads the same numbers.
--
-- security_invoker: a view reads its tables as the role that queries it,
-- so the tables' row-level security applies (a user sees only their own
-- rows, service_role every row) and the view needs no policy of its own.
-- Without it the view would read as its owner and show every user's rows
-- (Supabase's security_definer_view lint).
--
-- Private from this transaction: Supabase's default privileges give anon,
-- authenticated and service_role every privilege on a new view of public,
-- so everything is revoked first and only SELECT is granted back, to the
-- roles that may read the tables; anon, which may read no table, gets
-- nothing here either. Neither view is updatable.
--
-- "Today" is the database's current_date: the date in the session's
-- TimeZone (UTC on Supabase and PostgREST unless it is changed).

-- One row per weekly plan. A plan item counts its quota as planned and its
-- completed_count, up to the quota, as done: doing more than planned never
-- lifts a week above 100 %. A week with nothing planned (no items, or only
-- quotas of 0) has no score. The target is 85 %, compared exactly (numeric) so
-- that exactly 85 % meets it (planner_app/rules.py WEEKLY_TARGET_PERCENT).
create view public.weekly_score
  with (security_invoker = true)
as
select w.user_id,
       w.cycle_id,
       w.id as weekly_plan_id,
       w.week_no,
       w.week_start_date,
       t.planned,
       t.done,
       case when t.planned > 0
            then t.done::double precision / t.planned::double precision
       end as score,
       case when t.planned > 0
            then t.done::numeric * 100 >= t.planned::numeric * 85
       end as target_met,
       c.lock_enforced and planner_private.week_lockable(w.week_no) as locked
  from public.weekly_plan w
 cross join lateral (
   select coalesce(sum(p.quota), 0)::bigint as planned,
          coalesce(sum(least(p.completed_count, p.quota)), 0)::bigint as done
     from public.plan_item p
    where p.weekly_plan_id = w.id
 ) t
  -- Always found (same owner, by the foreign key); a left join on the key
  -- lets the planner leave the cycle out of queries that do not read
  -- `locked` (cycle_score's), and every table read costs row-level security.
  left join public.cycle c on c.id = w.cycle_id;

comment on view public.weekly_score is
  'The execution score of one weekly plan: done / planned, each item''s completions counted up to its quota.';

-- One row per cycle. Week n has started once today >= start_date + 7 (n - 1);
-- the cycle's average is over its started weeks that have a score.
create view public.cycle_score
  with (security_invoker = true)
as
select c.user_id,
       c.id as cycle_id,
       c.start_date,
       c.end_date,
       case when current_date between c.start_date and c.end_date
            then (current_date - c.start_date) / 7 + 1
       end as current_week,
       e.weeks_elapsed,
       s.average_score,
       s.weeks_target_met,
       c.lock_enforced
  from public.cycle c
 cross join lateral (
   select case when current_date < c.start_date then 0
               else least((current_date - c.start_date) / 7 + 1, 12)
          end as weeks_elapsed
 ) e
 cross join lateral (
   select avg(w.score) as average_score,
          (count(*) filter (where w.target_met))::integer as weeks_target_met
     from public.weekly_score w
    where w.cycle_id = c.id and w.week_no <= e.weeks_elapsed
 ) s;

comment on view public.cycle_score is
  'The execution score of one cycle: the average score of its weeks started by today.';

revoke all on table public.weekly_score, public.cycle_score
  from public, anon, authenticated, service_role;
grant select on table public.weekly_score, public.cycle_score
  to authenticated, service_role;
