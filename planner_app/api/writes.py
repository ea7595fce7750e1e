"""
How every write of the API runs: in a savepoint of the request's
transaction, its errors as the project's exceptions, and never telling a
caller about a row they cannot see.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from planner_app.api.problems import as_planner_error, is_argument_error
from planner_app.api.transaction import current_connection
from planner_app.errors import (
    InvalidReferenceError,
    NotFoundError,
    PlannerError,
    WeekLockedError,
)


async def _visible(conn: asyncpg.Connection, table: str, row_id: Any) -> bool:
    # table is a Piccolo table name from tables.py, never client input.
    return await conn.fetchval(
        f"select exists (select 1 from public.{table} where id = $1)", row_id
    )


async def guarded(
    run: Callable[[], Awaitable[Any]],
    references: tuple[tuple[str, Any], ...] = (),
) -> Any:
    """
    Run a write in a savepoint of the request's transaction, its errors as
    the project's exceptions.

    When the write fails, a reference to a row the caller cannot see gets
    the answer a missing row gets, whichever rule the database checked
    first (a unique key or the lock can fire before the same-owner key), and
    a lock error is only reported for a cycle the caller can see.

    :param references:
        ``(table, id)`` of every row the written values point at.
    """
    conn = current_connection()
    try:
        async with conn.transaction():
            return await run()
    except (PlannerError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        if isinstance(error, asyncpg.InterfaceError) and not is_argument_error(error):
            raise
        translated = as_planner_error(error)
        for table, row_id in references:
            if row_id is not None and not await _visible(conn, table, row_id):
                raise InvalidReferenceError(
                    f"{table} {row_id} not found", sqlstate="23503"
                ) from error
        if isinstance(translated, WeekLockedError) and not await _visible(
            conn, "cycle", translated.cycle_id
        ):
            raise NotFoundError("no such row") from error
        if translated is error:
            raise
        raise translated from error
