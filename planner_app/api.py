"""
The planner's HTTP API: the tables and the plan operations over HTTP, under
the same row-level security as PostgREST on Supabase (``docs/api.md``).

- ``/api/<table>/``: piccolo-api's ``PiccoloCRUD`` (through its
  ``FastAPIWrapper``) for the eight domain tables, read and write, and
  ``audit_log``, read only.
- ``/api/plan/<operation>``: the plan operations of
  :mod:`planner_app.services` (set a quota, record progress, add or remove a
  plan item, enforce or lift the lock).
- ``/openapi.json``: the OpenAPI document (``/docs`` renders it).

Every ``/api/`` request is one database transaction that first does what
PostgREST does: ``set_config('request.jwt.claims', <claims>, true)`` and
``set local role <role>``. Piccolo shares the transaction with every query
made inside it (``engine.transaction()`` is held in a context variable), so
PiccoloCRUD's queries, the services and the database's policies, triggers and
audit all run as the caller. The caller comes from a Supabase-compatible
HS256 JWT checked with ``PLANNER_JWT_SECRET``; a bad token is refused before
any database work.

Errors are answered in one place (:func:`problem_for`) as problem details
(``application/problem+json``) carrying a stable ``code``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any, get_type_hints

import asyncpg
import jwt
import pydantic
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table
from piccolo_api.crud.endpoints import (
    CustomJSONResponse,
    ParamException,
    Params,
    PiccoloCRUD,
)
from piccolo_api.crud.exceptions import MalformedQuery
from piccolo_api.fastapi.endpoints import FastAPIWrapper
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from planner_app import services
from planner_app.errors import (
    CONSTRAINTS,
    WEEK_LOCKED_SQLSTATE,
    ConcurrencyError,
    ConstraintViolation,
    CycleOverlapError,
    DuplicateError,
    InvalidReferenceError,
    LockLiftDeniedError,
    NotFoundError,
    OwnershipError,
    PlannerError,
    ValidationError,
    WeekLockedError,
    translate_error,
)
from planner_app.tables import DOMAIN_TABLES, TABLES, AuditLog

log = logging.getLogger(__name__)

JWT_SECRET_VARIABLE = "PLANNER_JWT_SECRET"
MIN_SECRET_BYTES = 32
"""HS256 keys shorter than its 32-byte digest are refused (RFC 7518 3.2)."""

API_PREFIX = "/api"
API_ROLES = ("anon", "authenticated", "service_role")
"""The roles a request may act as: Supabase's API roles, nothing else."""

PROBLEM_MEDIA_TYPE = "application/problem+json"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class ApiConfigError(RuntimeError):
    """The API cannot start with this configuration."""


# --------------------------------------------------------------------------
# Authentication


class AuthError(Exception):
    """The request's token is not acceptable: answered 401, no database work."""


@dataclass(frozen=True)
class Caller:
    """Who a request acts as: the token's role, its user and claims."""

    role: str
    user_id: uuid.UUID | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def claims_json(self) -> str:
        return json.dumps(self.claims or {"role": self.role})


ANON = Caller("anon", None, {"role": "anon"})


def jwt_secret(environ: dict[str, str] | None = None) -> str:
    """
    The secret callers' tokens are signed with (Supabase: Project Settings,
    API, JWT secret).

    :raises ApiConfigError:
        ``PLANNER_JWT_SECRET`` is unset or too short for HS256.
    """
    secret = (os.environ if environ is None else environ).get(JWT_SECRET_VARIABLE)
    if not secret:
        raise ApiConfigError(
            f"{JWT_SECRET_VARIABLE} is not set: set it to the HS256 secret "
            "that signs the callers' JWTs (Supabase: Project Settings > API > "
            "JWT secret) before starting the API"
        )
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ApiConfigError(
            f"{JWT_SECRET_VARIABLE} is {len(secret.encode())} bytes long; "
            f"HS256 needs at least {MIN_SECRET_BYTES}"
        )
    return secret


