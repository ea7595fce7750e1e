"""Tokens as Supabase Auth signs them, and the shape of an API answer."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt

from planner_app.api import PROBLEM_MEDIA_TYPE, create_app

SECRET = "planner-api-test-secret-0123456789abcdef"
OTHER_SECRET = "another-secret-0123456789abcdefghijkl"

APP = create_app(SECRET, pool=False)
"""The API on the run's database, a connection per request."""


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
