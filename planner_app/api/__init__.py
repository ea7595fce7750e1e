"""
The planner's HTTP API: the tables and the plan operations over HTTP, under
the same row-level security as PostgREST on Supabase (``docs/api.md``).

One module per job:

- :mod:`~planner_app.api.auth`: who a request acts as (the JWT);
- :mod:`~planner_app.api.limits`, :mod:`~planner_app.api.body`: the bounds of
  a request, and its input read and checked before the database sees it;
- :mod:`~planner_app.api.transaction`: one transaction per request, as its
  caller, taken only once the request has earned it;
- :mod:`~planner_app.api.problems`: every error as problem details;
- :mod:`~planner_app.api.writes`, :mod:`~planner_app.api.crud`: how writes
  run, and the tables through piccolo-api;
- :mod:`~planner_app.api.routes`: the routes, one module per resource;
- :mod:`~planner_app.api.app`, :mod:`~planner_app.api.server`: the ASGI app
  (``planner_app.api:app``, :func:`create_app`) and :func:`serve`.
"""

from __future__ import annotations

from typing import Any

from planner_app.api.app import create_app
from planner_app.api.auth import JWT_SECRET_VARIABLE, ApiConfigError, jwt_secret
from planner_app.api.problems import PROBLEM_MEDIA_TYPE, problem_for
from planner_app.api.server import serve

__all__ = [
    "JWT_SECRET_VARIABLE",
    "PROBLEM_MEDIA_TYPE",
    "ApiConfigError",
    "create_app",
    "jwt_secret",
    "problem_for",
    "serve",
]


def __getattr__(name: str) -> Any:
    # ``planner_app.api:app`` for ASGI servers, built on first use so that
    # importing this package needs no secret.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
