"""
Piccolo's entry point: the engine and the registered apps.

The database is chosen by ``DATABASE_URL``; without it an embedded PostgreSQL
is started (see ``planner_app/database.py``).
"""

import sys

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from planner_app.commands import quiet_piccolo_prechecks
from planner_app.database import DatabaseConfigError, resolve_database_url

quiet_piccolo_prechecks()

try:
    DATABASE_URL = resolve_database_url()
except DatabaseConfigError as error:
    sys.exit(f"error: {error}")

DB = PostgresEngine(config={"dsn": DATABASE_URL})

APP_REGISTRY = AppRegistry(apps=["planner_app.piccolo_app"])
