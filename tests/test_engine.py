"""
``planner_app/engine.py``: Piccolo's engine finds its database on first use,
and holds connections for ``piccolo planner_app <command>`` until the
command runs.
"""

from __future__ import annotations

import asyncpg
import pytest

from planner_app.engine import ConnectionHeld, PlannerEngine, runs_app_command


def test_creating_the_engine_resolves_nothing():
    calls: list[str] = []

    def url() -> str:
        calls.append("resolved")
        return "postgresql://nobody@127.0.0.1:1/none"

    engine = PlannerEngine(url, held=False)

    assert calls == []
    assert engine.database_url == "postgresql://nobody@127.0.0.1:1/none"
    assert engine.config == {"dsn": "postgresql://nobody@127.0.0.1:1/none"}
    assert calls == ["resolved"], "resolved once"


async def test_a_held_engine_refuses_to_connect_until_released(database_url):
    engine = PlannerEngine(lambda: database_url, held=True)

    with pytest.raises(ConnectionHeld):
        await engine.get_new_connection()
    with pytest.raises(ConnectionHeld):
        await engine.start_connection_pool()

    engine.release()
    connection = await engine.get_new_connection()
    try:
        assert await connection.fetchval("select 1") == 1
    finally:
        await connection.close()


@pytest.mark.parametrize(
    ("argv", "held"),
    [
        (["piccolo", "planner_app", "seed"], True),
        (["piccolo", "planner_app", "migrate", "--check"], True),
        (["piccolo", "migrations", "forwards", "all"], False),
        (["piccolo", "sql_shell", "run"], False),
        (["pytest", "-q"], False),
    ],
)
def test_only_the_planners_commands_are_held(argv, held):
    assert runs_app_command(argv) is held


async def test_piccolos_migration_table_is_private_from_its_creation(
    migrated: str, fresh_database
) -> None:
    # ``migrated`` makes sure the API roles exist on this server.
    from piccolo.apps.migrations.tables import Migration

    url = await fresh_database()
    engine = PlannerEngine(database_url=lambda: url, held=False)
    for ddl in Migration.create_table().ddl:
        await engine.run_ddl(ddl, in_pool=False)
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval(
            "select relrowsecurity from pg_class "
            "where oid = 'public.migration'::regclass"
        )
        granted = await conn.fetch(
            "select r.rolname from pg_roles r "
            "where r.rolname in ('anon', 'authenticated', 'service_role') and ("
            "has_table_privilege(r.rolname, 'public.migration', "
            "'select, insert, update, delete, truncate') "
            "or has_sequence_privilege(r.rolname, 'public.migration_id_seq', "
            "'usage, select, update'))"
        )
        assert granted == []
    finally:
        await conn.close()
