"""
The tests' connections are reused from test to test
(:class:`tests.support.SessionReuse`): a connection a test leaves in any
state comes back to the next test as a new session would be, or not at all.
"""

from __future__ import annotations

import asyncpg
import pytest

from tests.support import SESSION_STATE, SessionReuse, connected

# What a test may leave in its session: temporary objects, a held cursor,
# sequence state, an advisory lock, a listen, settings, claims, a role and
# an open transaction.
LEFT_BEHIND = (
    "create sequence pg_temp.counter",
    "create function pg_temp.shadow() returns int language sql as 'select 1'",
    "declare kept cursor with hold for select 1",
    "select nextval('pg_temp.counter')",
    "select nextval(pg_get_serial_sequence('audit_log', 'id'))",
    "select pg_advisory_lock(4242)",
    "listen somewhere",
    "set search_path = pg_temp, public",
    "set statement_timeout = '1s'",
    """select set_config('request.jwt.claims', '{"sub": "x"}', false)""",
    "set role service_role",
    "begin",
    "select 1",
)


async def test_a_used_connection_comes_back_as_a_new_session(migrated: str) -> None:
    reuse = SessionReuse()
    try:
        conn = await reuse.take(migrated)
        for statement in LEFT_BEHIND:
            await conn.execute(statement)
        await reuse.give_back(migrated, conn)
        again = await reuse.take(migrated)
        assert again is conn, "a connection that could be reset was not reused"
        assert await again.fetchval("select current_user = session_user")
        await again.execute("set session authorization authenticated")
        await reuse.give_back(migrated, again)

        again = await reuse.take(migrated)
        assert again is conn, "a connection that could be reset was not reused"
        assert not again.is_in_transaction()
        async with connected(migrated) as new:
            assert await again.fetchrow(SESSION_STATE) == await new.fetchrow(
                SESSION_STATE
            )
            # The lock is free for others, the temporary objects are gone.
            assert await new.fetchval("select pg_try_advisory_lock(4242)")
        assert await again.fetchval("select to_regclass('pg_temp.counter')") is None
        with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
            await again.fetchval(
                "select currval(pg_get_serial_sequence('audit_log', 'id'))"
            )
        assert await again.fetchval("select current_user") == await again.fetchval(
            "select session_user"
        )
        assert await again.fetchval(
            "select current_setting('request.jwt.claims', true)"
        ) in (None, "")
        await reuse.give_back(migrated, again)
    finally:
        await reuse.close()


async def test_a_connection_whose_state_survives_the_reset_is_not_reused(
    migrated: str,
) -> None:
    reuse = SessionReuse()
    try:
        conn = await reuse.take(migrated)
        # An SQL-level prepared statement outlives the reset (asyncpg's own
        # prepared statements must stay, so none is deallocated).
        await conn.execute("prepare leftover as select 1")
        await reuse.give_back(migrated, conn)
        assert conn.is_closed()
        other = await reuse.take(migrated)
        assert other is not conn
        assert (
            await other.fetchval(
                "select count(*) from pg_prepared_statements where from_sql"
            )
            == 0
        )
        await reuse.give_back(migrated, other)
    finally:
        await reuse.close()


@pytest.mark.parametrize("end", ["closed", "terminated by the server"])
async def test_a_connection_that_ended_is_not_handed_out(
    migrated: str, end: str
) -> None:
    reuse = SessionReuse()
    try:
        conn = await reuse.take(migrated)
        if end == "closed":
            await conn.close()
        else:
            async with connected(migrated) as killer:
                # Waits until the backend has gone; the client may not know yet.
                assert await killer.fetchval(
                    "select pg_terminate_backend($1, 5000)", conn.get_server_pid()
                )
        await reuse.give_back(migrated, conn)
        other = await reuse.take(migrated)
        assert other is not conn
        assert await other.fetchval("select 1") == 1
        await reuse.give_back(migrated, other)
    finally:
        await reuse.close()
