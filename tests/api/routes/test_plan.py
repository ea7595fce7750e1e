"""
docs/product.md, "The HTTP service" and "The lock (weeks 7–12)": the plan
operations over HTTP (``planner_app/api/routes/plan.py``) and the lock
through both paths: a locked week answers 423 with the lock's code, progress
is still recorded, a user cannot lift the lock and ``service_role`` can.
"""

from __future__ import annotations

import pytest

from planner_app.errors import WEEK_LOCKED_HINT, WEEK_LOCKED_SQLSTATE
from tests.api.helpers import SERVICE_ROLE, as_user, problem
from tests.support import snapshot

# Requests reuse sessions, as in `serve` (tests/api/conftest.py).
pytestmark = pytest.mark.usefixtures("connection_pool")


async def test_a_plan_item_cannot_enter_another_users_locked_week(
    client, db, owner, locked
):
    """The answer is a missing row's, not the other user's lock."""
    before = await snapshot(db, (owner.user_id, locked.user_id))
    plan_item = {
        "weekly_plan_id": str(locked.weekly_plan_ids[8]),
        "task_id": str(owner.task_ids[0]),
    }
    response = await client.post(
        "/api/plan_item/", json=plan_item, headers=as_user(owner.user_id)
    )
    body = problem(response, 404)
    assert str(locked.cycle_id) not in response.text and "week_no" not in body
    via_service = await client.post(
        "/api/plan/add_plan_item", json=plan_item, headers=as_user(owner.user_id)
    )
    problem(via_service, 404)
    assert await snapshot(db, (owner.user_id, locked.user_id)) == before


async def test_a_locked_week_answers_423_with_the_lock_contract(client, db, locked):
    before = await snapshot(db, (locked.user_id,))
    headers = as_user(locked.user_id)
    item = locked.plan_item(8)
    answers = {
        "change_quota": [
            await client.patch(
                f"/api/plan_item/{item}/", json={"quota": 5}, headers=headers
            ),
            await client.post(
                "/api/plan/set_quota",
                json={"plan_item_id": str(item), "quota": 5},
                headers=headers,
            ),
        ],
        "remove_plan_item": [
            await client.delete(f"/api/plan_item/{item}/", headers=headers),
            await client.post(
                "/api/plan/remove_plan_item",
                json={"plan_item_id": str(item)},
                headers=headers,
            ),
        ],
    }
    for operation, responses in answers.items():
        for response in responses:
            body = problem(response, 423)
            assert body == {
                "type": "about:blank",
                "title": "Locked",
                "status": 423,
                "code": WEEK_LOCKED_SQLSTATE,
                "detail": body["detail"],
                "hint": WEEK_LOCKED_HINT,
                "cycle_id": str(locked.cycle_id),
                "week_no": 8,
                "operation": operation,
            }
            assert body["detail"].startswith(
                f"week 8 of cycle {locked.cycle_id} is locked"
            )
    assert await snapshot(db, (locked.user_id,)) == before


async def test_progress_is_recorded_in_a_locked_week(client, db, locked):
    item = locked.plan_item(9)
    response = await client.post(
        "/api/plan/record_progress",
        json={"plan_item_id": str(item), "completed_count": 2, "notes": "done twice"},
        headers=as_user(locked.user_id),
    )
    assert response.status_code == 200, response.text
    assert response.json()["completed_count"] == 2
    assert (
        await db.fetchval("select completed_count from plan_item where id = $1", item)
        == 2
    )
    patched = await client.patch(
        f"/api/plan_item/{item}/",
        json={"completed_count": 3},
        headers=as_user(locked.user_id),
    )
    assert patched.status_code == 200 and patched.json()["completed_count"] == 3


async def test_plan_operations_change_the_plan(client, db, owner):
    headers = as_user(owner.user_id)
    item = owner.plan_item(2)
    quota = await client.post(
        "/api/plan/set_quota",
        json={"plan_item_id": str(item), "quota": 6},
        headers=headers,
    )
    assert quota.status_code == 200 and quota.json()["quota"] == 6
    removed = await client.post(
        "/api/plan/remove_plan_item", json={"plan_item_id": str(item)}, headers=headers
    )
    assert removed.status_code == 204
    added = await client.post(
        "/api/plan/add_plan_item",
        json={
            "weekly_plan_id": str(owner.weekly_plan_ids[2]),
            "task_id": str(owner.task_ids[0]),
        },
        headers=headers,
    )
    assert added.status_code == 201 and added.json()["quota"] == 3
    lock = await client.post(
        "/api/plan/enforce_lock",
        json={"cycle_id": str(owner.cycle_id)},
        headers=headers,
    )
    assert lock.status_code == 200 and lock.json()["lock_enforced"] is True
    assert await db.fetchval(
        "select lock_enforced from cycle where id = $1", owner.cycle_id
    )
    assert (
        problem(
            await client.post(
                "/api/plan/set_quota",
                json={"plan_item_id": str(owner.plan_item(7)), "quota": 1},
                headers=headers,
            ),
            423,
        )["week_no"]
        == 7
    )


async def test_a_user_cannot_lift_the_lock(client, db, locked):
    before = await snapshot(db, (locked.user_id,))
    headers = as_user(locked.user_id)
    for response in (
        await client.patch(
            f"/api/cycle/{locked.cycle_id}/",
            json={"lock_enforced": False},
            headers=headers,
        ),
        await client.post(
            "/api/plan/lift_lock",
            json={"cycle_id": str(locked.cycle_id)},
            headers=headers,
        ),
    ):
        assert problem(response, 403)["code"] == "42501"
    assert await snapshot(db, (locked.user_id,)) == before


async def test_service_role_lifts_the_lock_and_it_is_audited(client, db, locked):
    response = await client.post(
        "/api/plan/lift_lock",
        json={"cycle_id": str(locked.cycle_id)},
        headers=SERVICE_ROLE,
    )
    assert response.status_code == 200 and response.json()["lock_enforced"] is False
    assert not await db.fetchval(
        "select lock_enforced from cycle where id = $1", locked.cycle_id
    )
    assert (
        await db.fetchval(
            "select actor_role from audit_log "
            "where record_id = $1 order by id desc limit 1",
            locked.cycle_id,
        )
        == "service_role"
    )