def authenticate(authorization: str | None, secret: str) -> Caller:
    """
    The caller of a request, from its ``Authorization`` header.

    No header is ``anon``. Otherwise the header must be ``Bearer <jwt>``, the
    JWT signed with HS256 and ``secret``, not expired (``exp`` is required),
    its ``role`` one of :data:`API_ROLES` (missing means ``anon``, as in
    PostgREST) and, for ``authenticated``, its ``sub`` a user id.

    :raises AuthError:
        The token is malformed, wrongly signed, expired or claims a role or
        user it cannot have.
    """
    if authorization is None:
        return ANON
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <JWT>'")
    try:
        claims = jwt.decode(
            token.strip(),
            secret,
            algorithms=["HS256"],
            options={"require": ["exp"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as error:
        raise AuthError("the JWT has expired") from error
    except jwt.InvalidTokenError as error:
        raise AuthError(f"the JWT is not valid: {error}") from error
    role = claims.get("role", "anon")
    if role not in API_ROLES:
        raise AuthError(f"the JWT's role must be one of {', '.join(API_ROLES)}")
    user_id: uuid.UUID | None = None
    sub = claims.get("sub")
    if sub is not None:
        try:
            user_id = uuid.UUID(str(sub))
        except ValueError as error:
            raise AuthError("the JWT's sub must be a user id (a UUID)") from error
    if role == "authenticated" and user_id is None:
        raise AuthError("an authenticated JWT needs a sub (the user id)")
    return Caller(role, user_id, claims)


# --------------------------------------------------------------------------
# Problem details: the one mapping from the project's exceptions to HTTP


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details) with the project's code."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str = Field(
        description=(
            "Stable machine-readable code: the SQLSTATE when a database rule "
            "refused the request (the lock's is WEEK_LOCKED_SQLSTATE), else "
            "PT<status> when the API itself answered"
        )
    )
    hint: str | None = None
    cycle_id: uuid.UUID | None = None
    week_no: int | None = None
    operation: str | None = None


_REFERENCE_DETAIL = (
    "a row this one references does not exist, belongs to another user, or "
    "does not fit (a plan item's task and week must be of the same cycle)"
)


def problem_for(error: PlannerError, caller: Caller = ANON) -> Problem:
    """
    The answer to a project exception. Texts come from the project, never a
    database message that could describe another user's row; a row of
    another user and a missing row get the same answer.

    :param caller:
        Who asked: a refused privilege is 401 for ``anon`` and 403 otherwise,
        as in PostgREST.
    """
    sqlstate = error.sqlstate

    def problem(status: int, detail: str, **extra: Any) -> Problem:
        code = sqlstate or f"PT{status}"
        title = HTTPStatus(status).phrase
        return Problem(title=title, status=status, detail=detail, code=code, **extra)

    if isinstance(error, WeekLockedError):
        return Problem(
            title="Locked",
            status=423,
            detail=error.message,
            code=WEEK_LOCKED_SQLSTATE,
            hint=error.hint,
            cycle_id=error.cycle_id,
            week_no=error.week_no,
            operation=error.operation,
        )
    if isinstance(error, LockLiftDeniedError):
        return problem(
            403,
            "only service_role may lift a cycle's lock",
            hint=error.hint,
        )
    if sqlstate == "23503" or isinstance(error, InvalidReferenceError):
        return problem(404, _REFERENCE_DETAIL)
    if isinstance(error, NotFoundError):
        return problem(404, "no such row (or it belongs to another user)")
    if isinstance(error, OwnershipError):
        if caller.role == "anon":
            return problem(401, "sign in: anonymous callers may not do this")
        return problem(
            403,
            "not allowed: a row's user_id must be the caller's, and the "
            "caller's role needs the privilege",
        )
    if isinstance(error, CycleOverlapError):
        return problem(409, _constraint_detail(error, "the cycle overlaps another"))
    if isinstance(error, DuplicateError):
        return problem(409, _constraint_detail(error, "such a row already exists"))
    if isinstance(error, ValidationError):
        return problem(422, _constraint_detail(error, error.message))
    if isinstance(error, ConstraintViolation):
        return problem(409, _constraint_detail(error, "the change breaks a rule"))
    if isinstance(error, ConcurrencyError):
        return problem(503, "a concurrent change won; retry the request")
    log.error("unexpected database error: %s", error, exc_info=error)
    return problem(500, "internal error")


def _constraint_detail(error: PlannerError, fallback: str) -> str:
    """The rule's own description (errors.CONSTRAINTS) and its name."""
    if error.constraint in CONSTRAINTS:
        return f"{CONSTRAINTS[error.constraint][1]} ({error.constraint})"
    if error.constraint:
        return f"{fallback} ({error.constraint})"
    return fallback


def problem_response(problem: Problem, headers: dict[str, str] | None = None):
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def as_planner_error(error: Exception) -> PlannerError:
    """A driver error as the project's exception (errors.translate_error)."""
    if isinstance(error, PlannerError):
        return error
    if isinstance(error, asyncpg.PostgresError):
        return translate_error(error)
    # asyncpg refuses a query argument it cannot encode (an integer out of
    # range, say) before sending it: the client's input is invalid.
    return ValidationError(f"invalid value: {error}")


def _caller_of(request: Request) -> Caller:
    return getattr(request.state, "caller", ANON)


async def _planner_error_handler(request: Request, error: Exception) -> Response:
    return problem_response(problem_for(as_planner_error(error), _caller_of(request)))


def _is_argument_error(error: Exception) -> bool:
    return isinstance(error, asyncpg.InterfaceError) and isinstance(error, ValueError)


async def _interface_error_handler(request: Request, error: Exception) -> Response:
    if _is_argument_error(error):
        return await _planner_error_handler(request, error)
    raise error


# --------------------------------------------------------------------------
# One transaction per request, as the caller


def _engine() -> PostgresEngine:
    """The engine the tables use (``piccolo_conf.py``)."""
    engine = TABLES[0]._meta.db
    if not isinstance(engine, PostgresEngine):
        raise ApiConfigError("the planner API needs PostgreSQL")
    return engine


def current_connection() -> asyncpg.Connection:
    """The connection of the request's transaction."""
    transaction = _engine().current_transaction.get()
    if transaction is None:
        raise RuntimeError("not inside a request transaction")
    return transaction.connection


class _BufferedResponse:
    """Holds the app's answer until the transaction has ended."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    @property
    def status(self) -> int:
        return self.start["status"] if self.start else 500


class RequestTransaction:
    """
    ASGI middleware: every ``/api/`` request authenticated, then run in one
    transaction as its caller; committed when the answer is a success,
    rolled back otherwise, and only then sent.
    """

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(f"{API_PREFIX}/"):
            await self.app(scope, receive, send)
            return
        try:
            caller = authenticate(
                Headers(scope=scope).get("authorization"), self.secret
            )
        except AuthError as error:
            problem = Problem(
                title="Unauthorized", status=401, detail=str(error), code="PT401"
            )
            response = problem_response(
                problem, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        answer = _BufferedResponse()
        try:
            async with _engine().transaction() as transaction:
                conn = transaction.connection
                await conn.execute(
                    "select set_config('request.jwt.claims', $1, true)",
                    caller.claims_json,
                )
                # caller.role is one of API_ROLES (checked in authenticate).
                await conn.execute(f"set local role {caller.role}")
                await self.app(scope, receive, answer.send)
                if answer.status >= 400:
                    await transaction.rollback()
        except (PlannerError, asyncpg.PostgresError) as error:
            # Starting or ending the transaction failed.
            await problem_response(problem_for(as_planner_error(error), caller))(
                scope, receive, send
            )
            return
        await _send(answer, send)


async def _send(answer: _BufferedResponse, send: Send) -> None:
    """Send the buffered answer; an error that is not a problem becomes one."""
    assert answer.start is not None
    start, body = answer.start, bytes(answer.body)
    headers = Headers(raw=start.get("headers", []))
    if answer.status >= 400 and not headers.get("content-type", "").startswith(
        PROBLEM_MEDIA_TYPE
    ):
        problem = _problem_from_body(answer.status, body)
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


def _problem_from_body(status: int, body: bytes) -> Problem:
    """
    A problem for an error the web layer or PiccoloCRUD answered itself (a
    malformed query or body, an unknown path): their texts describe the
    request, not the database.
    """
    text = body.decode(errors="replace").strip()
    errors = None
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "detail" in parsed:
        if isinstance(parsed["detail"], str):
            text = parsed["detail"]
        else:
            errors = parsed["detail"]
            text = "the request is not valid"
    elif isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        text = parsed["error"]
    extra = {"errors": errors} if errors is not None else {}
    return Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=text or HTTPStatus(status).phrase,
        code=f"PT{status}",
        **extra,
    )


async def _visible(conn: asyncpg.Connection, table: str, row_id: Any) -> bool:
    # table is a Piccolo table name from tables.py, never client input.
    return await conn.fetchval(
        f"select exists (select 1 from public.{table} where id = $1)", row_id
    )


async def guarded(
    run: Callable[[], Awaitable[Any]],
    references: tuple[tuple[str, Any], ...] = (),
) -> Any:
    """
    Run a write in a savepoint of the request's transaction, its errors as
    the project's exceptions.

    When the write fails, a reference to a row the caller cannot see gets
    the answer a missing row gets, whichever rule the database checked
    first (a unique key or the lock can fire before the same-owner key), and
    a lock error is only reported for a cycle the caller can see.

    :param references:
        ``(table, id)`` of every row the written values point at.
    """
    conn = current_connection()
    try:
        async with conn.transaction():
            return await run()
    except (PlannerError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        if isinstance(error, asyncpg.InterfaceError) and not _is_argument_error(error):
            raise
        translated = as_planner_error(error)
        for table, row_id in references:
            if row_id is not None and not await _visible(conn, table, row_id):
                raise InvalidReferenceError(
                    f"{table} {row_id} not found", sqlstate="23503"
                ) from error
        if isinstance(translated, WeekLockedError) and not await _visible(
            conn, "cycle", translated.cycle_id
        ):
            raise NotFoundError("no such row") from error
        if translated is error:
            raise
        raise translated from error


# --------------------------------------------------------------------------
# The tables: PiccoloCRUD, answering through the project's errors


def _built_once(name: str) -> functools.cached_property[type[pydantic.BaseModel]]:
    """``PiccoloCRUD``'s property ``name``, computed once per instance."""

    def build(self: PiccoloCRUD) -> type[pydantic.BaseModel]:
        return getattr(PiccoloCRUD, name).fget(self)

    build.__name__ = name
    return functools.cached_property(build)


class PlannerCRUD(PiccoloCRUD):
    """
    ``PiccoloCRUD`` whose writes run in a savepoint and raise the project's
    exceptions (instead of piccolo-api's generic 422), whose answers to a
    malformed request are never a 500, and whose POST fills ``user_id`` with
    the caller's when it is left out and answers with the created row.
    """

    # piccolo-api builds its Pydantic models on every access; they depend
    # only on the table, so build each once.
    pydantic_model = _built_once("pydantic_model")
    pydantic_model_output = _built_once("pydantic_model_output")
    pydantic_model_optional = _built_once("pydantic_model_optional")
    pydantic_model_filters = _built_once("pydantic_model_filters")

    def pydantic_model_plural(
        self,
        include_readable: bool = False,
        include_columns: tuple = (),
        nested: Any = False,
    ) -> type[pydantic.BaseModel]:
        key = (include_readable, include_columns, nested)
        cache = self.__dict__.setdefault("_plural_models", {})
        if key not in cache:
            cache[key] = super().pydantic_model_plural(*key)
        return cache[key]

    def _split_params(self, params: dict[str, Any]) -> Params:
        try:
            return super()._split_params(params)
        except (ValueError, TypeError) as error:  # e.g. __order=nope, a repeated key
            raise ParamException(str(error)) from error

    def _apply_filters(self, query, params: Params):
        try:
            return super()._apply_filters(query, params)
        except pydantic.ValidationError as error:
            raise MalformedQuery(f"invalid filter: {error}") from error

    def _row_id(self, request: Request) -> Any:
        raw = request.path_params.get("row_id", "")
        try:
            return self.table._meta.primary_key.value_type(raw)
        except ValueError as error:
            raise ValidationError(f"{raw!r} is not a valid id") from error

    def _values(self, model: type[pydantic.BaseModel], data: Any) -> dict[str, Any]:
        """The columns a body sets, validated; unknown columns are refused."""
        if not isinstance(data, dict):
            raise ValidationError("the body must be a JSON object")
        unknown = sorted(set(data) - set(model.model_fields))
        if unknown:
            raise ValidationError(
                f"unknown or read-only column(s): {', '.join(unknown)}"
            )
        try:
            parsed = model(**self._clean_data(data))
        except pydantic.ValidationError as error:
            raise ValidationError(f"invalid body: {error}") from error
        return {name: getattr(parsed, name) for name in data}

    async def _row(self, row_id: Any) -> dict[str, Any]:
        row = (
            await self.table.select(exclude_secrets=self.exclude_secrets)
            .where(self.table._meta.primary_key == row_id)
            .first()
            .run()
        )
        if row is None:
            raise NotFoundError("no such row")
        return row

    def _output(self, row: dict[str, Any], status_code: int = 200) -> Response:
        return CustomJSONResponse(
            self.pydantic_model_output(**row).model_dump_json(),
            status_code=status_code,
        )

    async def detail(self, request: Request) -> Response:
        row_id = self._row_id(request)
        primary_key = self.table._meta.primary_key
        if not await self.table.exists().where(primary_key == row_id).run():
            raise NotFoundError("no such row (or it belongs to another user)")
        if request.method == "GET":
            return await self.get_single(request, row_id)
        if request.method == "DELETE":
            return await self.delete_single(request, row_id)
        data = await request.json()
        if request.method == "PUT":
            return await self.put_single(request, row_id, data)
        return await self.patch_single(request, row_id, data)

    async def post_single(self, request: Request, data: dict[str, Any]) -> Response:
        values = self._values(self.pydantic_model, data)
        caller = _caller_of(request)
        if values.get("user_id") is None and caller.user_id is not None:
            values["user_id"] = caller.user_id
        try:
            row = self.table(**values)
        except ValueError as error:  # a required column left out
            raise ValidationError(str(error)) from error
        saved = await guarded(lambda: row.save().run(), self._references(values))
        primary_key = self.table._meta.primary_key._meta.name
        return self._output(await self._row(saved[0][primary_key]), 201)

    async def put_single(
        self, request: Request, row_id: Any, data: dict[str, Any]
    ) -> Response:
        await self._update(row_id, self._values(self.pydantic_model, data))
        return Response(status_code=204)

    async def patch_single(
        self, request: Request, row_id: Any, data: dict[str, Any]
    ) -> Response:
        await self._update(row_id, self._values(self.pydantic_model_optional, data))
        return self._output(await self._row(row_id))

    def _references(self, values: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
        return tuple(
            (
                column._foreign_key_meta.resolved_references._meta.tablename,
                values[column._meta.name],
            )
            for column in self.table._meta.foreign_key_columns
            if column._meta.name in values
        )

    async def _update(self, row_id: Any, values: dict[str, Any]) -> None:
        if not values:
            return
        table = self.table
        await guarded(
            lambda: (
                table.update({getattr(table, k): v for k, v in values.items()})
                .where(table._meta.primary_key == row_id)
                .run()
            ),
            self._references(values),
        )

    async def delete_single(self, request: Request, row_id: Any) -> Response:
        table = self.table
        await guarded(
            lambda: table.delete().where(table._meta.primary_key == row_id).run()
        )
        return Response(status_code=204)


def _mount_table(app: FastAPI, table: type[Table]) -> None:
    read_only = table is AuditLog
    FastAPIWrapper(
        f"{API_PREFIX}/{table._meta.tablename}/",
        app,
        PlannerCRUD(table, read_only=read_only, max_joins=0),
        fastapi_kwargs=None,
    )
    # The "new row" helper returns client-side defaults; here the database
    # chooses them (ids, timestamps, derived columns), so it is left out.
    new_path = f"{API_PREFIX}/{table._meta.tablename}/new/"
    app.router.routes[:] = [
        route for route in app.router.routes if getattr(route, "path", "") != new_path
    ]


# --------------------------------------------------------------------------
# The plan operations (planner_app/services.py)


class _ForUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID | None = Field(
        default=None,
        description=(
            "The user to act for: defaults to the token's sub; a service_role "
            "caller without a sub must give it"
        ),
    )


_INT4 = 2**31 - 1


class SetQuota(_ForUser):
    plan_item_id: uuid.UUID
    quota: int = Field(ge=0, le=_INT4)


class RecordProgress(_ForUser):
    plan_item_id: uuid.UUID
    completed_count: int | None = Field(default=None, ge=0, le=_INT4)
    notes: str | None = Field(
        default=None, description="Left out: unchanged; null: cleared"
    )


class AddPlanItem(_ForUser):
    weekly_plan_id: uuid.UUID
    task_id: uuid.UUID
    quota: int | None = Field(
        default=None, ge=0, le=_INT4, description="Default: the task's quota"
    )


class RemovePlanItem(_ForUser):
    plan_item_id: uuid.UUID


class CycleLock(_ForUser):
    cycle_id: uuid.UUID


# The plan item as the services return it (services.PlanItem), as a model.
PlanItemOut = pydantic.create_model(
    "PlanItemOut",
    **{name: (hint, ...) for name, hint in get_type_hints(services.PlanItem).items()},
)


class LockState(BaseModel):
    cycle_id: uuid.UUID
    lock_enforced: bool
    locked_at: datetime | None


def _acting_user(request: Request, body: _ForUser) -> uuid.UUID:
    caller = _caller_of(request)
    user_id = body.user_id or caller.user_id
    if user_id is None:
        if caller.role == "anon":
            raise OwnershipError("anonymous callers have no plan")
        raise ValidationError("user_id is required: the token has no sub")
    return user_id


def _plan_item(item: services.PlanItem) -> PlanItemOut:
    return PlanItemOut(**item.__dict__)


plan_router = APIRouter(prefix=f"{API_PREFIX}/plan", tags=["plan"])


@plan_router.post("/set_quota", response_model=PlanItemOut)
async def set_quota(request: Request, body: SetQuota) -> PlanItemOut:
    """Plan ``quota`` repetitions of the item's task in its week (locked in
    weeks 7-12 of a locked cycle)."""
    conn, user_id = current_connection(), _acting_user(request, body)
    item = await guarded(
        lambda: services.set_quota(
            conn, user_id=user_id, plan_item_id=body.plan_item_id, quota=body.quota
        )
    )
    return _plan_item(item)


@plan_router.post("/record_progress", response_model=PlanItemOut)
async def record_progress(request: Request, body: RecordProgress) -> PlanItemOut:
    """Record what was done: allowed in every week, locked or not."""
    conn, user_id = current_connection(), _acting_user(request, body)
    options: dict[str, Any] = {"completed_count": body.completed_count}
    if "notes" in body.model_fields_set:
        options["notes"] = body.notes
    item = await guarded(
        lambda: services.record_progress(
            conn, user_id=user_id, plan_item_id=body.plan_item_id, **options
        )
    )
    return _plan_item(item)


@plan_router.post("/add_plan_item", response_model=PlanItemOut, status_code=201)
async def add_plan_item(request: Request, body: AddPlanItem) -> PlanItemOut:
    """Plan a task in a week (locked in weeks 7-12 of a locked cycle)."""
    conn, user_id = current_connection(), _acting_user(request, body)
    item = await guarded(
        lambda: services.add_plan_item(
            conn,
            user_id=user_id,
            weekly_plan_id=body.weekly_plan_id,
            task_id=body.task_id,
            quota=body.quota,
        ),
        (("weekly_plan", body.weekly_plan_id), ("task", body.task_id)),
    )
    return _plan_item(item)


@plan_router.post("/remove_plan_item", status_code=204, response_class=Response)
async def remove_plan_item(request: Request, body: RemovePlanItem) -> Response:
    """Take a task out of a week (locked in weeks 7-12 of a locked cycle)."""
    conn, user_id = current_connection(), _acting_user(request, body)
    await guarded(
        lambda: services.remove_plan_item(
            conn, user_id=user_id, plan_item_id=body.plan_item_id
        )
    )
    return Response(status_code=204)


@plan_router.post("/enforce_lock", response_model=LockState)
async def enforce_lock(request: Request, body: CycleLock) -> LockState:
    """Freeze weeks 7-12 of the cycle (idempotent)."""
    conn, user_id = current_connection(), _acting_user(request, body)
    locked_at = await guarded(
        lambda: services.enforce_lock(conn, user_id=user_id, cycle_id=body.cycle_id)
    )
    return LockState(cycle_id=body.cycle_id, lock_enforced=True, locked_at=locked_at)


@plan_router.post("/lift_lock", response_model=LockState)
async def lift_lock(request: Request, body: CycleLock) -> LockState:
    """Unfreeze weeks 7-12: the database allows it to service_role only."""
    conn = current_connection()
    await guarded(lambda: services.lift_lock(conn, cycle_id=body.cycle_id))
    return LockState(cycle_id=body.cycle_id, lock_enforced=False, locked_at=None)


# --------------------------------------------------------------------------
# The application

_READ_ERRORS = (400, 401, 403, 404, 422, 503)
_WRITE_ERRORS = (*_READ_ERRORS, 409, 423)


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """
    FastAPI's document, with the bearer token and the problem answers
    every ``/api/`` operation may give.
    """

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        components["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        }
        problem = {"$ref": "#/components/schemas/Problem"}
        for path, operations in schema["paths"].items():
            if not path.startswith(f"{API_PREFIX}/"):
                continue
            for method, operation in operations.items():
                operation["security"] = [{"bearer": []}, {}]
                statuses = _READ_ERRORS if method == "get" else _WRITE_ERRORS
                responses = operation.setdefault("responses", {})
                for status in statuses:
                    responses[str(status)] = {
                        "description": HTTPStatus(status).phrase,
                        "content": {PROBLEM_MEDIA_TYPE: {"schema": problem}},
                    }
        app.openapi_schema = schema
        return schema

    return build


def create_app(secret: str | None = None, *, pool: bool = True) -> FastAPI:
    """
    The planner API as an ASGI app, on the tables' engine
    (``piccolo_conf.py``: ``DATABASE_URL`` or the embedded PostgreSQL).

    :param secret:
        The JWT secret; default ``PLANNER_JWT_SECRET``.
    :param pool:
        Keep a connection pool for the app's lifetime (its ASGI lifespan);
        without it every request opens its own connection.
    :raises ApiConfigError:
        No usable secret.
    """
    secret = secret if secret is not None else jwt_secret()
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ApiConfigError(f"the JWT secret needs at least {MIN_SECRET_BYTES} bytes")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if not pool:
            yield
            return
        engine = _engine()
        await engine.start_connection_pool()
        try:
            yield
        finally:
            await engine.close_connection_pool()

    app = FastAPI(
        title="Planner API",
        version="1.0.0",
        description=(
            "The planner's tables and plan operations, every request run as "
            "its caller under the database's row-level security."
        ),
        lifespan=lifespan,
    )
    for table in (*DOMAIN_TABLES, AuditLog):
        _mount_table(app, table)
    app.include_router(plan_router)
    from planner_app.scoreboard_routes import router as scoreboard_router

    app.include_router(scoreboard_router)
    app.add_exception_handler(PlannerError, _planner_error_handler)
    app.add_exception_handler(asyncpg.PostgresError, _planner_error_handler)
    app.add_exception_handler(asyncpg.InterfaceError, _interface_error_handler)
    app.add_middleware(RequestTransaction, secret=secret)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app


async def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """
    Run the API with uvicorn until interrupted.

    :raises ApiConfigError:
        No usable ``PLANNER_JWT_SECRET``.
    """
    import uvicorn

    application = create_app()
    config = uvicorn.Config(application, host=host, port=port, lifespan="on")
    await uvicorn.Server(config).serve()


def __getattr__(name: str) -> Any:
    # ``planner_app.api:app`` for ASGI servers, built on first use so that
    # importing this module needs no secret.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
