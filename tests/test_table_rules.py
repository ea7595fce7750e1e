"""
Every domain table has the full set of rules that
``planner_private.attach_table_rules()`` gives (``tests/table_rules.py``),
the helper is safe to run twice and its pair ``detach_table_rules()`` leaves
a table closed; one BEFORE row trigger per table and event does what the
separate triggers did, also in replica mode; and rolling the migration back
restores exactly what was there before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from tests import table_rules
from tests.catalog import _QUERIES
from tests.roles import acting_as, rejected_as, rolled_back
from tests.supabase.migrations import migration_ids
from tests.support import DOMAIN_TABLES, Owner, connected, run_cli

TABLE_RULES_MIGRATION = "2026-12-04T00:00:11:000000"
SCRATCH = "table_rules_scratch"
SCRATCH_TABLE = f"""
create table public.{SCRATCH} (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  note text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
)
"""


async def attach(conn: asyncpg.Connection, table: str) -> None:
    await conn.execute(
        "select planner_private.attach_table_rules($1::regclass)", f"public.{table}"
    )


# --- the lint ---------------------------------------------------------------


@pytest.mark.parametrize("table", DOMAIN_TABLES)
async def test_every_domain_table_has_the_full_set_of_rules(
    db: asyncpg.Connection, table: str
) -> None:
    assert await table_rules.table_problems(db, table) == []


async def test_the_reference_set_holds_every_rule(db: asyncpg.Connection) -> None:
    reference = await table_rules.reference_rules(db)
    assert reference.row_level_security and reference.same_owner_key
    assert reference.grants == {
        (role, privilege)
        for role in ("authenticated", "service_role")
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE")
    }
    assert {
        name: (cmd, roles) for name, (cmd, _, roles, _, _) in reference.policies.items()
    } == {
        "<table>_owner_select": ("SELECT", ("authenticated",)),
        "<table>_owner_insert": ("INSERT", ("authenticated",)),
        "<table>_owner_update": ("UPDATE", ("authenticated",)),
        "<table>_owner_delete": ("DELETE", ("authenticated",)),
    }
    assert set(reference.checks) == {
        "<table>_id_is_rfc_9562",
        "<table>_user_id_is_rfc_9562",
    }
    # Written into the CHECK: no function call per written row.
    assert all("planner_private" not in d for d, _ in reference.checks.values())
    assert {
        name: (enabled, function)
        for name, (_, enabled, function, _) in reference.triggers.items()
    } == {
        "<table>_rules_insert": ("A", "planner_private.table_rules()"),
        "<table>_rules_update": ("A", "planner_private.table_rules()"),
        "<table>_rules_taken_id": ("O", "planner_private.refuse_anothers_id()"),
        "<table>_audit_insert": ("O", "planner_private.audit()"),
        "<table>_audit_update": ("O", "planner_private.audit()"),
        "<table>_audit_delete": ("O", "planner_private.audit()"),
        **{
            f"<table>_{kind}_{event}": ("O", "planner_private.account_usage()")
            for kind in ("budget", "usage")
            for event in ("insert", "update", "delete")
        },
    }


BREAKAGES = {
    "row-level security is off": (
        "vision",
        "alter table vision disable row level security",
    ),
    "grants are": ("task", "grant truncate on task to authenticated"),
    "policy <table>_owner_delete is missing": (
        "goal",
        "drop policy goal_owner_delete on goal",
    ),
    "policy <table>_owner_select is": (
        "cycle",
        "alter policy cycle_owner_select on cycle using (true)",
    ),
    "check <table>_id_is_rfc_9562 is None": (
        "weekly_plan",
        "alter table weekly_plan drop constraint weekly_plan_id_is_rfc_9562",
    ),
    "check <table>_user_id_is_rfc_9562 is": (
        "chat_session",
        "alter table chat_session drop constraint chat_session_user_id_is_rfc_9562,"
        " add constraint chat_session_user_id_is_rfc_9562 check (user_id is not null)",
    ),
    "no same-owner key": (
        "plan_item",
        "alter table plan_item drop constraint plan_item_id_user_id_key",
    ),
    "trigger <table>_rules_insert is None": (
        "chat_message",
        "drop trigger chat_message_rules_insert on chat_message",
    ),
    "trigger <table>_rules_insert is (": (
        "task",
        "create or replace trigger task_rules_insert before insert on task"
        " for each row execute function planner_private.table_rules()",
    ),
    "trigger <table>_rules_taken_id is None": (
        "cycle",
        "drop trigger cycle_rules_taken_id on cycle",
    ),
    "trigger <table>_rules_update is": (
        "vision",
        "alter table vision enable trigger vision_rules_update",
    ),
    "trigger <table>_audit_update is None": (
        "task",
        "drop trigger task_audit_update on task",
    ),
    "trigger <table>_maintain_insert is a BEFORE row trigger besides the rules": (
        "goal",
        "create trigger goal_maintain_insert before insert on goal for each row"
        " execute function planner_private.table_rules()",
    ),
    "trigger <table>_rules_delete is not the rules trigger": (
        "plan_item",
        "alter table plan_item enable trigger plan_item_rules_delete",
    ),
}


@pytest.mark.parametrize("problem", BREAKAGES)
async def test_the_lint_notices_a_table_without_a_rule(
    db: asyncpg.Connection, problem: str
) -> None:
    table, breakage = BREAKAGES[problem]
    reference = await table_rules.reference_rules(db)
    async with rolled_back(db):
        await db.execute(breakage)
        found = await table_rules.table_problems(db, table, reference)
    assert any(line.startswith(problem) for line in found), found
    assert await table_rules.table_problems(db, table, reference) == []


# --- the helper pair --------------------------------------------------------


async def protection_state(conn: asyncpg.Connection) -> dict[str, Any]:
    """Every catalog fact the helper sets, for the domain tables."""
    tables = [f"public.{t}" for t in DOMAIN_TABLES]
    return {
        "tables": await conn.fetch(
            "select relname, relrowsecurity, relforcerowsecurity, relacl::text "
            "from pg_class where oid = any($1::regclass[]) order by 1",
            tables,
        ),
        "constraints": await conn.fetch(
            "select conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "from pg_constraint where conrelid = any($1::regclass[]) order by 1, 2",
            tables,
        ),
        "policies": await conn.fetch(
            "select * from pg_policies where schemaname = 'public' "
            "order by tablename, policyname"
        ),
        "triggers": await conn.fetch(
            "select tgrelid::regclass::text, tgname, pg_get_triggerdef(oid), "
            "tgenabled from pg_trigger where tgrelid = any($1::regclass[]) "
            "and not tgisinternal order by 1, 2",
            tables,
        ),
    }


async def test_attaching_the_rules_again_changes_nothing(
    db: asyncpg.Connection,
) -> None:
    before = await protection_state(db)
    async with rolled_back(db):
        for table in DOMAIN_TABLES:
            await attach(db, table)
            await attach(db, table)
        assert await protection_state(db) == before


async def test_attaching_creates_only_what_is_missing(db: asyncpg.Connection) -> None:
    reference = await table_rules.reference_rules(db)
    async with rolled_back(db):
        await db.execute(SCRATCH_TABLE)
        await attach(db, SCRATCH)
        assert await table_rules.table_problems(db, SCRATCH, reference) == []
        # A narrowed policy stays; what is gone comes back.
        await db.execute(
            f"alter policy {SCRATCH}_owner_insert on {SCRATCH} "
            "with check ((select auth.uid()) = user_id and note is null)"
        )
        await db.execute(f"drop trigger {SCRATCH}_rules_update on {SCRATCH}")
        await db.execute(
            f"alter table {SCRATCH} drop constraint {SCRATCH}_id_is_rfc_9562"
        )
        await db.execute(f"drop policy {SCRATCH}_owner_delete on {SCRATCH}")
        await db.execute(f"grant truncate on {SCRATCH} to anon")
        await attach(db, SCRATCH)
        assert await table_rules.table_problems(db, SCRATCH, reference) == []
        assert "note IS NULL" in await db.fetchval(
            "select with_check from pg_policies where policyname = $1",
            f"{SCRATCH}_owner_insert",
        )


async def test_detaching_the_rules_leaves_the_table_closed(
    db: asyncpg.Connection,
) -> None:
    reference = await table_rules.reference_rules(db)
    async with rolled_back(db):
        await db.execute(SCRATCH_TABLE)
        await attach(db, SCRATCH)
        for _ in range(2):
            await db.execute(
                "select planner_private.detach_table_rules($1::regclass)",
                f"public.{SCRATCH}",
            )
            rules = await table_rules.read_rules(db, SCRATCH)
            assert rules.row_level_security
            assert rules.grants == frozenset()
            assert rules.policies == rules.checks == rules.triggers == {}
        # The key stays (a child's key may reference it); attaching again
        # gives the whole set back.
        assert rules.same_owner_key
        await attach(db, SCRATCH)
        assert await table_rules.table_problems(db, SCRATCH, reference) == []


async def test_a_table_with_the_rules_maintains_its_columns_and_is_audited(
    db: asyncpg.Connection, owner: Owner
) -> None:
    async with rolled_back(db):
        await db.execute(SCRATCH_TABLE)
        await attach(db, SCRATCH)
        row = await db.fetchrow(
            f"insert into {SCRATCH} (user_id, created_at) values ($1, '2001-01-01') "
            "returning id, created_at, now() as now",
            owner.user_id,
        )
        assert row["created_at"] == row["now"]
        with pytest.raises(asyncpg.CheckViolationError) as caught:
            async with db.transaction():
                await db.execute(
                    f"update {SCRATCH} set user_id = $1 where id = $2",
                    uuid.uuid4(),
                    row["id"],
                )
        assert caught.value.constraint_name == f"{SCRATCH}_user_id_never_changes"
        assert (
            await db.fetchval(
                "select count(*) from audit_log "
                "where table_name = $1 and record_id = $2",
                SCRATCH,
                row["id"],
            )
            == 1
        )


# --- one BEFORE row trigger per table and event ------------------------------


async def test_each_domain_table_fires_one_rules_trigger_per_event(
    db: asyncpg.Connection,
) -> None:
    """Besides the rules trigger, the only BEFORE row trigger is the taken-id
    check on INSERT, which fires for writers under row-level security."""
    rows = await db.fetch(
        "select tgrelid::regclass::text as table_name, tgname, tgtype & 28 as events, "
        "pg_get_triggerdef(oid) as definition from pg_trigger "
        "where tgrelid = any($1::regclass[]) and not tgisinternal "
        "and tgtype & 3 = 3",
        [f"public.{t}" for t in DOMAIN_TABLES],
    )
    rules = [r for r in rows if r["tgname"] != f"{r['table_name']}_rules_taken_id"]
    taken = [r for r in rows if r not in rules]
    per_event: dict[tuple[str, int], int] = {}
    for r in rules:
        key = (r["table_name"], r["events"])
        per_event[key] = per_event.get(key, 0) + 1
    assert set(per_event.values()) == {1}
    for table in DOMAIN_TABLES:
        assert (table, table_rules.INSERT) in per_event
        assert (table, table_rules.UPDATE) in per_event
    assert {t for t, events in per_event if events == table_rules.DELETE} == {
        "cycle",
        "weekly_plan",
        "plan_item",
    }
    assert sorted(r["table_name"] for r in taken) == sorted(DOMAIN_TABLES)
    for r in taken:
        assert r["events"] == table_rules.INSERT
        assert "WHEN (row_security_active(" in r["definition"]


async def test_replica_mode_applies_only_the_lock(
    db: asyncpg.Connection, locked: Owner
) -> None:
    async with rolled_back(db):
        await db.execute("set local session_replication_role = replica")
        # The maintained columns are skipped, as before...
        created_at = await db.fetchval(
            "insert into chat_session (user_id, created_at) values ($1, '2001-01-01')"
            " returning created_at",
            locked.user_id,
        )
        assert created_at.year == 2001
        # ...and the lock still holds, for every event.
        for sql, args in (
            (
                "insert into plan_item (user_id, weekly_plan_id, task_id, cycle_id)"
                " values ($1, $2, $3, $4)",
                (
                    locked.user_id,
                    locked.weekly_plan_ids[9],
                    locked.task_ids[0],
                    locked.cycle_id,
                ),
            ),
            ("delete from plan_item where id = $1", (locked.plan_item(8),)),
            ("delete from weekly_plan where id = $1", (locked.weekly_plan_ids[7],)),
            (
                "update cycle set start_date = start_date + 7 where id = $1",
                (locked.cycle_id,),
            ),
        ):
            with pytest.raises(asyncpg.PostgresError) as caught:
                async with db.transaction():
                    await db.execute(sql, *args)
            assert caught.value.sqlstate == "PT423", sql


# --- the lookups past row-level security --------------------------------------


async def test_a_taken_id_does_not_tell_whose_it_is(
    db: asyncpg.Connection, owner: Owner, stranger: Owner
) -> None:
    """A claiming B's user_id learns of B's vision id exactly what A learns of
    anyone's: that it is taken."""
    third = await db.fetchval("select gen_random_uuid()")
    await db.execute(
        "insert into auth.users (id, email) values ($1, $2)",
        third,
        f"{third.hex}@x.test",
    )
    thirds = await db.fetchval(
        "insert into vision (user_id, title, statement) values ($1, 't', 's') "
        "returning id",
        third,
    )
    insert = (
        "insert into vision (id, user_id, title, statement) values ($1, $2, 't', 's')"
    )
    for vision_id in (stranger.vision_id, thirds):
        error = await rejected_as(
            db, "authenticated", owner.user_id, insert, vision_id, stranger.user_id
        )
        assert (error.sqlstate, error.constraint_name) == ("23505", "vision_pkey")
        assert error.detail == f"Key (id)=({vision_id}) already exists."


