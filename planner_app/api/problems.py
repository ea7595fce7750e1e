"""
Problem details (RFC 9457, ``application/problem+json``): the one shape of
every error answer under ``/api/``. Each project exception says its own
status and what the caller may read (:mod:`planner_app.exceptions`); this
module only puts them in that shape, and rewrites into it the few answers
the web layer gives itself (an unknown path, a method not allowed, a body
FastAPI refused).
"""

from __future__ import annotations

import json
import logging
import uuid
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from planner_app.api.auth import ANON, Caller
from planner_app.errors import PlannerError, ValidationError, translate_error

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details) with the project's code."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str = Field(
        description=(
            "Stable machine-readable code: the SQLSTATE when a database rule "
            "refused the request (the lock's is WEEK_LOCKED_SQLSTATE), else "
            "PT<status> when the API itself answered"
        )
    )
    hint: str | None = None
    cycle_id: uuid.UUID | None = None
    week_no: int | None = None
    operation: str | None = None
    errors: list[Any] | None = Field(
        default=None, description="Where the input is wrong, one entry per field"
    )


def problem_for(error: PlannerError, caller: Caller = ANON) -> Problem:
    """
    The answer to a project exception, from the exception alone: its status
    and detail for the caller's role, its code, its extra members.
    """
    status = error.http_status(caller.role)
    if status == 500:
        log.error("unexpected error: %s", error, exc_info=error)
    return Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=error.client_detail(caller.role),
        code=error.sqlstate or f"PT{status}",
        **error.problem_fields(),
    )


def problem_response(error: PlannerError, caller: Caller = ANON) -> JSONResponse:
    problem = problem_for(error, caller)
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=error.headers(),
    )


def as_planner_error(error: Exception) -> PlannerError:
    """A driver error as the project's exception (errors.translate_error)."""
    if isinstance(error, PlannerError):
        return error
    if isinstance(error, asyncpg.PostgresError):
        return translate_error(error)
    if is_argument_error(error):
        # asyncpg refuses a query argument it cannot encode (an integer out
        # of range, say) before sending it: the client's input is invalid.
        return ValidationError("a value does not fit its column")
    return PlannerError(f"{type(error).__name__}: {error}")


def is_argument_error(error: BaseException) -> bool:
    return isinstance(error, asyncpg.InterfaceError) and isinstance(error, ValueError)


def caller_of(request: Request) -> Caller:
    return getattr(request.state, "caller", ANON)


async def planner_error_handler(request: Request, error: Exception) -> Response:
    return problem_response(as_planner_error(error), caller_of(request))


async def interface_error_handler(request: Request, error: Exception) -> Response:
    if is_argument_error(error):
        return await planner_error_handler(request, error)
    raise error


def problem_from_answer(status: int, body: bytes) -> Problem:
    """
    A problem for an error the web layer or PiccoloCRUD answered itself (a
    malformed query or body, an unknown path): their texts describe the
    request, not the database.
    """
    text = body.decode(errors="replace").strip()
    errors = None
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "detail" in parsed:
        if isinstance(parsed["detail"], str):
            text = parsed["detail"]
        else:
            errors = parsed["detail"]
            text = "the request is not valid"
    elif isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        text = parsed["error"]
    return Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=text or HTTPStatus(status).phrase,
        code=f"PT{status}",
        errors=errors,
    )
