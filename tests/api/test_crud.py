"""
docs/product.md, "The HTTP service": PiccoloCRUD as the API extends it
(``planner_app/api/crud.py``). Bad input is a 4xx that changes nothing, a
query is one PiccoloCRUD can answer or a 400/422, and every piccolo-api name
the subclass leans on is pinned here, so an upgrade that changes one fails
loudly.
"""

from __future__ import annotations

import inspect
import json
import uuid

import pydantic
import pytest
from fastapi import APIRouter
from piccolo_api.crud.endpoints import PiccoloCRUD
from piccolo_api.crud.validators import Validators
from piccolo_api.fastapi.endpoints import FastAPIWrapper

from planner_app.api.crud import PlannerCRUD
from planner_app.api.routes.tables import TableRouter
from planner_app.tables import ChatSession, Vision
from tests.api.helpers import as_user, problem, rows
from tests.support import snapshot

# Requests reuse sessions, as in `serve` (tests/api/conftest.py).
pytestmark = pytest.mark.usefixtures("connection_pool")


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        (
            "POST",
            "/api/goal/",
            lambda o: {"cycle_id": str(o.cycle_id), "goal_type": "hobby", "title": "x"},
        ),
        (
            "POST",
            "/api/task/",
            lambda o: {"goal_id": str(o.goal_ids["personal"]), "title": "   "},
        ),
        (
            "POST",
            "/api/vision/",
            lambda o: {"title": "x", "statement": "y", "colour": "red"},
        ),
        (
            "POST",
            "/api/vision/",
            lambda o: {"id": str(uuid.uuid4()), "title": "x", "statement": "y"},
        ),
        ("POST", "/api/chat_session/", lambda o: {"context": "[1, 2]"}),
        ("POST", "/api/chat_session/", lambda o: {"context": "not json"}),
        ("PATCH", "/api/plan_item/{item}/", lambda o: {"quota": -1}),
        ("PATCH", "/api/plan_item/{item}/", lambda o: {"quota": 2**40}),
        ("PATCH", "/api/plan_item/{item}/", lambda o: {"quota": "many"}),
        ("PATCH", "/api/plan_item/not-an-id/", lambda o: {"quota": 1}),
        (
            "POST",
            "/api/plan/set_quota",
            lambda o: {"plan_item_id": str(o.plan_item(1)), "quota": -1},
        ),
        ("POST", "/api/plan/set_quota", lambda o: {"plan_item_id": "nope", "quota": 1}),
        (
            "POST",
            "/api/plan/record_progress",
            lambda o: {"plan_item_id": str(o.plan_item(1)), "extra": 1},
        ),
    ],
)
async def test_invalid_input_is_422_and_changes_nothing(
    client, db, owner, method, url, body
):
    before = await snapshot(db, (owner.user_id,))
    response = await client.request(
        method,
        url.format(item=owner.plan_item(1)),
        json=body(owner),
        headers=as_user(owner.user_id),
    )
    problem(response, 422)
    assert await snapshot(db, (owner.user_id,)) == before


@pytest.mark.parametrize(
    "query",
    [
        "__order=nope",
        "__order=-week_no,nope",
        "__visible_fields=nope",
        "week_no__operator=bad",
        "week_no__operator=gt&week_no__operator=lt",
        "__page=1&__page=2",
        "nope=1",
    ],
)
async def test_a_malformed_query_is_400_not_500(client, owner, query):
    response = await client.get(
        f"/api/weekly_plan/?{query}", headers=as_user(owner.user_id)
    )
    assert problem(response, 400)["code"] == "PT400"


@pytest.mark.parametrize(
    "query",
    [
        "week_no=99999",
        "week_no=x",
        "week_no=1&week_no=x",
        "week_no[]=x",
        "__page=x",
        "__page=0",
        "__page=-1",
        "__page=1e20",
        "__page=100000000000000000000",
        "__page_size=0",
        "__page_size=-1",
        "__page_size=1001",
    ],
)
async def test_an_invalid_query_value_is_422(client, owner, query):
    response = await client.get(
        f"/api/weekly_plan/?{query}", headers=as_user(owner.user_id)
    )
    problem(response, 422)


async def test_a_page_is_bounded_and_the_last_rows_are_reachable(client, owner):
    headers = as_user(owner.user_id)
    first = rows(
        await client.get(
            "/api/weekly_plan/?__page_size=5&__order=week_no", headers=headers
        )
    )
    last = rows(
        await client.get(
            "/api/weekly_plan/?__page_size=5&__page=3&__order=week_no",
            headers=headers,
        )
    )
    assert [row["week_no"] for row in first] == [1, 2, 3, 4, 5]
    assert [row["week_no"] for row in last] == [11, 12]
    beyond = await client.get(
        "/api/weekly_plan/?__page_size=1000&__page=1000000", headers=headers
    )
    assert rows(beyond) == []


async def test_filters_with_an_operator_are_answered(client, owner):
    headers = as_user(owner.user_id)
    listed = rows(
        await client.get(
            "/api/weekly_plan/?week_no__operator=gte&week_no=11", headers=headers
        )
    )
    assert sorted(row["week_no"] for row in listed) == [11, 12]
    unreflected = await client.get(
        "/api/weekly_plan/?reflection__operator=is_null", headers=headers
    )
    assert len(rows(unreflected)) == 12


