"""
PRODUCT.md, "HTTP enforcement path": the piccolo-api service
(``planner_app/api.py``) serves the tables and the plan operations with the
guarantees of the database. Every request runs as its caller (a
Supabase-compatible JWT) under the same row-level security, so users A and B
(the ``owner`` and ``stranger`` fixtures) see and change only their own rows
through HTTP; a locked week answers 423
with the lock's code; errors are problem details; a bad token never reaches
the database. The schemathesis run at the end checks the app against its own
OpenAPI document.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import jwt
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from planner_app.api import (
    JWT_SECRET_VARIABLE,
    PROBLEM_MEDIA_TYPE,
    ApiConfigError,
    create_app,
    jwt_secret,
)
from planner_app.errors import WEEK_LOCKED_HINT, WEEK_LOCKED_SQLSTATE
from planner_app.tables import DOMAIN_TABLES
from tests.support import DOMAIN_TABLES as DOMAIN_TABLE_NAMES
from tests.support import (
    PICCOLO,
    PROJECT_ROOT,
    Owner,
    create_user,
    run_cli,
    snapshot,
)

SECRET = "planner-api-test-secret-0123456789abcdef"
OTHER_SECRET = "another-secret-0123456789abcdefghijkl"

APP = create_app(SECRET, pool=False)


def token(
    role: str = "authenticated",
    user_id: uuid.UUID | None = None,
    *,
    secret: str = SECRET,
    expires_in: int = 300,
    **claims: Any,
) -> str:
    """A JWT as Supabase Auth signs it."""
    payload: dict[str, Any] = {"role": role, "exp": int(time.time()) + expires_in}
    if user_id is not None:
        payload |= {"sub": str(user_id), "aud": "authenticated"}
    return jwt.encode(payload | claims, secret, algorithm="HS256")


def as_user(user_id: uuid.UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {token('authenticated', user_id)}"}


SERVICE_ROLE = {"Authorization": f"Bearer {token('service_role')}"}


@pytest.fixture
async def client(migrated: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://planner.test"
    ) as client:
        yield client


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem details of an error answer, checked for shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["code"], str) and body["code"]
    assert body["title"] and body["detail"]
    return body


def rows(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return response.json()["rows"]


# --------------------------------------------------------------------------
# Own rows only


@pytest.mark.parametrize("table", DOMAIN_TABLE_NAMES)
async def test_a_user_reads_only_their_own_rows(client, owner, stranger, table):
    listed = rows(
        await client.get(
            f"/api/{table}/?__page_size=1000", headers=as_user(owner.user_id)
        )
    )
    assert listed, "the owner's rows are listed"
    assert {row["user_id"] for row in listed} == {str(owner.user_id)}
    assert str(owner.row_id(table)) in {row["id"] for row in listed}

    own = await client.get(
        f"/api/{table}/{owner.row_id(table)}/", headers=as_user(owner.user_id)
    )
    assert own.status_code == 200 and own.json()["id"] == str(owner.row_id(table))

    others = await client.get(
        f"/api/{table}/{stranger.row_id(table)}/", headers=as_user(owner.user_id)
    )
    missing = await client.get(
        f"/api/{table}/{uuid.uuid4()}/", headers=as_user(owner.user_id)
    )
    assert problem(others, 404) == problem(missing, 404)


@pytest.mark.parametrize("table", DOMAIN_TABLE_NAMES)
async def test_a_user_cannot_change_or_delete_another_users_row(
    client, db, owner, stranger, table
):
    before = await snapshot(db, (owner.user_id, stranger.user_id))
    row = f"/api/{table}/{stranger.row_id(table)}/"
    headers = as_user(owner.user_id)
    problem(
        await client.patch(row, json={"user_id": str(owner.user_id)}, headers=headers),
        404,
    )
    problem(await client.delete(row, headers=headers), 404)
    assert await snapshot(db, (owner.user_id, stranger.user_id)) == before


async def test_a_user_cannot_create_a_row_for_another_user(client, db, owner, stranger):
    before = await snapshot(db, (owner.user_id, stranger.user_id))
    response = await client.post(
        "/api/vision/",
        json={
            "user_id": str(stranger.user_id),
            "title": "Mine now",
            "statement": "x",
            "status": "archived",
        },
        headers=as_user(owner.user_id),
    )
    assert problem(response, 403)["code"] == "42501"
    assert await snapshot(db, (owner.user_id, stranger.user_id)) == before


async def test_a_created_row_belongs_to_the_caller_when_user_id_is_left_out(
    client, db, owner
):
    response = await client.post(
        "/api/goal/",
        json={"cycle_id": str(owner.cycle_id), "goal_type": "personal", "title": "x"},
        headers=as_user(owner.user_id),
    )
    # The cycle already has a personal goal: the 1+1 rule answers 409...
    body = problem(response, 409)
    assert body["code"] == "23505" and "goal_one_per_type" in body["detail"]
    await db.execute("delete from goal where id = $1", owner.goal_ids["personal"])
    # ...and once the slot is free the goal is created for the caller.
    created = await client.post(
        "/api/goal/",
        json={"cycle_id": str(owner.cycle_id), "goal_type": "personal", "title": "Run"},
        headers=as_user(owner.user_id),
    )
    assert created.status_code == 201, created.text
    assert created.json()["user_id"] == str(owner.user_id)
    assert (
        await db.fetchval(
            "select user_id from goal where id = $1", uuid.UUID(created.json()["id"])
        )
        == owner.user_id
    )


@pytest.mark.parametrize(
    ("table", "body"),
    [
        (
            "cycle",
            lambda o: {"vision_id": str(o.vision_id), "start_date": "2031-01-06"},
        ),
        (
            "goal",
            lambda o: {
                "cycle_id": str(o.cycle_id),
                "goal_type": "personal",
                "title": "x",
            },
        ),
        ("task", lambda o: {"goal_id": str(o.goal_ids["personal"]), "title": "x"}),
        ("weekly_plan", lambda o: {"cycle_id": str(o.cycle_id), "week_no": 3}),
        (
            "chat_message",
            lambda o: {
                "session_id": str(o.chat_session_id),
                "role": "user",
                "content": "x",
            },
        ),
    ],
)
async def test_a_reference_to_another_users_row_is_refused_like_a_missing_one(
    client, db, owner, stranger, table, body
):
    before = await snapshot(db, (owner.user_id, stranger.user_id))
    headers = as_user(owner.user_id)
    foreign = await client.post(f"/api/{table}/", json=body(stranger), headers=headers)
    ghost = Owner(
        owner.user_id,
        uuid.uuid4(),
        uuid.uuid4(),
        {"personal": uuid.uuid4()},
        [],
        {},
        chat_session_id=uuid.uuid4(),
    )
    missing = await client.post(f"/api/{table}/", json=body(ghost), headers=headers)
    assert problem(foreign, 404) == problem(missing, 404)
    for value in (
        stranger.user_id,
        stranger.cycle_id,
        stranger.vision_id,
        *stranger.goal_ids.values(),
    ):
        assert str(value) not in foreign.text
    assert await snapshot(db, (owner.user_id, stranger.user_id)) == before


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


# --------------------------------------------------------------------------
# Roles


async def test_anon_gets_nothing(client, db, owner):
    before = await snapshot(db, (owner.user_id,))
    for response in (
        await client.get("/api/vision/"),
        await client.get(f"/api/cycle/{owner.cycle_id}/"),
        await client.get("/api/audit_log/"),
        await client.post(
            "/api/vision/",
            json={"user_id": str(owner.user_id), "title": "x", "statement": "y"},
        ),
        await client.patch(f"/api/vision/{owner.vision_id}/", json={"title": "z"}),
        await client.post(
            "/api/plan/record_progress",
            json={"plan_item_id": str(owner.plan_item(1)), "completed_count": 1},
        ),
        await client.get(
            "/api/vision/", headers={"Authorization": f"Bearer {token('anon')}"}
        ),
    ):
        assert problem(response, 401)["code"] in ("42501", "PT401")
    assert await snapshot(db, (owner.user_id,)) == before


async def test_service_role_sees_and_writes_every_users_rows(
    client, db, owner, stranger
):
    for user in (owner, stranger):
        listed = rows(
            await client.get(
                f"/api/cycle/?user_id={user.user_id}", headers=SERVICE_ROLE
            )
        )
        assert [row["id"] for row in listed] == [str(user.cycle_id)]
    response = await client.post(
        "/api/chat_message/",
        json={
            "user_id": str(stranger.user_id),
            "session_id": str(stranger.chat_session_id),
            "role": "assistant",
            "content": "Well done.",
        },
        headers=SERVICE_ROLE,
    )
    assert response.status_code == 201, response.text
    actor = await db.fetchrow(
        "select actor_id, actor_role, user_id from audit_log "
        "where record_id = $1 and action = 'INSERT'",
        uuid.UUID(response.json()["id"]),
    )
    assert dict(actor) == {
        "actor_id": None,
        "actor_role": "service_role",
        "user_id": stranger.user_id,
    }


async def test_piccolo_crud_writes_run_in_the_callers_transaction(client, db, owner):
    """
    PiccoloCRUD's own queries run inside the request's transaction: the audit
    trigger sees the caller's claims and role.
    """
    headers = as_user(owner.user_id)
    created = await client.post(
        "/api/vision/",
        json={"title": "Later", "statement": "Someday", "status": "archived"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    vision_id = uuid.UUID(created.json()["id"])
    patched = await client.patch(
        f"/api/vision/{vision_id}/", json={"title": "Sooner"}, headers=headers
    )
    assert patched.status_code == 200 and patched.json()["title"] == "Sooner"
    deleted = await client.delete(f"/api/vision/{vision_id}/", headers=headers)
    assert deleted.status_code == 204
    audited = await db.fetch(
        "select action, actor_id, actor_role from audit_log "
        "where record_id = $1 order by id",
        vision_id,
    )
    assert [tuple(row) for row in audited] == [
        ("INSERT", owner.user_id, "authenticated"),
        ("UPDATE", owner.user_id, "authenticated"),
        ("DELETE", owner.user_id, "authenticated"),
    ]


# --------------------------------------------------------------------------
# The lock


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


# --------------------------------------------------------------------------
# The audit log


async def test_the_audit_log_is_read_only_and_private(client, db, owner, stranger):
    headers = as_user(owner.user_id)
    history = rows(
        await client.get("/api/audit_log/?__page_size=1000", headers=headers)
    )
    assert history and {row["user_id"] for row in history} == {str(owner.user_id)}
    entry = history[0]["id"]
    before = await snapshot(db, (owner.user_id, stranger.user_id))
    for method, url in (
        ("POST", "/api/audit_log/"),
        ("PUT", f"/api/audit_log/{entry}/"),
        ("PATCH", f"/api/audit_log/{entry}/"),
        ("DELETE", f"/api/audit_log/{entry}/"),
    ):
        for caller in (headers, SERVICE_ROLE):
            response = await client.request(
                method, url, json={"action": "DELETE"}, headers=caller
            )
            problem(response, 405)
    assert await snapshot(db, (owner.user_id, stranger.user_id)) == before
    b_entry = await db.fetchval(
        "select id from audit_log where user_id = $1 limit 1", stranger.user_id
    )
    problem(await client.get(f"/api/audit_log/{b_entry}/", headers=headers), 404)


# --------------------------------------------------------------------------
# Validation and malformed requests


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
    ["__order=nope", "__visible_fields=nope", "week_no__operator=bad", "nope=1"],
)
async def test_a_malformed_query_is_400_not_500(client, owner, query):
    response = await client.get(
        f"/api/weekly_plan/?{query}", headers=as_user(owner.user_id)
    )
    assert problem(response, 400)["code"] == "PT400"


@pytest.mark.parametrize("query", ["week_no=99999", "week_no=x", "__page=x"])
async def test_an_invalid_query_value_is_422(client, owner, query):
    response = await client.get(
        f"/api/weekly_plan/?{query}", headers=as_user(owner.user_id)
    )
    problem(response, 422)


# --------------------------------------------------------------------------
# Tokens


class _NoDatabase:
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a refused token reached the database")


@pytest.mark.parametrize(
    ("case", "authorization"),
    [
        ("expired", lambda u: f"Bearer {token('authenticated', u, expires_in=-60)}"),
        (
            "wrongly signed",
            lambda u: f"Bearer {token('authenticated', u, secret=OTHER_SECRET)}",
        ),
        ("not a JWT", lambda u: "Bearer not.a.jwt"),
        ("not bearer", lambda u: f"Basic {token('authenticated', u)}"),
        ("empty", lambda u: "Bearer "),
        (
            "unsigned",
            lambda u: (
                "Bearer "
                + jwt.encode(
                    {
                        "sub": str(u),
                        "role": "authenticated",
                        "exp": int(time.time()) + 60,
                    },
                    None,
                    algorithm="none",
                )
            ),
        ),
        (
            "no expiry",
            lambda u: (
                "Bearer "
                + jwt.encode(
                    {"sub": str(u), "role": "authenticated"}, SECRET, algorithm="HS256"
                )
            ),
        ),
        ("superuser role", lambda u: f"Bearer {token('postgres', u)}"),
        ("authenticated without sub", lambda u: f"Bearer {token('authenticated')}"),
        (
            "sub not a user id",
            lambda u: f"Bearer {token('authenticated', sub='admin')}",
        ),
    ],
)
async def test_a_bad_token_is_401_and_never_reaches_the_database(
    client, monkeypatch, case, authorization
):
    engine = type(DOMAIN_TABLES[0]._meta.db)
    monkeypatch.setattr(engine, "transaction", _NoDatabase())
    monkeypatch.setattr(engine, "get_new_connection", _NoDatabase())
    response = await client.get(
        "/api/vision/", headers={"Authorization": authorization(uuid.uuid4())}
    )
    body = problem(response, 401)
    assert body["code"] == "PT401"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_api_refuses_to_start_without_a_usable_secret(monkeypatch):
    monkeypatch.delenv(JWT_SECRET_VARIABLE, raising=False)
    with pytest.raises(ApiConfigError, match=JWT_SECRET_VARIABLE):
        create_app()
    with pytest.raises(ApiConfigError, match="at least 32"):
        jwt_secret({JWT_SECRET_VARIABLE: "short"})


def test_serve_without_a_secret_is_one_clear_line(migrated):
    env = {k: v for k, v in os.environ.items() if k != JWT_SECRET_VARIABLE}
    env[JWT_SECRET_VARIABLE] = ""
    result = run_cli("planner_app", "serve", env=env, timeout=60)
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: {JWT_SECRET_VARIABLE} is not set")
    ), result.stderr


@pytest.fixture
async def api_login_url(db: asyncpg.Connection, migrated: str) -> AsyncIterator[str]:
    """
    The URL of a login role like Supabase's ``authenticator``: NOINHERIT, so
    it holds no privilege of its own, and a member of the three API roles.
    """
    role = f"planner_api_{uuid.uuid4().hex[:8]}"
    await db.execute(f"create role {role} login noinherit")
    await db.execute(f"grant anon, authenticated, service_role to {role}")
    parts = urlsplit(migrated)
    host = parts.netloc.rpartition("@")[2]
    try:
        yield urlunsplit(parts._replace(netloc=f"{role}@{host}"))
    finally:
        await db.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where usename = $1",
            role,
        )
        await db.execute(f"drop role {role}")


async def test_serve_runs_the_api_on_loopback(db, api_login_url, unused_port):
    """
    ``piccolo planner_app serve`` answers HTTP on 127.0.0.1, connected as a
    login role that can do nothing but become the caller's role.
    """
    user_id = await create_user(db)
    server = subprocess.Popen(
        [PICCOLO, "planner_app", "serve", f"--port={unused_port}"],
        cwd=PROJECT_ROOT,
        env={**os.environ, JWT_SECRET_VARIABLE: SECRET, "DATABASE_URL": api_login_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{unused_port}"
        ) as http:
            for _ in range(300):
                if server.poll() is not None:
                    break
                try:
                    spec = await http.get("/openapi.json")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            assert server.poll() is None, "serve exited"
            assert spec.status_code == 200
            created = await http.post(
                "/api/vision/",
                json={"title": "Served", "statement": "over HTTP"},
                headers=as_user(user_id),
            )
            assert created.status_code == 201, created.text
            assert created.json()["user_id"] == str(user_id)
            problem(await http.get("/api/vision/"), 401)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{unused_port}" in output, output
    assert (
        await db.fetchval(
            "select actor_role from audit_log where record_id = $1",
            uuid.UUID(created.json()["id"]),
        )
        == "authenticated"
    )


# --------------------------------------------------------------------------
# The OpenAPI document


async def test_openapi_lists_every_table_and_plan_operation(client):
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for table in DOMAIN_TABLE_NAMES:
        assert {"get", "post"} <= set(paths[f"/api/{table}/"])
        assert {"get", "put", "patch", "delete"} <= set(
            paths[f"/api/{table}/{{row_id}}/"]
        )
    assert set(paths["/api/audit_log/"]) == {"get"}
    assert set(paths["/api/audit_log/{row_id}/"]) == {"get"}
    for operation in (
        "set_quota",
        "record_progress",
        "add_plan_item",
        "remove_plan_item",
        "enforce_lock",
        "lift_lock",
    ):
        assert "post" in paths[f"/api/plan/{operation}"]
    locked = paths["/api/plan/set_quota"]["post"]["responses"]["423"]
    assert PROBLEM_MEDIA_TYPE in locked["content"]


FUZZ_USER = uuid.UUID(int=uuid.uuid4().int)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# The examples phase and a few generated cases per operation; the coverage
# phase (hundreds of boundary cases per operation) would take minutes.
schema.config.phases.coverage.enabled = False


@pytest.fixture(scope="module")
async def fuzz_user(migrated: str) -> uuid.UUID:
    """The user schemathesis acts as, with a full plan to hit."""
    conn = await asyncpg.connect(migrated)
    try:
        await conn.execute(
            "insert into auth.users (id, email) values ($1, 'fuzz@example.test')",
            FUZZ_USER,
        )
    finally:
        await conn.close()
    return FUZZ_USER


@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_matches_its_openapi_document(case, fuzz_user):
    """No 5xx, and every answer is declared with its status, type and schema."""
    case.call_and_validate(
        headers=as_user(fuzz_user),
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
