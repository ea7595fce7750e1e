"""
Helpers the tests share: running the real CLI, building owner data,
snapshotting the rows a write could touch and asserting that a rejected
write changed nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

from planner_app import tables
from tests.cli_forkserver import ForkServer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PICCOLO = str(Path(sys.executable).with_name("piccolo"))

# The tables of the model (planner_app/tables.py), in domain order: the
# domain tables (each row has an owner), then audit_log.
DOMAIN_TABLES = tuple(table._meta.tablename for table in tables.DOMAIN_TABLES)
PLANNER_TABLES = tuple(table._meta.tablename for table in tables.TABLES)
# Login roles some tests create and drop again (roles are cluster-wide, so
# tests running at the same time on the server see them come and go).
THROWAWAY_ROLE = re.compile(r"planner_(api|attack)_[0-9a-f]{8}")
# Every planner row belongs to a row of this table (its owner).
USERS_TABLE = "auth.users"
SNAPSHOT_TABLES = (USERS_TABLE, *PLANNER_TABLES)


def run_cli(
    *args: str,
    database_url: str | None = None,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    fresh: bool = False,
) -> subprocess.CompletedProcess[str]:
    """
    Run ``piccolo <args>`` from the project root the way a user would, with
    this process's environment, ``DATABASE_URL`` set to ``database_url``
    when given, and ``env`` on top.
    """
    full_env = dict(os.environ)
    if database_url is not None:
        full_env["DATABASE_URL"] = database_url
    if env:
        full_env.update(env)
    return run_piccolo(*args, env=full_env, input=input, timeout=timeout, fresh=fresh)


def run_piccolo(
    *args: str,
    env: dict[str, str],
    input: str | None = None,
    timeout: float = 300,
    fresh: bool = False,
) -> subprocess.CompletedProcess[str]:
    """
    Run ``piccolo <args>`` from the project root with exactly ``env``.

    The command is a child of the worker's fork server
    (:mod:`tests.cli_forkserver`), which has run the ``piccolo`` script up
    to its ``main()``; with ``fresh`` it is a new ``piccolo`` process, as it
    also is when ``env`` changes a ``PYTHON*`` variable (a hash seed, say)
    that only a new interpreter reads.
    """
    if fresh or python_settings(env) != python_settings(os.environ):
        return subprocess.run(
            [PICCOLO, *args],
            cwd=PROJECT_ROOT,
            env=env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    return FORK_SERVER.run(
        list(args), cwd=str(PROJECT_ROOT), env=env, input=input, timeout=timeout
    )


def python_settings(env: Mapping[str, str]) -> dict[str, str]:
    """The variables an interpreter reads when it starts."""
    return {k: v for k, v in env.items() if k.startswith("PYTHON")}


FORK_SERVER = ForkServer(PICCOLO)


@dataclass(frozen=True)
class Snapshot:
    """
    What a write must leave as it was: the row count of every table, and
    every row of the users in ``owners`` (their ``auth.users`` row and each
    row whose ``user_id`` is theirs, ``audit_log`` included), in key order.
    ``owners`` is ``None`` when ``rows`` holds every row of every table.
    """

    owners: frozenset[uuid.UUID] | None
    counts: dict[str, int]
    rows: dict[str, list[tuple[Any, ...]]]


async def row_counts(conn: asyncpg.Connection) -> dict[str, int]:
    """The number of rows of every table a snapshot covers, in one query."""
    counts = ", ".join(
        f'(select count(*) from {table}) as "{table}"' for table in SNAPSHOT_TABLES
    )
    return dict(await conn.fetchrow(f"select {counts}"))


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to ``url``, closed on leaving the block."""
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


