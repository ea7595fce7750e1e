"""
One transaction per ``/api/`` request, as its caller, taken only once the
request has earned it (``docs/api.md``, "How a request runs").

:class:`RequestTransaction` (ASGI middleware) authenticates the request,
reads and checks its whole body (:mod:`planner_app.api.body`), and only then
waits, for a bounded time, for a database connection. The transaction
starts by doing what PostgREST does, plus the request's time limits::

    select set_config('request.jwt.claims', $1, true),
           set_config('role', $2, true),
           set_config('statement_timeout', $3, true), ...

Piccolo keeps the transaction in a context variable, so every query made
inside it (PiccoloCRUD's, the services', the policies and triggers they
fire) runs on its connection, as the caller. The answer is held until the
transaction has ended: committed for a success, rolled back for an error.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from planner_app.api.auth import ANON, AuthError, Caller, authenticate
from planner_app.api.body import check_url, declares_body, read_body, strict_json
from planner_app.api.limits import (
    LIMITS,
    CallerBusyError,
    ClientGoneError,
    HeadersTooLargeError,
    Limits,
    PoolTimeoutError,
    RequestRefused,
    ResponseTooLargeError,
)
from planner_app.api.problems import (
    PROBLEM_MEDIA_TYPE,
    as_planner_error,
    problem_from_answer,
    problem_response,
)
from planner_app.tables import TABLES

API_PREFIX = "/api"


def engine() -> PostgresEngine:
    """The engine the tables use (``piccolo_conf.py``)."""
    db = TABLES[0]._meta.db
    if not isinstance(db, PostgresEngine):
        raise RuntimeError("the planner API needs PostgreSQL")
    return db


@contextlib.asynccontextmanager
async def connection_pool(limits: Limits) -> AsyncIterator[None]:
    """The engine's connection pool (``limits.pool_size``) for the block."""
    db = engine()
    await db.start_connection_pool(min_size=1, max_size=limits.pool_size)
    try:
        yield
    finally:
        await db.close_connection_pool()


def current_connection() -> asyncpg.Connection:
    """The connection of the request's transaction."""
    transaction = engine().current_transaction.get()
    if transaction is None:
        raise RuntimeError("not inside a request transaction")
    return transaction.connection


class BoundedTransaction(PostgresTransaction):
    """Piccolo's transaction, waiting at most ``pool_wait`` for a connection."""

    def __init__(self, db: PostgresEngine, pool_wait: float) -> None:
        super().__init__(db, allow_nested=False)
        self.pool_wait = pool_wait

    async def get_connection(self) -> asyncpg.Connection:
        if not self.engine.pool:
            return await self.engine.get_new_connection()
        try:
            return await self.engine.pool.acquire(timeout=self.pool_wait)
        except TimeoutError:
            raise PoolTimeoutError(
                f"no database connection was free within {self.pool_wait:g} "
                "seconds; retry the request"
            ) from None


_SETUP = """
select set_config('request.jwt.claims', $1, true),
       set_config('role', $2, true),
       set_config('statement_timeout', $3, true),
       set_config('lock_timeout', $4, true),
       set_config('idle_in_transaction_session_timeout', $5, true)
"""


