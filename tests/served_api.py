"""
A real ``piccolo planner_app serve`` on 127.0.0.1 for the tests that need the
whole stack (uvicorn, the pool, the limits), connected as a login role like
Supabase's ``authenticator``. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from planner_app.api import JWT_SECRET_VARIABLE
from tests.support import PICCOLO, PROJECT_ROOT

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def free_port() -> int:
    """A local TCP port nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@asynccontextmanager
async def api_login_role(db: asyncpg.Connection, url: str) -> AsyncIterator[str]:
    """
    A login role of its own like Supabase's ``authenticator`` (NOINHERIT: no
    privilege of its own; a member of the three API roles), yielded as the
    URL of ``url``'s database for that role. Its sessions are the API's in
    ``pg_stat_activity`` (``usename``).
    """
    role = f"planner_api_{uuid.uuid4().hex[:8]}"
    await db.execute(f"create role {role} login noinherit")
    await db.execute(f"grant anon, authenticated, service_role to {role}")
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    try:
        yield urlunsplit(parts._replace(netloc=f"{role}@{host}"))
    finally:
        await db.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where usename = $1",
            role,
        )
        await db.execute(f"drop role {role}")


@dataclass
class Served:
    """A running ``serve``: its base URL, and its output once stopped."""

    url: str
    port: int
    role: str
    output: list[str] = field(default_factory=list)


@asynccontextmanager
async def served_api(database_url: str, secret: str) -> AsyncIterator[Served]:
    """
    ``piccolo planner_app serve`` on a free port of 127.0.0.1, on
    ``database_url``, until the block ends (then terminated, or killed).
    """
    port = free_port()
    # A file, not a pipe: a full pipe would stall the server's logging.
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [PICCOLO, "planner_app", "serve", f"--port={port}"],
        cwd=PROJECT_ROOT,
        env={**os.environ, JWT_SECRET_VARIABLE: secret, "DATABASE_URL": database_url},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Served(
        f"http://127.0.0.1:{port}", port, urlsplit(database_url).username or ""
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient(base_url=served.url, timeout=5) as http:
            while True:
                assert server.poll() is None, "serve exited"
                assert time.monotonic() < deadline, "serve did not answer in time"
                try:
                    if (await http.get("/openapi.json")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        yield served
    finally:
        server.terminate()
        try:
            server.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=STOP_TIMEOUT)
        log.seek(0)
        served.output.append(log.read())
        log.close()
