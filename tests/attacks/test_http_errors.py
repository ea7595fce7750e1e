"""
Attacks on a real ``piccolo planner_app serve``: every bad HTTP request is a
4xx in the project's words (problem details), never a 5xx, never
PostgreSQL's own text, with or without a token, on the table routes and the
plan operations (``docs/api.md``, "Errors").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.api.helpers import as_user
from tests.attacks.conftest import Pair
from tests.served_api import Served
from tests.support import connected, snapshot

PROBLEM = "application/problem+json"
# What PostgreSQL (or the driver) says, which a client must never read.
DATABASE_WORDS = (
    "invalid byte sequence",
    "bigint out of range",
    "value out of",
    "must not be negative",
    "invalid input",
    "unsupported Unicode",
    "codec can't",
    "query argument",
    "Traceback",
)


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url, timeout=15) as client:
        yield client


def refused(response: httpx.Response, *statuses: int) -> dict:
    """A 4xx problem in the project's words."""
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM), response.text
    body = response.json()
    assert body["status"] == response.status_code and body["code"].startswith("PT")
    for words in DATABASE_WORDS:
        assert words not in response.text, response.text
    return body


def _targets(a) -> list[tuple[str, str, str]]:
    """(method, path, body with a @ where a bad number goes)."""
    item = a.locked.plan_item_ids[(2, 0)]
    return [
        ("POST", "/api/vision/", '{"title": "x", "statement": "y", "status": @}'),
        ("PATCH", f"/api/plan_item/{item}/", '{"quota": @}'),
        ("POST", "/api/plan/set_quota", f'{{"plan_item_id": "{item}", "quota": @}}'),
    ]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
@pytest.mark.parametrize("signed_in", [True, False], ids=["token", "no token"])
@pytest.mark.parametrize("target", range(3), ids=["table", "row", "set_quota"])
async def test_a_non_finite_number_is_a_422_with_or_without_a_token(
    http, users: Pair, number, signed_in, target
):
    method, path, body = _targets(users.a)[target]
    headers = {"Content-Type": "application/json"}
    if signed_in:
        headers |= as_user(users.a.user_id)
    response = await http.request(
        method, path, content=body.replace("@", number), headers=headers
    )
    assert "not valid JSON" in refused(response, 422)["detail"]


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"context": nested(5000)}),
        json.dumps({"context": '{"a": ' + nested(33) + "}"}),
        '{"title": ' + nested(5000) + "}",
    ],
    ids=["5000 deep in a JSON column", "34 deep in a JSON column", "5000 deep body"],
)
async def test_deeply_nested_json_is_a_422_that_names_the_bound(
    http, migrated, users, body
):
    text = body
    before = await _snapshot(migrated, users)
    response = await http.post(
        "/api/chat_session/",
        content=text,
        headers={"Content-Type": "application/json", **as_user(users.a.user_id)},
    )
    problem = refused(response, 422)
    assert "deeper than" in json.dumps(problem)
    assert await _snapshot(migrated, users) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/vision/", {"title": "a\u0000b", "statement": "y"}),
        ("POST", "/api/chat_session/", {"title": "x", "cont\u0000ext": "{}"}),
        ("POST", "/api/chat_session/", {"context": json.dumps({"a": "\u0000"})}),
        ("POST", "/api/vision/", '{"title": "\\ud800", "statement": "y"}'),
        ("GET", "/api/vision/?title=%00", None),
        ("GET", "/api/vision/count/?statement__match=exact&statement=a%00", None),
    ],
    ids=["text", "key", "JSON column", "lone surrogate", "filter", "count filter"],
)
async def test_text_that_cannot_be_stored_is_a_422_in_the_projects_words(
    http, migrated, users, method, path, body
):
    content = body if isinstance(body, str | None) else json.dumps(body)
    before = await _snapshot(migrated, users)
    response = await http.request(
        method,
        path,
        content=content,
        headers={"Content-Type": "application/json", **as_user(users.a.user_id)},
    )
    problem = refused(response, 422)
    assert "NUL" in json.dumps(problem) or "surrogate" in json.dumps(problem)
    assert await _snapshot(migrated, users) == before


@pytest.mark.parametrize(
    "query",
    [
        "__page=1e20",
        "__page=100000000000000000000",
        "__page=0",
        "__page_size=-1",
        "__page_size=0",
        "__page_size=100000",
        "week_no=100000000000000000000",
        "__order=nope",
        "__page=1&__page=2",
    ],
)
@pytest.mark.parametrize("route", ["", "count/"])
async def test_a_bad_page_or_filter_is_a_4xx_in_the_projects_words(
    http, users, query, route
):
    response = await http.get(
        f"/api/weekly_plan/{route}?{query}", headers=as_user(users.a.user_id)
    )
    refused(response, 400, 422)


async def _snapshot(url: str, users: Pair):
    async with connected(url) as conn:
        return await snapshot(conn, (users.a.user_id, users.b.user_id))


async def test_no_bad_request_reaches_another_users_rows(http, users):
    """B's ids in A's bad requests are answered like missing rows."""
    b_item = users.b.locked.plan_item_ids[(2, 0)]
    for body in ('{"quota": NaN}', '{"quota": 1}'):
        response = await http.patch(
            f"/api/plan_item/{b_item}/",
            content=body,
            headers={"Content-Type": "application/json", **as_user(users.a.user_id)},
        )
        assert response.status_code in (404, 422)
        assert str(users.b.user_id) not in response.text
    missing = await http.patch(
        f"/api/plan_item/{uuid.uuid4()}/",
        content='{"quota": 1}',
        headers={"Content-Type": "application/json", **as_user(users.a.user_id)},
    )
    assert missing.status_code == 404
