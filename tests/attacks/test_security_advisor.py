"""
Supabase's Security Advisor (splinter) finds nothing on the project's
objects: the project's lint (:mod:`tests.schema_lint`, splinter's rules with
splinter's scopes, every project schema, ``pg_temp`` named last in every
function's ``search_path``) reports nothing on the migrated database. On the
schema before ``planner_app_0007_function_search_path`` it reports the
functions of ``planner_private`` that splinter reported on a real Supabase
build (``function_search_path_mutable``). The same lint runs on the
Supabase-like cluster in ``tests/supabase/test_fidelity.py``; each rule's own
breakage test is in ``tests/test_schema_lint.py``.
"""

from __future__ import annotations

from tests import schema_lint
from tests.support import connected, run_cli

BEFORE_0007 = "2026-12-04T00:00:07:000000"

# What splinter reported on a real Supabase build before 0007.
REPORTED = {
    "assert_week_open",
    "audit_log_append_only",
    "cycle_derive",
    "cycle_lock_switch",
    "cycle_move_weeks",
    "goal_check_cycle",
    "is_rfc_9562",
    "maintain_row",
    "may_lift_lock",
    "plan_item_derive",
    "raise_missing_parent",
    "task_derive",
    "week_lockable",
    "weekly_plan_derive",
}


async def test_the_security_advisor_finds_nothing(db) -> None:
    assert await schema_lint.lint(db) == []


async def test_before_0007_the_functions_splinter_named_are_reported(
    fresh_database,
) -> None:
    url = await fresh_database(migrated=True)
    rolled_back = run_cli(
        "migrations",
        "backwards",
        "planner_app",
        BEFORE_0007,
        "--auto_agree",
        database_url=url,
    )
    assert rolled_back.returncode == 0, rolled_back.stdout + rolled_back.stderr
    async with connected(url) as conn:
        problems = await schema_lint.function_search_path_mutable(conn)
    named = {
        problem.split("planner_private.", 1)[1].split("(", 1)[0]
        for problem in problems
        if "planner_private." in problem
    }
    assert named >= REPORTED, problems
