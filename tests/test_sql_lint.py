"""
The raw SQL of every migration passes squawk with the rules in
``.squawk.toml`` (run by ``scripts/lint_sql.py``, as in CI), and the lint
catches what it should: a risky forwards statement fails it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from scripts.lint_sql import BACKWARDS_EXCLUDED_RULES, lint


def run_lint(folder: Path | None = None) -> list[subprocess.CompletedProcess[str]]:
    kwargs = {"migrations": folder} if folder else {}
    return lint(**kwargs, extra_args=["--reporter=gcc"], capture_output=True)


def test_migration_sql_passes_squawk():
    for result in run_lint():
        assert result.returncode == 0, result.stdout + result.stderr


def test_dropping_in_a_forwards_file_fails_squawk(tmp_path: Path):
    drop = "alter table goal drop constraint goal_one_per_type;\n"
    (tmp_path / "m.forwards.sql").write_text(drop)
    (tmp_path / "m.backwards.sql").write_text(drop)

    forwards, backwards = run_lint(tmp_path)

    assert forwards.returncode != 0
    assert "ban-drop-constraint" in forwards.stdout
    assert "ban-drop-constraint" in BACKWARDS_EXCLUDED_RULES
    assert backwards.returncode == 0, backwards.stdout


def test_a_rule_not_excluded_still_fails_backwards_files(tmp_path: Path):
    (tmp_path / "m.forwards.sql").write_text("select 1;\n")
    (tmp_path / "m.backwards.sql").write_text("drop database postgres;\n")

    _, backwards = run_lint(tmp_path)

    assert backwards.returncode != 0
    assert "ban-drop-database" in backwards.stdout
