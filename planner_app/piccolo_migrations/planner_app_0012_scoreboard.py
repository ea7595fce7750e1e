from planner_app.migration_sql import MigrationManager, add_sql_steps

ID = "2026-12-04T00:00:12:000000"
VERSION = "1.38.0"
DESCRIPTION = "Scoreboard: the weekly and cycle execution scores as read-only views under the caller's row-level security"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="planner_app", description=DESCRIPTION
    )
    return add_sql_steps(manager, __file__)
