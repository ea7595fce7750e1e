from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from planner_app.migration_sql import add_sql_steps

ID = "2026-11-24T17:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Row-level security: owner-only policies, exact grants to API roles"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="planner_app", description=DESCRIPTION
    )
    return add_sql_steps(manager, __file__)
