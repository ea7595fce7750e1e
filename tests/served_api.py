"""
A real ``piccolo planner_app serve`` on 127.0.0.1 for the tests that need the
whole stack (uvicorn, the pool, the limits), connected as a login role like
Supabase's ``authenticator``. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import h11
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
async def served_api(
    database_url: str, secret: str, *options: str
) -> AsyncIterator[Served]:
    """
    ``piccolo planner_app serve`` on a free port of 127.0.0.1, on
    ``database_url``, until the block ends (then terminated, or killed).

    :param options:
        More options of ``serve`` (``--body-timeout=2``).
    """
    port = free_port()
    # A file, not a pipe: a full pipe would stall the server's logging.
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [PICCOLO, "planner_app", "serve", f"--port={port}", *options],
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


@dataclass
class Answer:
    """An HTTP answer read off a raw connection."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Collected(asyncio.Protocol):
    """Everything the server sends, kept even if it then resets."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.changed = asyncio.Event()
        self.closed = False
        self.error: Exception | None = None
        """Why the connection ended, if not in order (a reset, say)."""

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.changed.set()

    def eof_received(self) -> bool:
        self.closed = True
        self.changed.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.error = exc
        self.changed.set()


class RawClient:
    """
    One TCP connection to the server, for requests no HTTP client library
    would send: half a body, a body larger than it says, headers a byte at a
    time. What the server sends is collected as it arrives (a reset after an
    early answer cannot erase it) and parsed with h11.
    """

    def __init__(self, transport: asyncio.Transport, received: _Collected) -> None:
        self.transport = transport
        self.received = received
        self.parser = h11.Connection(h11.CLIENT)
        self.parsed = 0
        # The parser must think it sent a request to read an answer.
        self.parser.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
        self.parser.send(h11.EndOfMessage())

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        loop = asyncio.get_running_loop()
        transport, received = await asyncio.wait_for(
            loop.create_connection(_Collected, "127.0.0.1", port), timeout=10
        )
        return cls(transport, received)

    @property
    def answered(self) -> bool:
        """Whether the server has sent anything, or closed."""
        return bool(self.received.data) or self.received.closed

    async def send(self, data: bytes) -> bool:
        """Send ``data``; ``False`` once the server has answered or closed."""
        if self.answered or self.transport.is_closing():
            return False
        self.transport.write(data)
        # Let the server's bytes in, and keep at most 1 MiB in flight.
        await asyncio.sleep(0)
        while self.transport.get_write_buffer_size() > 1024 * 1024:
            if self.answered:
                return False
            await asyncio.sleep(0.01)
        return True

    async def answer(self, timeout: float) -> Answer:
        """
        The server's answer, within ``timeout`` seconds.

        :raises TimeoutError:
            No complete answer in time.
        """
        status, headers, body = 0, {}, bytearray()
        async with asyncio.timeout(timeout):
            while True:
                event = self.parser.next_event()
                if event is h11.NEED_DATA:
                    await self._feed()
                elif isinstance(event, h11.Response):
                    status = event.status_code
                    headers = {k.decode(): v.decode() for k, v in event.headers}
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    return Answer(status, headers, bytes(body))

    async def _feed(self) -> None:
        while len(self.received.data) == self.parsed and not self.received.closed:
            self.received.changed.clear()
            await self.received.changed.wait()
        if len(self.received.data) > self.parsed:
            self.parser.receive_data(bytes(self.received.data[self.parsed :]))
            self.parsed = len(self.received.data)
        else:
            self.parser.receive_data(b"")

    async def closed_by_server(self, timeout: float) -> bool:
        """Whether the server closes the connection within ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                while not self.received.closed:
                    self.received.changed.clear()
                    await self.received.changed.wait()
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.transport.close()


def request_head(
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
) -> bytes:
    """The request line and headers of an HTTP/1.1 request, as bytes."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
