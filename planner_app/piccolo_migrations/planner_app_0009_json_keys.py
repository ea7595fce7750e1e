from planner_app.migration_sql import MigrationManager
from piccolo.constraints import Check

ID = "2026-12-04T00:00:09:000000"
VERSION = "1.38.0"
DESCRIPTION = "JSON keys: no JSON object holds a key the front end cannot represent (__proto__), at any depth"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="planner_app", description=DESCRIPTION
    )

    manager.add_constraint(
        table_class_name="ChatSession",
        tablename="chat_session",
        constraint_name="chat_session_context_keys_representable",
        constraint_class=Check,
        params={
            "condition": "CASE WHEN octet_length(context::text) > 16384 THEN true ELSE NOT (jsonb_path_exists(context, 'lax $.**.\"__proto__\"')) END"
        },
        schema=None,
    )

    manager.add_constraint(
        table_class_name="ChatMessage",
        tablename="chat_message",
        constraint_name="chat_message_metadata_keys_representable",
        constraint_class=Check,
        params={
            "condition": "CASE WHEN octet_length(metadata::text) > 16384 THEN true ELSE NOT (jsonb_path_exists(metadata, 'lax $.**.\"__proto__\"')) END"
        },
        schema=None,
    )

    return manager
