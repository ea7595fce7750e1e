"""
The OpenAPI document (``/openapi.json``): FastAPI's, with the bearer token
and the problem answers every ``/api/`` operation may give.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from planner_app.api.problems import PROBLEM_MEDIA_TYPE, Problem
from planner_app.api.transaction import API_PREFIX

# Every request may be refused for its token, input, limits or time; a write
# also for a rule of the data (a duplicate, the lock, a budget).
_READ_ERRORS = (400, 401, 403, 404, 408, 413, 422, 503, 504)
_WRITE_ERRORS = (*_READ_ERRORS, 409, 423, 429)


def openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """
    FastAPI's document, with the bearer token and the problem answers
    every ``/api/`` operation may give.
    """

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        components["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        }
        problem = {"$ref": "#/components/schemas/Problem"}
        for path, operations in schema["paths"].items():
            if not path.startswith(f"{API_PREFIX}/"):
                continue
            for method, operation in operations.items():
                operation["security"] = [{"bearer": []}, {}]
                statuses = _READ_ERRORS if method == "get" else _WRITE_ERRORS
                responses = operation.setdefault("responses", {})
                for status in statuses:
                    responses[str(status)] = {
                        "description": HTTPStatus(status).phrase,
                        "content": {PROBLEM_MEDIA_TYPE: {"schema": problem}},
                    }
        app.openapi_schema = schema
        return schema

    return build
