"""
Supabase fidelity: docs/product.md, "The same migrations run unchanged on
Supabase ... Rolling back never drops objects that Supabase owns", and "A
table is private from the transaction that creates it ... Sequences and
migration bookkeeping are out of the API roles' reach."

Everything here runs on the Supabase-like cluster of
:mod:`tests.supabase.cluster`: ``postgres`` (who migrates, with the real
CLI) is not a superuser, the API roles inherit, Supabase's default
privileges hand every new table, sequence and function of ``public`` to
``anon``, ``authenticated`` and ``service_role``, ``auth`` belongs to
``supabase_admin`` and ``auth.users`` to ``supabase_auth_admin``, with
row-level security on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from planner_app.views import VIEWS
from tests import schema_lint
from tests.roles import acting_as, rolled_back
from tests.supabase.catalog import (
    CHANGED_BY_FORWARDS,
    differences,
    exposures,
    supabase_state,
)
from tests.supabase.cluster import MIGRATOR, SUPERUSER, SupabaseCluster
from tests.supabase.failing_deploy import FAILURE
from tests.supabase.migrations import deploy_failing_in, migrate, migration_ids
from tests.support import PLANNER_TABLES

EXISTING_USER = uuid.UUID("00000000-0000-4000-8000-000000000001")
MIGRATION_IDS = migration_ids()


async def connect(cluster: SupabaseCluster, role: str, database: str):
    return await asyncpg.connect(cluster.url(role, database))


# -- The cluster is Supabase's ----------------------------------------------


async def test_the_database_is_built_the_way_supabase_builds_it(
    supabase: SupabaseCluster, supabase_database: Callable[[], Awaitable[str]]
) -> None:
    name = await supabase_database()
    conn = await connect(supabase, SUPERUSER, name)
    try:
        roles = {
            r["rolname"]: (
                r["rolsuper"],
                r["rolinherit"],
                r["rolcanlogin"],
                r["rolbypassrls"],
            )
            for r in await conn.fetch("select * from pg_roles where rolname !~ '^pg_'")
        }
        assert roles == {
            "supabase_admin": (True, True, True, True),
            "postgres": (False, True, True, True),
            "authenticator": (False, False, True, False),
            "anon": (False, True, False, False),
            "authenticated": (False, True, False, False),
            "service_role": (False, True, False, True),
            "supabase_auth_admin": (False, False, True, False),
        }
        postgres = await conn.fetchrow(
            "select * from pg_roles where rolname = $1", MIGRATOR
        )
        assert (postgres["rolcreaterole"], postgres["rolcreatedb"]) == (True, True)
        assert postgres["rolreplication"]
        assert 'search_path="$user", public, extensions' in postgres["rolconfig"]
        timeouts = dict(
            await conn.fetch(
                "select rolname, rolconfig from pg_roles "
                "where rolname in ('anon', 'authenticated')"
            )
        )
        assert timeouts == {
            "anon": ["statement_timeout=3s"],
            "authenticated": ["statement_timeout=8s"],
        }
        member_of = {
            (r["role"], r["member"])
            for r in await conn.fetch(
                "select roleid::regrole::text as role, member::regrole::text as member "
                "from pg_auth_members"
            )
        }
        for role in ("anon", "authenticated", "service_role"):
            assert (role, "postgres") in member_of
            assert (role, "authenticator") in member_of
        for role in ("pg_read_all_data", "pg_monitor", "pg_signal_backend"):
            assert (role, "postgres") in member_of

        owners = dict(
            await conn.fetch(
                "select nspname, nspowner::regrole::text from pg_namespace "
                "where nspname in ('public', 'auth', 'extensions')"
            )
        )
        assert owners == {
            "public": "pg_database_owner",
            "auth": "supabase_admin",
            "extensions": "postgres",
        }
        for schema, role, privilege, expected in [
            ("auth", "postgres", "USAGE", True),
            ("auth", "postgres", "CREATE", False),
            ("auth", "anon", "USAGE", True),
            ("extensions", "authenticated", "USAGE", True),
            ("public", "postgres", "CREATE", True),
        ]:
            assert (
                await conn.fetchval(
                    "select has_schema_privilege($1, $2, $3)", role, schema, privilege
                )
                is expected
            ), (schema, role, privilege)

        users = await conn.fetchrow(
            "select relowner::regrole::text as owner, relrowsecurity, relnatts "
            "from pg_class where oid = 'auth.users'::regclass"
        )
        assert tuple(users) == ("supabase_auth_admin", True, 35)
        # The claim readers are GoTrue's; the API roles may call them through
        # PUBLIC only, with no grant of their own.
        functions = await conn.fetch(
            "select p.proname, p.proowner::regrole::text as owner, "
            "coalesce(bool_or(a.grantee = 0 and a.privilege_type = 'EXECUTE'), "
            "p.proacl is null) as public_executes, "
            "coalesce(array_agg(a.grantee::regrole::text) filter (where "
            "a.grantee::regrole::text in ('anon', 'authenticated', 'service_role')), "
            "'{}') as api_grants "
            "from pg_proc p left join lateral aclexplode(p.proacl) a on true "
            "where p.pronamespace = 'auth'::regnamespace group by p.oid order by 1"
        )
        assert [tuple(f) for f in functions] == [
            (name, "supabase_auth_admin", True, [])
            for name in ("email", "jwt", "role", "uid")
        ]

        defaults = {
            (r["role"], r["kind"], r["grantee"], r["privileges"])
            for r in await conn.fetch(
                "select d.defaclrole::regrole::text as role, "
                "d.defaclobjtype::text as kind, "
                "a.grantee::regrole::text as grantee, "
                "string_agg(a.privilege_type, ',' order by a.privilege_type) "
                "as privileges "
                "from pg_default_acl d, aclexplode(d.defaclacl) a "
                "where d.defaclnamespace = 'public'::regnamespace "
                "group by 1, 2, 3"
            )
        }
        for owner in ("postgres", "supabase_admin"):
            for grantee in ("anon", "authenticated", "service_role"):
                assert (owner, "f", grantee, "EXECUTE") in defaults
                assert (owner, "S", grantee, "SELECT,UPDATE,USAGE") in defaults
                assert any(
                    d[:3] == (owner, "r", grantee)
                    and {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"}
                    <= set(d[3].split(","))
                    for d in defaults
                )
    finally:
        await conn.close()


# -- Every commit point of a deploy -------------------------------------------


async def applied_migrations(conn: asyncpg.Connection) -> list[str]:
    if await conn.fetchval("select to_regclass('public.migration')") is None:
        return []
    return [
        r["name"] for r in await conn.fetch("select name from migration order by id")
    ]


@pytest.fixture(scope="module")
async def deploy_walk(
    supabase: SupabaseCluster,
) -> AsyncIterator[dict[tuple[str, str], list[str]]]:
    """
    Walk ``forwards all`` one migration ID at a time on one new database.
    For each migration, a deploy (``forwards all``) in which that migration
    fails at its end: the deploy first commits the migration before it,
    then fails, so what the API roles can reach afterwards is that one
    "committed" and this one "failed" (a failed deploy that left something
    behind shows under both). A last real ``forwards all`` commits the last
    migration. Returns the problems found, keyed by (state, migration id).
    """
    name = await supabase.create_database("walk")
    url = supabase.url(MIGRATOR, name)
    conn = await connect(supabase, SUPERUSER, name)
    found: dict[tuple[str, str], list[str]] = {}
    try:
        for index, migration_id in enumerate(MIGRATION_IDS):
            failed = deploy_failing_in(migration_id, url)
            problems = []
            if failed.returncode == 0 or FAILURE.format(migration_id) not in (
                failed.stdout + failed.stderr
            ):
                problems.append(
                    f"the deploy did not fail as arranged:\n{failed.stdout}"
                    f"{failed.stderr}"
                )
            recorded = await applied_migrations(conn)
            if recorded != MIGRATION_IDS[:index]:
                problems.append(
                    f"recorded after the deploy failed in {migration_id}: {recorded}"
                )
            problems += await exposures(conn)
            found[("failed", migration_id)] = problems
            if index:
                found[("committed", MIGRATION_IDS[index - 1])] = problems

        migrate(url, "forwards", "all")
        assert await applied_migrations(conn) == MIGRATION_IDS
        found[("committed", MIGRATION_IDS[-1])] = await exposures(conn)
        yield found
    finally:
        await conn.close()
        await supabase.drop_database(name)


@pytest.mark.parametrize("migration_id", MIGRATION_IDS)
def test_nothing_is_exposed_to_the_api_roles_once_a_migration_commits(
    deploy_walk: dict[tuple[str, str], list[str]], migration_id: str
) -> None:
    problems = deploy_walk[("committed", migration_id)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("migration_id", MIGRATION_IDS)
def test_a_deploy_that_fails_in_a_migration_leaves_nothing_exposed(
    deploy_walk: dict[tuple[str, str], list[str]], migration_id: str
) -> None:
    problems = deploy_walk[("failed", migration_id)]
    assert not problems, "\n".join(problems)


# -- The migrated database ----------------------------------------------------


@pytest.fixture(scope="module")
async def migrated_supabase(supabase: SupabaseCluster) -> AsyncIterator[str]:
    """A database migrated by ``forwards all`` (the name), shared read-only."""
    name = await supabase.create_database("migrated")
    try:
        migrate(supabase.url(MIGRATOR, name), "forwards", "all")
        yield name
    finally:
        await supabase.drop_database(name)


async def test_extensions_are_created_in_the_extensions_schema(
    supabase: SupabaseCluster, migrated_supabase: str
) -> None:
    conn = await connect(supabase, SUPERUSER, migrated_supabase)
    try:
        schemas = dict(
            await conn.fetch(
                "select extname, extnamespace::regnamespace::text from pg_extension "
                "where extname <> 'plpgsql'"
            )
        )
    finally:
        await conn.close()
    assert schemas, "the migrations create at least one extension (btree_gist)"
    assert set(schemas.values()) == {"extensions"}, schemas


async def test_owner_only_policies_hold_for_the_roles_postgrest_switches_to(
    supabase: SupabaseCluster, migrated_supabase: str
) -> None:
    # A signed up before the project's first migration; B after the last.
    a = EXISTING_USER
    b = await supabase.sign_up(migrated_supabase)
    # PostgREST's own connection: authenticator, switching role per request.
    conn = await connect(supabase, "authenticator", migrated_supabase)
    try:
        async with acting_as(conn, "authenticated", a, commit=True) as acting:
            vision = await acting.fetchval(
                "insert into vision (user_id, title, statement) "
                "values ($1, 'Vision A', 'Statement A') returning id",
                a,
            )
        async with acting_as(conn, "authenticated", b) as acting:
            assert (
                await acting.fetch("select * from vision where id = $1", vision) == []
            )
            assert await acting.fetch("select * from audit_log") == []
            assert (
                await acting.execute(
                    "update vision set title = 'B' where id = $1", vision
                )
                == "UPDATE 0"
            )
            assert await acting.execute("delete from vision where id = $1", vision) == (
                "DELETE 0"
            )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with acting_as(conn, "authenticated", b) as acting:
                await acting.execute(
                    "insert into vision (user_id, title, statement) "
                    "values ($1, 'Planted', 'for A')",
                    a,
                )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with acting_as(conn, "anon") as acting:
                await acting.fetch("select * from vision")
        async with acting_as(conn, "authenticated", a) as acting:
            assert [r["id"] for r in await acting.fetch("select id from vision")] == [
                vision
            ]
            audit = await acting.fetchrow(
                "select actor_id, actor_role, after from audit_log "
                "where record_id = $1",
                vision,
            )
            assert (audit["actor_id"], audit["actor_role"]) == (a, "authenticated")
            assert json.loads(audit["after"])["id"] == str(vision)
        for statement in (
            "update audit_log set table_name = 'x'",
            "delete from audit_log",
            "insert into audit_log (table_name) values ('x')",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with acting_as(conn, "authenticated", a) as acting:
                    await acting.execute(statement)
        async with acting_as(conn, "service_role") as acting:
            owners = await acting.fetch(
                "select user_id from vision where user_id = any($1::uuid[])", [a, b]
            )
            assert [r["user_id"] for r in owners] == [a]
    finally:
        await conn.close()


# -- Rolling back ---------------------------------------------------------------


async def assert_migrated_like_supabase(conn: asyncpg.Connection) -> None:
    tables = await conn.fetch(
        "select relname from pg_class where relnamespace = 'public'::regnamespace "
        "and relname = any($1::text[])",
        list(PLANNER_TABLES),
    )
    assert sorted(r["relname"] for r in tables) == sorted(PLANNER_TABLES)
    assert await schema_lint.lint(conn) == []
    # Supabase's default privileges gave the API roles everything: the
    # migrations leave exactly the intended privileges.
    privileges = await conn.fetch(
        "select grantee, table_name, string_agg(privilege_type, ',' "
        "order by privilege_type) as granted "
        "from information_schema.role_table_grants "
        "where table_schema = 'public' "
        "and grantee in ('anon', 'authenticated', 'service_role') "
        "group by 1, 2 order by 1, 2"
    )
    # The views (planner_app/views.py) and audit_log are read-only.
    read_only = {"audit_log", *(view.name for view in VIEWS)}
    expected = []
    for role in ("authenticated", "service_role"):
        for table in sorted({*PLANNER_TABLES, *read_only}):
            granted = "SELECT" if table in read_only else "DELETE,INSERT,SELECT,UPDATE"
            expected.append((role, table, granted))
    assert [tuple(r) for r in privileges] == expected


async def planner_objects(conn: asyncpg.Connection) -> list[Any]:
    """Everything of ours left in public: relations, functions, types."""
    rows = await conn.fetch(
        """
        select 'relation', relname from pg_class
         where relnamespace = 'public'::regnamespace
        union all
        select 'function', p.oid::regprocedure::text from pg_proc p
         where p.pronamespace = 'public'::regnamespace
           and not exists (select 1 from pg_depend d
                            where d.objid = p.oid and d.deptype = 'e')
        union all
        select 'type', typname from pg_type t
         where typnamespace = 'public'::regnamespace and typrelid = 0
           and typcategory <> 'A'
           and not exists (select 1 from pg_depend d
                            where d.objid = t.oid and d.deptype = 'e')
        order by 1, 2
        """
    )
    return [tuple(r) for r in rows]


async def test_rolling_back_leaves_everything_supabase_owns_as_found(
    supabase: SupabaseCluster, supabase_database: Callable[[], Awaitable[str]]
) -> None:
    name = await supabase_database()
    url = supabase.url(MIGRATOR, name)
    conn = await connect(supabase, SUPERUSER, name)
    try:
        found = await supabase_state(conn)
        forwards_may_change = CHANGED_BY_FORWARDS

        migrate(url, "forwards", "all")
        migrated = await supabase_state(conn, leave_out=forwards_may_change)
        assert (
            differences(
                {k: v for k, v in found.items() if k not in forwards_may_change},
                migrated,
            )
            == []
        )
        await assert_migrated_like_supabase(conn)

        migrate(url, "backwards", "planner_app", "all", "--auto_agree")
        assert differences(found, await supabase_state(conn)) == []
        # Only Piccolo's bookkeeping (the migration table, its key and
        # sequence) stays.
        assert [
            o for o in await planner_objects(conn) if not o[1].startswith("migration")
        ] == []

        migrate(url, "forwards", "all")
        assert (
            differences(
                {k: v for k, v in found.items() if k not in forwards_may_change},
                await supabase_state(conn, leave_out=forwards_may_change),
            )
            == []
        )
        await assert_migrated_like_supabase(conn)
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "change",
    [
        "alter role anon set statement_timeout = '60s'",
        "alter role authenticated noinherit",
        "grant service_role to anon",
        "grant create on schema auth to postgres",
        "grant execute on function auth.uid() to anon",
        "alter table auth.users disable row level security",
        "alter default privileges for role postgres in schema public "
        "revoke all on sequences from anon",
        "create extension pg_trgm with schema extensions",
        "comment on schema extensions is 'changed'",
        "drop event trigger pgrst_drop_watch",
        f"update auth.users set email = 'changed@example.test' "
        f"where id = '{EXISTING_USER}'",
    ],
)
async def test_the_snapshot_sees_each_kind_of_change(
    supabase: SupabaseCluster, migrated_supabase: str, change: str
) -> None:
    conn = await connect(supabase, SUPERUSER, migrated_supabase)
    try:
        found = await supabase_state(conn)
        async with rolled_back(conn):
            await conn.execute(change)
            assert differences(found, await supabase_state(conn)) != []
    finally:
        await conn.close()
