from planner_app.migration_sql import MigrationManager, add_sql_steps

ID = "2026-12-04T00:00:07:000000"
VERSION = "1.38.0"
DESCRIPTION = "Function search path: every function of the planner runs with search_path pg_catalog, pg_temp (temporary objects last)"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="planner_app", description=DESCRIPTION
    )
    return add_sql_steps(manager, __file__)