async def test_the_lookups_past_row_level_security_reveal_nothing_when_called(
    db: asyncpg.Connection, migrated: str, owner: Owner, locked: Owner
) -> None:
    week_open = (
        "select planner_private.assert_week_open($1, 8, $2, 'add_plan_item', "
        "'add a plan item', 'plan_item', false)"
    )
    async with acting_as(db, "authenticated", owner.user_id) as conn:
        # Another user's locked week looks open, and is not even locked...
        await conn.execute(week_open, locked.cycle_id, locked.user_id)
        async with connected(migrated) as other, other.transaction():
            assert await other.fetchval(
                "select id from cycle where id = $1 for update nowait",
                locked.cycle_id,
            )
        # ...and the taken-id check is a trigger function, nobody's to call.
        assert not await conn.fetchval(
            "select has_function_privilege("
            "'planner_private.refuse_anothers_id()', 'execute')"
        )
    async with acting_as(db, "authenticated", locked.user_id) as conn:
        # The owner's own locked week is refused, as by the trigger.
        with pytest.raises(asyncpg.PostgresError) as caught:
            await conn.execute(week_open, locked.cycle_id, locked.user_id)
        assert caught.value.sqlstate == "PT423"


async def test_the_lock_holds_for_an_end_user_who_may_read_auth_users(
    db: asyncpg.Connection, locked: Owner
) -> None:
    """The exception for deleting a user is not read from what an end user
    sees of auth.users: here they may read it and see nothing."""
    async with rolled_back(db):
        await db.execute(
            "grant select on auth.users to authenticated;"
            "alter table auth.users enable row level security"
        )
        error = await rejected_as(
            db,
            "authenticated",
            locked.user_id,
            "delete from plan_item where id = $1",
            locked.plan_item(8),
        )
    assert error.sqlstate == "PT423"
    assert "cannot remove a plan item" in str(error)


# --- the migration ----------------------------------------------------------


async def full_state(conn: asyncpg.Connection) -> dict[str, list[tuple]]:
    """The catalog fingerprint of the project's schemas, planner_private's
    functions (definitions and privileges) included."""
    schemas = ["public", "auth", "planner_private"]
    return {
        name: sorted(tuple(row) for row in await conn.fetch(query, schemas))
        for name, query in _QUERIES.items()
    }


async def test_rolling_back_table_rules_restores_the_schema_before_it(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    ids = migration_ids()
    previous = ids[ids.index(TABLE_RULES_MIGRATION) - 1]
    url = await fresh_database()

    def migrate(*args: str) -> None:
        result = run_cli("migrations", *args, database_url=url)
        assert result.returncode == 0, result.stdout + result.stderr

    migrate("forwards", "planner_app", previous)
    async with connected(url) as conn:
        before = await full_state(conn)
        migrate("forwards", "planner_app", TABLE_RULES_MIGRATION)
        assert await full_state(conn) != before
        migrate("backwards", "planner_app", TABLE_RULES_MIGRATION, "--auto_agree")
        after = await full_state(conn)
    assert after == before
