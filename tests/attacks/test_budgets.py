"""
Issue 19, item 8: one user cannot fill the database. The issue's flood (200
maximum-size chat messages, then 20,000 small ones, as ``authenticated``) is
refused at the documented budgets with PT429 naming the budget; repeated
edits of a big message run into the daily audit budget; deletes are always
allowed; two connections of one user cannot race past a budget; another
user is neither slowed nor told anything; ``service_role`` and the owner are
never refused and their rows count; the figures stay exact whoever writes
(docs/security.md, "Resource exhaustion").
"""

from __future__ import annotations

import asyncio
import re
import uuid

import asyncpg
import pytest

from planner_app.rules import BUDGETS
from tests.attacks.budgets import (
    BUDGET_EXCEEDED,
    FIGURE_OF_BUDGET,
    INSERT_COACH_MESSAGES,
    INSERT_MESSAGE,
    INSERT_MESSAGES,
    MAX_CONTENT,
    Member,
    accepted_as,
    assert_over_budget,
    kept,
    new_member,
    refused_as,
    resets_at,
    row_bytes,
    set_usage,
    usage,
)
from tests.attacks.world import become, error_text, rolled_back
from tests.roles import attempt_as
from tests.support import PROJECT_ROOT, build_owner, connected, row_counts

USER = "authenticated"


# The issue's flood.


async def test_the_issues_flood_is_refused_at_the_daily_audit_budgets(db):
    async with rolled_back(db):
        member = await new_member(db)
        accepted = 0
        for _ in range(200):
            before = await row_counts(db)
            error = await attempt_as(
                db, USER, member.user_id, INSERT_MESSAGE, *member.message(MAX_CONTENT)
            )
            if error is not None:
                assert await row_counts(db) == before
                break
            accepted += 1
        assert accepted < 200, "200 maximum-size messages are more than a day's audit"
        # The same statement again, this time with every row compared.
        error = await refused_as(
            db, USER, member.user_id, INSERT_MESSAGE, *member.message(MAX_CONTENT)
        )
        # The user's own inserts are what the day's audit bytes hold.
        written = (await kept(db, member.user_id))["live_bytes"] - await row_bytes(
            db, "chat_session", member.session_id
        )
        detail = assert_over_budget(error, "daily_audit_bytes", used=written)
        assert detail["used"] <= BUDGETS["daily_audit_bytes"]
        assert detail["resets_at"] == await resets_at(db)
        # A day holds about 78 of them (10 MB of 128 KB rows).
        assert detail["requested"] > 128_000
        assert abs(detail["used"] / accepted - detail["requested"]) < 16

        # Then the 20,000 small ones, in one statement.
        error = await refused_as(
            db, USER, member.user_id, INSERT_MESSAGES, member.user_id,
            member.session_id, 20_000,
        )  # fmt: skip
        assert_over_budget(error, "daily_audit_rows", used=accepted, requested=20_000)

        # What is left of the day is still the user's.
        await accepted_as(db, USER, member.user_id, INSERT_MESSAGE, *member.message())
        audit_rows = await db.fetchval(
            "select count(*) from audit_log where user_id = $1", member.user_id
        )
        # The session (written by the owner) and the user's own messages.
        assert audit_rows == 1 + accepted + 1


async def test_small_messages_are_refused_past_the_daily_audit_rows_budget(db):
    limit = BUDGETS["daily_audit_rows"]
    async with rolled_back(db):
        member = await new_member(db)
        await accepted_as(
            db, USER, member.user_id, INSERT_MESSAGES, member.user_id,
            member.session_id, limit - 1,
        )  # fmt: skip
        # Exactly the limit is allowed ...
        await accepted_as(db, USER, member.user_id, INSERT_MESSAGE, *member.message())
        assert (await usage(db, member.user_id))["audit_rows"] == limit
        # ... one more row is not.
        error = await refused_as(
            db, USER, member.user_id, INSERT_MESSAGE, *member.message()
        )
        assert_over_budget(error, "daily_audit_rows", used=limit, requested=1)


