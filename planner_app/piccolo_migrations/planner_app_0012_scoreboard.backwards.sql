drop view public.cycle_score;
drop view public.weekly_score;