class _BufferedResponse:
    """
    Holds the app's answer until the transaction has ended, up to
    ``max_bytes`` of body (beyond, the rest is dropped and :attr:`too_large`
    set: the answer is then refused, never sent in part).
    """

    def __init__(self, max_bytes: int) -> None:
        self.start: Message | None = None
        self.body = bytearray()
        self.max_bytes = max_bytes
        self.too_large = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body" and not self.too_large:
            self.body += message.get("body", b"")
            if len(self.body) > self.max_bytes:
                self.too_large = True
                self.body = bytearray()

    @property
    def status(self) -> int:
        return self.start["status"] if self.start else 500


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body, already read, for the app; then the client's own events."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class RequestTransaction:
    """
    ASGI middleware: every ``/api/`` request authenticated, its body read
    and checked, then run in one transaction as its caller under the
    request's time limits; committed when the answer is a success, rolled
    back otherwise, and only then sent.
    """

    def __init__(self, app: ASGIApp, secret: str, limits: Limits = LIMITS) -> None:
        self.app = app
        self.secret = secret
        self.limits = limits
        self.running: dict[object, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if head_size(scope) > self.limits.max_header_bytes:
            error = HeadersTooLargeError(
                "the request line and headers are larger than "
                f"{self.limits.max_header_bytes} bytes"
            )
            await problem_response(error)(scope, receive, send)
            return
        if not scope.get("path", "").startswith(f"{API_PREFIX}/"):
            # The OpenAPI document, an unknown path: no transaction, but
            # the same bounded, problem+json answers.
            answer = _BufferedResponse(self.limits.max_response_bytes)
            await self.app(scope, receive, answer.send)
            if answer.too_large:
                await problem_response(self._too_large())(scope, receive, send)
            else:
                await _send(answer, send)
            return
        caller = ANON
        try:
            caller = authenticate(
                Headers(scope=scope).get("authorization"), self.secret
            )
            check_url(scope, self.limits)
            body = await read_body(scope, receive, self.limits)
            if body:
                strict_json(body, self.limits.max_json_depth)
        except ClientGoneError:
            return
        except (AuthError, RequestRefused) as error:
            response = problem_response(error, caller)
            if declares_body(scope):
                response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        answer = _BufferedResponse(self.limits.max_response_bytes)
        try:
            with self._counted(_caller_key(caller, scope)):
                await self._run(scope, _replay(body, receive), answer, caller)
        except Exception as error:
            # Too many requests of this caller, no connection free in time,
            # an answer too large, starting or ending the transaction
            # failed, or a bug (answered 500 and logged).
            await problem_response(as_planner_error(error), caller)(
                scope, receive, send
            )
            return
        await _send(answer, send)

    @contextlib.contextmanager
    def _counted(self, key: object) -> Iterator[None]:
        """One more running request of the caller ``key``, within its bound."""
        bound = self.limits.max_requests_per_caller
        if self.running.get(key, 0) >= bound:
            raise CallerBusyError(
                f"this caller already has {bound} requests running; "
                "retry when one has been answered"
            )
        self.running[key] = self.running.get(key, 0) + 1
        try:
            yield
        finally:
            self.running[key] -= 1
            if not self.running[key]:
                del self.running[key]

    def _too_large(self) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"the answer is larger than {self.limits.max_response_bytes} bytes; "
            "ask for a smaller __page_size"
        )

    async def _run(
        self, scope: Scope, receive: Receive, answer: _BufferedResponse, caller: Caller
    ) -> None:
        settings = self.limits.transaction_settings()
        async with BoundedTransaction(engine(), self.limits.pool_wait) as transaction:
            await transaction.connection.execute(
                _SETUP,
                caller.claims_json,
                # caller.role is one of API_ROLES (checked in authenticate).
                caller.role,
                settings["statement_timeout"],
                settings["lock_timeout"],
                settings["idle_in_transaction_session_timeout"],
            )
            await self.app(scope, receive, answer.send)
            if answer.too_large:
                raise self._too_large()
            if answer.status >= 400:
                await transaction.rollback()


def head_size(scope: Scope) -> int:
    """The bytes of the request line and headers as the client sent them."""
    line = (
        len(scope.get("method", ""))
        + len(scope.get("raw_path") or scope.get("path", "").encode())
        + len(scope.get("query_string", b""))
        + 12
    )
    return line + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


def _caller_key(caller: Caller, scope: Scope) -> object:
    """Whose requests count together: a user's, else a role's from one host."""
    if caller.user_id is not None:
        return caller.user_id
    client = scope.get("client") or ("", 0)
    return (caller.role, client[0])


async def _send(answer: _BufferedResponse, send: Send) -> None:
    """Send the buffered answer; an error that is not a problem becomes one."""
    assert answer.start is not None
    start, body = answer.start, bytes(answer.body)
    headers = Headers(raw=start.get("headers", []))
    if answer.status >= 400 and not headers.get("content-type", "").startswith(
        PROBLEM_MEDIA_TYPE
    ):
        problem = problem_from_answer(answer.status, body)
        body = json.dumps(problem.model_dump(mode="json", exclude_none=True)).encode()
        kept = [
            (name, value)
            for name, value in start.get("headers", [])
            if name.lower() not in (b"content-type", b"content-length")
        ]
        start = {
            **start,
            "headers": [
                *kept,
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    await send(start)
    await send({"type": "http.response.body", "body": body})
