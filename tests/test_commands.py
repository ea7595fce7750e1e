"""
The app's commands follow one convention: options spelt with hyphens or
underscores, one ``error:`` line and exit status 1 for every refusal, the
same hint for an unmigrated database, no connection (and no embedded server)
before the command runs, and ``psql`` opens a SQL shell on the project's
database.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from planner_app.commands import MIGRATE_HINT, CommandError, parse_options
from planner_app.commands.psql import psql_arguments
from planner_app.database import database_name
from tests.support import PROJECT_ROOT, run_cli, run_piccolo


@pytest.mark.parametrize("option", ["--dry-run", "--dry_run"])
async def test_migrate_dry_run_takes_either_spelling_and_applies_nothing(
    fresh_database, option
):
    url = await fresh_database()
    result = run_cli("planner_app", "migrate", option, database_url=url)
    assert result.returncode == 0, result.stderr
    assert 'CREATE TABLE "vision"' in result.stdout
    conn = await asyncpg.connect(url)
    try:
        # Neither a migration's objects nor its record.
        assert await conn.fetchval("select to_regclass('public.vision')") is None
        if await conn.fetchval("select to_regclass('public.migration')"):
            assert await conn.fetchval("select count(*) from public.migration") == 0
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--lock-timeout=abc"],
            "error: --lock-timeout takes a whole number, got 'abc'",
        ),
        (
            ["--check", "--no-such-option"],
            "error: unknown option --no-such-option; "
            "see `piccolo planner_app migrate --help`",
        ),
    ],
)
def test_a_bad_option_is_one_line_and_a_non_zero_exit(migrated, args, message):
    result = run_cli("planner_app", "migrate", *args, database_url=migrated)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in result.stderr


# One convention for every ``piccolo planner_app`` command
# (planner_app/commands/__init__.py, docs/cli.md).

COMMANDS = ("migrate", "seed", "export_schema", "serve", "psql")


def without_database_url(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return {**env, **extra}


@pytest.mark.parametrize("command", COMMANDS)
def test_help_starts_no_server_and_creates_no_data_folder(tmp_path, command):
    data_dir = tmp_path / "pgdata"

    # The real entry point, started afresh: nothing before main() runs a server.
    result = run_piccolo(
        "planner_app",
        command,
        "--help",
        env=without_database_url(PLANNER_PGDATA=str(data_dir)),
        fresh=True,
    )

    assert result.returncode == 0, result.stderr
    assert "Args" in result.stdout
    assert result.stderr == ""
    assert not data_dir.exists()


def test_importing_piccolo_conf_starts_no_server(tmp_path):
    data_dir = tmp_path / "pgdata"

    result = subprocess.run(
        [sys.executable, "-c", "import piccolo_conf; print(piccolo_conf.DB.held)"],
        cwd=PROJECT_ROOT,
        env=without_database_url(PLANNER_PGDATA=str(data_dir)),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "False\n"
    assert result.stderr == ""
    assert not data_dir.exists()


@pytest.mark.parametrize("command", COMMANDS)
async def test_help_writes_nothing_to_an_empty_database(fresh_database, command):
    url = await fresh_database()

    result = run_cli("planner_app", command, "--help", database_url=url)

    assert result.returncode == 0, result.stderr
    # Piccolo's CLI would create its migration table to count pending
    # migrations; the planner's engine holds connections until a command runs.
    assert await tables(url) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_option_is_one_line_for_every_command(database_url, command):
    result = run_cli("planner_app", command, "--no-such-option")

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: unknown option --no-such-option; "
        f"see `piccolo planner_app {command} --help`"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["seed", "--users=abc"], "error: --users takes a whole number, got 'abc'"),
        (["seed", "--users"], "error: --users needs a value, e.g. --users=N"),
        (["seed", "--reset=yes"], "error: --reset is a flag and takes no value"),
        (["migrate", "--dry-run=yes"], "error: --dry-run is a flag and takes no value"),
        (["export_schema", "--out"], "error: --out needs a value, e.g. --out=..."),
    ],
)
def test_a_wrong_value_is_one_line(database_url, args, message):
    result = run_cli("planner_app", *args)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [message]


@pytest.mark.parametrize(
    "args",
    [
        ["seed", "--users=1"],
        ["export_schema", "--check"],
        ["migrate", "--check"],
    ],
)
async def test_every_command_gives_the_same_hint_for_an_unmigrated_database(
    fresh_database, args
):
    url = await fresh_database()

    result = run_cli("planner_app", *args, database_url=url)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and last.endswith(MIGRATE_HINT), last
    assert "pending migration(s)" in last
    assert await tables(url) == [], "a refused command writes nothing"


def test_every_registered_command_follows_the_convention():
    """
    ``@cli_command`` also releases the engine, which holds connections for
    ``piccolo planner_app ...`` until the command starts.
    """
    from piccolo.conf.apps import Command

    from planner_app.piccolo_app import APP_CONFIG

    callables = [
        command.callable if isinstance(command, Command) else command
        for command in APP_CONFIG.commands
    ]
    names = sorted(getattr(c, "__name__", "") for c in callables)
    assert names == sorted(COMMANDS), "COMMANDS lists every registered command"
    for callable_ in callables:
        assert getattr(callable_, "cli_command", False), callable_
        assert inspect.getdoc(callable_), "the docstring is the --help text"


def test_no_command_is_named_like_one_of_piccolos_apps():
    """Piccolo's CLI would run it for ``piccolo <that app> <command>``."""
    import piccolo.main  # noqa: F401  (registers Piccolo's own apps)
    from piccolo.conf.apps import Command

    from planner_app.piccolo_app import APP_CONFIG

    piccolo_apps = {
        module.APP_CONFIG.app_name
        for name, module in sys.modules.items()
        if name.startswith("piccolo.apps.") and name.endswith(".piccolo_app")
    }
    assert {"migrations", "sql_shell", "shell"} <= piccolo_apps
    for command in APP_CONFIG.commands:
        names = (
            [command.command_name or command.callable.__name__, *command.aliases]
            if isinstance(command, Command)
            else [command.__name__]
        )
        assert not set(names) & piccolo_apps, names


