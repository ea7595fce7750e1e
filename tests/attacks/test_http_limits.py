"""
Attacks on a real ``piccolo planner_app serve``: a request holds nothing it
has not earned (``docs/api.md``, "Limits"). No database connection before
the caller is authenticated and the body read; a body too large is refused
without being read; slow clients are cut off; a request behind another
session's row lock is answered within the documented bound.

The bounds asserted here are looser than the documented limits (the
machine may be loaded): they prove that an answer comes, not its timing.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx

from tests.api.helpers import as_user
from tests.attacks.conftest import Pair
from tests.served_api import (
    RawClient,
    Served,
    request_head,
)
from tests.support import connected

PROBLEM = "application/problem+json"
MiB = 1024 * 1024
SLOW_CLIENTS = 14
"""More slow clients than the pool has connections (10)."""


async def api_sessions(db: asyncpg.Connection, served: Served) -> dict[str, int]:
    """The API's database sessions by state (its own login role's)."""
    rows = await db.fetch(
        "select coalesce(state, '') as state, count(*) as n from pg_stat_activity "
        "where usename = $1 group by 1",
        served.role,
    )
    return {row["state"]: row["n"] for row in rows}


def oversized_head() -> bytes:
    """A request head whose Content-Length (32 MiB) is over the body limit."""
    return request_head(
        "POST",
        "/api/chat_message/",
        {"Content-Type": "application/json", "Content-Length": str(32 * MiB)},
    )


async def test_an_oversized_body_is_refused_413_without_being_read(served, users):
    """Content-Length says 32 MiB; 64 KiB are sent, no token."""
    client = await RawClient.connect(served.port)
    try:
        head = oversized_head()
        await client.send(head + b'{"content": "' + b"x" * 65536)
        answer = await client.answer(timeout=10)
        assert answer.status == 413, answer
        assert answer.headers["content-type"].startswith(PROBLEM)
        assert answer.json()["code"] == "PT413"
        assert await client.closed_by_server(timeout=10)
    finally:
        client.close()


async def test_a_body_still_arriving_after_its_413_is_discarded_not_reset(
    served, users
):
    """
    The client keeps sending after the server has refused its body: closing
    over that unread data would reset the connection, and a reset can
    destroy the answer before the client reads it. The server half-closes,
    discards what arrives and the connection ends in order.
    """
    client = await RawClient.connect(served.port)
    try:
        head = oversized_head()
        # Written at once, without waiting for the answer: 512 KiB of body.
        client.transport.write(head + b'{"content": "' + b"x" * (512 * 1024))
        answer = await client.answer(timeout=10)
        assert answer.status == 413, answer
        assert await client.closed_by_server(timeout=10)
        assert client.received.error is None, "the connection was reset"
    finally:
        client.close()


async def test_a_streamed_body_is_refused_413_once_it_grows_too_large(served, users):
    """Chunked, no Content-Length, never finished: 8 MiB are offered."""
    client = await RawClient.connect(served.port)
    try:
        head = request_head(
            "POST",
            "/api/chat_message/",
            {
                "Content-Type": "application/json",
                "Transfer-Encoding": "chunked",
                **as_user(users.a.user_id),
            },
        )
        await client.send(head)
        chunk = b"x" * 65536
        for _ in range(8 * MiB // len(chunk)):
            if not await client.send(b"%x\r\n%s\r\n" % (len(chunk), chunk)):
                break  # the server has answered and closed
        answer = await client.answer(timeout=10)
        assert answer.status == 413, answer
        assert answer.json()["code"] == "PT413"
    finally:
        client.close()


async def test_slow_anonymous_clients_take_no_connection_and_b_is_answered(
    served, users: Pair, db: asyncpg.Connection
):
    """
    Clients that send their headers and half a body hold no database
    connection (none is even idle in a transaction), B's GET is answered at
    once, and each slow client is answered 408 when its time is up.
    """
    head = request_head(
        "POST",
        "/api/chat_message/",
        {"Content-Type": "application/json", "Content-Length": "200"},
    )
    slow = [await RawClient.connect(served.port) for _ in range(SLOW_CLIENTS)]
    try:
        for client in slow:
            assert await client.send(head + b'{"content": "' + b"x" * 87)
        await asyncio.sleep(1.0)
        sessions = await api_sessions(db, served)
        assert not {state for state in sessions if "transaction" in state}, sessions
        assert not sessions.get("active"), sessions
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as http:
            response = await http.get("/api/vision/", headers=as_user(users.b.user_id))
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 5
        assert [row["user_id"] for row in response.json()["rows"]] == [
            str(users.b.user_id)
        ]
        answers = await asyncio.gather(*(c.answer(timeout=40) for c in slow))
        assert {answer.status for answer in answers} == {408}, answers
        assert answers[0].json()["code"] == "PT408"
    finally:
        for client in slow:
            client.close()
    assert not {
        state for state in await api_sessions(db, served) if "transaction" in state
    }


async def test_a_client_too_slow_with_its_headers_is_disconnected(served):
    """Headers a byte every half second: the connection is closed."""
    client = await RawClient.connect(served.port)
    try:
        head = request_head("GET", "/api/vision/")
        await client.send(head[:20])
        started = time.monotonic()
        closed = False
        for byte in head[20:-2] * 10:
            if not await client.send(bytes([byte])):
                closed = True
                break
            if time.monotonic() - started > 40:
                break
            await asyncio.sleep(0.5)
        closed = closed or await client.closed_by_server(timeout=1)
        assert closed, "the server still waits for the headers"
        assert time.monotonic() - started < 40
    finally:
        client.close()


async def test_a_patch_behind_another_sessions_row_lock_is_answered_503(
    served, users: Pair, migrated: str
):
    """The row is locked for 30 s; the PATCH is answered long before."""
    item = users.a.draft.plan_item_ids[next(iter(users.a.draft.plan_item_ids))]
    async with connected(migrated) as holder:
        before = await holder.fetchval(
            "select quota from plan_item where id = $1", item
        )
        transaction = holder.transaction()
        await transaction.start()
        try:
            await holder.execute(
                "select 1 from plan_item where id = $1 for update", item
            )
            started = time.monotonic()
            async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
                response = await http.patch(
                    f"/api/plan_item/{item}/",
                    json={"quota": before + 1},
                    headers=as_user(users.a.user_id),
                )
            waited = time.monotonic() - started
        finally:
            await transaction.rollback()
        assert response.status_code in (503, 504), response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.headers.get("retry-after") or response.status_code == 504
        assert waited < 15
        after = await holder.fetchval("select quota from plan_item where id = $1", item)
        assert after == before
