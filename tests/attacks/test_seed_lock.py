"""
A user cannot stall the seed either: it serialises concurrent runs on an
advisory lock, which any role may take, so it waits for that lock a bounded
time (``seeds.writer.LOCK_WAIT_SECONDS``) and then gives up naming the
holder, with nothing written.
"""

from __future__ import annotations

import asyncio

import pytest

from seeds import SeedError, seed, writer
from tests.support import connected, row_counts


async def test_a_user_holding_the_seed_lock_cannot_stall_the_seed(
    fresh_database, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await fresh_database(migrated=True)
    monkeypatch.setattr(writer, "LOCK_WAIT_SECONDS", 1)
    async with connected(url) as attacker, connected(url) as conn:
        await attacker.execute("set application_name = 'stall-the-seed'")
        await attacker.execute("set role authenticated")
        await attacker.execute("select pg_advisory_lock($1)", writer.ADVISORY_LOCK_KEY)
        pid = await attacker.fetchval("select pg_backend_pid()")
        before = await row_counts(conn)
        with pytest.raises(SeedError) as refused:
            await asyncio.wait_for(seed(url, users=1), timeout=20)
        assert await row_counts(conn) == before
    message = str(refused.value)
    assert f"pid {pid}" in message
    assert "stall-the-seed" in message
    assert "nothing was written" in message
