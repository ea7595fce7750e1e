"""
The front end's path end to end (issue: "the front end through Supabase"):
supabase-js, in a test written with node's own test runner
(``schema/e2e/postgrest.test.ts``), against a real PostgREST configured as
Supabase configures it, in front of the Supabase-like database migrated by
the real CLI. Two users A and B, ``anon`` and ``service_role``; every row a
response carries parses with the generated Zod Row schemas.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from planner_app.errors import WEEK_LOCKED_SQLSTATE
from tests.supabase.cluster import MIGRATOR, SupabaseCluster
from tests.supabase.migrations import migrate
from tests.supabase.postgrest import Postgrest, start_postgrest
from tests.support import PROJECT_ROOT

SCHEMA_DIR = PROJECT_ROOT / "schema"
TSC = SCHEMA_DIR / "node_modules" / ".bin" / "tsc"
E2E_CONFIG = SCHEMA_DIR / "tsconfig.e2e.json"
E2E_OUT = SCHEMA_DIR / "dist-e2e"
E2E_TEST = E2E_OUT / "e2e" / "postgrest.test.js"


def postgrest_status(sqlstate: str) -> int:
    """
    The HTTP status PostgREST answers a raised SQLSTATE with: ``PTxyz`` is
    status ``xyz``; a code PostgREST does not know is 400.
    """
    match = re.fullmatch(r"PT(\d{3})", sqlstate)
    return int(match.group(1)) if match else 400


@pytest.fixture(scope="module")
async def served(
    supabase: SupabaseCluster, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Postgrest, uuid.UUID, uuid.UUID]]:
    """PostgREST on a migrated Supabase-like database, and two users."""
    name = await supabase.create_database("postgrest")
    try:
        migrate(supabase.url(MIGRATOR, name), "forwards", "all")
        user_a = await supabase.sign_up(name)
        user_b = await supabase.sign_up(name)
        log = tmp_path_factory.mktemp("postgrest") / "postgrest.log"
        server = start_postgrest(supabase.url("authenticator", name), log)
        try:
            yield server, user_a, user_b
        finally:
            server.stop()
    finally:
        await supabase.drop_database(name)


@pytest.fixture(scope="module")
def e2e_test() -> Path:
    """Type-check and compile the node test (and the Zod schemas it uses)."""
    assert TSC.exists(), "the node packages are missing: run npm ci --prefix schema"
    shutil.rmtree(E2E_OUT, ignore_errors=True)
    result = subprocess.run(
        [str(TSC), "-p", str(E2E_CONFIG)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return E2E_TEST


def test_the_front_end_works_through_postgrest_and_supabase_js(
    served: tuple[Postgrest, uuid.UUID, uuid.UUID], e2e_test: Path
) -> None:
    server, user_a, user_b = served
    environment = {
        **os.environ,
        "PLANNER_E2E_URL": server.url,
        "PLANNER_E2E_JWT_SECRET": server.jwt_secret,
        "PLANNER_E2E_USER_A": str(user_a),
        "PLANNER_E2E_USER_B": str(user_b),
        "PLANNER_E2E_LOCK_CODE": WEEK_LOCKED_SQLSTATE,
        "PLANNER_E2E_LOCK_STATUS": str(postgrest_status(WEEK_LOCKED_SQLSTATE)),
    }
    result = subprocess.run(
        ["node", "--test", "--test-reporter=spec", str(e2e_test)],
        cwd=SCHEMA_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"{result.stdout}{result.stderr}\nPostgREST's log:\n{server.log()[-4000:]}"
    )


def test_postgrest_maps_the_lock_code_to_its_status() -> None:
    assert postgrest_status("PT423") == 423
    assert postgrest_status("PL712") == 400
