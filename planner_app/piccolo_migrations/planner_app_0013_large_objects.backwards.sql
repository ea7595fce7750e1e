-- Grants back exactly what the forwards step revoked, then drops its record.
do $large_objects$
declare
  signature text;
begin
  for signature in
    select r.signature from planner_private.revoked_large_object_functions r
     order by 1
  loop
    execute pg_catalog.format('grant execute on function %s to public', signature);
  end loop;
end
$large_objects$;

-- The record only (no user data): the rollback guard knows it by its comment.
-- squawk-ignore ban-drop-table
drop table planner_private.revoked_large_object_functions;