async def test_repeated_edits_of_a_big_message_hit_the_daily_audit_bytes_budget(db):
    async with rolled_back(db):
        member = await new_member(db)
        # Written by the table owner: it counts towards what the user keeps,
        # not towards their day.
        message_id = await db.fetchval(
            INSERT_MESSAGE + " returning id", *member.message(MAX_CONTENT)
        )
        assert (await usage(db, member.user_id))["audit_bytes"] == 0
        first = await row_bytes(db, "chat_message", message_id)
        edits = 0
        while edits < 100:
            edited = MAX_CONTENT[:-1] + "ab"[edits % 2]
            error = await attempt_as(
                db, USER, member.user_id,
                "update chat_message set content = $2 where id = $1",
                message_id, edited,
            )  # fmt: skip
            if error is not None:
                break
            edits += 1
        # Each one-character edit is charged the old and the new row: 256 KB.
        size = await row_bytes(db, "chat_message", message_id)
        used = first + size + (edits - 1) * 2 * size
        assert used <= BUDGETS["daily_audit_bytes"] < used + 2 * size
        assert edits < 100
        assert_over_budget(error, "daily_audit_bytes", used=used, requested=2 * size)
        error = await refused_as(
            db, USER, member.user_id,
            "update chat_message set content = $2 where id = $1",
            message_id, MAX_CONTENT[:-1] + "c",
        )  # fmt: skip
        assert_over_budget(error, "daily_audit_bytes", used=used, requested=2 * size)
        # The user can still delete it.
        await accepted_as(
            db, USER, member.user_id, "delete from chat_message where id = $1",
            message_id,
        )  # fmt: skip
        assert (
            await db.fetchval(
                "select count(*) from chat_message where id = $1", message_id
            )
            == 0
        )


# What a user keeps.


async def test_the_live_rows_budget_refuses_the_row_past_the_limit(db):
    limit = BUDGETS["live_rows"]
    async with rolled_back(db):
        member = await new_member(db)
        await set_usage(db, member.user_id, live_rows=limit - 1)
        await accepted_as(db, USER, member.user_id, INSERT_MESSAGE, *member.message())
        error = await refused_as(
            db, USER, member.user_id, INSERT_MESSAGE, *member.message()
        )
        assert_over_budget(error, "live_rows", used=limit, requested=1)
        # An update moves no row in or out of the budget.
        await accepted_as(
            db, USER, member.user_id,
            "update chat_session set title = 'Renamed' where id = $1",
            member.session_id,
        )  # fmt: skip


async def test_the_live_bytes_budget_refuses_growth_past_the_limit(db):
    limit = BUDGETS["live_bytes"]
    async with rolled_back(db):
        member = await new_member(db)
        message_id = await db.fetchval(
            INSERT_MESSAGE + " returning id", *member.message("short")
        )
        before = await kept(db, member.user_id)
        await set_usage(db, member.user_id, live_bytes=limit - 1_000)
        big = await refused_as(
            db, USER, member.user_id, INSERT_MESSAGE, *member.message(MAX_CONTENT)
        )
        detail = assert_over_budget(big, "live_bytes", used=limit - 1_000)
        assert detail["requested"] > len(MAX_CONTENT.encode())
        grow = await refused_as(
            db, USER, member.user_id,
            "update chat_message set content = repeat('x', 2000) where id = $1",
            message_id,
        )  # fmt: skip
        detail = assert_over_budget(grow, "live_bytes", used=limit - 1_000)
        assert 1_995 - 10 < detail["requested"] < 1_995 + 10
        # Small enough still fits; shrinking always does.
        for content in ("x" * 500, "x"):
            await accepted_as(
                db, USER, member.user_id,
                "update chat_message set content = $2 where id = $1",
                message_id, content,
            )  # fmt: skip
        after = await kept(db, member.user_id)
        assert (await usage(db, member.user_id))["live_bytes"] == (
            limit - 1_000 + after["live_bytes"] - before["live_bytes"]
        )


