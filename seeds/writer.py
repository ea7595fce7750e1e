"""
Writing seed data: :func:`seed` is what the command and the tests call.

Everything happens in one transaction: the schema check, the optional reset,
every user's rows and, last in each batch, the lock of the cycles past week
6 (the lock rejects new plan items in weeks 7-12, so it is switched on once
they exist). Users are taken a batch at a time: which of the batch already
exist, the rows of the others (generated in a thread while the previous
batch is written), one ``COPY`` per table; so memory stays flat whatever the
number of users. A failure rolls everything back. Triggers stay on: derived
columns, ownership checks and the audit log see seeded rows like any others,
and a statement-level trigger runs once per ``COPY``.

Beside it: :mod:`seeds.options` parses the command's options,
:mod:`seeds.database` connects, checks the schema and removes seeded users
(``--reset``), :mod:`seeds.report` is what a run returns.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from datetime import date
from typing import Any, Protocol

import asyncpg

from planner_app import deploy_lock
from seeds import DEFAULT_SEED, SeedError
from seeds.database import check_schema, connect, one_line, remove_seeded
from seeds.generate import Generator, user_chunks
from seeds.options import parse_seed, parse_today, parse_users
from seeds.report import SeedReport
from seeds.rows import SEEDED_TABLES, AuthUser, Batch, table_name

__all__ = [
    "BATCH_USERS",
    "SeedReport",
    "parse_seed",
    "parse_today",
    "parse_users",
    "remove_seeded",
    "seed",
    "users_to_write",
    "write_batch",
]

BATCH_USERS = 200
"""Users generated and copied per batch: bounds memory at any scale."""

# Serialises concurrent seed runs on the same database.
ADVISORY_LOCK_KEY = 0x5EED_12_77

LOCK_WAIT_SECONDS = 30
"""How long a seed waits for another session holding its lock (a seed
running, or anyone who took the key: advisory locks are open to every role)
before it gives up, naming the holder, with nothing written."""

# Columns of Supabase's auth.users that a seeded user gets when the table has
# them (the compatibility table of plain PostgreSQL has none of these).
SUPABASE_USER_DEFAULTS: dict[str, Any] = {
    "instance_id": uuid.UUID(int=0),
    "aud": "authenticated",
    "role": "authenticated",
    "raw_app_meta_data": '{"provider": "email", "providers": ["email"]}',
    "raw_user_meta_data": '{"seeded": true}',
}

Progress = Callable[[int, int], None]


async def _auth_user_columns(conn: asyncpg.Connection) -> tuple[str, ...]:
    rows = await conn.fetch(
        "select column_name from information_schema.columns "
        "where table_schema = 'auth' and table_name = 'users'"
    )
    present = {row["column_name"] for row in rows}
    return tuple(column for column in SUPABASE_USER_DEFAULTS if column in present)


async def write_batch(
    conn: asyncpg.Connection,
    batch: Batch,
    auth_extra: tuple[str, ...] = (),
) -> None:
    """
    Copy a batch's rows, parents first, one ``COPY`` per table (and set of
    columns), then lock its cycles past week 6 in one ``UPDATE``.
    """
    for table in SEEDED_TABLES:
        for columns, records in batch.rows[table].items():
            if table is AuthUser and auth_extra:
                extra = tuple(SUPABASE_USER_DEFAULTS[c] for c in auth_extra)
                columns = columns + auth_extra
                records = [record + extra for record in records]
            await conn.copy_records_to_table(
                table._meta.tablename,
                schema_name=table._meta.schema or "public",
                columns=columns,
                records=records,
            )
    if batch.locks:
        await conn.execute(
            "update public.cycle set lock_enforced = true "
            "where id = any($1::uuid[]) and not lock_enforced",
            batch.locks,
        )


class Fetcher(Protocol):
    async def fetch(self, query: str, *args: Any) -> list[Any]: ...


async def users_to_write(
    conn: Fetcher, generator: Generator, users: int, batch_users: int
) -> AsyncGenerator[tuple[int, list[int]], None]:
    """
    For each batch of ``batch_users`` user indexes, in order: how many of
    them are already in the database, and the indexes of the others. Only
    one batch of ids is ever held, so memory does not grow with ``users``.
    """
    for chunk in user_chunks(users, batch_users):
        ids = {generator.user_id(index): index for index in chunk}
        existing = {
            row["id"]
            for row in await conn.fetch(
                "select id from auth.users where id = any($1::uuid[])", list(ids)
            )
        }
        yield len(existing), [i for uid, i in ids.items() if uid not in existing]


async def seed(
    target: str | asyncpg.Connection,
    users: int = 5,
    seed: int = DEFAULT_SEED,
    reset: bool = False,
    today: date | None = None,
    progress: Progress | None = None,
    batch_users: int = BATCH_USERS,
) -> SeedReport:
    """
    Seed ``users`` users (indexes ``0 .. users-1`` of ``seed``) in one
    transaction. Users already in the database are left as they are, so a
    second run changes nothing.

    :param target:
        A database URL or an open connection (as the table owner).
    :param users:
        How many users, 0 or more.
    :param seed:
        The random seed: the same seed and users give the same rows.
    :param reset:
        First remove every previously seeded user and their data.
    :param today:
        The day dates are relative to (default: the real today).
    :param progress:
        Called with ``(users written or found, users requested)`` after
        each batch.
    :param batch_users:
        Users generated and written together; memory is bounded by it.
    :raises SeedError:
        When the arguments, the connection or the database are unusable, a
        table has a required column the seed does not fill, or the database
        rejects a row; nothing is written then.
    """
    users = parse_users(users)
    seed = parse_seed(seed)
    today = today or date.today()
    started = time.perf_counter()
    report = SeedReport(seed=seed, today=today, users_requested=users)

    conn = await connect(target) if isinstance(target, str) else target
    try:
        try:
            async with conn.transaction():
                await _seed_in_transaction(conn, report, reset, progress, batch_users)
        except deploy_lock.DeployLockBusy as busy:
            raise SeedError(await _lock_busy(conn, busy.timeout)) from busy
        except asyncpg.PostgresError as error:
            raise SeedError(
                f"Seeding failed and nothing was written: {one_line(error)}"
            ) from error
        except (OSError, asyncpg.InterfaceError) as error:
            raise SeedError(
                f"Lost the database connection; nothing was written: {one_line(error)}"
            ) from error
    finally:
        if isinstance(target, str):
            await conn.close()
    report.seconds = time.perf_counter() - started
    return report


async def _lock_busy(conn: asyncpg.Connection, timeout: int) -> str:
    """Who held the seed's lock too long (the transaction is over)."""
    try:
        found = await deploy_lock.holders(conn, key=ADVISORY_LOCK_KEY)
    except (asyncpg.PostgresError, asyncpg.InterfaceError):
        found = None
    return deploy_lock.busy_message(
        timeout,
        found,
        "nothing was written",
        lock=f"the seed's lock (advisory lock {ADVISORY_LOCK_KEY})",
        longer="then seed again",
    )


