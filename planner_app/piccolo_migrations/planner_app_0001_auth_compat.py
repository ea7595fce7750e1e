from planner_app.migration_sql import MigrationManager, add_sql_steps

ID = "2026-11-26T00:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "Auth compatibility: create only the missing Supabase auth pieces; bookkeeping private"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="planner_app", description=DESCRIPTION
    )
    return add_sql_steps(manager, __file__)
