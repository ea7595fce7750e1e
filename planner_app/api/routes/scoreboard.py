"""
The scoreboard over HTTP: ``GET /api/scoreboard/{cycle_id}`` answers a
cycle's ``cycle_score`` row and its ``weekly_score`` rows
(:func:`planner_app.services.scoreboard`, ``docs/api.md``, "The
scoreboard"), read in the request's transaction as its caller, so under the
same row-level security as PostgREST: another user's cycle is answered
exactly like a cycle that does not exist (404).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from planner_app import services
from planner_app.api.problems import caller_of
from planner_app.api.transaction import API_PREFIX, current_connection
from planner_app.errors import OwnershipError, ValidationError

router = APIRouter(prefix=f"{API_PREFIX}/scoreboard", tags=["scoreboard"])


@router.get("/{cycle_id}", response_model=services.Scoreboard)
async def get_scoreboard(
    request: Request,
    cycle_id: uuid.UUID,
    user_id: Annotated[
        uuid.UUID | None,
        Query(
            description=(
                "The user whose cycle it is: defaults to the token's sub; a "
                "service_role caller without a sub must give it"
            )
        ),
    ] = None,
) -> services.Scoreboard:
    """
    A cycle's scoreboard: its execution score (``cycle_score``) and the score
    of each of its weeks (``weekly_score``, in week order). 404 when the
    caller has no such cycle.
    """
    caller = caller_of(request)
    owner = user_id or caller.user_id
    if owner is None:
        if caller.role == "anon":
            raise OwnershipError("anonymous callers have no scoreboard")
        raise ValidationError("user_id is required: the token has no sub")
    return await services.scoreboard(
        current_connection(), user_id=owner, cycle_id=cycle_id
    )
