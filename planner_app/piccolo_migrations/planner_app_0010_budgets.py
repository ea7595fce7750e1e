from planner_app.migration_sql import MigrationManager, add_sql_steps

ID = "2026-12-04T00:00:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "Budgets: per-user bounds on the rows and bytes a user keeps and on the audit their changes write each day"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="planner_app", description=DESCRIPTION
    )
    return add_sql_steps(manager, __file__)
