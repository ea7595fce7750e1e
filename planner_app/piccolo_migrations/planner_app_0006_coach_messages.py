from planner_app.migration_sql import MigrationManager, add_sql_steps

ID = "2026-11-26T00:00:06:000000"
VERSION = "1.38.0"
DESCRIPTION = "Coach messages: end users write only their own user messages"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="planner_app", description=DESCRIPTION
    )
    return add_sql_steps(manager, __file__)
