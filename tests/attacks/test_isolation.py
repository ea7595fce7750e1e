"""
Issue 10, item 1 and the ways around it: A, knowing B's ids, learns nothing
about B's rows (not from an error, not by being blocked) and takes no lock
on them, whatever statement A writes.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.attacks.world import (
    DOMAIN_TABLES,
    PARENT_COLUMNS,
    User,
    acting,
    assert_not_locked,
    attempt,
    become,
    error_shape,
    error_text,
    leaked,
    refused,
    rolled_back,
    rows_of,
)

# An insert of a child of each parent column, as A; $1 = A, $2 = the parent
# id, $3 = another parent A owns where the row needs two.
CHILD_INSERTS: dict[tuple[str, str], str] = {
    ("cycle", "vision_id"): "insert into cycle (user_id, vision_id, start_date) "
    "values ($1, $2, '2040-01-02')",
    ("goal", "cycle_id"): "insert into goal (user_id, cycle_id, goal_type, title) "
    "values ($1, $2, 'professional', 'x')",
    (
        "task",
        "goal_id",
    ): "insert into task (user_id, goal_id, title) values ($1, $2, 'x')",
    ("weekly_plan", "cycle_id"): "insert into weekly_plan "
    "(user_id, cycle_id, week_no, week_start_date) values ($1, $2, 5, '2000-01-03')",
    ("plan_item", "weekly_plan_id"): "insert into plan_item "
    "(user_id, weekly_plan_id, task_id) values ($1, $2, $3)",
    ("plan_item", "task_id"): "insert into plan_item "
    "(user_id, task_id, weekly_plan_id) values ($1, $2, $3)",
    ("chat_session", "cycle_id"): "insert into chat_session (user_id, cycle_id) "
    "values ($1, $2)",
    ("chat_message", "session_id"): "insert into chat_message "
    "(user_id, session_id, role, content) values ($1, $2, 'user', 'x')",
}


def _other_parent(a: User, table: str, column: str) -> list[uuid.UUID]:
    """The second parent a plan item needs (A's own, open draft)."""
    if table != "plan_item":
        return []
    return [
        a.draft.task_ids[0]
        if column == "weekly_plan_id"
        else a.draft.weekly_plan_ids[8]
    ]


def _child_of(a: User, table: str) -> uuid.UUID:
    """A's own row of ``table`` (in the open draft where it matters)."""
    return {
        "cycle": a.draft.id,
        "goal": a.draft.goal_ids["professional"],
        "task": a.draft.task_ids[0],
        "weekly_plan": a.draft.weekly_plan_ids[1],
        "plan_item": a.draft.plan_item_ids[(1, 0)],
        "chat_session": a.chat_session_id,
        "chat_message": a.user_message_id,
    }[table]


def _same_error(
    for_b: asyncpg.PostgresError,
    b_id: uuid.UUID,
    for_random: asyncpg.PostgresError,
    random_id: uuid.UUID,
) -> None:
    assert type(for_b) is type(for_random)
    assert error_shape(for_b, {str(b_id): "<id>"}) == error_shape(
        for_random, {str(random_id): "<id>"}
    )


@pytest.mark.parametrize(("table", "column", "parent"), PARENT_COLUMNS)
async def test_another_users_parent_is_refused_like_a_missing_one(
    users, conn_a, table, column, parent
):
    """Item 1: same SQLSTATE, message and detail shape, no value of B's row."""
    a, b = users.a, users.b
    sql = CHILD_INSERTS[(table, column)]
    update = f"update {table} set {column} = $2 where id = $1"
    async with acting(conn_a, "authenticated", a.user_id):
        for locked in (True, False):
            b_parent = b.parent(parent, locked=locked)
            random_parent = uuid.uuid4()
            extra = _other_parent(a, table, column)
            for_b = await refused(conn_a, sql, a.user_id, b_parent, *extra)
            for_random = await refused(conn_a, sql, a.user_id, random_parent, *extra)
            assert for_b.sqlstate == "23503", error_text(for_b)
            _same_error(for_b, b_parent, for_random, random_parent)
            assert not leaked(error_text(for_b), b.secrets, {str(b_parent)})

            child = _child_of(a, table)
            _, for_b = await attempt(conn_a, update, child, b_parent)
            _, for_random = await attempt(conn_a, update, child, random_parent)
            assert for_b is not None and for_random is not None
            _same_error(for_b, b_parent, for_random, random_parent)
            assert not leaked(error_text(for_b), b.secrets, {str(b_parent)})


# Rows that would collide with one of B's unique keys if A's parent check
# came after the unique index: (sql, B's parent id).
async def test_bs_unique_keys_cannot_be_probed(users, conn_a):
    """Item 1: goal (cycle_id, goal_type), weekly_plan (cycle_id, week_no),
    plan_item (weekly_plan_id, task_id) tell nothing about B's rows."""
    a, b = users.a, users.b
    probes = [
        (CHILD_INSERTS[("goal", "cycle_id")], [b.locked.id]),
        (
            "insert into goal (user_id, cycle_id, goal_type, title) "
            "values ($1, $2, 'personal', 'x')",
            [b.locked.id],
        ),
        (
            "insert into weekly_plan (user_id, cycle_id, week_no) values ($1, $2, 8)",
            [b.locked.id],
        ),
        (
            "insert into plan_item (user_id, weekly_plan_id, task_id) "
            "values ($1, $2, $3)",
            [b.locked.weekly_plan_ids[8], b.locked.task_ids[0]],
        ),
    ]
    async with acting(conn_a, "authenticated", a.user_id):
        for sql, b_ids in probes:
            random_ids = [uuid.uuid4() for _ in b_ids]
            for_b = await refused(conn_a, sql, a.user_id, *b_ids)
            for_random = await refused(conn_a, sql, a.user_id, *random_ids)
            assert for_b.sqlstate == "23503"
            assert error_shape(
                for_b, {str(i): f"<{n}>" for n, i in enumerate(b_ids)}
            ) == error_shape(
                for_random, {str(i): f"<{n}>" for n, i in enumerate(random_ids)}
            )


async def test_a_statement_pointing_at_bs_rows_takes_no_lock_on_them(
    users, conn_a, conn_b
):
    """
    Item 1: while A's statement runs (its second row takes a while), B can
    lock every row B owns without waiting: A's first row, pointing at B's
    parent, locked nothing of B's.
    """
    a, b = users.a, users.b
    for table, column, parent in PARENT_COLUMNS:
        sql = CHILD_INSERTS[(table, column)]
        # Row 1 points at B's parent (in B's open draft, where nothing else
        # would stop it), row 2 at a random one after a pause.
        slow = (
            "with parents (n, id) as (values (1, $2::uuid), (2, gen_random_uuid())) "
            + sql.replace("values (", "select ", 1).rstrip(")").replace("$2", "p.id")
            + " from parents p where p.n = 1 or pg_sleep(0.4) is not null"
        )
        b_parent = b.parent(parent, locked=False)

        async def run_a(sql: str, args: list[object]) -> BaseException | None:
            async with acting(conn_a, "authenticated", a.user_id):
                _, error = await attempt(conn_a, sql, *args)
                return error

        args = [a.user_id, b_parent, *_other_parent(a, table, column)]
        statement = asyncio.create_task(run_a(slow, args))
        await asyncio.sleep(0.15)
        await conn_b.execute("set lock_timeout = '100ms'")
        await assert_not_locked(conn_b, b)
        error = await statement
        assert isinstance(error, asyncpg.PostgresError), (table, column, error)
        # Refused (by the parent check, or by the second row).
        assert error.sqlstate.startswith("23"), error_text(error)


async def test_upsert_on_bs_id_is_a_taken_id_and_waits_for_nothing(
    users, conn_a, conn_b
):
    """
    ``insert ... on conflict (id) do update`` with B's id: the same error as
    inserting any taken id, B's row unchanged, and A does not queue behind
    B's open transaction on that row (nor lock it).
    """
    a, b = users.a, users.b
    b_ids = b.ids()
    before = await rows_of(conn_b, b.user_id)
    probe = conn_b.transaction()
    await probe.start()
    try:
        # B holds every row B owns, as an open transaction would.
        for table in DOMAIN_TABLES:
            await conn_b.execute(
                f"select from {table} where user_id = $1 for update", b.user_id
            )
        async with acting(conn_a, "authenticated", a.user_id):
            await conn_a.execute("set local lock_timeout = '200ms'")
            for table in DOMAIN_TABLES:
                b_id = b_ids[table][0]
                sql = UPSERTS[table]
                error = await refused(conn_a, sql, b_id, *_upsert_args(a, table))
                assert error.sqlstate == "23505", (table, error_text(error))
                assert error.constraint_name == f"{table}_pkey"
                assert not leaked(error_text(error), b.secrets, {str(b_id)})
                plain = await refused(
                    conn_a, sql.split(" on conflict")[0], b_id, *_upsert_args(a, table)
                )
                assert error_text(plain) == error_text(error)
    finally:
        await probe.rollback()
    assert await rows_of(conn_b, b.user_id) == before


# Upserts of one row per table: $1 = the id, then _upsert_args.
UPSERTS: dict[str, str] = {
    "vision": "insert into vision (id, user_id, title, statement) "
    "values ($1, $2, 'mine', 'mine') "
    "on conflict (id) do update set title = excluded.title",
    "cycle": "insert into cycle (id, user_id, start_date) "
    "values ($1, $2, '2045-01-02') "
    "on conflict (id) do update set status = 'archived'",
    "goal": "insert into goal (id, user_id, cycle_id, goal_type, title) "
    "values ($1, $2, $3, 'personal', 'mine') "
    "on conflict (id) do update set title = excluded.title",
    "task": "insert into task (id, user_id, goal_id, title) "
    "values ($1, $2, $3, 'mine') "
    "on conflict (id) do update set title = excluded.title",
    "weekly_plan": "insert into weekly_plan (id, user_id, cycle_id, week_no) "
    "values ($1, $2, $3, 2) on conflict (id) do update set reflection = 'mine'",
    "plan_item": "insert into plan_item (id, user_id, weekly_plan_id, task_id) "
    "values ($1, $2, $3, $4) on conflict (id) do update set quota = 99",
    "chat_session": "insert into chat_session (id, user_id) values ($1, $2) "
    "on conflict (id) do update set title = 'mine'",
    "chat_message": "insert into chat_message (id, user_id, session_id, role, content) "
    "values ($1, $2, $3, 'user', 'mine') "
    "on conflict (id) do update set content = excluded.content",
}


def _upsert_args(a: User, table: str) -> list[object]:
    """A's user id, then the parents A's row of ``table`` needs."""
    parents: dict[str, list[object]] = {
        "goal": [a.draft.id],
        "task": [a.draft.goal_ids["professional"]],
        "weekly_plan": [a.draft.id],
        "plan_item": [a.draft.weekly_plan_ids[1], a.draft.task_ids[0]],
        "chat_message": [a.chat_session_id],
    }
    return [a.user_id, *parents.get(table, [])]


async def test_upserts_on_own_rows_still_work(users, conn_a):
    """The fix above leaves supabase-js's ``upsert`` of one's own rows alone."""
    a = users.a
    async with acting(conn_a, "authenticated", a.user_id):
        title = await conn_a.fetchval(
            UPSERTS["vision"] + " returning title", a.vision_id, a.user_id
        )
        assert title == "mine"
        new_id = uuid.uuid4()
        inserted = await conn_a.fetchval(
            UPSERTS["chat_session"] + " returning id", new_id, a.user_id
        )
        assert inserted == new_id


async def test_merge_cannot_reach_bs_rows(users, conn_a, conn_b):
    """MERGE as A: B's rows never match; an insert of B's id is a taken id."""
    a, b = users.a, users.b
    before = await rows_of(conn_b, b.user_id)
    async with acting(conn_a, "authenticated", a.user_id):
        for table in DOMAIN_TABLES:
            b_id = b.ids()[table][0]
            for action in ("update set updated_at = now()", "delete"):
                rows, error = await attempt(
                    conn_a,
                    f"merge into {table} t using (select $1::uuid as id) s "
                    f"on t.id = s.id when matched then {action}",
                    b_id,
                )
                assert error is None, error_text(error)
        error = await refused(
            conn_a,
            "merge into vision t using (select $1::uuid as id) s on t.id = s.id "
            "when matched then update set title = 'mine' "
            "when not matched then insert (id, user_id, title, statement) "
            "values (s.id, $2, 'mine', 'mine')",
            b.vision_id,
            a.user_id,
        )
        assert error.sqlstate == "23505"
        assert not leaked(error_text(error), b.secrets, {str(b.vision_id)})
    assert await rows_of(conn_b, b.user_id) == before


async def test_copy_is_refused_to_end_users_and_keeps_the_rules_for_service_role(
    users, conn_a
):
    """COPY: not a way in for anon or authenticated; service_role's COPY
    runs every trigger and key like an INSERT."""
    a, b = users.a, users.b
    record = [(uuid.uuid4(), a.user_id, "copied", "copied")]
    columns = ["id", "user_id", "title", "statement"]
    for role, sqlstate in (("anon", "42501"), ("authenticated", "0A000")):
        with pytest.raises(asyncpg.PostgresError) as raised:
            async with acting(conn_a, role, a.user_id):
                await conn_a.copy_records_to_table(
                    "vision", records=record, columns=columns
                )
        assert raised.value.sqlstate == sqlstate, error_text(raised.value)
    async with acting(conn_a, "authenticated", a.user_id):
        # COPY ... TO reads through the policies, like a SELECT.
        out = io.BytesIO()
        await conn_a.copy_from_table("vision", columns=["id"], output=out)
        assert out.getvalue().decode().split() == [str(a.vision_id)]
    with pytest.raises(asyncpg.PostgresError) as raised:
        async with acting(conn_a, "service_role"):
            await conn_a.copy_records_to_table(
                "task",
                records=[(a.user_id, b.locked.goal_ids["personal"], "x")],
                columns=["user_id", "goal_id", "title"],
            )
    assert raised.value.sqlstate == "23503"
    with pytest.raises(asyncpg.PostgresError) as raised:
        async with acting(conn_a, "service_role"):
            await conn_a.copy_records_to_table(
                "plan_item",
                records=[(b.user_id, b.locked.weekly_plan_ids[9], b.draft.task_ids[0])],
                columns=["user_id", "weekly_plan_id", "task_id"],
            )
    # The task is of another cycle (the same-cycle key), or the week is
    # locked: refused either way, and never silently stored.
    assert raised.value.sqlstate in {"23503", "PT423"}


async def test_anon_reaches_no_table(users, conn_a):
    for table in (*DOMAIN_TABLES, "audit_log"):
        async with acting(conn_a, "anon"):
            error = await refused(conn_a, f"select * from {table}")
            assert error.sqlstate == "42501"
        async with acting(conn_a, "anon"):
            error = await refused(conn_a, f"delete from {table}")
            assert error.sqlstate == "42501"


async def test_an_end_user_without_a_subject_sees_and_writes_nothing(users, conn_a):
    a = users.a
    async with acting(conn_a, "authenticated"):
        for table in (*DOMAIN_TABLES, "audit_log"):
            assert await conn_a.fetch(f"select * from {table}") == []
        error = await refused(
            conn_a,
            "insert into vision (user_id, title, statement) values ($1, 'x', 'x')",
            a.user_id,
        )
        assert error.sqlstate == "42501"


async def test_claims_that_are_not_json_refuse_end_users_and_name_no_one(users, conn_a):
    a, b = users.a, users.b
    for raw in ("not json", '{"sub": "not-a-uuid", "role": "authenticated"}'):
        async with acting(conn_a, "authenticated", raw_claims=raw):
            error = await refused(conn_a, "select * from vision")
            assert error.sqlstate == "22P02"
            assert not leaked(error_text(error), b.secrets | a.secrets)


async def test_service_role_writes_without_a_subject_or_with_broken_claims_are_audited(
    users, conn_a
):
    """auth.uid() is null for service_role: the audit row has no actor but
    names the role."""
    a = users.a
    for raw in ('{"role": "service_role"}', "not json"):
        async with acting(conn_a, "service_role", raw_claims=raw):
            await conn_a.execute(
                "update vision set statement = statement || '.' where id = $1",
                a.vision_id,
            )
            await conn_a.execute("reset role")
            actor = await conn_a.fetchrow(
                "select actor_id, actor_role from audit_log "
                "where record_id = $1 order by id desc limit 1",
                a.vision_id,
            )
            assert tuple(actor) == (None, "service_role")


async def test_an_end_user_login_cannot_climb_to_another_role(migrated, users):
    """
    ``set role`` chains: a login that holds only ``authenticated`` cannot
    become service_role or the owner, nor leave row-level security by
    resetting its role. (PostgREST's login, authenticator, can switch to
    each API role: that is what the signed JWT decides, docs/security.md.)
    """
    owner = await asyncpg.connect(migrated)
    login = f"planner_attack_{uuid.uuid4().hex[:8]}"
    try:
        await owner.execute(f"create role {login} login noinherit")
        await owner.execute(f"grant authenticated to {login}")
        # The same server and database, logged in as the new role.
        parts = urlsplit(migrated)
        server = parts.netloc.rsplit("@", 1)[-1]
        url = urlunsplit(parts._replace(netloc=f"{login}@{server}"))
        try:
            attacker = await asyncpg.connect(url)
        except (asyncpg.InvalidAuthorizationSpecificationError, OSError):
            pytest.skip("the server refuses a password-less login for a new role")
        try:
            async with rolled_back(attacker):
                await become(attacker, "authenticated", users.a.user_id)
                for target in ("service_role", "postgres", "anon"):
                    error = await refused(attacker, f"set local role {target}")
                    assert error.sqlstate == "42501", target
                error = await refused(attacker, "set session authorization postgres")
                assert error.sqlstate == "42501"
            # Back to the login role itself: no table privilege at all.
            error = await refused(attacker, "select * from vision")
            assert error.sqlstate == "42501"
        finally:
            await attacker.close()
    finally:
        await owner.execute(f"drop role if exists {login}")
        await owner.close()


async def test_reads_return_only_own_rows(users, conn_a):
    a, b = users.a, users.b
    async with acting(conn_a, "authenticated", a.user_id):
        for table in (*DOMAIN_TABLES, "audit_log"):
            rows = await conn_a.fetch(f"select to_jsonb(t)::text from {table} t")
            assert rows
            assert not leaked(" ".join(r[0] for r in rows), b.secrets)
        # Nor do B's rows turn up by id, by lock, or under a join.
        for table, ids in b.ids().items():
            assert (
                await conn_a.fetch(
                    f"select * from {table} where id = any($1) for update nowait", ids
                )
                == []
            )
