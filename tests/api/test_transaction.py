"""
One transaction per request, taken only once the request has earned it
(``planner_app/api/transaction.py``): the caller's role and claims and the
request's time limits are set in it; no connection is taken before the body
is read; waiting for one is bounded; a statement over its time limit and a
bug are answered as problems.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from planner_app.api.limits import Limits
from planner_app.api.transaction import RequestTransaction, current_connection, engine
from tests.api.helpers import SECRET, as_user, problem

Probe = Callable[[Any], Any]


def probing(work: Probe) -> Callable:
    """An ASGI app that runs ``work(connection)`` and answers its result."""

    async def app(scope, receive, send) -> None:
        result = await work(current_connection())
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(result).encode()})

    return app


def client_of(app: Callable) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://planner.test"
    )


async def test_a_request_runs_as_its_caller_under_its_time_limits(migrated):
    async def settings(conn) -> dict[str, str]:
        row = await conn.fetchrow(
            "select current_user as role,"
            " current_setting('request.jwt.claims')::json ->> 'sub' as sub,"
            " current_setting('statement_timeout') as statement_timeout,"
            " current_setting('lock_timeout') as lock_timeout,"
            " current_setting('idle_in_transaction_session_timeout') as idle"
        )
        return dict(row)

    limits = Limits(
        statement_timeout_ms=1234, lock_timeout_ms=567, idle_in_transaction_ms=8900
    )
    user_id = uuid.uuid4()
    async with client_of(RequestTransaction(probing(settings), SECRET, limits)) as http:
        response = await http.get("/api/probe/", headers=as_user(user_id))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "role": "authenticated",
        "sub": str(user_id),
        "statement_timeout": "1234ms",
        "lock_timeout": "567ms",
        "idle": "8900ms",
    }


async def test_no_connection_is_taken_before_the_body_has_arrived(monkeypatch):
    taken: list[str] = []

    async def no_connection(*args: Any) -> None:
        taken.append("connection")
        raise AssertionError("a connection was taken")

    monkeypatch.setattr(type(engine()), "get_new_connection", no_connection)
    middleware = RequestTransaction(
        probing(lambda conn: None), SECRET, Limits(body_timeout=0.2)
    )
    sent: list[dict] = []

    async def receive() -> dict:
        if not sent:
            sent.append({})
            return {"type": "http.request", "body": b'{"a": ', "more_body": True}
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    answer: list[dict] = []

    async def send(message: dict) -> None:
        answer.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/vision/",
        "query_string": b"",
        "headers": [(b"content-length", b"100")],
    }
    await asyncio.wait_for(middleware(scope, receive, send), timeout=10)
    assert answer[0]["status"] == 408
    assert (b"connection", b"close") in answer[0]["headers"]
    assert json.loads(answer[1]["body"])["code"] == "PT408"
    assert taken == []


async def test_waiting_for_a_pool_connection_is_bounded(migrated):
    db = engine()
    await db.start_connection_pool(min_size=1, max_size=1)
    try:
        held = await db.pool.acquire()
        try:
            middleware = RequestTransaction(
                probing(lambda conn: None), SECRET, Limits(pool_wait=0.3)
            )
            async with client_of(middleware) as http:
                response = await asyncio.wait_for(
                    http.get("/api/probe/", headers=as_user(uuid.uuid4())), timeout=10
                )
        finally:
            await db.pool.release(held)
    finally:
        await db.close_connection_pool()
    body = problem(response, 503)
    assert body["code"] == "PT503" and "no database connection" in body["detail"]
    assert response.headers["retry-after"] == "1"


async def test_a_statement_over_its_time_limit_is_answered_504(migrated):
    async def slow(conn) -> None:
        await conn.execute("select pg_sleep(5)")

    middleware = RequestTransaction(
        probing(slow), SECRET, Limits(statement_timeout_ms=100)
    )
    async with client_of(middleware) as http:
        response = await http.get("/api/probe/", headers=as_user(uuid.uuid4()))
    body = problem(response, 504)
    assert body["code"] == "57014"
    assert body["detail"] == "the request took longer than its time limit"


async def test_a_bug_is_a_500_problem_that_tells_nothing(migrated, caplog):
    async def broken(conn) -> None:
        raise RuntimeError("internal secret 42")

    middleware = RequestTransaction(probing(broken), SECRET)
    async with client_of(middleware) as http:
        response = await http.get("/api/probe/", headers=as_user(uuid.uuid4()))
    body = problem(response, 500)
    assert body["detail"] == "internal error" and "42" not in response.text
    assert "internal secret 42" in caplog.text


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
async def test_pages_outside_the_api_take_no_transaction(path, monkeypatch):
    from tests.api.helpers import APP

    async def no_connection(*args: Any) -> None:
        raise AssertionError("a connection was taken")

    monkeypatch.setattr(type(engine()), "get_new_connection", no_connection)
    async with client_of(APP) as http:
        assert (await http.get(path)).status_code == 200