async def test_deletes_are_never_refused_even_past_every_budget(db):
    async with rolled_back(db):
        owner = await build_owner(db)
        await set_usage(
            db,
            owner.user_id,
            **{FIGURE_OF_BUDGET[b]: limit * 2 for b, limit in BUDGETS.items()},
        )
        before = await usage(db, owner.user_id)
        # Writes are refused, naming the first budget in order ...
        error = await refused_as(
            db, USER, owner.user_id, INSERT_MESSAGE, owner.user_id,
            owner.chat_session_id, "more",
        )  # fmt: skip
        assert_over_budget(error, "live_rows")
        error = await refused_as(
            db, USER, owner.user_id,
            "update task set default_quota = default_quota + 1 where id = $1",
            owner.task_ids[0],
        )  # fmt: skip
        assert_over_budget(error, "daily_audit_rows")
        # ... deletes are not, a cascade included.
        removed = await kept(db, owner.user_id)
        for sql, row_id in (
            ("delete from chat_message where id = $1", owner.chat_message_id),
            ("delete from cycle where id = $1", owner.cycle_id),
        ):
            await accepted_as(db, USER, owner.user_id, sql, row_id)
        left = await kept(db, owner.user_id)
        after = await usage(db, owner.user_id)
        for figure in ("live_rows", "live_bytes"):
            assert before[figure] - after[figure] == removed[figure] - left[figure]
        # The deletes were audited, and charged no audit budget.
        assert (after["audit_rows"], after["audit_bytes"]) == (
            before["audit_rows"],
            before["audit_bytes"],
        )
        assert (
            await db.fetchval(
                "select count(*) from audit_log "
                "where user_id = $1 and action = 'DELETE'",
                owner.user_id,
            )
            == removed["live_rows"] - left["live_rows"]
        )


# Concurrency: the same user on two connections.


async def wait_until_blocked(probe: asyncpg.Connection, pid: int) -> None:
    for _ in range(200):
        waiting = await probe.fetchval(
            "select wait_event_type = 'Lock' from pg_stat_activity where pid = $1",
            pid,
        )
        if waiting:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the second connection never waited")


@pytest.mark.parametrize("budget", ["live_rows", "daily_audit_rows"])
@pytest.mark.parametrize(
    ("isolation", "sqlstate"),
    [("read_committed", BUDGET_EXCEEDED), ("repeatable_read", "40001")],
)
async def test_two_connections_of_one_user_cannot_race_past_a_budget(
    db, conn_a, conn_b, budget, isolation, sqlstate
):
    limit = BUDGETS[budget]
    member = await new_member(db)
    await set_usage(db, member.user_id, **{FIGURE_OF_BUDGET[budget]: limit - 1})
    first = conn_a.transaction()
    await first.start()
    await become(conn_a, USER, member.user_id)
    await conn_a.execute(INSERT_MESSAGE, *member.message("first"))

    second = conn_b.transaction(isolation=isolation)
    await second.start()
    await become(conn_b, USER, member.user_id)
    # The snapshot of a repeatable read transaction starts here, before the
    # first connection commits.
    await conn_b.fetchval("select count(*) from chat_message")
    racing = asyncio.create_task(
        conn_b.execute(INSERT_MESSAGE, *member.message("second"))
    )
    await wait_until_blocked(db, conn_b.get_server_pid())
    await first.commit()
    with pytest.raises(asyncpg.PostgresError) as refused:
        await racing
    await second.rollback()

    assert refused.value.sqlstate == sqlstate, error_text(refused.value)
    if sqlstate == BUDGET_EXCEEDED:
        assert_over_budget(refused.value, budget, used=limit, requested=1)
    assert (await usage(db, member.user_id))[FIGURE_OF_BUDGET[budget]] == limit
    contents = await db.fetch(
        "select content from chat_message where user_id = $1", member.user_id
    )
    assert [r["content"] for r in contents] == ["first"]


async def test_many_connections_of_one_user_get_exactly_the_rows_left(db, migrated):
    limit = BUDGETS["live_rows"]
    member = await new_member(db)
    await set_usage(db, member.user_id, live_rows=limit - 3)

    async def insert_one(n: int) -> str | None:
        async with connected(migrated) as conn, conn.transaction():
            await become(conn, USER, member.user_id)
            try:
                await conn.execute(INSERT_MESSAGE, *member.message(f"racer {n}"))
            except asyncpg.PostgresError as error:
                return error.sqlstate
            return None

    outcomes = await asyncio.gather(*(insert_one(n) for n in range(8)))
    assert sorted(outcomes, key=str) == [None] * 3 + [BUDGET_EXCEEDED] * 5
    assert (await usage(db, member.user_id))["live_rows"] == limit
    assert (
        await db.fetchval(
            "select count(*) from chat_message where user_id = $1", member.user_id
        )
        == 3
    )


