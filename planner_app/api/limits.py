"""
The bounds every request of the HTTP API lives within (``docs/api.md``,
"Limits"), and the errors that answer a request outside them.

A request earns its resources in order: its headers arrive in time, its
token is valid, its URL and body arrive in time, fit and parse; only then
does it wait (boundedly) for a database connection, and its transaction then
runs under per-statement time limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner_app.errors import ConcurrencyError, PlannerError, ValidationError

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The API's limits; :data:`LIMITS` holds the values it runs with."""

    max_body_bytes: int = 1 * MiB
    """A larger body is refused with 413 before it is parsed: from its
    ``Content-Length``, or as soon as it grows past this while streaming.
    The largest valid body (a 32,000-character chat message written
    entirely in escapes, with 16 KiB of metadata) is under 400 KiB."""
    max_json_depth: int = 32
    """Arrays and objects nested deeper, in a body or in a JSON column's
    text, are refused with 422 before they are parsed further."""
    body_timeout: float = 10.0
    """Seconds to receive the whole body once the headers are in: 408."""
    header_timeout: float = 10.0
    """Seconds to receive a request's headers, from the connection's start
    or the previous answer: the connection is closed."""
    keep_alive: int = 5
    """Seconds an idle connection is kept open between requests."""
    max_header_bytes: int = 16 * 1024
    """The request line and headers together: a head arriving in pieces is
    cut off there by uvicorn (``h11_max_incomplete_event_size``, a 400); one
    that arrived whole is measured again before anything else and refused
    with 431."""
    max_query_params: int = 100
    """Query parameters in one URL: more is a 400 before they are read."""
    max_requests_per_caller: int = 4
    """Requests of one caller (a user, or ``anon`` from one address) running
    at once; the next is answered 429 with Retry-After before it takes a
    database connection, so one caller never holds the whole pool."""
    max_response_bytes: int = 4 * MiB
    """An answer larger than this (a page of many large rows) is refused with
    422 before it is sent: ask for a smaller ``__page_size``. With
    ``max_connections`` it bounds the memory answers can hold."""
    send_timeout: float = 10.0
    """Seconds a client may leave an answer unread once the server's send
    buffer is full: the connection is then dropped, freeing its memory and
    its slot."""
    linger_timeout: float = 2.0
    """Seconds a connection answered in the middle of its request body (413,
    408) is kept half-closed, the rest of the body read and discarded, so
    that closing it does not reset the connection and destroy the answer
    before the client reads it."""
    max_linger_bytes: int = 16 * MiB
    """What a lingering connection reads and discards at most before it is
    closed anyway: more than a client has in flight when the answer reaches
    it (its own buffer and both kernels' socket buffers, a few MiB)."""
    max_connections: int = 200
    """Open connections and running requests (uvicorn's
    ``limit_concurrency``): beyond it uvicorn answers 503."""
    pool_size: int = 10
    """Database connections of the pool (``piccolo planner_app serve``)."""
    pool_wait: float = 2.0
    """Seconds a request waits for a free connection: 503, Retry-After."""
    statement_timeout_ms: int = 5_000
    """Each statement of a request's transaction: 504."""
    lock_timeout_ms: int = 2_000
    """Waiting for a row another transaction holds: 503, Retry-After."""
    idle_in_transaction_ms: int = 5_000
    """A request's transaction left idle this long is ended by the
    database (a backstop: the API sends its statements back to back)."""
    max_page_size: int = 1_000
    """Rows in one page of a list (``__page_size``); the default is 15."""
    max_page: int = 1_000_000
    """The highest ``__page`` asked for."""

    def transaction_settings(self) -> dict[str, str]:
        """The settings each request's transaction sets (``set_config``)."""
        return {
            "statement_timeout": f"{self.statement_timeout_ms}ms",
            "lock_timeout": f"{self.lock_timeout_ms}ms",
            "idle_in_transaction_session_timeout": f"{self.idle_in_transaction_ms}ms",
        }


LIMITS = Limits()


class RequestRefused(PlannerError):
    """The request was refused before the database saw it; the connection
    is closed after the answer, so an unread body is never read."""

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Connection": "close"}


class BodyTooLargeError(RequestRefused):
    status = 413


class BodyTimeoutError(RequestRefused):
    status = 408


class InvalidRequestError(RequestRefused, ValidationError):
    """The URL or the body cannot be read as the API's input (422)."""


class HeadersTooLargeError(RequestRefused):
    """The request line and headers are larger than ``max_header_bytes``."""

    status = 431


class TooManyParametersError(RequestRefused):
    """More query parameters than ``max_query_params``."""

    status = 400


class CallerBusyError(PlannerError):
    """The caller already has ``max_requests_per_caller`` requests running."""

    status = 429
    retry_after = 1


class ResponseTooLargeError(ValidationError):
    """The answer would be larger than ``max_response_bytes``."""


class ClientGoneError(Exception):
    """The client disconnected before its request was complete."""


class PoolTimeoutError(ConcurrencyError):
    """No database connection became free within ``pool_wait``."""
