"""
docs/product.md, "The HTTP service": a request acts as its Supabase JWT
(``planner_app/api/auth.py``). A bad token is a 401 that never reaches the
database; no token is ``anon``, which the database gives nothing; the API
does not start without a usable secret.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest

from planner_app.api import JWT_SECRET_VARIABLE, ApiConfigError, create_app, jwt_secret
from planner_app.tables import DOMAIN_TABLES
from tests.api.helpers import OTHER_SECRET, SECRET, problem, token
from tests.support import snapshot


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
    with pytest.raises(ApiConfigError) as from_environment:
        jwt_secret({JWT_SECRET_VARIABLE: "short"})
    with pytest.raises(ApiConfigError) as given:
        create_app("short")
    # One check, one message, whichever way the secret arrives.
    assert str(given.value) == str(from_environment.value)
    assert "5 bytes long; HS256 needs at least 32" in str(given.value)