# Another user.


async def test_another_user_is_neither_slowed_nor_told_anything(db, conn_a, conn_b):
    a = await new_member(db)
    b = await new_member(db)
    await set_usage(db, a.user_id, audit_rows=BUDGETS["daily_audit_rows"])
    await set_usage(db, b.user_id, live_rows=31_337, live_bytes=2_718_281)
    b_before = await usage(db, b.user_id)
    a_message = await db.fetchval(INSERT_MESSAGE + " returning id", *a.message())

    # A, out of budget, holds their figures locked in an open transaction.
    holding = conn_a.transaction()
    await holding.start()
    await become(conn_a, USER, a.user_id)
    await conn_a.execute("delete from chat_message where id = $1", a_message)
    async with rolled_back(conn_a):
        with pytest.raises(asyncpg.PostgresError) as refused:
            await conn_a.execute(INSERT_MESSAGE, *a.message())
    told = error_text(refused.value)
    assert refused.value.sqlstate == BUDGET_EXCEEDED
    for secret in (str(b.user_id), str(b.session_id), "31337", "2718281"):
        assert secret not in told

    # B writes meanwhile without waiting.
    async with rolled_back(conn_b):
        await conn_b.execute("set local lock_timeout = '2s'")
        await conn_b.execute("set local statement_timeout = '5s'")
        await become(conn_b, USER, b.user_id)
        await conn_b.execute(INSERT_MESSAGE, *b.message())
        await conn_b.execute(INSERT_MESSAGES, b.user_id, b.session_id, 10)
        await conn_b.execute("update chat_message set content = content || '!'")
        await conn_b.execute("delete from chat_message")
    await holding.rollback()
    assert await usage(db, b.user_id) == b_before


@pytest.mark.parametrize("role", ["anon", "authenticated", "service_role"])
async def test_api_roles_cannot_read_or_reset_the_figures(db, role):
    member = await new_member(db)
    functions = await db.fetch(
        "select p.oid::regprocedure::text as name, pronargs from pg_proc p "
        "where p.pronamespace = 'planner_private'::regnamespace and ("
        "p.proname like '%budget%' or p.proname like '%usage%')"
    )
    assert len(functions) == 7
    statements = [
        "select * from planner_private.budget_usage",
        "update planner_private.budget_usage set live_rows = 0",
        "delete from planner_private.budget_usage",
        "insert into planner_private.budget_usage (user_id, audit_day) "
        "values (gen_random_uuid(), current_date)",
        "select planner_private.charge_usage($1, -1000000, -1000000, -1000000, "
        "-1000000, false, 'chat_message', false)",
    ] + [
        f"select {f['name'].split('(')[0]}(" + ", ".join(["null"] * f["pronargs"]) + ")"
        for f in functions
        if not f["name"].startswith("planner_private.account_usage")
    ]
    for sql in statements:
        args = (member.user_id,) if "$1" in sql else ()
        error = await attempt_as(db, role, member.user_id, sql, *args)
        assert error is not None and error.sqlstate == "42501", (sql, error)


# Privileged roles.


async def test_service_role_is_never_refused_and_its_rows_count(db):
    limit = BUDGETS["live_rows"]
    async with rolled_back(db):
        member = await new_member(db)
        await set_usage(db, member.user_id, live_rows=limit - 1)
        # The coach answers: never refused, counted as the user's rows, not
        # as the user's day.
        await accepted_as(
            db, "service_role", member.user_id, INSERT_COACH_MESSAGES,
            member.user_id, member.session_id, 3,
        )  # fmt: skip
        figures = await usage(db, member.user_id)
        assert figures["live_rows"] == limit + 2
        assert (figures["audit_rows"], figures["audit_bytes"]) == (0, 0)
        # The user is now past the budget: no new row ...
        error = await refused_as(
            db, USER, member.user_id, INSERT_MESSAGE, *member.message()
        )
        assert_over_budget(error, "live_rows", used=limit + 2, requested=1)
        # ... but deleting a coach message, and changes that do not grow, are
        # allowed.
        await accepted_as(
            db, USER, member.user_id,
            "delete from chat_message where id = (select id from chat_message "
            "where user_id = $1 and role = 'assistant' limit 1)",
            member.user_id,
        )  # fmt: skip
        await accepted_as(
            db, USER, member.user_id,
            "update chat_session set title = 'Check-up' where id = $1",
            member.session_id,
        )  # fmt: skip
        assert (await usage(db, member.user_id))["live_rows"] == limit + 1
        # The table owner (migrations, the seed) is not refused either.
        await db.execute(INSERT_MESSAGES, member.user_id, member.session_id, 5)
        await set_usage(db, member.user_id, audit_rows=BUDGETS["daily_audit_rows"])
        await accepted_as(
            db, "service_role", member.user_id,
            "update chat_message set content = content || '.' where user_id = $1",
            member.user_id,
        )  # fmt: skip
        assert (await usage(db, member.user_id))["live_rows"] == limit + 6


