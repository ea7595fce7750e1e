"""
Issue 19, items 3 and 4, attacked again on a real ``piccolo planner_app
serve``: what a second round found, each answered by a bound of
``docs/api.md`` ("Limits", "Errors").

- one caller cannot hold every database connection (``max_requests_per_caller``);
- an answer cannot outgrow ``max_response_bytes``, and a client that leaves
  it unread is dropped after ``send_timeout``;
- a head that arrives whole is measured too (``max_header_bytes``: 431), and
  a URL carries at most ``max_query_params`` parameters (a 15,000-key query
  cost the event loop seconds before);
- ``__order`` with an empty item and piccolo-api's unanswered ``__`` names
  (``__range_header_name`` was copied into a response header) are 400;
- a ``sub`` PostgreSQL cannot read, or an ``exp`` that is not a number, is a
  401 before any database work; a token from a clock a few seconds ahead is
  accepted;
- a body that is not UTF-8 is a 422;
- every path outside ``/api/<...>/`` answers problem+json, and no redirect
  is built from the client's ``Host``.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.api.helpers import as_user, token
from tests.attacks.conftest import Pair
from tests.attacks.test_http_errors import refused
from tests.served_api import RawClient, Served, request_head
from tests.support import connected, create_user

TABLES = ("vision", "cycle", "goal", "task", "weekly_plan", "plan_item")


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
        yield client


async def messages_of_a_new_user(migrated: str, count: int, size: int):
    """A new user with ``count`` chat messages of ``size`` characters each."""
    async with connected(migrated) as conn:
        user = await create_user(conn)
        session = await conn.fetchval(
            "insert into chat_session (user_id, title) values ($1, 'big') returning id",
            user,
        )
        await conn.execute(
            "insert into chat_message (user_id, session_id, role, content)"
            " select $1, $2, 'user', repeat('x', $3) from generate_series(1, $4)",
            user,
            session,
            size,
            count,
        )
    return user


@pytest.mark.parametrize("order", ["", ",", "title,", "-created_at,,title"])
async def test_an_empty_order_item_is_a_400(http, users: Pair, order: str):
    for path in ("/api/vision/", "/api/vision/count/"):
        response = await http.get(
            path, params={"__order": order}, headers=as_user(users.a.user_id)
        )
        refused(response, 400)


@pytest.mark.parametrize("name", ["__range_header_name", "__range_header", "__x"])
async def test_a_double_underscore_parameter_the_api_does_not_answer_is_a_400(
    http, users: Pair, name: str
):
    for value in ("rows", "a\r\nSet-Cookie: x=y", "é"):
        response = await http.get(
            "/api/vision/",
            params={name: value, "__range_header": "true"},
            headers=as_user(users.a.user_id),
        )
        body = refused(response, 400)
        assert "__range" in body["detail"] or name in body["detail"]
        assert "content-range" not in response.headers


async def test_a_url_with_too_many_parameters_is_a_400_and_others_are_answered(
    http, users: Pair
):
    # As many distinct keys as fit the head limit (a 60 KB query is a 431).
    many = "&".join(f"k{i}" for i in range(2_500))
    slow, other = await asyncio.gather(
        http.get(f"/api/vision/?{many}"),
        http.get("/api/vision/", headers=as_user(users.b.user_id)),
    )
    assert "query parameters" in refused(slow, 400)["detail"]
    assert other.status_code == 200
    refused(await http.get("/api/vision/?" + "&".join(["a=1"] * 101)), 400)
    too_long = "&".join(f"k{i}" for i in range(10_000))
    refused(await http.get(f"/api/vision/?{too_long}"), 431)


async def test_a_head_larger_than_the_limit_sent_whole_is_a_431(served: Served):
    client = await RawClient.connect(served.port)
    try:
        head = request_head("GET", "/api/vision/", {"X-Padding": "p" * 20_000})
        assert await client.send(head)
        answer = await client.answer(timeout=10)
    finally:
        client.close()
    assert answer.status == 431
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "PT431"


async def test_a_sub_postgresql_cannot_read_or_an_exp_that_is_text_is_a_401(
    http, users: Pair
):
    a = users.a.user_id
    odd = [
        token("authenticated", a, sub=f"urn:uuid:{a}"),
        token("authenticated", a, sub=f"{{{a}}}"),
        token("authenticated", a, sub=a.hex),
        token("authenticated", a, exp=str(int(time.time()) + 300)),
        token("authenticated", a, exp=True),
    ]
    for bad in odd:
        response = await http.get(
            "/api/vision/", headers={"Authorization": f"Bearer {bad}"}
        )
        assert refused(response, 401)["code"] == "PT401"
    ahead = token("authenticated", a, iat=int(time.time()) + 5)
    response = await http.get(
        "/api/vision/", headers={"Authorization": f"Bearer {ahead}"}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-16"),
        lambda text: text.encode("utf-32"),
        lambda text: codecs.BOM_UTF8 + text.encode(),
    ],
    ids=["utf-16", "utf-32", "utf-8 with BOM"],
)
async def test_a_body_that_is_not_utf8_json_is_a_422(http, users: Pair, encode):
    body = json.dumps({"title": "t", "statement": "s"})
    response = await http.post(
        "/api/vision/",
        content=encode(body),
        headers={**as_user(users.a.user_id), "Content-Type": "application/json"},
    )
    assert "UTF-8" in refused(response, 422)["detail"]


@pytest.mark.parametrize(
    "path", ["/api", "/API/vision/", "//api/vision/", "/nowhere", "/api/vision"]
)
async def test_every_path_outside_the_routes_is_a_problem_and_never_a_redirect(
    http, path: str
):
    response = await http.get(path, headers={"Host": "evil.example"})
    refused(response, 404, 405)
    assert "location" not in response.headers


async def test_one_caller_cannot_hold_every_connection(
    served: Served, users: Pair, migrated: str
):
    """
    A's row is locked by another session, so each of A's PATCHes of it waits
    (up to the lock timeout) holding a database connection: beyond
    ``max_requests_per_caller`` at once A is answered 429 at once, and B is
    served meanwhile.
    """
    item = users.a.draft.plan_item_ids[next(iter(users.a.draft.plan_item_ids))]
    async with connected(migrated) as holder:
        transaction = holder.transaction()
        await transaction.start()
        try:
            await holder.execute(
                "select 1 from plan_item where id = $1 for update", item
            )
            async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
                patches = [
                    http.patch(
                        f"/api/plan_item/{item}/",
                        json={"quota": 1},
                        headers=as_user(users.a.user_id),
                    )
                    for _ in range(8)
                ]
                *answers, b = await asyncio.gather(
                    *patches,
                    http.get("/api/vision/", headers=as_user(users.b.user_id)),
                )
        finally:
            await transaction.rollback()
    statuses = sorted(answer.status_code for answer in answers)
    busy = [answer for answer in answers if answer.status_code == 429]
    assert len(busy) >= 4, statuses
    for answer in busy:
        assert refused(answer, 429)["code"] == "PT429"
        assert answer.headers["retry-after"] == "1"
    assert set(statuses) <= {429, 503, 504}
    assert b.status_code == 200, b.text


async def test_an_answer_larger_than_the_limit_is_a_422(
    http, served: Served, migrated: str
):
    user = await messages_of_a_new_user(migrated, count=150, size=30_000)
    response = await http.get(
        "/api/chat_message/", params={"__page_size": 150}, headers=as_user(user)
    )
    assert "__page_size" in refused(response, 422)["detail"]
    smaller = await http.get(
        "/api/chat_message/", params={"__page_size": 10}, headers=as_user(user)
    )
    assert smaller.status_code == 200 and len(smaller.json()["rows"]) == 10


async def test_a_client_that_leaves_its_answer_unread_is_dropped(
    served: Served, migrated: str
):
    """
    A client with a tiny receive buffer asks for a 4 MB page, just under the
    answer limit and more than the kernel's send buffer takes (3 MB here),
    and reads nothing: within the send deadline (3 s here) the server drops
    the connection, so the answer never arrives whole.
    """
    user = await messages_of_a_new_user(migrated, count=135, size=30_000)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(loop.sock_connect(raw, ("127.0.0.1", served.port)), 10)
    path = "/api/chat_message/?__page_size=135"
    head = request_head("GET", path, as_user(user))
    await loop.sock_sendall(raw, head)
    await asyncio.sleep(8)  # the send deadline (3 s) passes, unread
    received = bytearray()
    try:
        async with asyncio.timeout(20):
            while chunk := await loop.sock_recv(raw, 65536):
                received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail("the connection was still open 28 s after the request")
    finally:
        raw.close()
    head_end = received.find(b"\r\n\r\n")
    declared = next(
        int(line.split(b":", 1)[1])
        for line in received[:head_end].split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    assert len(received) - head_end - 4 < declared
