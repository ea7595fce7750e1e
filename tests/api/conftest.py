"""The API as an ASGI app on the run's database, driven through httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.api.helpers import APP


@pytest.fixture
async def client(migrated: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://planner.test"
    ) as client:
        yield client