# The figures are exact.


async def test_the_figures_match_the_rows_whoever_writes_and_however(db):
    async with rolled_back(db):
        owner = await build_owner(db)
        member = Member(owner.user_id, owner.chat_session_id)
        assert {
            k: v
            for k, v in (await usage(db, owner.user_id)).items()
            if k.startswith("live_")
        } == await kept(db, owner.user_id)
        writes = [
            (USER, INSERT_MESSAGES, member.user_id, member.session_id, 7),
            (USER, "update plan_item set notes = repeat('n', 300)"),
            (USER, "update plan_item set completed_count = completed_count + 1"),
            (USER, "update plan_item set quota = quota"),  # changes nothing
            (
                USER,
                "insert into task (id, user_id, goal_id, title) "
                "select id, user_id, goal_id, title || ' again' from task "
                "on conflict (id) do update set title = excluded.title",
            ),
            (
                USER,
                "merge into chat_message m using (values ($1::uuid, 'merged')) "
                "as v(id, content) on m.id = v.id "
                "when matched then update set content = v.content "
                "when not matched then insert (user_id, session_id, role, content) "
                "values ($2, $3, 'user', v.content)",
                uuid.uuid4(), member.user_id, member.session_id,
            ),
            ("service_role", INSERT_COACH_MESSAGES, *member.message()[:2], 4),
            (
                "service_role",
                "update vision set statement = repeat('v', 4000) where user_id = $1",
                member.user_id,
            ),
            (USER, "delete from chat_message where role = 'assistant'"),
            # Cascades: goals, tasks, weekly plans and plan items go with the
            # cycle, the session's cycle_id is set to null.
            (USER, "delete from cycle"),
        ]  # fmt: skip
        for settings in ("SQL, DMY", "German", "Postgres, MDY"):
            await db.execute(f"set datestyle = '{settings}'")
            await db.execute("set timezone = 'Asia/Kathmandu'")
            for role, sql, *args in writes[:3]:
                await accepted_as(db, role, member.user_id, sql, *args)
        for role, sql, *args in writes:
            await db.execute("set timezone = 'America/St_Johns'")
            await accepted_as(db, role, member.user_id, sql, *args)
            figures = await usage(db, owner.user_id)
            assert {
                "live_rows": figures["live_rows"],
                "live_bytes": figures["live_bytes"],
            } == await kept(db, owner.user_id), sql
        await db.execute("reset datestyle")
        await db.execute("reset timezone")
        # The owner deletes the user: nothing is left.
        await db.execute("delete from auth.users where id = $1", owner.user_id)
        figures = await usage(db, owner.user_id)
        assert (figures["live_rows"], figures["live_bytes"]) == (0, 0)


async def test_every_seeded_user_is_counted_exactly_and_well_within_budget(
    seeded_database,
):
    async with connected(seeded_database) as conn:
        users = [r["id"] for r in await conn.fetch("select id from auth.users")]
        assert len(users) == 3
        for user_id in users:
            figures = await usage(conn, user_id)
            live = await kept(conn, user_id)
            assert {k: figures[k] for k in live} == live
            for budget, figure in FIGURE_OF_BUDGET.items():
                assert figures[figure] < BUDGETS[budget] / 10
        # A seeded user writes on as usual.
        async with rolled_back(conn):
            await become(conn, USER, users[0])
            await conn.execute(
                "update plan_item set completed_count = completed_count + 1"
            )


