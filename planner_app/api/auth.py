"""
Who a request acts as: a Supabase-compatible HS256 JWT, checked with the
secret of ``PLANNER_JWT_SECRET`` before any other work (``docs/api.md``,
"Authentication").
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt

from planner_app.errors import PlannerError

JWT_SECRET_VARIABLE = "PLANNER_JWT_SECRET"
MIN_SECRET_BYTES = 32
"""HS256 keys shorter than its 32-byte digest are refused (RFC 7518 3.2)."""

CLOCK_SKEW_SECONDS = 30
"""Seconds of clock difference allowed between the token's issuer and this
server for ``exp``, ``nbf`` and ``iat`` (PostgREST allows the same 30)."""

_UUID_TEXT = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)

API_ROLES = ("anon", "authenticated", "service_role")
"""The roles a request may act as: Supabase's API roles, nothing else."""


class ApiConfigError(RuntimeError):
    """The API cannot start with this configuration."""


class AuthError(PlannerError):
    """The request's token is not acceptable: answered 401, no database work."""

    status = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


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


def usable_secret(secret: str) -> str:
    """
    :raises ApiConfigError:
        The secret is too short for HS256.
    """
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ApiConfigError(
            f"the JWT secret ({JWT_SECRET_VARIABLE}) is {len(secret.encode())} "
            f"bytes long; HS256 needs at least {MIN_SECRET_BYTES}"
        )
    return secret


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
    return usable_secret(secret)


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
            leeway=CLOCK_SKEW_SECONDS,
        )
    except jwt.ExpiredSignatureError as error:
        raise AuthError("the JWT has expired") from error
    except jwt.InvalidTokenError as error:
        raise AuthError(f"the JWT is not valid: {error}") from error
    for name in ("exp", "nbf", "iat"):
        if name in claims and (
            isinstance(claims[name], bool) or not isinstance(claims[name], int | float)
        ):
            raise AuthError(f"the JWT's {name} must be a number (NumericDate)")
    role = claims.get("role", "anon")
    if role not in API_ROLES:
        raise AuthError(f"the JWT's role must be one of {', '.join(API_ROLES)}")
    user_id: uuid.UUID | None = None
    sub = claims.get("sub")
    if sub is not None:
        # The text form PostgreSQL's uuid accepts everywhere: Python's UUID()
        # also takes "urn:uuid:..." and braces, which auth.uid() cannot cast.
        if not isinstance(sub, str) or not _UUID_TEXT.fullmatch(sub):
            raise AuthError("the JWT's sub must be a user id (a UUID)")
        user_id = uuid.UUID(sub)
    if role == "authenticated" and user_id is None:
        raise AuthError("an authenticated JWT needs a sub (the user id)")
    return Caller(role, user_id, claims)
