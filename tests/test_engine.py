"""
``planner_app/engine.py``: Piccolo's engine finds its database on first use,
and holds connections for ``piccolo planner_app <command>`` until the
command runs.
"""

from __future__ import annotations

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
