"""
The planner app: its tables, migrations and commands.
"""

import os

from piccolo.conf.apps import AppConfig, Command

from planner_app.commands.export_schema import export_schema
from planner_app.commands.migrate import migrate
from planner_app.commands.psql import psql
from planner_app.commands.seed import seed
from planner_app.commands.serve import serve
from planner_app.tables import TABLES

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="planner_app",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=list(TABLES),
    migration_dependencies=[],
    commands=[
        migrate,
        Command(seed, aliases=["seeds"]),
        export_schema,
        serve,
        psql,
    ],
)