# What a session carries from one test to the next, unless reset: who it
# is, what it set, what it holds. A new session's answer is the reference
# (:class:`SessionReuse`). Custom settings (``request.jwt.claims``) are left
# out: once set, a session keeps them defined, empty after a reset, as a
# PostgREST connection does between requests; both mean "no claims".
SESSION_STATE = """
select current_user::text, session_user::text,
    pg_catalog.current_setting('search_path'),
    (select pg_catalog.array_agg(name || '=' || setting order by name)
        from pg_catalog.pg_settings where source = 'session') as settings,
    (select count(*) from pg_catalog.pg_class
        where relnamespace = pg_catalog.pg_my_temp_schema()) as temp_relations,
    (select count(*) from pg_catalog.pg_proc
        where pronamespace = pg_catalog.pg_my_temp_schema()) as temp_functions,
    (select count(*) from pg_catalog.pg_prepared_statements where from_sql)
        as prepared,
    (select count(*) from pg_catalog.pg_cursors) as cursors,
    (select count(*) from pg_catalog.pg_listening_channels()) as listening,
    (select count(*) from pg_catalog.pg_locks
        where pid = pg_catalog.pg_backend_pid() and locktype = 'advisory')
        as advisory_locks
"""
# After asyncpg's reset (rollback, close cursors, unlisten, reset settings,
# release advisory locks): who the session is (a role set is reset with
# it), its temporary objects and what ``currval()`` remembers.
SESSION_RESET = """
set session authorization default;
discard temp;
discard sequences;
"""


class SessionReuse:
    """
    Connections to a test database handed from one test to the next, so
    that a test does not pay for a new session: a new session compiles the
    trigger functions and fills the catalog caches on its first writes
    (building one owner costs the server about 70 ms on a new connection
    and 12 ms on a used one).

    A connection comes back reset (asyncpg's ``reset()``, then
    :data:`SESSION_RESET`) and is kept only if its :data:`SESSION_STATE` is
    then exactly a new session's; otherwise, or once closed, it is
    closed and forgotten, and the next test gets a new one.
    """

    def __init__(self) -> None:
        self._idle: dict[str, list[asyncpg.Connection]] = {}
        self._new_state: dict[str, asyncpg.Record] = {}

    async def take(self, url: str) -> asyncpg.Connection:
        idle = self._idle.setdefault(url, [])
        while idle:
            conn = idle.pop()
            if not conn.is_closed():
                return conn
        conn = await asyncpg.connect(url)
        if url not in self._new_state:
            self._new_state[url] = await conn.fetchrow(SESSION_STATE)
        return conn

    @asynccontextmanager
    async def connection(self, url: str) -> AsyncIterator[asyncpg.Connection]:
        """A connection to ``url`` for the block, given back when it ends."""
        conn = await self.take(url)
        try:
            yield conn
        finally:
            await self.give_back(url, conn)

    async def give_back(self, url: str, conn: asyncpg.Connection) -> None:
        if conn.is_closed():
            return
        try:
            # A transaction left open by a bare ``begin``: asyncpg's reset
            # would roll it back too, but log it as an error.
            if conn.is_in_transaction():
                await conn.execute("rollback", timeout=10)
            await conn.reset(timeout=10)
            await conn.execute(SESSION_RESET, timeout=10)
            state = await conn.fetchrow(SESSION_STATE, timeout=10)
        except Exception:  # whatever broke it, it is not reused
            conn.terminate()
            return
        if state != self._new_state[url]:
            await conn.close()
            return
        self._idle.setdefault(url, []).append(conn)

    async def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                if not conn.is_closed():
                    await conn.close()
        self._idle.clear()


async def assert_inserted_timestamps_are_now(
    conn: asyncpg.Connection, user_id: uuid.UUID
) -> None:
    """
    An insert that names its own ``created_at`` and ``updated_at`` (in a
    transaction) gets the transaction's time in both instead.
    """
    row = await conn.fetchrow(
        "insert into chat_session (user_id, created_at, updated_at) "
        "values ($1, '1999-01-01', 'infinity') "
        "returning created_at, updated_at, now() as now",
        user_id,
    )
    assert row["created_at"] == row["updated_at"] == row["now"]


async def snapshot(
    conn: asyncpg.Connection, owners: Iterable[uuid.UUID] | None = None
) -> Snapshot:
    """
    The rows of ``owners`` and the row count of every table (see
    :class:`Snapshot`). Compare two snapshots to prove a write changed
    nothing: a row inserted or deleted anywhere changes a count, a row of
    the owners changed in any way changes ``rows``.

    :param owners:
        The users whose rows the write could touch. Every one must be a
        user, and an empty scope must be asked for explicitly (``()``):
        then only the counts are compared. ``None`` takes every row of every
        table, which is slow once the shared database has filled up.
    """
    counts = await row_counts(conn)
    if owners is None:
        rows = {
            table: [
                tuple(r) for r in await conn.fetch(f"select * from {table} order by id")
            ]
            for table in SNAPSHOT_TABLES
        }
        return Snapshot(None, counts, rows)
    scope = frozenset(owners)
    users = await conn.fetch(
        f"select * from {USERS_TABLE} where id = any($1::uuid[]) order by id",
        list(scope),
    )
    missing = scope - {user["id"] for user in users}
    assert not missing, f"the snapshot scope names users that do not exist: {missing}"
    rows = {USERS_TABLE: [tuple(user) for user in users]}
    for table in PLANNER_TABLES:
        found = await conn.fetch(
            f"select * from {table} where user_id = any($1::uuid[]) order by id",
            list(scope),
        )
        rows[table] = [tuple(r) for r in found]
    return Snapshot(scope, counts, rows)


