-- The protected tables are gone by now (their migration rolled back first,
-- taking their policies and triggers with them).
drop function planner_private.protect(regclass);
drop function planner_private.is_rfc_9562(uuid);
drop function planner_private.audit();
drop function planner_private.maintain_row();
-- Fails, rather than dropping silently, if anything else still lives there.
drop schema planner_private;
