"""The ER diagram (:mod:`planner_app.schema_export.erd`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from planner_app.schema_export.catalog import ForeignKey
from planner_app.schema_export.erd import relationships
from planner_app.schema_export.model import Column, TableSchema
from tests.schema_export.conftest import SCHEMA_DIR
from tests.support import PROJECT_ROOT

SINGLE = ForeignKey("goal_cycle_id_fkey", ("cycle_id",), "public", "cycle", ("id",))
SAME_OWNER = ForeignKey(
    "goal_cycle_same_owner_fkey",
    ("cycle_id", "user_id"),
    "public",
    "cycle",
    ("id", "user_id"),
)
OWNER = ForeignKey("goal_user_id_fkey", ("user_id",), "auth", "users", ("id",))


def goal(*keys: ForeignKey) -> TableSchema:
    columns = [
        Column(name, "uuid", nullable=False) for name in ("id", "cycle_id", "user_id")
    ]
    return TableSchema("goal", "Goal", "", columns, list(keys), [])


def test_one_line_per_parent_whether_or_not_a_single_column_key_exists() -> None:
    both = relationships([goal(SINGLE, SAME_OWNER, OWNER)])
    assert [key.name for _, key in both] == ["goal_cycle_id_fkey", "goal_user_id_fkey"]
    composite_only = relationships([goal(SAME_OWNER, OWNER)])
    assert [key.name for _, key in composite_only] == [
        "goal_cycle_same_owner_fkey",
        "goal_user_id_fkey",
    ]


def test_the_er_diagram_parses_as_mermaid(tmp_path: Path) -> None:
    check = SCHEMA_DIR / "check-erd.mjs"
    erd = PROJECT_ROOT / "docs" / "erd.md"
    broken = tmp_path / "erd.md"
    broken.write_text(erd.read_text().replace("||--o{ vision", "||--o{{ vision"))
    # One Mermaid start-up for both files: the real diagram, and the same
    # diagram with one relationship made invalid, which must be refused.
    result = subprocess.run(
        ["node", str(check), str(erd), str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{erd}: the Mermaid er diagram parses"]
    assert result.stderr.startswith(f"{broken}: Parse error"), result.stderr
