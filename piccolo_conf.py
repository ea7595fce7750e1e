"""
Piccolo's entry point: the engine and the registered apps.

The database is chosen by ``DATABASE_URL``; without it an embedded PostgreSQL
is started (see ``planner_app/database.py``) when the first query connects,
never on import (see ``planner_app/engine.py``).
"""

import sys

from piccolo.conf.apps import AppRegistry

from planner_app.database import DatabaseConfigError
from planner_app.engine import PlannerEngine

try:
    DB = PlannerEngine()
except DatabaseConfigError as error:
    sys.exit(f"error: {error}")

APP_REGISTRY = AppRegistry(apps=["planner_app.piccolo_app"])
