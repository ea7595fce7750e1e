"""
Acting as another role inside a test transaction that is always rolled
back, the way PostgREST does it (JWT claims, then ``set local role``).
Grants made inside the transaction roll back with it, so the tests work
with or without the row-level security migration.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg


@asynccontextmanager
async def rolled_back(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """A transaction that is always rolled back (grants and roles included)."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        yield
    finally:
        await transaction.rollback()


async def act_as(conn: asyncpg.Connection, role: str, user_id: uuid.UUID) -> None:
    """Become ``role`` for the rest of the transaction, as PostgREST does."""
    claims = json.dumps({"sub": str(user_id), "role": role})
    await conn.execute("select set_config('request.jwt.claims', $1, true)", claims)
    await conn.execute(f"set local role {role}")


async def attempt_as(
    conn: asyncpg.Connection, role: str, user_id: uuid.UUID, sql: str, *args: Any
) -> asyncpg.PostgresError | None:
    """
    Run ``sql`` as ``role`` in a savepoint that is rolled back only when the
    statement fails; returns the error, if any.
    """
    savepoint = conn.transaction()
    await savepoint.start()
    try:
        await act_as(conn, role, user_id)
        await conn.execute(sql, *args)
    except asyncpg.PostgresError as error:
        await savepoint.rollback()
        return error
    await savepoint.commit()
    await conn.execute("reset role")
    return None
