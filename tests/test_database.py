"""
Database selection (``planner_app/database.py``): ``DATABASE_URL`` wins,
otherwise the project starts its embedded PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from planner_app.database import (
    DatabaseConfigError,
    _forget_stale_handles,
    embedded_data_dir,
    validate_database_url,
    with_database,
)
from tests.support import PICCOLO, PROJECT_ROOT, run_cli, run_piccolo


async def test_the_suite_runs_on_the_engine_it_was_asked_for(db):
    """DATABASE_URL set: that server; unset: the embedded server's data dir."""
    data_directory = Path(await db.fetchval("show data_directory")).resolve()
    on_embedded = data_directory == embedded_data_dir().resolve()
    assert on_embedded == (os.environ["PLANNER_TEST_ENGINE"] == "embedded")
    if on_embedded:
        assert await db.fetchval("show server_version_num") >= "180000"


def test_a_database_url_must_be_a_postgres_url():
    assert validate_database_url("postgres://u@h/db") == "postgres://u@h/db"
    with pytest.raises(DatabaseConfigError, match="postgres://"):
        validate_database_url("mysql://u@h/db")


def test_with_database_keeps_server_and_options():
    url = "postgresql://postgres:@/planner?host=/srv/pg"
    assert with_database(url, "other") == "postgresql://postgres:@/other?host=/srv/pg"


def test_cli_rejects_a_non_postgres_url_with_one_line():
    result = run_cli("migrations", "forwards", "all", database_url="mysql://h/db")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: DATABASE_URL must start with postgres:// or postgresql://, got 'mysql'"
    ]


def readme_main_job() -> list[str]:
    """The README's main job, step by step (its ``&&``-joined command)."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("Run the main job", 1)[1]
    command = section.split("```sh\n", 1)[1].split("\n```", 1)[0]
    return [step.strip() for step in command.split("&&")]


def bad_url(kind: str, server_url: str, unused_port: int) -> str:
    """A URL of ``kind`` beside the test server's."""
    parts = urlsplit(server_url)
    if kind == "unreachable":
        return f"postgresql://postgres@127.0.0.1:{unused_port}/postgres"
    if kind == "unknown_role":
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"no_such_role_here@{host}"))
    return with_database(server_url, "no_such_database")


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("unreachable", "Connect call failed"),
        ("unknown_role", "no_such_role_here"),
        ("missing_database", "no_such_database"),
    ],
)
def test_the_readmes_main_job_on_a_bad_database_url_says_one_line(
    database_url, unused_port, kind, says
):
    steps = readme_main_job()
    setup = [s for s in steps if not s.startswith(".venv/bin/piccolo ")]
    # Creating the virtualenv and installing are not rerun here; every step
    # that touches the database is.
    assert [s.split()[0] for s in setup] == ["python3", ".venv/bin/pip"]
    assert steps[: len(setup)] == setup
    bad = bad_url(kind, database_url, unused_port)
    command = " && ".join(steps[len(setup) :]).replace(
        ".venv/bin/", f"{Path(PICCOLO).parent}/"
    )

    result = subprocess.run(
        ["sh", "-c", command],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": bad},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "The command failed" not in result.stdout, "Piccolo's usage dump"
    assert "Usage" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot connect to the database: ")
    assert says in lines[0] and lines[0].endswith("check DATABASE_URL")


def test_pids_of_dead_processes_are_forgotten_before_starting(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    pid_file = tmp_path / ".handle_pids.json"
    pid_file.write_text(json.dumps([os.getpid(), dead.pid]))

    _forget_stale_handles(tmp_path)

    assert json.loads(pid_file.read_text()) == [os.getpid()]


@pytest.fixture
def embedded_data_folder() -> Iterator[Path]:
    """
    A data folder for an embedded server of its own, directly under the
    system's temporary folder: run as root, the server runs as another user
    and needs every parent folder readable, which pytest's own temporary
    folders are not (pytest resets them to 0700 while other runs start).
    """
    with tempfile.TemporaryDirectory(prefix="planner-embedded-") as folder:
        yield Path(folder) / "pgdata"


def test_without_database_url_the_cli_starts_and_stops_the_embedded_server(
    embedded_data_folder,
):
    data_dir = embedded_data_folder
    out_dir = data_dir.parent / "out"
    # XDG_RUNTIME_DIR unset, as in CI, containers and `su -`: the package
    # behind the embedded server then warns on import unless told not to.
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "XDG_RUNTIME_DIR")
        },
        "PLANNER_PGDATA": str(data_dir),
    }

    def piccolo(*args: str) -> subprocess.CompletedProcess[str]:
        result = run_piccolo(*args, env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        assert "Warning" not in result.stderr, result.stderr
        assert "Warning" not in result.stdout, result.stdout
        return result

    result = piccolo("migrations", "forwards", "all")
    assert f"Using the embedded PostgreSQL in {data_dir}" in result.stderr
    assert (data_dir / "PG_VERSION").read_text().strip() == "18"
    # The last (only) user of the server has exited: the server stopped.
    assert not (data_dir / "postmaster.pid").exists()
    # Later commands reuse the data folder: the migrations are there.
    result = piccolo("migrations", "check")
    assert "2026-11-26T00:00:01:000000" in result.stdout
    assert "False" not in result.stdout
    # Every planner command on the embedded default: one line on stderr,
    # the server's, and no warning.
    for command in (
        ("planner_app", "migrate", "--check"),
        ("planner_app", "seed", "--users=1"),
        ("planner_app", "export_schema", f"--out={out_dir}"),
        ("planner_app", "psql", "--command=select count(*) from vision"),
    ):
        result = piccolo(*command)
        assert result.stderr.splitlines() == [
            f"Using the embedded PostgreSQL in {data_dir} "
            "(set DATABASE_URL to use another server)"
        ], command
    assert not (data_dir / "postmaster.pid").exists()
