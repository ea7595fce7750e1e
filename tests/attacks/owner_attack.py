"""
The attack of issue 19, item 1, for any migrated database: A's statements
that fire every trigger of the project (:func:`firings`), and
:func:`attack`, which lays A's traps (:mod:`.traps`) and runs them all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg

from tests.attacks.traps import (
    Traps,
    arm_twins,
    project_functions,
    project_triggers,
    set_traps,
)
from tests.attacks.world import User, become, build_user
from tests.support import connected


@dataclass(frozen=True)
class Firing:
    """Statements run in one savepoint, and the SQLSTATE they end with."""

    what: str
    statements: tuple[str, ...]
    refused_with: str | None = None
    by_owner: bool = False
    """Run by the table owner: no API role may run them (checked)."""
    role: str | None = None
    """Run as this API role instead of A (``service_role``, the coach)."""


def firings(a: User) -> list[Firing]:
    """A's statements on A's own rows; untyped literals, qualified names."""
    draft, locked = a.draft, a.locked
    goal = draft.goal_ids["professional"]
    task = draft.task_ids[0]
    week_1, week_8 = draft.weekly_plan_ids[1], draft.weekly_plan_ids[8]
    item_1, item_8 = draft.plan_item_ids[(1, 0)], draft.plan_item_ids[(8, 0)]
    old = "'2000-01-01'"
    me = f"'{a.user_id}'"
    return [
        Firing(
            "add a vision",
            (
                "insert into public.vision (user_id, title, statement, status, "
                f"created_at) values ({me}, 'New', 'Another', 'archived', {old})",
            ),
        ),
        Firing(
            "rename the vision",
            (f"update public.vision set title = title || '!' where user_id = {me}",),
        ),
        Firing(
            "delete the vision (cycles let go of it)",
            (f"delete from public.vision where user_id = {me}",),
        ),
        Firing(
            "add a locked cycle",
            (
                "insert into public.cycle (user_id, start_date, lock_enforced, "
                f"created_at) values ({me}, '2040-01-02', true, {old})",
            ),
        ),
        Firing(
            "move the draft (its weeks follow)",
            (
                "update public.cycle set start_date = start_date + 7 "
                f"where id = '{draft.id}'",
            ),
        ),
        Firing(
            "lock the draft",
            (f"update public.cycle set lock_enforced = true where id = '{draft.id}'",),
        ),
        Firing(
            "delete the draft (everything in it cascades)",
            (f"delete from public.cycle where id = '{draft.id}'",),
        ),
        Firing(
            "delete the locked cycle",
            (f"delete from public.cycle where id = '{locked.id}'",),
            refused_with="42501",
        ),
        Firing(
            "add a goal",
            (
                "insert into public.goal (user_id, cycle_id, goal_type, title, "
                f"created_at) values ({me}, '{draft.id}', 'personal', 'Run', {old})",
            ),
        ),
        Firing(
            "describe the goals",
            (f"update public.goal set description = 'Why' where user_id = {me}",),
        ),
        Firing(
            "delete a goal (its tasks and items cascade)",
            (f"delete from public.goal where id = '{goal}'",),
        ),
        Firing(
            "add a task",
            (
                "insert into public.task (user_id, goal_id, title, created_at) "
                f"values ({me}, '{goal}', 'Stretch', {old})",
            ),
        ),
        Firing(
            "raise the default quotas",
            (
                "update public.task set default_quota = default_quota + 1 "
                f"where user_id = {me}",
            ),
        ),
        Firing(
            "delete a task",
            (f"delete from public.task where id = '{task}'",),
        ),
        Firing(
            "add a week",
            (
                "insert into public.weekly_plan (user_id, cycle_id, week_no, "
                f"created_at) values ({me}, '{draft.id}', 2, {old})",
            ),
        ),
        Firing(
            "renumber a week",
            (f"update public.weekly_plan set week_no = 3 where id = '{week_1}'",),
        ),
        Firing(
            "reflect on the weeks",
            (
                "update public.weekly_plan set reflection = 'Good' "
                f"where user_id = {me}",
            ),
        ),
        Firing(
            "delete week 8 of the draft",
            (f"delete from public.weekly_plan where id = '{week_8}'",),
        ),
        Firing(
            "plan a task in week 8 of the draft",
            (
                f"delete from public.plan_item where id = '{item_8}'",
                "insert into public.plan_item (user_id, weekly_plan_id, task_id, "
                f"quota, created_at) values ({me}, '{week_8}', '{task}', 2, {old})",
            ),
        ),
        Firing(
            "change a quota of the draft",
            (f"update public.plan_item set quota = quota + 1 where id = '{item_8}'",),
        ),
        Firing(
            "move a plan item to another week",
            (
                f"delete from public.plan_item where id = '{item_1}'",
                f"update public.plan_item set weekly_plan_id = '{week_1}' "
                f"where id = '{item_8}'",
            ),
        ),
        Firing(
            "record progress in a locked week (the attack of issue 19)",
            (
                "update public.plan_item set completed_count = completed_count + 1 "
                f"where id = '{locked.plan_item_ids[(8, 0)]}'",
            ),
        ),
        Firing(
            "change a quota of a locked week",
            (
                "update public.plan_item set quota = quota + 1 "
                f"where id = '{locked.plan_item_ids[(8, 0)]}'",
            ),
            refused_with="PT423",
        ),
        Firing(
            "start a chat",
            (
                "insert into public.chat_session (user_id, title, created_at) "
                f"values ({me}, 'New', {old})",
            ),
        ),
        Firing(
            "rename the chats",
            (f"update public.chat_session set title = 'Renamed' where user_id = {me}",),
        ),
        Firing(
            "delete the chats (their messages cascade)",
            (f"delete from public.chat_session where user_id = {me}",),
        ),
        Firing(
            "send a message",
            (
                "insert into public.chat_message (user_id, session_id, role, "
                f"content, created_at) values ({me}, '{a.chat_session_id}', "
                f"'user', 'Hello', {old})",
            ),
        ),
        Firing(
            "edit a message",
            (
                "update public.chat_message set content = content || '!' "
                f"where id = '{a.user_message_id}'",
            ),
        ),
        Firing(
            "delete a message",
            (f"delete from public.chat_message where id = '{a.user_message_id}'",),
        ),
        Firing(
            "the coach backend writes into A's plan and chat (service_role)",
            _coach_writes(me),
            role="service_role",
        ),
        Firing(
            "write the audit log directly",
            (
                "insert into public.audit_log (table_name, record_id, action, "
                f"user_id, txid, after) values ('vision', '{a.vision_id}', "
                f"'INSERT', {me}, 0, '{{}}')",
            ),
            refused_with="23001",
            by_owner=True,
        ),
        Firing(
            "rewrite the audit log",
            (
                "update public.audit_log set table_name = table_name "
                f"where user_id = {me}",
            ),
            refused_with="23001",
            by_owner=True,
        ),
        Firing(
            "delete from the audit log",
            (f"delete from public.audit_log where user_id = {me}",),
            refused_with="23001",
            by_owner=True,
        ),
        Firing(
            "truncate the audit log",
            ("truncate public.audit_log",),
            refused_with="23001",
            by_owner=True,
        ),
    ]


def _coach_writes(me: str) -> tuple[str, ...]:
    """An insert, an update and a delete of every domain table by
    ``service_role``, which row-level security does not bind (so the rules
    that count its writes rather than refuse them fire)."""
    v, c, g, t, w, p, s = (f"'{uuid.uuid4()}'" for _ in range(7))
    return (
        f"insert into public.vision (id, user_id, title, statement, status) "
        f"values ({v}, {me}, 'Coach', 'Suggested', 'archived')",
        f"update public.vision set title = 'Coached' where id = {v}",
        f"insert into public.cycle (id, user_id, start_date) "
        f"values ({c}, {me}, '2041-01-07')",
        f"update public.cycle set vision_id = {v} where id = {c}",
        f"insert into public.goal (id, user_id, cycle_id, goal_type, title) "
        f"values ({g}, {me}, {c}, 'personal', 'Walk')",
        f"update public.goal set title = 'Walk more' where id = {g}",
        f"insert into public.task (id, user_id, goal_id, title) "
        f"values ({t}, {me}, {g}, 'Walk')",
        f"update public.task set title = 'Walk far' where id = {t}",
        f"insert into public.weekly_plan (id, user_id, cycle_id, week_no) "
        f"values ({w}, {me}, {c}, 1)",
        f"update public.weekly_plan set reflection = 'Good' where id = {w}",
        f"insert into public.plan_item (id, user_id, weekly_plan_id, task_id) "
        f"values ({p}, {me}, {w}, {t})",
        f"update public.plan_item set completed_count = 1 where id = {p}",
        f"insert into public.chat_session (id, user_id, title) "
        f"values ({s}, {me}, 'Coach')",
        f"update public.chat_session set title = 'Coaching' where id = {s}",
        f"insert into public.chat_message (user_id, session_id, role, content) "
        f"values ({me}, {s}, 'assistant', 'Hi')",
        f"update public.chat_message set content = 'Hello' where session_id = {s}",
        f"delete from public.chat_message where session_id = {s}",
        f"delete from public.chat_session where id = {s}",
        f"delete from public.plan_item where id = {p}",
        f"delete from public.weekly_plan where id = {w}",
        f"delete from public.task where id = {t}",
        f"delete from public.goal where id = {g}",
        f"delete from public.cycle where id = {c}",
        f"delete from public.vision where id = {v}",
    )


@dataclass
class Outcome:
    traps: Traps
    unexpected: list[str]
    api_may_run_owner_statements: list[str]
    called: list[str]


async def _run(conn: asyncpg.Connection, statements: tuple[str, ...]) -> str | None:
    """The SQLSTATE the statements end with (in a savepoint), or None."""
    savepoint = conn.transaction()
    await savepoint.start()
    try:
        for statement in statements:
            await conn.execute(statement)
    except asyncpg.PostgresError as error:
        return error.sqlstate
    finally:
        await savepoint.rollback()
    return None


async def attack(conn: asyncpg.Connection, a: User, b: User) -> Outcome:
    """
    Arm the twins (as the owner), set A's traps, fire every statement of
    :func:`firings` and call every function A may execute, in one
    transaction that is rolled back. ``conn`` is a new connection: nothing
    of the project may have been compiled in it before the traps exist.
    """
    transaction = conn.transaction()
    await transaction.start()
    try:
        await arm_twins(conn, await project_triggers(conn))
        executable = await _executable_functions(conn)
        await become(conn, "authenticated", a.user_id)
        traps = await set_traps(conn, b.user_id)
        unexpected: list[str] = []
        may_run: list[str] = []
        called: list[str] = []
        with traps.listening():
            for firing in firings(a):
                if firing.by_owner:
                    if await _run(conn, firing.statements) != "42501":
                        may_run.append(firing.what)
                    await conn.execute("set local role none")
                elif firing.role:
                    await conn.execute(f"set local role {firing.role}")
                ended = await _run(conn, firing.statements)
                if firing.by_owner or firing.role:
                    await conn.execute("set local role authenticated")
                if ended != firing.refused_with:
                    unexpected.append(
                        f"{firing.what}: ended with {ended}, "
                        f"expected {firing.refused_with}"
                    )
            for function in executable:
                await _run(conn, (f"select {function['call']}",))
                called.append(function["name"])
            await traps.settle()
        return Outcome(traps, unexpected, may_run, called)
    finally:
        await transaction.rollback()


async def _executable_functions(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every non-trigger function of the project ``authenticated`` may call,
    with a call of it on null arguments."""
    names = [f["name"] for f in await project_functions(conn) if not f["is_trigger"]]
    return await conn.fetch(
        """
        select p.oid::pg_catalog.regprocedure::pg_catalog.text as name,
               pg_catalog.format('%I.%I(%s)', n.nspname, p.proname,
                 (select coalesce(pg_catalog.string_agg(
                           pg_catalog.format('cast(null as %I.%I)',
                                             tn.nspname, t.typname),
                           ', ' order by a.ord), '')
                    from unnest(p.proargtypes) with ordinality as a(type, ord)
                    join pg_catalog.pg_type t on t.oid = a.type
                    join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace))
                 as call
          from pg_catalog.pg_proc p
          join pg_catalog.pg_namespace n on n.oid = p.pronamespace
         where p.oid::pg_catalog.regprocedure::pg_catalog.text
               = any($1::pg_catalog.text[])
           and p.prorettype <> 'pg_catalog.event_trigger'::pg_catalog.regtype
           and pg_catalog.has_function_privilege('authenticated', p.oid, 'execute')
         order by 1
        """,
        names,
    )


async def world(url: str) -> tuple[User, User, str]:
    """A and B (committed, by a role that may write ``auth.users``), and B's
    vision statement."""
    async with connected(url) as conn:
        async with conn.transaction():
            a = await build_user(conn, "A", date(2026, 9, 7))
            b = await build_user(conn, "B", date(2031, 3, 3))
        statement = await conn.fetchval(
            "select statement from public.vision where user_id = $1", b.user_id
        )
    return a, b, statement