async def _seed_in_transaction(
    conn: asyncpg.Connection,
    report: SeedReport,
    reset: bool,
    progress: Progress | None,
    batch_users: int,
) -> None:
    # Any role may take an advisory lock's key: the wait is bounded.
    await deploy_lock.take(conn, LOCK_WAIT_SECONDS, key=ADVISORY_LOCK_KEY)
    await check_schema(conn)
    # Audit rows of this run: the audit trigger stamps each with the id of
    # the transaction that wrote it; ids after this one are all new.
    audit_start = await conn.fetchval("select coalesce(max(id), 0) from audit_log")
    if reset:
        report.users_removed = await remove_seeded(conn)
    auth_extra = await _auth_user_columns(conn)

    generator = Generator(report.seed, report.today)
    to_write = users_to_write(conn, generator, report.users_requested, batch_users)

    async def next_todo() -> list[int] | None:
        async for existing, todo in to_write:
            report.users_existing += existing
            if todo:
                return todo
        return None

    def generating(todo: list[int] | None) -> asyncio.Task[Batch] | None:
        if not todo:
            return None
        return asyncio.create_task(asyncio.to_thread(generator.batch, todo))

    # Generate the next batch in a thread while the database copies this one.
    pending = generating(await next_todo())
    try:
        while pending is not None:
            batch = await pending
            pending = generating(await next_todo())
            await write_batch(conn, batch, auth_extra)
            for table in SEEDED_TABLES:
                report.rows[table_name(table)] += batch.count(table)
            report.cycles_locked += len(batch.locks)
            report.users_created += batch.users
            if progress:
                progress(
                    report.users_created + report.users_existing,
                    report.users_requested,
                )
    finally:
        if pending is not None:
            pending.cancel()
        await to_write.aclose()
    report.audit_rows = await conn.fetchval(
        "select count(*) from audit_log "
        "where id > $1 and txid::text = pg_current_xact_id()::text",
        audit_start,
    )
