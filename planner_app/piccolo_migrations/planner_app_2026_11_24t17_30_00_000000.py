from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID

ID = "2026-11-24T17:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "audit_log: drop the user_id index that the (user_id, occurred_at) index covers"
)


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="planner_app", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="AuditLog",
        tablename="audit_log",
        column_name="user_id",
        db_column_name="user_id",
        params={"index": False},
        old_params={"index": True},
        column_class=UUID,
        old_column_class=UUID,
        schema=None,
    )

    return manager
