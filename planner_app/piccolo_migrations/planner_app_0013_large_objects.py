from planner_app.migration_sql import MigrationManager, add_sql_steps

ID = "2026-12-07T00:00:13:000000"
VERSION = "1.38.0"
DESCRIPTION = "Large objects: no role but the owner may create, write or read them, so no user stores data outside the budgets"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="planner_app", description=DESCRIPTION
    )
    return add_sql_steps(manager, __file__)