def test_the_seed_command_default_is_the_generator_default():
    from planner_app.commands.seed import seed
    from seeds import DEFAULT_SEED

    assert inspect.signature(seed).parameters["seed"].default == DEFAULT_SEED


def test_options_take_hyphens_or_underscores_and_numbers_are_converted():
    async def command(dry_run: bool = False, lock_timeout: int = 3, today: str = ""):
        """:param dry_run: x"""

    assert parse_options(command, {"dry-run": True, "lock_timeout": "7"}) == {
        "dry_run": True,
        "lock_timeout": 7,
    }
    assert parse_options(command, {"today": "2026-11-23"}) == {"today": "2026-11-23"}
    with pytest.raises(CommandError, match="--lock-timeout takes a whole number"):
        parse_options(command, {"lock-timeout": "soon"})


# Looking at the data: ``piccolo planner_app psql`` (and Piccolo's own
# ``piccolo sql_shell run``) open psql on the project's database.


async def test_psql_runs_on_the_project_database(fresh_database):
    url = await fresh_database()

    result = run_cli(
        "planner_app",
        "psql",
        "--command=select current_database()",
        database_url=url,
    )

    assert result.returncode == 0, result.stderr
    assert database_name(url) in result.stdout


async def test_psql_and_piccolos_sql_shell_read_sql_from_standard_input(fresh_database):
    url = await fresh_database()

    for args in (["planner_app", "psql"], ["sql_shell", "run"]):
        result = run_cli(
            *args, database_url=url, input="select 'shell ' || current_database();"
        )

        assert result.returncode == 0, result.stderr
        assert f"shell {database_name(url)}" in result.stdout, args


def test_psql_passes_the_url_and_sql_to_psql():
    arguments = psql_arguments("postgresql://u@h:5/db", "select 1")

    assert Path(arguments[0]).name == "psql"
    assert arguments[1:] == ["postgresql://u@h:5/db", "--command", "select 1"]


def test_a_failing_statement_in_psql_is_a_non_zero_exit(database_url):
    result = run_cli("planner_app", "psql", "--command=select nonsense")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "error: psql exited with status 1"


async def tables(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "select schemaname || '.' || tablename from pg_tables "
            "where schemaname not in ('pg_catalog', 'information_schema')"
        )
        return [row[0] for row in rows]
    finally:
        await conn.close()


async def test_seeding_existing_users_with_another_today_points_at_reset(
    fresh_database,
):
    url = await fresh_database(migrated=True)
    first = run_cli(
        "planner_app", "seed", "--users=1", "--today=2026-01-05", database_url=url
    )
    assert first.returncode == 0, first.stderr

    again = run_cli(
        "planner_app", "seed", "--users=1", "--today=2026-02-02", database_url=url
    )

    assert again.returncode == 0, again.stderr
    assert "Nothing to do" in again.stdout
    hint = again.stdout.strip().splitlines()[-1]
    assert "--today=2026-02-02 does not move them" in hint
    assert "add --reset" in hint

    reset = run_cli(
        "planner_app",
        "seed",
        "--users=1",
        "--today=2026-02-02",
        "--reset",
        database_url=url,
    )
    assert reset.returncode == 0, reset.stderr
    assert "1 users created" in reset.stdout and "--reset" not in reset.stdout


# The suite runs most commands as children of a fork server
# (tests/cli_forkserver.py): each must answer exactly as the real piccolo.


@pytest.mark.parametrize(
    "args",
    [
        ("planner_app", "seed", "--users=abc"),
        ("planner_app", "migrate", "--check"),
        ("planner_app", "psql", "--command=select count(*) from vision"),
        ("migrations", "check"),
    ],
)
def test_a_forked_command_answers_as_the_real_piccolo(database_url, args):
    env = {**os.environ, "DATABASE_URL": database_url}

    forked = run_piccolo(*args, env=env)
    fresh = run_piccolo(*args, env=env, fresh=True)

    assert (forked.returncode, forked.stdout, forked.stderr) == (
        fresh.returncode,
        fresh.stdout,
        fresh.stderr,
    )
    assert forked.stdout or forked.stderr
