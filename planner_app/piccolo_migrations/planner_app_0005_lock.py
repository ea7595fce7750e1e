from planner_app.migration_sql import MigrationManager, add_sql_steps

ID = "2026-11-26T00:00:05:000000"
VERSION = "1.38.0"
DESCRIPTION = "Weeks 7-12 lock: frozen plans, the one-way switch, no back door"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="planner_app", description=DESCRIPTION
    )
    return add_sql_steps(manager, __file__)
