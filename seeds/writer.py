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
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol
from urllib.parse import urlsplit

import asyncpg

from seeds import DEFAULT_SEED, SEED_EMAIL_DOMAIN, SeedError
from seeds.generate import Generator, user_chunks
from seeds.rows import SEEDED_TABLES, AuthUser, Batch, table_name

BATCH_USERS = 200
"""Users generated and copied per batch: bounds memory at any scale."""

# Serialises concurrent seed runs on the same database.
ADVISORY_LOCK_KEY = 0x5EED_12_77

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


@dataclass
class SeedReport:
    """What a :func:`seed` run did: the rows it wrote, audit rows included."""

    seed: int
    today: date
    users_requested: int
    users_created: int = 0
    users_existing: int = 0
    users_removed: int = 0
    rows: dict[str, int] = field(
        default_factory=lambda: {table_name(t): 0 for t in SEEDED_TABLES}
    )
    cycles_locked: int = 0
    audit_rows: int = 0
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        """Every row this run wrote, the audit log's included."""
        return sum(self.rows.values()) + self.audit_rows

    @property
    def nothing_done(self) -> bool:
        return not (self.users_created or self.users_removed or self.audit_rows)

    def summary(self) -> str:
        """
        A plain-text table of the rows this run wrote, or one sentence when
        it had nothing to do.
        """
        if self.nothing_done:
            there = (
                f"all {self.users_requested:,} users of seed {self.seed} are "
                "already in the database"
                if self.users_requested
                else "no users requested and no seeded users to remove"
            )
            return f"Nothing to do: {there}; nothing was written."
        written = {**self.rows, "audit_log": self.audit_rows}
        lines = [f"{'table':<14} {'written':>10}", f"{'-' * 14} {'-' * 10}"]
        lines += [f"{table:<14} {count:>10,}" for table, count in written.items()]
        lines.append(f"{'-' * 14} {'-' * 10}")
        lines.append(f"{'total':<14} {self.total_rows:>10,}")
        lines.append("")
        lines.append(
            f"seed {self.seed}, dates relative to {self.today.isoformat()}: "
            f"{self.users_created} users created, {self.users_existing} already "
            f"there, {self.users_removed} removed, {self.cycles_locked} cycles "
            f"locked, {self.seconds:.1f} s"
        )
        return "\n".join(lines)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or error.__class__.__name__


def _where(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or 5432
    return f"{host}:{port}/{parts.path.lstrip('/') or 'postgres'}"


async def connect(url: str) -> asyncpg.Connection:
    """
    Connect to ``url`` or raise :class:`SeedError` saying what to check.
    """
    try:
        return await asyncpg.connect(url, timeout=10)
    except (
        OSError,
        TimeoutError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
    ) as error:
        raise SeedError(
            f"Cannot connect to the database at {_where(url)} "
            f"({_one_line(error)}); check DATABASE_URL and that the server is running"
        ) from error


def planner_migration_ids() -> list[str]:
    """The ids of every planner_app migration shipped with the code."""
    from planner_app import piccolo_migrations

    ids = []
    for module_info in pkgutil.iter_modules(piccolo_migrations.__path__):
        module = importlib.import_module(
            f"{piccolo_migrations.__name__}.{module_info.name}"
        )
        if migration_id := getattr(module, "ID", None):
            ids.append(migration_id)
    return sorted(ids)


async def check_schema(conn: asyncpg.Connection) -> None:
    """
    Raise :class:`SeedError` unless every planner migration has run.
    """
    has_table = await conn.fetchval(
        "select to_regclass('public.migration') is not null"
    )
    applied: set[str] = set()
    if has_table:
        applied = {
            row["name"]
            for row in await conn.fetch(
                "select name from public.migration where app_name = 'planner_app'"
            )
        }
    pending = [i for i in planner_migration_ids() if i not in applied]
    if pending:
        raise SeedError(
            f"The database is not migrated ({len(pending)} planner_app migrations "
            "pending); run `piccolo migrations forwards all` first"
        )


async def _auth_user_columns(conn: asyncpg.Connection) -> tuple[str, ...]:
    rows = await conn.fetch(
        "select column_name from information_schema.columns "
        "where table_schema = 'auth' and table_name = 'users'"
    )
    present = {row["column_name"] for row in rows}
    return tuple(column for column in SUPABASE_USER_DEFAULTS if column in present)


async def remove_seeded(conn: asyncpg.Connection) -> int:
    """
    Delete every seeded user and, through the foreign keys, everything they
    own, plus their audit rows. Other users are never touched. Returns the
    number of users removed. The ids stay in the server (a temporary table),
    however many users there are.
    """
    async with conn.transaction():
        await conn.execute(
            "create temporary table seed_removed (id uuid primary key) on commit drop"
        )
        removed = await conn.fetchval(
            "with gone as (insert into seed_removed select id from auth.users "
            "where email like $1 returning id) select count(*) from gone",
            f"%@{SEED_EMAIL_DOMAIN}",
        )
        # The lock lets a user's deletion cascade through locked weeks.
        await conn.execute(
            "delete from auth.users where id in (select id from seed_removed)"
        )
        try:
            # Seeded history is synthetic: purge it the way docs/security.md
            # describes for the table owner (guard off for this transaction's
            # statement only). A role that does not own audit_log keeps it.
            async with conn.transaction():
                await conn.execute(
                    "alter table public.audit_log disable trigger audit_log_append_only"
                )
                await conn.execute(
                    "delete from public.audit_log "
                    "where user_id in (select id from seed_removed)"
                )
                await conn.execute(
                    "alter table public.audit_log enable trigger audit_log_append_only"
                )
        except asyncpg.PostgresError:
            pass
        await conn.execute("drop table seed_removed")
    return removed


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


def parse_users(value: object) -> int:
    """``--users``: a whole number, 0 or more."""
    if isinstance(value, bool):
        raise SeedError("--users needs a value, e.g. --users=5")
    try:
        users = int(str(value).strip())
    except ValueError:
        raise SeedError(
            f"--users must be a whole number of users, got {value!r}"
        ) from None
    if users < 0:
        raise SeedError(f"--users must be 0 or more, got {users}")
    return users


def parse_seed(value: object) -> int:
    """``--seed``: a whole number (any sign)."""
    if isinstance(value, bool):
        raise SeedError("--seed needs a value, e.g. --seed=12")
    try:
        return int(str(value).strip())
    except ValueError:
        raise SeedError(f"--seed must be a whole number, got {value!r}") from None


def parse_today(value: object) -> date | None:
    """``--today``: an ISO date, or empty for the real today."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise SeedError("--today needs a date, e.g. --today=2026-11-23")
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SeedError(
            f"--today must be a date like 2026-11-23, got {value!r}"
        ) from None


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
        except asyncpg.PostgresError as error:
            raise SeedError(
                f"Seeding failed and nothing was written: {_one_line(error)}"
            ) from error
        except (OSError, asyncpg.InterfaceError) as error:
            raise SeedError(
                f"Lost the database connection; nothing was written: {_one_line(error)}"
            ) from error
    finally:
        if isinstance(target, str):
            await conn.close()
    report.seconds = time.perf_counter() - started
    return report


async def _seed_in_transaction(
    conn: asyncpg.Connection,
    report: SeedReport,
    reset: bool,
    progress: Progress | None,
    batch_users: int,
) -> None:
    await conn.execute("select pg_advisory_xact_lock($1)", ADVISORY_LOCK_KEY)
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
