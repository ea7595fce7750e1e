"""
The deploy lock: the PostgreSQL advisory lock every ``piccolo planner_app
migrate`` takes, per migration, in that migration's transaction.

Advisory locks are open to every role (``pg_advisory_lock`` is executable
by PUBLIC), so any session, an API user's included, can take the key and
hold it. Waiting for it is therefore bounded: :func:`take` waits at most
``timeout`` seconds (PostgreSQL's ``lock_timeout`` applies to advisory
locks too) and then raises :class:`DeployLockBusy`, and :func:`holders`
says who holds it (``pg_locks`` joined with ``pg_stat_activity``) so the
operator can end that session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

# ASCII "planner" as a bigint: the key every deployer of this project locks.
LOCK_KEY = int.from_bytes(b"planner", "big")

# A bigint key shows in pg_locks split in two: the high half as classid, the
# low half as objid, and objsubid 1 (2 for a key of two integers).
_HOLDERS = """
select l.pid, l.mode, a.usename, a.application_name, a.backend_start,
       a.xact_start, a.state, a.state_change
  from pg_catalog.pg_locks l
  left join pg_catalog.pg_stat_activity a on a.pid = l.pid
 where l.locktype = 'advisory' and l.granted
   and l.database = (select oid from pg_catalog.pg_database
                      where datname = pg_catalog.current_database())
   and l.classid = $1::oid and l.objid = $2::oid and l.objsubid = 1
   and l.pid <> pg_catalog.pg_backend_pid()
 order by l.pid
"""


class DeployLockBusy(Exception):
    """Another session held the deploy lock for longer than the timeout."""

    def __init__(self, timeout: int) -> None:
        self.timeout = timeout
        super().__init__(f"the deploy lock stayed busy for {timeout} s")


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


@dataclass(frozen=True)
class Holder:
    """A session holding the deploy lock, as far as the caller may see it."""

    pid: int
    role: str | None
    application: str | None
    connected: datetime | None
    transaction: datetime | None
    state: str | None
    state_since: datetime | None

    @property
    def visible(self) -> bool:
        """``pg_stat_activity`` hides the details of other roles' sessions
        from roles without ``pg_read_all_stats``."""
        return self.connected is not None

    def describe(self) -> str:
        parts = [
            f"role {self.role or 'unknown'}",
            f'application "{self.application or ""}"',
        ]
        if not self.visible:
            parts.append(
                "since when is hidden from this role (it needs pg_read_all_stats)"
            )
        else:
            assert self.connected is not None
            parts.append(f"connected since {_time(self.connected)}")
            if self.transaction is not None:
                parts.append(f"in a transaction since {_time(self.transaction)}")
            if self.state and self.state_since is not None:
                parts.append(f"{self.state} since {_time(self.state_since)}")
        return f"pid {self.pid} ({', '.join(parts)})"


async def take(
    connection: asyncpg.Connection, timeout: int, key: int = LOCK_KEY
) -> None:
    """
    Take the deploy lock (or the advisory lock ``key``) for the rest of the
    current transaction, waiting at most ``timeout`` seconds; the
    transaction's own ``lock_timeout`` is left as it was.

    :raises DeployLockBusy:
        When another session held it all that time (the transaction is then
        aborted).
    """
    previous = await connection.fetchval(
        "select pg_catalog.current_setting('lock_timeout')"
    )
    await connection.execute(
        "select pg_catalog.set_config('lock_timeout', $1, true)", f"{int(timeout)}s"
    )
    try:
        await connection.execute("select pg_catalog.pg_advisory_xact_lock($1)", key)
    except asyncpg.LockNotAvailableError as error:
        raise DeployLockBusy(timeout) from error
    await connection.execute(
        "select pg_catalog.set_config('lock_timeout', $1, true)", previous
    )


async def holders(connection: asyncpg.Connection, key: int = LOCK_KEY) -> list[Holder]:
    """The other sessions holding the deploy lock (or the advisory lock
    ``key``), shared holders included."""
    rows = await connection.fetch(_HOLDERS, key >> 32, key & 0xFFFFFFFF)
    return [
        Holder(
            pid=row["pid"],
            role=row["usename"],
            application=row["application_name"],
            connected=row["backend_start"],
            transaction=row["xact_start"],
            state=row["state"],
            state_since=row["state_change"],
        )
        for row in rows
    ]


def busy_message(
    timeout: int,
    found: list[Holder] | None,
    outcome: str,
    lock: str = f"the deploy lock (advisory lock {LOCK_KEY})",
    longer: str = "--deploy-lock-timeout=N waits longer",
) -> str:
    """
    What to tell the operator when the lock stayed busy.

    :param found:
        The holders, or None when they could not be read.
    :param outcome:
        What this deploy did before giving up ("nothing applied").
    :param lock:
        Which lock, for people.
    :param longer:
        How to wait longer.
    """
    if found:
        who = "; ".join(holder.describe() for holder in found)
        pids = [str(holder.pid) for holder in found]
        end = (
            f"`select pg_terminate_backend({pids[0]})`"
            if len(pids) == 1
            else f"`select pg_terminate_backend(<pid>)` for pid {', '.join(pids)}"
        )
        advice = f"Let it finish, or end it with {end}"
    elif found is None:
        who = "another session (pg_locks could not be read)"
        advice = "Find it in pg_locks"
    else:
        who = "a session that has released it since"
        advice = "Run the deploy again"
    return (
        f"{lock} was held by {who} for more than {timeout} s; {outcome}. "
        f"{advice}; {longer}"
    )
