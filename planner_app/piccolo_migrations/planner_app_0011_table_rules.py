from planner_app.migration_sql import MigrationManager, add_sql_steps

ID = "2026-12-04T00:00:11:000000"
VERSION = "1.38.0"
DESCRIPTION = "Table rules: one helper attaches a domain table's rules (attach_table_rules), one BEFORE row trigger per table and event (table_rules)"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="planner_app", description=DESCRIPTION
    )
    return add_sql_steps(manager, __file__)
