"""
Acting as Supabase's API roles the way PostgREST does: inside a transaction,
set the request's JWT claims, then ``set local role``. Grants made inside a
rolled-back transaction roll back with it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

API_ROLES = ("anon", "authenticated", "service_role")


def claims(role: str, user_id: uuid.UUID | None = None) -> str:
    """The ``request.jwt.claims`` PostgREST would set for this request."""
    payload: dict[str, str] = {"role": role}
    if user_id is not None:
        payload["sub"] = str(user_id)
    return json.dumps(payload)


@asynccontextmanager
async def acting_as(
    conn: asyncpg.Connection,
    role: str,
    user_id: uuid.UUID | None = None,
    *,
    commit: bool = False,
) -> AsyncIterator[asyncpg.Connection]:
    """
    Run the block as ``role`` (and as the user ``user_id``) in one
    transaction, rolled back at the end unless ``commit``.

    :param role:
        ``anon``, ``authenticated`` or ``service_role``.
    """
    if role not in API_ROLES:
        raise ValueError(f"role must be one of {API_ROLES}")
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(
            "select set_config('request.jwt.claims', $1, true)",
            claims(role, user_id),
        )
        await conn.execute(f"set local role {role}")
        yield conn
    except BaseException:
        await transaction.rollback()
        raise
    if commit:
        await transaction.commit()
    else:
        await transaction.rollback()


async def rejected_as(
    conn: asyncpg.Connection,
    role: str,
    user_id: uuid.UUID | None,
    sql: str,
    *args: object,
) -> asyncpg.PostgresError:
    """
    Run ``sql`` as ``role`` / ``user_id`` and return the error it raised;
    fail when the database accepted it.
    """
    try:
        async with acting_as(conn, role, user_id) as acting:
            await acting.execute(sql, *args)
    except asyncpg.PostgresError as error:
        return error
    raise AssertionError(f"{role} was allowed: {sql}")


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
    """Become ``role`` for the rest of the current transaction."""
    await conn.execute(
        "select set_config('request.jwt.claims', $1, true)", claims(role, user_id)
    )
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