async def owners_of(conn: asyncpg.Connection, values: Iterable[Any]) -> set[uuid.UUID]:
    """
    The users among ``values`` and the owners of the rows whose ids are
    among them (other values are ignored).
    """
    ids = [value for value in values if isinstance(value, uuid.UUID)]
    if not ids:
        return set()
    union = " union ".join(
        [f"select id from {USERS_TABLE} where id = any($1::uuid[])"]
        + [
            f"select user_id from {table} where id = any($1::uuid[])"
            for table in DOMAIN_TABLES
        ]
    )
    return {row[0] for row in await conn.fetch(union, ids)}


async def assert_rejected(
    conn: asyncpg.Connection,
    sql: str,
    *args: Any,
    sqlstate: str,
    constraint: str | None = None,
    owners: Iterable[uuid.UUID] | None = None,
) -> asyncpg.PostgresError:
    """
    Run ``sql`` and check that the database rejects it with ``sqlstate`` (and
    ``constraint``), leaving the database as it was (:func:`snapshot`).

    :param owners:
        The users whose rows the write could touch. By default the users
        among ``args`` and the owners of the rows whose ids are among them;
        when there are none, every row of every table is compared.
    """
    scope = await owners_of(conn, args) if owners is None else set(owners)
    if owners is None and not scope:
        scope = None
    before = await snapshot(conn, scope)
    try:
        # A savepoint when the caller holds a transaction, so the snapshot
        # below can still read.
        async with conn.transaction():
            await conn.execute(sql, *args)
    except asyncpg.PostgresError as error:
        rejected = error
    else:
        raise AssertionError(f"the database accepted: {sql}")
    assert rejected.sqlstate == sqlstate, (rejected.sqlstate, str(rejected))
    if constraint is not None:
        assert rejected.constraint_name == constraint, (
            rejected.constraint_name,
            str(rejected),
        )
    assert await snapshot(conn, scope) == before, (
        "a rejected write changed the database"
    )
    return rejected


@dataclass
class Owner:
    """One user and a complete 12-week cycle, built by :func:`build_owner`."""

    user_id: uuid.UUID
    vision_id: uuid.UUID
    cycle_id: uuid.UUID
    goal_ids: dict[str, uuid.UUID]
    task_ids: list[uuid.UUID]
    weekly_plan_ids: dict[int, uuid.UUID]
    plan_item_ids: dict[tuple[int, uuid.UUID], uuid.UUID] = field(default_factory=dict)
    chat_session_id: uuid.UUID | None = None
    chat_message_id: uuid.UUID | None = None

    def plan_item(self, week_no: int, task_index: int = 0) -> uuid.UUID:
        return self.plan_item_ids[(week_no, self.task_ids[task_index])]

    def row_id(self, table: str) -> uuid.UUID:
        """One existing row of this user in the domain table ``table``."""
        return {
            "vision": self.vision_id,
            "cycle": self.cycle_id,
            "goal": self.goal_ids["personal"],
            "task": self.task_ids[1],
            "weekly_plan": self.weekly_plan_ids[12],
            "plan_item": self.plan_item(3),
            "chat_session": self.chat_session_id,
            "chat_message": self.chat_message_id,
        }[table]


async def create_user(conn: asyncpg.Connection) -> uuid.UUID:
    user_id = uuid.uuid4()
    await conn.execute(
        "insert into auth.users (id, email) values ($1, $2)",
        user_id,
        f"{user_id.hex[:8]}@example.test",
    )
    return user_id


