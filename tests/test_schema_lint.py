"""
Our schema lint (modelled on Supabase's database linter) holds on the
migrated database, and each rule really catches what it is about: every
rule is also run against a deliberately broken schema (rolled back).
"""

from __future__ import annotations

import asyncpg
import pytest

from tests import schema_lint

# For each rule, a change that breaks it and a word its report must contain.
BREAKAGE: dict[schema_lint.Rule, tuple[str, str]] = {
    schema_lint.tables_without_row_level_security: (
        "alter table public.plan_item disable row level security",
        "plan_item",
    ),
    schema_lint.tables_without_policies: (
        "create table public.lint_probe (id int primary key);"
        "alter table public.lint_probe enable row level security",
        "lint_probe",
    ),
    schema_lint.policies_calling_auth_per_row: (
        "create policy lint_probe on public.vision for select to authenticated "
        "using (auth.uid() = user_id)",
        "lint_probe",
    ),
    schema_lint.policies_open_to_anon: (
        "create policy lint_probe on public.vision for select to anon using (false)",
        "lint_probe",
    ),
    schema_lint.tables_granted_to_anon: (
        "grant select on public.cycle to anon",
        "public.cycle",
    ),
    schema_lint.unindexed_foreign_keys: (
        "create table public.lint_probe "
        "(id int primary key, cycle_id uuid references public.cycle (id))",
        "lint_probe",
    ),
    schema_lint.functions_without_search_path: (
        "create function public.lint_probe() returns int language sql as 'select 1'",
        "lint_probe",
    ),
    schema_lint.security_definer_functions_executable_by_anon: (
        "create function public.lint_probe() returns int language sql "
        "security definer set search_path = '' as 'select 1'",
        "lint_probe",
    ),
}


def test_every_rule_has_a_breakage() -> None:
    assert set(BREAKAGE) == set(schema_lint.RULES)


@pytest.mark.parametrize(
    "rule", schema_lint.RULES, ids=[rule.__name__ for rule in schema_lint.RULES]
)
async def test_schema_passes_lint_rule(db: asyncpg.Connection, rule) -> None:
    assert await rule(db) == []


@pytest.mark.parametrize(
    "rule", schema_lint.RULES, ids=[rule.__name__ for rule in schema_lint.RULES]
)
async def test_lint_rule_catches_a_broken_schema(db: asyncpg.Connection, rule) -> None:
    breakage, culprit = BREAKAGE[rule]
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute(breakage)
        problems = await rule(db)
    finally:
        await transaction.rollback()
    assert problems and all(culprit in problem for problem in problems), problems


async def test_piccolo_migration_table_is_hidden_from_the_api(
    db: asyncpg.Connection,
) -> None:
    row = await db.fetchrow(
        "select relrowsecurity, "
        "(select count(*) from pg_catalog.pg_policy where polrelid = c.oid) "
        "as policies from pg_catalog.pg_class c "
        "where oid = 'public.migration'::regclass"
    )
    assert (row["relrowsecurity"], row["policies"]) == (True, 0)
    for role in ("anon", "authenticated", "service_role"):
        assert not await db.fetchval(
            "select has_table_privilege($1, 'public.migration', 'select')", role
        )


@pytest.mark.parametrize(
    "replacement",
    [
        "create index lint_probe on public.goal (user_id, cycle_id)",
        "create index lint_probe on public.goal (cycle_id)",
    ],
    ids=["columns in another order", "first column only"],
)
async def test_a_foreign_key_is_covered_only_by_its_columns_in_its_order(
    db: asyncpg.Connection, replacement: str
) -> None:
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute("drop index public.goal_cycle_id_user_id_idx")
        await db.execute(replacement)
        problems = await schema_lint.unindexed_foreign_keys(db)
    finally:
        await transaction.rollback()
    assert problems == [
        "foreign key goal_cycle_same_owner_fkey on goal has no index"
    ], problems


async def test_no_sequence_is_usable_by_the_api_roles(db: asyncpg.Connection) -> None:
    usable = await db.fetch(
        "select c.oid::regclass::text as seq, r.rolname "
        "from pg_catalog.pg_class c cross join pg_catalog.pg_roles r "
        "where c.relkind = 'S' and c.relnamespace = 'public'::regnamespace "
        "and r.rolname in ('anon', 'authenticated', 'service_role') "
        "and (has_sequence_privilege(r.rolname, c.oid, 'usage') "
        "or has_sequence_privilege(r.rolname, c.oid, 'select') "
        "or has_sequence_privilege(r.rolname, c.oid, 'update'))"
    )
    sequences = await db.fetchval(
        "select count(*) from pg_catalog.pg_class "
        "where relkind = 'S' and relnamespace = 'public'::regnamespace"
    )
    assert sequences >= 2  # migration_id_seq and audit_log_id_seq at least
    assert [dict(r) for r in usable] == []


@pytest.mark.parametrize(
    "probe",
    [
        "create function planner_private.lint_probe() returns int language sql "
        "set search_path = '' as 'select 1'",
        "create function planner_private.lint_probe() returns int language sql "
        "set search_path = pg_temp, pg_catalog as 'select 1'",
        "create schema lint_probe_schema; create function "
        "lint_probe_schema.lint_probe() returns int language sql as 'select 1'",
    ],
    ids=["empty search_path", "pg_temp first", "a private schema of its own"],
)
async def test_every_project_function_pins_pg_temp_last(
    db: asyncpg.Connection, probe: str
) -> None:
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute(probe)
        problems = await schema_lint.functions_without_search_path(db)
    finally:
        await transaction.rollback()
    assert len(problems) == 1 and "lint_probe()" in problems[0], problems
