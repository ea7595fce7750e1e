"""
``serve``: the API under uvicorn, with the connection limits of
:mod:`planner_app.api.limits` (``docs/api.md``, "Limits").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from planner_app.api.app import create_app
from planner_app.api.limits import LIMITS, Limits

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class LingeringTransport:
    """
    A connection's transport whose ``close()`` lingers while the client is
    still sending a request body the server has answered without reading
    (a 413, a 408): closing a socket with unread data makes the kernel send
    a reset, which can destroy the answer before the client reads it. So
    the server half-closes instead (``write_eof``: the answer, then end of
    stream), reads and discards what still arrives, and closes once the
    client closes its side, after ``linger_timeout`` seconds, or after
    ``max_bytes`` more bytes, whichever comes first (RFC 9112, 9.6). Every
    other close, and an abort, is immediate.
    """

    def __init__(
        self,
        transport: asyncio.Transport,
        must_linger: Callable[[], bool],
        timeout: float,
        max_bytes: int,
    ) -> None:
        self._transport = transport
        self._must_linger = must_linger
        self._timeout = timeout
        self._left = max_bytes
        self._deadline: asyncio.TimerHandle | None = None
        self.lingering = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self.lingering or self._transport.is_closing()

    def close(self) -> None:
        if self.is_closing():
            return
        if not (self._must_linger() and self._transport.can_write_eof()):
            self._transport.close()
            return
        self.lingering = True
        self._transport.write_eof()
        self._transport.resume_reading()
        self._deadline = asyncio.get_running_loop().call_later(
            self._timeout, self.finish
        )

    def discard(self, data: bytes) -> None:
        """What arrives while lingering: counted, never parsed."""
        self._left -= len(data)
        if self._left < 0:
            self.finish()

    def finish(self) -> None:
        """Stop lingering: close for good."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._transport.close()


class HeaderDeadlineProtocol(H11Protocol):
    """
    uvicorn's HTTP/1.1 protocol with a deadline for each request's headers:
    uvicorn has none, so a client sending its headers a byte at a time would
    hold a connection (and a slot of ``limit_concurrency``) for ever. The
    connection is closed unless a new request's headers are complete within
    ``header_timeout`` of its start or of the previous answer.
    """

    header_timeout: float = LIMITS.header_timeout
    send_timeout: float = LIMITS.send_timeout
    linger_timeout: float = LIMITS.linger_timeout
    max_linger_bytes: int = LIMITS.max_linger_bytes
    _header_deadline: asyncio.TimerHandle | None = None
    _send_deadline: asyncio.TimerHandle | None = None

    # The send deadline: asyncio calls pause_writing when the connection's
    # send buffer is full (the client reads too slowly, or not at all) and
    # resume_writing once it drains. Paused for send_timeout, the
    # connection is dropped (abort, not close: close would wait for the
    # buffer to drain), so an unread answer holds neither its memory nor
    # its slot longer than that.
    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_deadline is None:
            self._send_deadline = self.loop.call_later(
                self.send_timeout, self.transport.abort
            )

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._send_deadline is not None:
            self._send_deadline.cancel()
            self._send_deadline = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        lingering = LingeringTransport(
            transport,
            # An answer sent, the client still in the middle of its body.
            lambda: self.conn.their_state is h11.SEND_BODY,
            self.linger_timeout,
            self.max_linger_bytes,
        )
        super().connection_made(lingering)  # type: ignore[arg-type]
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        if self.transport.lingering:
            self.transport.discard(data)
            return
        super().data_received(data)

    def eof_received(self) -> None:
        # The client has closed its side: nothing more to wait for.
        if self.transport.lingering:
            self.transport.finish()

    def on_response_complete(self) -> None:
        answered = self.cycle
        super().on_response_complete()
        self._await_headers(answered)

    def connection_lost(self, exc: Exception | None) -> None:
        for deadline in (self._header_deadline, self._send_deadline):
            if deadline is not None:
                deadline.cancel()
        if self.transport.lingering:
            self.transport.finish()
        super().connection_lost(exc)

    def _await_headers(self, answered: Any = None) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()

        def expire() -> None:
            # Still the request answered last (or none): no new headers came.
            if self.cycle is answered and not self.transport.is_closing():
                self.transport.close()

        self._header_deadline = self.loop.call_later(self.header_timeout, expire)


def uvicorn_config(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, limits: Limits = LIMITS
) -> uvicorn.Config:
    """
    uvicorn's configuration for the API: HTTP/1.1 (h11) with the header
    deadline, keep-alive, header size and concurrency of ``limits``.

    :raises ApiConfigError:
        No usable ``PLANNER_JWT_SECRET``.
    """
    protocol = type(
        "PlannerHTTPProtocol",
        (HeaderDeadlineProtocol,),
        {
            "header_timeout": limits.header_timeout,
            "send_timeout": limits.send_timeout,
            "linger_timeout": limits.linger_timeout,
            "max_linger_bytes": limits.max_linger_bytes,
        },
    )
    return uvicorn.Config(
        create_app(limits=limits),
        host=host,
        port=port,
        lifespan="on",
        http=protocol,
        timeout_keep_alive=limits.keep_alive,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        limit_concurrency=limits.max_connections,
    )


async def serve(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, limits: Limits = LIMITS
) -> None:
    """
    Run the API with uvicorn until interrupted.

    :raises ApiConfigError:
        No usable ``PLANNER_JWT_SECRET``.
    """
    await uvicorn.Server(uvicorn_config(host, port, limits)).serve()
