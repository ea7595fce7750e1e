"""
docs/product.md, "The HTTP service": the tables over HTTP
(``planner_app/api/routes/tables.py``). Every request runs as its caller
under the same row-level security, so users A and B (the ``owner`` and
``stranger`` fixtures) see and change only their own rows; PiccoloCRUD's own
queries run in the caller's transaction; the audit log is read only.
"""

from __future__ import annotations

import uuid

import pytest

from tests.api.helpers import APP, SERVICE_ROLE, as_user, problem, rows
from tests.support import DOMAIN_TABLES as DOMAIN_TABLE_NAMES
from tests.support import Owner, snapshot

# Requests reuse sessions, as in `serve` (tests/api/conftest.py).
pytestmark = pytest.mark.usefixtures("connection_pool")


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


def test_the_unpaged_and_client_default_helpers_are_not_served():

    paths = APP.openapi()["paths"]
    for table in (*DOMAIN_TABLE_NAMES, "audit_log"):
        assert f"/api/{table}/count/" in paths
        assert f"/api/{table}/new/" not in paths
        assert f"/api/{table}/ids/" not in paths
