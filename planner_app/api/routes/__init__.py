"""
The API's routes, one module per resource. :data:`ROUTERS` is where a route
module is registered: ``create_app`` includes each of them.
"""

from __future__ import annotations

from fastapi import APIRouter

from planner_app.api.routes import plan, scoreboard, tables

ROUTERS: tuple[APIRouter, ...] = (tables.router, plan.router, scoreboard.router)
