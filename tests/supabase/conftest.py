"""
Fixtures of the Supabase-faithful database: one cluster per test session
(``supabase``), built by :mod:`tests.supabase.cluster` whatever the engine of
the run, and fresh databases on it as Supabase hands a project over
(``supabase_database``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from tests.supabase.cluster import SupabaseCluster, build_cluster


@pytest.fixture(scope="session")
def supabase(pytestconfig: pytest.Config) -> Iterator[SupabaseCluster]:
    """The running Supabase-like cluster of this session."""
    cluster = build_cluster(pytestconfig.planner_engine)  # type: ignore[attr-defined]
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
async def supabase_database(
    supabase: SupabaseCluster,
) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """
    A factory of new databases on the Supabase-like cluster, as Supabase
    hands them over (before any migration); each is dropped after the test.
    Returns the database's name; ``supabase.url(role, name)`` connects.
    """
    created: list[str] = []

    async def create() -> str:
        name = await supabase.create_database()
        created.append(name)
        return name

    yield create
    for name in created:
        await supabase.drop_database(name)
