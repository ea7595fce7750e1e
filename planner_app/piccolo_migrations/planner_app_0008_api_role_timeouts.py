from planner_app.migration_sql import MigrationManager, add_sql_steps

ID = "2026-12-04T00:00:08:000000"
VERSION = "1.38.0"
DESCRIPTION = "API role timeouts: anon and authenticated get Supabase's statement_timeout (3s, 8s) where they have none"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="planner_app", description=DESCRIPTION
    )
    return add_sql_steps(manager, __file__)
