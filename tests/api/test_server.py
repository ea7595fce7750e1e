"""
``piccolo planner_app serve`` (``planner_app/api/server.py``): the API under
uvicorn on loopback, connected as a login role that can do nothing but
become the caller's role; refusing to start without a secret.
"""

from __future__ import annotations

import os
import uuid

import asyncpg
import httpx
import pytest

from planner_app.api import JWT_SECRET_VARIABLE
from tests.api.helpers import SECRET, as_user, problem
from tests.served_api import api_login_role, served_api
from tests.support import create_user, run_cli


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


async def test_serve_runs_the_api_on_loopback(db: asyncpg.Connection, migrated: str):
    """
    ``piccolo planner_app serve`` answers HTTP on 127.0.0.1, connected as a
    login role that can do nothing but become the caller's role.
    """
    user_id = await create_user(db)
    async with (
        api_login_role(db, migrated) as login_url,
        served_api(login_url, SECRET) as served,
        httpx.AsyncClient(base_url=served.url, timeout=30) as http,
    ):
        created = await http.post(
            "/api/vision/",
            json={"title": "Served", "statement": "over HTTP"},
            headers=as_user(user_id),
        )
        assert created.status_code == 201, created.text
        assert created.json()["user_id"] == str(user_id)
        problem(await http.get("/api/vision/"), 401)
    assert f"http://127.0.0.1:{served.port}" in served.output[0], served.output
    assert (
        await db.fetchval(
            "select actor_role from audit_log where record_id = $1",
            uuid.UUID(created.json()["id"]),
        )
        == "authenticated"
    )


@pytest.mark.parametrize(
    "option", ["--body-timeout=0", "--header-timeout=nan", "--send-timeout=301"]
)
def test_serve_refuses_a_deadline_out_of_range_in_one_line(option: str) -> None:
    result = run_cli("planner_app", "serve", option, env={"PLANNER_JWT_SECRET": SECRET})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {option.split('=')[0]} takes seconds from 0 to 300, got "
        f"{float(option.split('=')[1])}"
    ]
