"""
Piccolo's entry point: the engine and the registered apps.

The database is chosen by ``DATABASE_URL``; without it an embedded PostgreSQL
is started (see ``planner_app/database.py``).
"""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from planner_app.database import resolve_database_url

DB = PostgresEngine(config={"dsn": resolve_database_url()})

APP_REGISTRY = AppRegistry(apps=["planner_app.piccolo_app"])
