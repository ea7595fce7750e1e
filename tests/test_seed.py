"""
docs/product.md, "Seed data": realistic users with full 12-week cycles; the same
--seed gives the same data; running it twice never duplicates rows; bad
input changes nothing. Plus the fixed fixture dataset the rule tests load.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest

from planner_app.rules import LOCKED_WEEKS
from planner_app.tables import Vision
from seeds import SEED_EMAIL_DOMAIN, SeedError, seed, seeded_user_id
from seeds.generate import Generator
from tests.support import DOMAIN_TABLES, PLANNER_TABLES, build_owner, run_cli, snapshot

TODAY = date(2026, 11, 25)
OWNED_TABLES = DOMAIN_TABLES


def user_ids(seed_value: int, users: int) -> list[uuid.UUID]:
    return [seeded_user_id(seed_value, i) for i in range(users)]


async def rows_of(conn: asyncpg.Connection, owners: list[uuid.UUID]) -> dict[str, Any]:
    """
    Every row the owners have, per table, in a stable order. The columns
    the database stamps with the time of the run (``created_at``,
    ``updated_at``, a locked cycle's ``locked_at``) are left out, and audit
    rows, which carry their own time and transaction, are compared by what
    they record.
    """
    result: dict[str, Any] = {
        "auth.users": [
            tuple(r)
            for r in await conn.fetch(
                "select * from auth.users where id = any($1::uuid[]) order by id",
                owners,
            )
        ]
    }
    for table in OWNED_TABLES:
        rows = await conn.fetch(
            f"select * from {table} where user_id = any($1::uuid[]) order by id",
            owners,
        )
        drop = {"created_at", "updated_at", "locked_at"}
        result[table] = [tuple(v for k, v in r.items() if k not in drop) for r in rows]
    result["audit_log"] = sorted(
        tuple(r)
        for r in await conn.fetch(
            "select table_name, record_id, action from audit_log "
            "where user_id = any($1::uuid[])",
            owners,
        )
    )
    return result


async def count_owned(conn: asyncpg.Connection, owners: list[uuid.UUID]) -> int:
    total = await conn.fetchval(
        "select count(*) from auth.users where id = any($1::uuid[])", owners
    )
    for table in PLANNER_TABLES:
        total += await conn.fetchval(
            f"select count(*) from {table} where user_id = any($1::uuid[])", owners
        )
    return total


async def test_seed_fills_every_table_with_realistic_rows(db):
    started = await db.fetchval("select clock_timestamp()")
    report = await seed(db, users=6, seed=101, today=TODAY)
    owners = user_ids(101, 6)

    assert report.users_created == 6
    for table in OWNED_TABLES:
        count = await db.fetchval(
            f"select count(*) from {table} where user_id = any($1::uuid[])", owners
        )
        assert count > 0, f"{table} has no seeded rows"
        assert count == report.rows[table], table
        # Stamped by the database during the run, never by the seed.
        oldest = await db.fetchval(
            f"select min(created_at) from {table} where user_id = any($1::uuid[])",
            owners,
        )
        assert oldest >= started, table
    emails = await db.fetch(
        "select email from auth.users where id = any($1::uuid[])", owners
    )
    assert len(emails) == 6
    assert all(r["email"].endswith("@" + SEED_EMAIL_DOMAIN) for r in emails)
    audit = await db.fetchval(
        "select count(*) from audit_log where user_id = any($1::uuid[])", owners
    )
    assert audit == report.audit_rows > 0
    assert report.total_rows == sum(report.rows.values()) + report.audit_rows
    lines = [line.split() for line in report.summary().splitlines()]
    assert ["audit_log", f"{report.audit_rows:,}"] in lines
    assert ["total", f"{report.total_rows:,}"] in lines

    # Realistic text, not placeholders.
    titles = [r["title"] for r in await db.fetch("select title from goal")]
    assert not any("{" in t for t in titles)
    assert (
        await db.fetchval(
            "select count(*) from vision where user_id = any($1::uuid[]) "
            "and status = 'active'",
            owners,
        )
        == 6
    )


async def test_chat_messages_alternate_user_and_assistant_in_creation_order(db):
    # The database stamps created_at; the ids (UUIDv7, carrying the time
    # each message was sent) keep the conversation in order where it ties:
    # "order by created_at, id".
    await seed(db, users=8, seed=102, today=TODAY)
    sessions = await db.fetch(
        "select id, context from chat_session where user_id = any($1::uuid[])",
        user_ids(102, 8),
    )
    assert sessions
    for session in sessions:
        assert isinstance(json.loads(session["context"]), dict)
        messages = await db.fetch(
            "select id, role, content, metadata from chat_message "
            "where session_id = $1 order by created_at, id",
            session["id"],
        )
        roles = [m["role"] for m in messages]
        assert roles == ["user", "assistant"] * (len(roles) // 2) and roles
        assert all(m["id"].version == 7 for m in messages)
        sent = [m["id"].int >> 80 for m in messages]
        assert sent == sorted(set(sent)), "each message sent after the last"
        assert all(isinstance(json.loads(m["metadata"]), dict) for m in messages)
        assert all(m["content"].strip() and "{" not in m["content"] for m in messages)


async def test_every_seeded_cycle_has_12_weekly_plans_both_goal_types_and_full_plans(
    db,
):
    await seed(db, users=12, seed=103, today=TODAY)
    owners = user_ids(103, 12)
    cycles = await db.fetch(
        "select id, user_id, status from cycle where user_id = any($1::uuid[])",
        owners,
    )
    assert len(cycles) >= 12
    statuses = Counter(c["status"] for c in cycles)
    assert statuses["active"] == 12
    for cycle in cycles:
        weeks = await db.fetch(
            "select week_no from weekly_plan where cycle_id = $1 order by week_no",
            cycle["id"],
        )
        assert [w["week_no"] for w in weeks] == list(range(1, 13))
        goal_types = await db.fetch(
            "select goal_type, (select count(*) from task t where t.goal_id = g.id) "
            "as tasks from goal g where cycle_id = $1 order by goal_type",
            cycle["id"],
        )
        assert [g["goal_type"] for g in goal_types] == ["personal", "professional"]
        assert all(2 <= g["tasks"] <= 4 for g in goal_types)
        tasks = sum(g["tasks"] for g in goal_types)
        items = await db.fetchval(
            "select count(*) from plan_item where cycle_id = $1", cycle["id"]
        )
        assert items == tasks * 12, "a plan item for every task and week"


async def test_cycles_past_week_6_are_locked_and_only_past_weeks_are_done(db):
    await seed(db, users=30, seed=104, today=TODAY)
    owners = user_ids(104, 30)
    cycles = await db.fetch(
        "select id, status, start_date, lock_enforced, locked_at from cycle "
        "where user_id = any($1::uuid[])",
        owners,
    )
    this_monday = TODAY - timedelta(days=TODAY.weekday())
    assert {c["status"] for c in cycles} == {"active", "completed", "draft"}
    locked = 0
    for cycle in cycles:
        week_now = (this_monday - cycle["start_date"]).days // 7 + 1
        past_open_weeks = cycle["status"] != "draft" and week_now >= LOCKED_WEEKS[0]
        assert cycle["lock_enforced"] is past_open_weeks, dict(cycle)
        assert (cycle["locked_at"] is not None) is past_open_weeks
        locked += past_open_weeks
        future = await db.fetchval(
            "select coalesce(sum(p.completed_count), 0) from plan_item p "
            "join weekly_plan w on w.id = p.weekly_plan_id "
            "where p.cycle_id = $1 and w.week_start_date > $2",
            cycle["id"],
            TODAY,
        )
        assert future == 0, "nothing is done in weeks that have not started"
    assert 0 < locked < len(cycles)

    # Most past weeks 60-100 % of quota, some misses.
    ratios = await db.fetch(
        "select p.completed_count::float / p.quota as ratio from plan_item p "
        "join weekly_plan w on w.id = p.weekly_plan_id "
        "where p.user_id = any($1::uuid[]) and p.quota > 0 "
        "and w.week_start_date + 6 < $2",
        owners,
        TODAY,
    )
    values = [r["ratio"] for r in ratios]
    good = sum(0.6 <= v <= 1.5 for v in values) / len(values)
    missed = sum(v < 0.6 for v in values) / len(values)
    assert good > 0.6, good
    assert 0.02 < missed < 0.4, missed


async def test_a_second_run_duplicates_nothing_and_more_users_keep_the_first(db):
    owners = user_ids(105, 5)
    first = await seed(db, users=3, seed=105, today=TODAY)
    after_first = await rows_of(db, owners[:3])
    before = await snapshot(db, owners[:3])

    again = await seed(db, users=3, seed=105, today=TODAY)

    assert again.users_created == 0 and again.users_existing == 3
    assert again.total_rows == 0 and again.audit_rows == 0
    assert again.summary() == (
        "Nothing to do: all 3 users of seed 105 are already in the database; "
        "nothing was written."
    )
    assert await snapshot(db, owners[:3]) == before, "a second run changed the database"

    more = await seed(db, users=5, seed=105, today=TODAY)
    assert more.users_created == 2 and more.users_existing == 3
    assert await rows_of(db, owners[:3]) == after_first
    assert first.total_rows > 0


async def test_same_seed_gives_identical_rows_in_two_fresh_databases(fresh_database):
    results = []
    for _ in range(2):
        url = await fresh_database(migrated=True)
        seeded = run_cli(
            "planner_app",
            "seed",
            "--users=4",
            "--seed=7",
            f"--today={TODAY.isoformat()}",
            database_url=url,
        )
        assert seeded.returncode == 0, seeded.stderr
        assert "users created" in seeded.stdout
        assert "\r" not in seeded.stdout + seeded.stderr, "no progress bar off a TTY"
        conn = await asyncpg.connect(url)
        try:
            results.append(await rows_of(conn, user_ids(7, 4)))
            other_seed = await seed(conn, users=1, seed=8, today=TODAY)
            assert other_seed.users_created == 1
            results.append(await rows_of(conn, user_ids(8, 1)))
        finally:
            await conn.close()
    first, first_other, second, second_other = results
    assert first == second
    assert first_other == second_other
    assert all(first[table] for table in OWNED_TABLES)
    assert first["goal"] != first_other["goal"], "another seed, other data"


async def test_reset_removes_only_seeded_users_data(db):
    someone = await build_owner(db, lock_enforced=True)
    theirs_before = await rows_of(db, [someone.user_id])
    await seed(db, users=4, seed=106, today=TODAY)
    assert await count_owned(db, user_ids(106, 4)) > 0

    report = await seed(db, users=0, reset=True, today=TODAY)

    assert report.users_removed >= 4
    assert await count_owned(db, user_ids(106, 4)) == 0
    assert (
        await db.fetchval(
            "select count(*) from auth.users where email like $1",
            f"%@{SEED_EMAIL_DOMAIN}",
        )
        == 0
    )
    assert await rows_of(db, [someone.user_id]) == theirs_before

    reseeded = await seed(db, users=2, seed=106, reset=True, today=TODAY)
    assert reseeded.users_created == 2


async def test_a_failure_midway_leaves_the_database_as_it_was(db):
    # User 4's vision id is taken by somebody else's vision: the third batch
    # fails after two batches were written, and all of it must roll back.
    taken_vision_id = Generator(107, TODAY).batch([4]).values(Vision, "id")[0]
    someone = await build_owner(db)
    await db.execute(
        "insert into vision (id, user_id, title, statement, status) "
        "values ($1, $2, 'Taken', 'Taken id', 'archived')",
        taken_vision_id,
        someone.user_id,
    )
    # The users of the first two batches are new: their rows would change
    # the counts.
    before = await snapshot(db, [someone.user_id])

    with pytest.raises(SeedError, match="nothing was written"):
        await seed(db, users=6, seed=107, today=TODAY, batch_users=2)

    assert await snapshot(db, [someone.user_id]) == before


async def test_seeding_holds_one_batch_of_users_at_a_time(db, monkeypatch):
    made: list[int] = []
    real_user_id = Generator.user_id

    def counting_user_id(self: Generator, index: int) -> uuid.UUID:
        made.append(index)
        return real_user_id(self, index)

    class FirstBatchWritten(Exception):
        pass

    def stop(done: int, total: int) -> None:
        raise FirstBatchWritten

    monkeypatch.setattr(Generator, "user_id", counting_user_id)

    with pytest.raises(FirstBatchWritten):
        await seed(db, users=10**6, seed=108, today=TODAY, batch_users=5, progress=stop)

    # The batch just written and the next one (planned while it was written).
    assert len(set(made)) <= 10, f"ids of {len(set(made))} users for a batch of 5"
    assert await count_owned(db, user_ids(108, 10)) == 0, "rolled back"


@pytest.mark.parametrize(
    "args",
    [
        ["--users=-1"],
        ["--users=abc"],
        ["--users"],
        ["--seed=lots"],
        ["--reset=yes"],
        ["--today=yesterday"],
    ],
)
async def test_bad_arguments_give_one_line_and_change_nothing(db, database_url, args):
    # A seeded user whose rows a misread --reset would remove; new seeded
    # users would change the counts.
    await seed(db, users=1, seed=108, today=TODAY)
    seeded = user_ids(108, 1)
    before = await snapshot(db, seeded)

    result = run_cli("planner_app", "seed", *args, database_url=database_url)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith("error: --"), result.stderr
    assert result.stdout == ""
    assert await snapshot(db, seeded) == before


async def test_unreachable_database_gives_one_line(unused_port):
    result = run_cli(
        "planner_app",
        "seed",
        database_url=f"postgresql://postgres@127.0.0.1:{unused_port}/planner",
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "cannot connect to the database" in errors[0]
    assert "DATABASE_URL" in errors[0]


async def test_unmigrated_database_is_refused_and_left_empty(fresh_database):
    url = await fresh_database()

    result = run_cli("planner_app", "seed", "--users=2", database_url=url)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "piccolo migrations forwards all" in errors[0]
    conn = await asyncpg.connect(url)
    try:
        # Nothing at all was written, not even Piccolo's bookkeeping table.
        tables = await conn.fetch(
            "select schemaname, tablename from pg_tables "
            "where schemaname in ('public', 'auth')"
        )
        assert tables == []
    finally:
        await conn.close()


def test_seed_help_documents_its_options():
    result = run_cli("planner_app", "seed", "--help")

    assert result.returncode == 0
    for option in ("users", "seed", "reset", "today"):
        assert option in result.stdout


async def test_fixture_dataset_loads_complete_and_locked(db, fixture_data):
    ada = fixture_data["ada"]
    ben = fixture_data["ben"]
    active = ada.cycles["active"]
    cycle = await db.fetchrow(
        "select status, lock_enforced, end_date from cycle where id = $1", active.id
    )
    assert cycle["status"] == "active" and cycle["lock_enforced"] is True
    assert cycle["end_date"] == date(2026, 9, 7) + timedelta(days=83)
    assert (
        await db.fetchval(
            "select count(*) from plan_item where cycle_id = $1", active.id
        )
        == len(active.task_ids) * 12
    )
    statuses = await db.fetch(
        "select status, lock_enforced from cycle where user_id = $1 "
        "order by start_date",
        ben.id,
    )
    assert [(s["status"], s["lock_enforced"]) for s in statuses] == [
        ("completed", True),
        ("active", False),
        ("draft", False),
    ]
    assert (
        await db.fetchval(
            "select count(*) from chat_message where session_id = $1",
            ada.chat_session_ids["midpoint"],
        )
        == 4
    )

    from seeds.fixtures import load_fixture

    users = [user.id for user in fixture_data.users.values()]
    before = await snapshot(db, users)
    again = await load_fixture(db, "small", namespace=fixture_data.namespace)
    assert again.users["ada"].id == ada.id
    assert await snapshot(db, users) == before, "loading twice adds nothing"
