"""
``/api/plan/<operation>``: the plan operations of :mod:`planner_app.services`
(set a quota, record progress, add or remove a plan item, enforce or lift the
lock), each a ``POST`` with a JSON body (``docs/api.md``, "Plan operations").
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, get_type_hints

import pydantic
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from planner_app import services
from planner_app.api.problems import caller_of
from planner_app.api.transaction import API_PREFIX, current_connection
from planner_app.api.writes import guarded
from planner_app.errors import OwnershipError, ValidationError


class _ForUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID | None = Field(
        default=None,
        description=(
            "The user to act for: defaults to the token's sub; a service_role "
            "caller without a sub must give it"
        ),
    )


_INT4 = 2**31 - 1


class SetQuota(_ForUser):
    plan_item_id: uuid.UUID
    quota: int = Field(ge=0, le=_INT4)


class RecordProgress(_ForUser):
    plan_item_id: uuid.UUID
    completed_count: int | None = Field(default=None, ge=0, le=_INT4)
    notes: str | None = Field(
        default=None, description="Left out: unchanged; null: cleared"
    )


class AddPlanItem(_ForUser):
    weekly_plan_id: uuid.UUID
    task_id: uuid.UUID
    quota: int | None = Field(
        default=None, ge=0, le=_INT4, description="Default: the task's quota"
    )


class RemovePlanItem(_ForUser):
    plan_item_id: uuid.UUID


class CycleLock(_ForUser):
    cycle_id: uuid.UUID


# The plan item as the services return it (services.PlanItem), as a model.
PlanItemOut = pydantic.create_model(
    "PlanItemOut",
    **{name: (hint, ...) for name, hint in get_type_hints(services.PlanItem).items()},
)


class LockState(BaseModel):
    cycle_id: uuid.UUID
    lock_enforced: bool
    locked_at: datetime | None


def _acting_user(request: Request, body: _ForUser) -> uuid.UUID:
    caller = caller_of(request)
    user_id = body.user_id or caller.user_id
    if user_id is None:
        if caller.role == "anon":
            raise OwnershipError("anonymous callers have no plan")
        raise ValidationError("user_id is required: the token has no sub")
    return user_id


def _plan_item(item: services.PlanItem) -> PlanItemOut:
    return PlanItemOut(**item.__dict__)


router = APIRouter(prefix=f"{API_PREFIX}/plan", tags=["plan"])


@router.post("/set_quota", response_model=PlanItemOut)
async def set_quota(request: Request, body: SetQuota) -> PlanItemOut:
    """Plan ``quota`` repetitions of the item's task in its week (locked in
    weeks 7-12 of a locked cycle)."""
    conn, user_id = current_connection(), _acting_user(request, body)
    item = await guarded(
        lambda: services.set_quota(
            conn, user_id=user_id, plan_item_id=body.plan_item_id, quota=body.quota
        )
    )
    return _plan_item(item)


@router.post("/record_progress", response_model=PlanItemOut)
async def record_progress(request: Request, body: RecordProgress) -> PlanItemOut:
    """Record what was done: allowed in every week, locked or not."""
    conn, user_id = current_connection(), _acting_user(request, body)
    options: dict[str, Any] = {"completed_count": body.completed_count}
    if "notes" in body.model_fields_set:
        options["notes"] = body.notes
    item = await guarded(
        lambda: services.record_progress(
            conn, user_id=user_id, plan_item_id=body.plan_item_id, **options
        )
    )
    return _plan_item(item)


@router.post("/add_plan_item", response_model=PlanItemOut, status_code=201)
async def add_plan_item(request: Request, body: AddPlanItem) -> PlanItemOut:
    """Plan a task in a week (locked in weeks 7-12 of a locked cycle)."""
    conn, user_id = current_connection(), _acting_user(request, body)
    item = await guarded(
        lambda: services.add_plan_item(
            conn,
            user_id=user_id,
            weekly_plan_id=body.weekly_plan_id,
            task_id=body.task_id,
            quota=body.quota,
        ),
        (("weekly_plan", body.weekly_plan_id), ("task", body.task_id)),
    )
    return _plan_item(item)


@router.post("/remove_plan_item", status_code=204, response_class=Response)
async def remove_plan_item(request: Request, body: RemovePlanItem) -> Response:
    """Take a task out of a week (locked in weeks 7-12 of a locked cycle)."""
    conn, user_id = current_connection(), _acting_user(request, body)
    await guarded(
        lambda: services.remove_plan_item(
            conn, user_id=user_id, plan_item_id=body.plan_item_id
        )
    )
    return Response(status_code=204)


@router.post("/enforce_lock", response_model=LockState)
async def enforce_lock(request: Request, body: CycleLock) -> LockState:
    """Freeze weeks 7-12 of the cycle (idempotent)."""
    conn, user_id = current_connection(), _acting_user(request, body)
    locked_at = await guarded(
        lambda: services.enforce_lock(conn, user_id=user_id, cycle_id=body.cycle_id)
    )
    return LockState(cycle_id=body.cycle_id, lock_enforced=True, locked_at=locked_at)


@router.post("/lift_lock", response_model=LockState)
async def lift_lock(request: Request, body: CycleLock) -> LockState:
    """Unfreeze weeks 7-12: the database allows it to service_role only."""
    conn = current_connection()
    await guarded(lambda: services.lift_lock(conn, cycle_id=body.cycle_id))
    return LockState(cycle_id=body.cycle_id, lock_enforced=False, locked_at=None)
