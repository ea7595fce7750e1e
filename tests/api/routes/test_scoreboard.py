"""
The scoreboard from Python and over HTTP (docs/api.md, "The scoreboard"):
:func:`planner_app.services.scoreboard` and ``GET /api/scoreboard/{cycle_id}``
read the views ``cycle_score`` and ``weekly_score`` under the caller's
row-level security; another user's cycle answers exactly like a missing one.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest

from planner_app import services
from planner_app.errors import NotFoundError
from planner_app.rules import LOCKED_WEEKS
from tests.api.helpers import SERVICE_ROLE, as_user, problem
from tests.roles import acting_as
from tests.support import Owner, build_owner

# Requests reuse sessions, as in `serve` (tests/api/conftest.py).
pytestmark = pytest.mark.usefixtures("connection_pool")


@pytest.fixture
async def scored(db: asyncpg.Connection) -> Owner:
    """A user in week 5 of a locked cycle, with some work done every week."""
    today = await db.fetchval("select current_date")
    owner = await build_owner(db, start_date=today - timedelta(weeks=4))
    await db.execute(
        "update plan_item set completed_count = w.week_no % 4 "
        "from weekly_plan w where w.id = plan_item.weekly_plan_id "
        "and plan_item.user_id = $1",
        owner.user_id,
    )
    await db.execute(
        "update cycle set lock_enforced = true where id = $1", owner.cycle_id
    )
    return owner


async def view_rows(db: asyncpg.Connection, owner: Owner) -> tuple[dict, list[dict]]:
    cycle = await db.fetchrow(
        "select * from cycle_score where cycle_id = $1", owner.cycle_id
    )
    weeks = await db.fetch(
        "select * from weekly_score where cycle_id = $1 order by week_no",
        owner.cycle_id,
    )
    return dict(cycle), [dict(week) for week in weeks]


async def test_the_service_reads_the_cycle_and_its_twelve_weeks(
    db: asyncpg.Connection, scored: Owner
) -> None:
    async with acting_as(db, "authenticated", scored.user_id) as conn:
        board = await services.scoreboard(
            conn, user_id=scored.user_id, cycle_id=scored.cycle_id
        )
    cycle, weeks = await view_rows(db, scored)
    assert dataclasses.asdict(board.cycle) == cycle
    assert [dataclasses.asdict(week) for week in board.weeks] == weeks
    assert [week.week_no for week in board.weeks] == list(range(1, 13))
    assert board.cycle.current_week == 5 and board.cycle.lock_enforced
    assert {w.week_no for w in board.weeks if w.locked} == set(LOCKED_WEEKS)


async def test_a_cycle_without_weeks_has_a_scoreboard_without_weeks(
    db: asyncpg.Connection, scored: Owner
) -> None:
    cycle_id = await db.fetchval(
        "insert into cycle (user_id, start_date) "
        "values ($1, current_date + 200) returning id",
        scored.user_id,
    )
    board = await services.scoreboard(db, user_id=scored.user_id, cycle_id=cycle_id)
    assert board.weeks == []
    assert (board.cycle.weeks_elapsed, board.cycle.average_score) == (0, None)


async def test_another_users_cycle_is_not_found_like_a_missing_one(
    db: asyncpg.Connection, scored: Owner, stranger: Owner
) -> None:
    for conn_role in ("authenticated", None):
        for cycle_id in (stranger.cycle_id, uuid.uuid4()):
            with pytest.raises(NotFoundError) as missing:
                if conn_role is None:
                    await services.scoreboard(
                        db, user_id=scored.user_id, cycle_id=cycle_id
                    )
                else:
                    async with acting_as(db, conn_role, scored.user_id) as conn:
                        await services.scoreboard(
                            conn, user_id=scored.user_id, cycle_id=cycle_id
                        )
            assert str(missing.value) == f"cycle {cycle_id} not found"


async def test_the_route_answers_the_callers_scoreboard(
    client: httpx.AsyncClient, db: asyncpg.Connection, scored: Owner
) -> None:
    response = await client.get(
        f"/api/scoreboard/{scored.cycle_id}", headers=as_user(scored.user_id)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    cycle, weeks = await view_rows(db, scored)
    assert body["cycle"]["cycle_id"] == str(scored.cycle_id)
    assert body["cycle"]["average_score"] == cycle["average_score"]
    assert body["cycle"]["weeks_elapsed"] == 5
    assert [w["week_no"] for w in body["weeks"]] == list(range(1, 13))
    assert [(w["planned"], w["done"], w["score"]) for w in body["weeks"]] == [
        (w["planned"], w["done"], w["score"]) for w in weeks
    ]
    assert body["weeks"][0]["week_start_date"] == cycle["start_date"].isoformat()


async def test_the_route_answers_another_users_cycle_like_a_missing_one(
    client: httpx.AsyncClient, scored: Owner, stranger: Owner
) -> None:
    headers = as_user(scored.user_id)
    theirs = await client.get(f"/api/scoreboard/{stranger.cycle_id}", headers=headers)
    missing = await client.get(f"/api/scoreboard/{uuid.uuid4()}", headers=headers)
    assert problem(theirs, 404) == problem(missing, 404)
    # Naming the other user does not help either: the rows are not visible.
    named = await client.get(
        f"/api/scoreboard/{stranger.cycle_id}?user_id={stranger.user_id}",
        headers=headers,
    )
    assert problem(named, 404) == problem(missing, 404)


async def test_the_route_refuses_anon_and_needs_a_user_for_service_role(
    client: httpx.AsyncClient, scored: Owner
) -> None:
    path = f"/api/scoreboard/{scored.cycle_id}"
    assert problem(await client.get(path), 401)["code"] == "PT401"
    problem(await client.get(path, headers=SERVICE_ROLE), 422)
    answer = await client.get(f"{path}?user_id={scored.user_id}", headers=SERVICE_ROLE)
    assert answer.status_code == 200, answer.text
    assert answer.json()["cycle"]["user_id"] == str(scored.user_id)
    problem(await client.get("/api/scoreboard/not-a-uuid", headers=SERVICE_ROLE), 422)


async def test_the_route_is_in_the_openapi_document(client: httpx.AsyncClient):
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/api/scoreboard/{cycle_id}"]["get"]
    assert {"200", "401", "404"} <= set(operation["responses"])
    assert "Scoreboard" in document["components"]["schemas"]
