"""
The application: the routes of :mod:`planner_app.api.routes`, the error
handlers and the per-request transaction, on the tables' engine
(``piccolo_conf.py``: ``DATABASE_URL`` or the embedded PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI

from planner_app.api.auth import jwt_secret, usable_secret
from planner_app.api.limits import LIMITS, Limits
from planner_app.api.openapi import openapi
from planner_app.api.problems import interface_error_handler, planner_error_handler
from planner_app.api.routes import ROUTERS
from planner_app.api.transaction import RequestTransaction, connection_pool
from planner_app.errors import PlannerError


def create_app(
    secret: str | None = None, *, pool: bool = True, limits: Limits = LIMITS
) -> FastAPI:
    """
    The planner API as an ASGI app.

    :param secret:
        The JWT secret; default ``PLANNER_JWT_SECRET``.
    :param pool:
        Keep a connection pool of ``limits.pool_size`` for the app's
        lifetime (its ASGI lifespan); without it every request opens its
        own connection.
    :param limits:
        The request limits (``docs/api.md``, "Limits").
    :raises ApiConfigError:
        No usable secret.
    """
    secret = jwt_secret() if secret is None else usable_secret(secret)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not pool:
            yield
            return
        async with connection_pool(limits):
            yield

    app = FastAPI(
        title="Planner API",
        version="1.0.0",
        description=(
            "The planner's tables and plan operations, every request run as "
            "its caller under the database's row-level security."
        ),
        lifespan=lifespan,
        # No redirect from /api/x to /api/x/: its Location would be built
        # from the client's Host header. A path without its slash is a 404.
        redirect_slashes=False,
    )
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(PlannerError, planner_error_handler)
    app.add_exception_handler(asyncpg.PostgresError, planner_error_handler)
    app.add_exception_handler(asyncpg.InterfaceError, interface_error_handler)
    app.add_middleware(RequestTransaction, secret=secret, limits=limits)
    app.openapi = openapi(app)  # type: ignore[method-assign]
    return app
