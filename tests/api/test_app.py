"""
The application (``planner_app/api/app.py``, ``openapi.py``): the OpenAPI
document lists every table and plan operation with the problem answers it
may give, and schemathesis, loading the app's own ``/openapi.json``, finds
no 5xx and no answer the document does not declare.
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from planner_app.api import PROBLEM_MEDIA_TYPE
from tests.api.helpers import APP, as_user
from tests.support import DOMAIN_TABLES as DOMAIN_TABLE_NAMES


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


def test_planner_app_api_app_is_built_on_first_use(monkeypatch):
    """``planner_app.api:app`` for any ASGI server, with the secret's check."""
    import planner_app.api as api

    monkeypatch.delitem(api.__dict__, "app", raising=False)
    monkeypatch.setenv("PLANNER_JWT_SECRET", "too short")
    with pytest.raises(api.ApiConfigError, match="HS256 needs at least 32"):
        api.app  # noqa: B018
    monkeypatch.setenv("PLANNER_JWT_SECRET", "s" * 32)
    assert "/api/plan/set_quota" in api.app.openapi()["paths"]
    assert api.app is api.app
    monkeypatch.delitem(api.__dict__, "app")