# The migration.

BUDGETS_ID = "2026-12-04T00:00:10:000000"


async def test_the_migration_counts_existing_rows_and_backwards_removes_it_all(
    fresh_database,
):
    from tests.catalog import schema_fingerprint
    from tests.support import run_cli

    url = await fresh_database(migrated=True)
    backwards = ("migrations", "backwards", "planner_app", BUDGETS_ID, "--auto_agree")
    # The figures are derived from the rows: rolling them back loses no user
    # data and needs no opt-in.
    no_opt_in = {"PLANNER_ALLOW_DATA_LOSS": ""}
    async with connected(url) as conn:
        first = await build_owner(conn)
        result = run_cli(*backwards, database_url=url, env=no_opt_in)
        assert result.returncode == 0, result.stderr + result.stdout
        without = await schema_fingerprint(conn)
        assert (
            await conn.fetchval("select to_regclass('planner_private.budget_usage')")
            is None
        )
        # Rows written while no budget was there are counted on the way back.
        second = await build_owner(conn)
        await conn.execute(INSERT_MESSAGES, first.user_id, first.chat_session_id, 25)
        await conn.execute("delete from cycle where id = $1", second.cycle_id)

        result = run_cli("migrations", "forwards", "all", database_url=url)
        assert result.returncode == 0, result.stderr + result.stdout
        for user_id in (first.user_id, second.user_id):
            figures = await usage(conn, user_id)
            live = await kept(conn, user_id)
            assert {k: figures[k] for k in live} == live
            assert (figures["audit_rows"], figures["audit_bytes"]) == (0, 0)

        result = run_cli(*backwards, database_url=url, env=no_opt_in)
        assert result.returncode == 0, result.stderr + result.stdout
        assert await schema_fingerprint(conn) == without


# One statement of the limits, one helper to attach them.


async def test_the_databases_limits_are_the_ones_in_rules_py(db):
    for budget, limit in BUDGETS.items():
        assert (
            await db.fetchval("select planner_private.budget_limit($1)", budget)
            == limit
        )
    assert await db.fetchval("select planner_private.budget_limit('other')") is None


def test_the_contracts_budget_table_is_the_one_in_rules_py():
    product = (PROJECT_ROOT / "docs" / "product.md").read_text()
    documented = dict(re.findall(r"\| `(live_\w+|daily_\w+)` \| (\d+) ", product))
    assert {k: int(v) for k, v in documented.items()} == BUDGETS


async def budget_triggers(conn: asyncpg.Connection) -> list[tuple[str, ...]]:
    rows = await conn.fetch(
        "select tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) "
        "from pg_trigger where tgfoid = "
        "'planner_private.account_usage()'::regprocedure order by 1, 2"
    )
    return [tuple(r) for r in rows]


async def test_attach_budgets_is_idempotent_and_adds_only_statement_triggers(db):
    from tests.support import DOMAIN_TABLES

    attached = await budget_triggers(db)
    assert {table for table, *_ in attached} == {f"{t}" for t in DOMAIN_TABLES}
    assert len(attached) == 6 * len(DOMAIN_TABLES)
    for _, name, definition in attached:
        # After the statement, never a row trigger, each gated on whether
        # the writer is under row-level security.
        assert " AFTER " in definition and "FOR EACH STATEMENT" in definition
        assert "row_security_active" in definition, definition
        if "_budget_" in name:
            assert "account_usage('enforce')" in definition
        else:
            assert "_usage_" in name and "account_usage('count')" in definition
    async with rolled_back(db):
        await db.execute("select planner_private.attach_budgets('public.vision')")
        await db.execute("select planner_private.attach_budgets('public.vision')")
        assert await budget_triggers(db) == attached
        await db.execute("select planner_private.detach_budgets('public.vision')")
        await db.execute("select planner_private.detach_budgets('public.vision')")
        assert [t for t in await budget_triggers(db) if t[0] == "vision"] == []
        with pytest.raises(asyncpg.RaiseError, match="id and user_id"):
            await db.execute(
                "select planner_private.attach_budgets('public.migration')"
            )