async def build_owner(
    conn: asyncpg.Connection,
    *,
    start_date: date | None = None,
    lock_enforced: bool = False,
) -> Owner:
    """
    A user with an active vision and cycle, both goals, one task per goal,
    all 12 weekly plans and a plan item for every task and week, one chat
    session with one message. Lock off unless ``lock_enforced``.
    """
    user_id = await create_user(conn)
    start = start_date or date(2026, 9, 7)
    vision_id = await conn.fetchval(
        "insert into vision (user_id, title, statement) values ($1, $2, $3) "
        "returning id",
        user_id,
        "A calm, focused life",
        "I build things that matter and keep time for the people I love.",
    )
    cycle_id = await conn.fetchval(
        "insert into cycle (user_id, vision_id, start_date, status) "
        "values ($1, $2, $3, 'active') returning id",
        user_id,
        vision_id,
        start,
    )
    goal_types = ["professional", "personal"]
    goals = await conn.fetch(
        "insert into goal (user_id, cycle_id, goal_type, title) "
        "select $1, $2, goal_type, goal_type || ' goal' "
        "from unnest($3::text[]) as goal_type returning id, goal_type",
        user_id,
        cycle_id,
        goal_types,
    )
    goal_ids = {row["goal_type"]: row["id"] for row in goals}
    tasks = await conn.fetch(
        "insert into task (user_id, goal_id, title, default_quota) "
        "select $1, goal_id, goal_type || ' task', 3 "
        "from unnest($2::uuid[], $3::text[]) as g (goal_id, goal_type) "
        "returning id, goal_id",
        user_id,
        [goal_ids[goal_type] for goal_type in goal_types],
        goal_types,
    )
    task_of_goal = {row["goal_id"]: row["id"] for row in tasks}
    task_ids = [task_of_goal[goal_ids[goal_type]] for goal_type in goal_types]
    weeks = await conn.fetch(
        "insert into weekly_plan (user_id, cycle_id, week_no) "
        "select $1, $2, week_no from generate_series(1, 12) as week_no "
        "returning id, week_no",
        user_id,
        cycle_id,
    )
    weekly_plan_ids = {row["week_no"]: row["id"] for row in weeks}
    owner = Owner(user_id, vision_id, cycle_id, goal_ids, task_ids, weekly_plan_ids)
    week_of_plan = {row["id"]: row["week_no"] for row in weeks}
    items = await conn.fetch(
        "insert into plan_item (user_id, weekly_plan_id, task_id, quota) "
        "select $1, weekly_plan_id, task_id, 3 "
        "from unnest($2::uuid[]) as weekly_plan_id, unnest($3::uuid[]) as task_id "
        "returning id, weekly_plan_id, task_id",
        user_id,
        [weekly_plan_ids[week_no] for week_no in range(1, 13)],
        task_ids,
    )
    for row in items:
        week_no = week_of_plan[row["weekly_plan_id"]]
        owner.plan_item_ids[(week_no, row["task_id"])] = row["id"]
    owner.chat_session_id = await conn.fetchval(
        "insert into chat_session (user_id, cycle_id, title) "
        "values ($1, $2, 'Week 1 check-in') returning id",
        user_id,
        cycle_id,
    )
    owner.chat_message_id = await conn.fetchval(
        "insert into chat_message (user_id, session_id, role, content) "
        "values ($1, $2, 'user', 'How am I doing?') returning id",
        user_id,
        owner.chat_session_id,
    )
    if lock_enforced:
        await conn.execute(
            "update cycle set lock_enforced = true where id = $1", cycle_id
        )
    return owner


# A one-column change an end user may make to a row of each domain table.
ONE_COLUMN_CHANGE: dict[str, str] = {
    "vision": "title = title || ' (revised)'",
    "cycle": "status = 'completed'",
    "goal": "description = 'Revised'",
    "task": "default_quota = default_quota + 1",
    "weekly_plan": "reflection = 'A good week'",
    "plan_item": "completed_count = completed_count + 1",
    "chat_session": "title = 'Renamed'",
    "chat_message": "content = content || '!'",
}


def closing_bracket(text: str, opening: int, quote: str) -> int:
    """
    The index of the ``)`` that closes the ``(`` at or after ``opening`` in
    ``text``, brackets between ``quote`` characters left out; -1 when none
    does.
    """
    depth, quoted = 0, False
    for index in range(opening, len(text)):
        char = text[index]
        if char == quote:
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth == 0:
                return index
    return -1
