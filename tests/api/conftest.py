"""The API as an ASGI app on the run's database, driven through httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from planner_app.api import transaction
from planner_app.api.limits import LIMITS
from tests.api.helpers import APP


@pytest.fixture
async def client(migrated: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://planner.test"
    ) as client:
        yield client


@pytest.fixture(scope="module")
async def connection_pool(migrated: str) -> AsyncIterator[None]:
    """
    The engine's connection pool, as ``serve`` keeps it (``pool_size``,
    ``pool_wait``), for the tests of one module: its requests then reuse
    sessions instead of opening one each (``APP`` alone opens one per
    request, which the tests of what a request must not touch rely on).
    """
    async with transaction.connection_pool(LIMITS):
        yield