async def test_a_text_that_reads_null_is_stored_as_text(client, db, owner):
    """piccolo-api would store the string "null" as NULL; the API does not."""
    response = await client.patch(
        f"/api/weekly_plan/{owner.weekly_plan_ids[2]}/",
        json={"reflection": "null"},
        headers=as_user(owner.user_id),
    )
    assert response.status_code == 200, response.text
    assert response.json()["reflection"] == "null"
    stored = await db.fetchval(
        "select reflection from weekly_plan where id = $1", owner.weekly_plan_ids[2]
    )
    assert stored == "null"


@pytest.mark.parametrize(
    ("context", "words"),
    [
        (json.dumps({"a": "\u0000"}), "NUL"),
        ('{"a": NaN}', "not valid JSON"),
        ('{"a": 1e999}', "not valid JSON"),
        ("[" * 40 + "]" * 40, "deeper than 32"),
        ("[" * 5000 + "]" * 5000, "deeper than 32"),
    ],
)
async def test_a_json_column_takes_only_json_it_can_store(
    client, db, owner, context, words
):
    before = await snapshot(db, (owner.user_id,))
    response = await client.post(
        "/api/chat_session/", json={"context": context}, headers=as_user(owner.user_id)
    )
    body = problem(response, 422)
    assert [error["loc"] for error in body["errors"]] == [["body", "context"]]
    assert words in body["errors"][0]["msg"]
    assert body["errors"][0]["msg"].startswith("Value error, context")
    assert await snapshot(db, (owner.user_id,)) == before


async def test_an_invalid_body_lists_what_is_wrong_without_the_database(client, owner):
    response = await client.post(
        "/api/task/",
        json={"goal_id": "nope", "title": "x"},
        headers=as_user(owner.user_id),
    )
    body = problem(response, 422)
    assert body["code"] == "PT422"
    assert [error["loc"] for error in body["errors"]] == [["body", "goal_id"]]


# --------------------------------------------------------------------------
# The piccolo-api names PlannerCRUD leans on (piccolo-api~=1.11.0)


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


@pytest.mark.parametrize(
    ("method", "parameters"),
    [
        ("detail", ["self", "request"]),
        ("post_single", ["self", "request", "data"]),
        ("put_single", ["self", "request", "row_id", "data"]),
        ("patch_single", ["self", "request", "row_id", "data"]),
        ("delete_single", ["self", "request", "row_id"]),
        ("get_single", ["self", "request", "row_id"]),
        (
            "pydantic_model_plural",
            ["self", "include_readable", "include_columns", "nested"],
        ),
    ],
)
def test_piccolo_crud_still_has_each_method_planner_crud_replaces_or_calls(
    method, parameters
):
    """PlannerCRUD overrides these (root() calls the write endpoints)."""
    assert _parameters(getattr(PiccoloCRUD, method)) == parameters
    if method != "get_single":
        assert getattr(PlannerCRUD, method) is not getattr(PiccoloCRUD, method)


@pytest.mark.parametrize(
    "model",
    [
        "pydantic_model",
        "pydantic_model_output",
        "pydantic_model_optional",
        "pydantic_model_filters",
    ],
)
def test_each_model_is_piccolo_apis_own_built_once(model):
    assert isinstance(getattr(PiccoloCRUD, model), property)
    crud = PlannerCRUD(Vision, read_only=False)
    built = getattr(crud, model)
    assert getattr(crud, model) is built
    theirs = getattr(PiccoloCRUD(Vision, read_only=False), model)
    assert built.model_json_schema() == theirs.model_json_schema()


def test_the_query_check_runs_as_a_validator_of_every_reading_endpoint():
    crud = PlannerCRUD(ChatSession, read_only=False)
    assert isinstance(crud.validators, Validators)
    for endpoint in ("get_all", "get_count", "get_single"):
        checks = getattr(crud.validators, endpoint)
        assert checks and all(callable(check) for check in checks)
        # apply_validators keeps the endpoint's name to find its validators.
        assert getattr(PiccoloCRUD, endpoint).__name__ == endpoint
    assert set(crud.visible_fields_options) == {
        column._meta.name for column in ChatSession._meta.columns
    }
    with pytest.raises(pydantic.ValidationError):
        crud.pydantic_model_filters(created_at="yesterday")


def test_fastapi_wrapper_adds_its_routes_through_add_api_route():
    """TableRouter leaves out /new/ and /ids/ by refusing them there."""
    router = TableRouter()
    FastAPIWrapper("/vision/", router, PlannerCRUD(Vision, read_only=False))
    paths = {route.path for route in router.routes}
    assert {"/vision/", "/vision/count/", "/vision/{row_id:str}/"} <= paths
    assert not {"/vision/new/", "/vision/ids/"} & paths
    everything = APIRouter()
    FastAPIWrapper("/vision/", everything, PlannerCRUD(Vision, read_only=False))
    assert {"/vision/new/", "/vision/ids/"} <= {r.path for r in everything.routes}


def test_an_id_is_parsed_with_the_primary_keys_value_type():
    assert Vision._meta.primary_key.value_type is uuid.UUID
