"""
Our schema lint (modelled on Supabase's database linter) holds on the
migrated database, and each rule really catches what it is about: every
rule is also run against a deliberately broken schema (rolled back).
"""

from __future__ import annotations

import asyncpg
import pytest

from tests import schema_lint

PROBE_POLICY = "create policy lint_probe on public.vision for {} to authenticated {}"
SECURITY_DEFINER_PROBE = (
    "create function public.lint_probe() returns int language sql "
    "security definer set search_path = pg_catalog, pg_temp as 'select 1'"
)

# For each rule, a change that breaks it and a word its report must contain.
BREAKAGE: dict[schema_lint.Rule, tuple[str, str]] = {
    schema_lint.rls_disabled_in_public: (
        "alter table public.plan_item disable row level security",
        "plan_item",
    ),
    schema_lint.rls_enabled_no_policy: (
        "create table public.lint_probe (id int primary key);"
        "alter table public.lint_probe enable row level security",
        "lint_probe",
    ),
    schema_lint.policy_exists_rls_disabled: (
        "alter table public.vision disable row level security",
        "vision_owner_select",
    ),
    schema_lint.auth_rls_initplan: (
        PROBE_POLICY.format("select", "using (auth.uid() = user_id)"),
        "lint_probe",
    ),
    schema_lint.multiple_permissive_policies: (
        PROBE_POLICY.format("select", "using ((select auth.uid()) = user_id)"),
        "lint_probe",
    ),
    schema_lint.policies_open_to_anon: (
        "create policy lint_probe on public.vision for select to anon using (false)",
        "lint_probe",
    ),
    schema_lint.rls_policy_always_true: (
        PROBE_POLICY.format("update", "using (true)"),
        "lint_probe",
    ),
    schema_lint.rls_policy_null_auth_disjunct: (
        "create policy lint_probe on public.vision as restrictive for select "
        "to authenticated using (true);"
        "alter policy vision_owner_select on public.vision using "
        "((select auth.uid()) is null or (select auth.uid()) = user_id)",
        "vision_owner_select",
    ),
    schema_lint.rls_references_user_metadata: (
        PROBE_POLICY.format(
            "select",
            "using (((select auth.jwt()) -> 'user_metadata' ->> 'admin') = 'yes')",
        ),
        "lint_probe",
    ),
    schema_lint.tables_granted_to_anon: (
        "grant select on public.cycle to anon",
        "public.cycle",
    ),
    schema_lint.security_definer_view: (
        "create view public.lint_probe as select 1 as one;"
        "grant select on public.lint_probe to authenticated",
        "lint_probe",
    ),
    schema_lint.materialized_view_in_api: (
        "create materialized view public.lint_probe as select 1 as one;"
        "grant select on public.lint_probe to authenticated",
        "lint_probe",
    ),
    schema_lint.foreign_table_in_api: (
        "create foreign data wrapper lint_probe_fdw;"
        "create server lint_probe_server foreign data wrapper lint_probe_fdw;"
        "create foreign table public.lint_probe (one int) server lint_probe_server;"
        "grant select on public.lint_probe to authenticated",
        "lint_probe",
    ),
    schema_lint.auth_users_exposed: (
        "create view public.lint_probe with (security_invoker = true) as "
        "select id from auth.users;"
        "grant select on public.lint_probe to authenticated",
        "lint_probe",
    ),
    schema_lint.anon_security_definer_function_executable: (
        SECURITY_DEFINER_PROBE,
        "lint_probe",
    ),
    schema_lint.authenticated_security_definer_function_executable: (
        SECURITY_DEFINER_PROBE
        + "; revoke execute on function public.lint_probe() from public"
        + "; grant execute on function public.lint_probe() to authenticated",
        "lint_probe",
    ),
    schema_lint.function_search_path_mutable: (
        "create function public.lint_probe() returns int language sql as 'select 1'",
        "lint_probe",
    ),
    schema_lint.no_primary_key: (
        "create table public.lint_probe (id int)",
        "lint_probe",
    ),
    schema_lint.unindexed_foreign_keys: (
        "create table public.lint_probe "
        "(id int primary key, cycle_id uuid references public.cycle (id))",
        "lint_probe",
    ),
    schema_lint.fkey_to_auth_unique: (
        "create unique index lint_probe_email on auth.users (email);"
        "create table public.lint_probe "
        "(id int primary key, email text references auth.users (email))",
        "lint_probe",
    ),
    schema_lint.duplicate_index: (
        "create index lint_probe on public.goal (cycle_id, user_id)",
        "lint_probe",
    ),
    schema_lint.invalid_index: (
        "update pg_catalog.pg_index set indisvalid = false "
        "where indexrelid = 'public.goal_cycle_id_user_id_idx'::regclass",
        "goal_cycle_id_user_id_idx",
    ),
    schema_lint.unsupported_reg_types: (
        "create table public.lint_probe (id int primary key, handler regproc)",
        "lint_probe",
    ),
    schema_lint.autovacuum_disabled: (
        "alter table public.goal set (autovacuum_enabled = false)",
        "goal",
    ),
    # Where Supabase's convention schema exists, public is no place for one.
    schema_lint.extension_in_public: (
        "create schema extensions",
        "btree_gist",
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
        problems = await schema_lint.function_search_path_mutable(db)
    finally:
        await transaction.rollback()
    assert len(problems) == 1 and "lint_probe()" in problems[0], problems


PRIVATE = "create schema lint_probe_schema; "


@pytest.mark.parametrize(
    ("rule", "breakage"),
    [
        (
            schema_lint.rls_enabled_no_policy,
            "create table lint_probe_schema.probe (id int primary key);"
            "alter table lint_probe_schema.probe enable row level security",
        ),
        (
            schema_lint.policy_exists_rls_disabled,
            "create table lint_probe_schema.probe (id int primary key);"
            "create policy probe_select on lint_probe_schema.probe for select "
            "to authenticated using (false)",
        ),
        (
            schema_lint.multiple_permissive_policies,
            "create table lint_probe_schema.probe (id int primary key);"
            "alter table lint_probe_schema.probe enable row level security;"
            "create policy probe_one on lint_probe_schema.probe for select "
            "to authenticated using (false);"
            "create policy probe_two on lint_probe_schema.probe for all "
            "to authenticated using (false)",
        ),
        (
            schema_lint.no_primary_key,
            "create table lint_probe_schema.probe (id int)",
        ),
        (
            schema_lint.unindexed_foreign_keys,
            "create table lint_probe_schema.probe "
            "(id int primary key, cycle_id uuid references public.cycle (id))",
        ),
        (
            schema_lint.duplicate_index,
            "create table lint_probe_schema.probe (id int primary key, n int);"
            "create index probe_n on lint_probe_schema.probe (n);"
            "create index probe_n_again on lint_probe_schema.probe (n)",
        ),
        (
            schema_lint.function_search_path_mutable,
            "create function lint_probe_schema.probe() returns int "
            "language sql as 'select 1'",
        ),
        (
            schema_lint.autovacuum_disabled,
            "create table lint_probe_schema.probe (id int primary key) "
            "with (autovacuum_enabled = off)",
        ),
    ],
    ids=lambda value: value.__name__ if callable(value) else "",
)
async def test_a_rule_covers_every_project_schema_not_only_public(
    db: asyncpg.Connection, rule: schema_lint.Rule, breakage: str
) -> None:
    problems = await _broken(db, PRIVATE + breakage, rule)
    assert problems and all("lint_probe_schema" in p for p in problems), problems


async def _broken(
    db: asyncpg.Connection, breakage: str, rule: schema_lint.Rule
) -> list[str]:
    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute(breakage)
        return await rule(db)
    finally:
        await transaction.rollback()


@pytest.mark.parametrize("served", [True, False], ids=["served", "not served"])
async def test_a_table_without_row_level_security_is_an_error_where_postgrest_serves_it(
    db: asyncpg.Connection, served: bool
) -> None:
    setting = (
        "select set_config('pgrst.db_schemas', 'public, lint_probe_schema', true);"
        if served
        else ""
    )
    problems = await _broken(
        db,
        setting + PRIVATE + "create table lint_probe_schema.probe (id int primary key)",
        schema_lint.rls_disabled_in_public,
    )
    assert problems == (
        ["lint_probe_schema.probe has row-level security disabled"] if served else []
    )


async def test_supabases_own_schemas_are_not_linted(db: asyncpg.Connection) -> None:
    problems = await _broken(
        db,
        "create schema extensions; create schema storage;"
        "create table extensions.probe (id int);"
        "create table storage.probe (id int);"
        "create function storage.probe() returns int language sql as 'select 1'",
        schema_lint.lint,
    )
    assert [p for p in problems if "probe" in p] == []


async def test_an_extension_the_project_did_not_create_may_not_sit_in_public(
    db: asyncpg.Connection,
) -> None:
    problems = await _broken(
        db,
        "comment on extension btree_gist is null",
        schema_lint.extension_in_public,
    )
    assert problems == ["extension btree_gist is in public"]
