"""
A request's input, read and checked before the database sees it: the URL,
the body (size, time to arrive) and its JSON (strict: finite numbers, valid
Unicode without NUL, bounded nesting), the same JSON rules for a JSON
column's text. Every refusal is a 4xx in the project's words
(:mod:`planner_app.api.limits`).
"""

from __future__ import annotations

import asyncio
import codecs
import json
import math
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Receive, Scope

from planner_app.api.limits import (
    BodyTimeoutError,
    BodyTooLargeError,
    ClientGoneError,
    InvalidRequestError,
    Limits,
    TooManyParametersError,
)

NUL_TEXT = "text may not contain NUL characters (\\u0000)"
NOT_UTF8 = "it must be UTF-8, without a byte order mark"
SURROGATE_TEXT = "text must be valid Unicode (a lone surrogate such as \\ud800 is not)"


def check_url(scope: Scope, limits: Limits) -> None:
    """
    :raises InvalidRequestError:
        The path or the query holds a NUL character, which no text column
        can store.
    :raises TooManyParametersError:
        The query has more than ``limits.max_query_params`` parameters.
    """
    query = scope.get("query_string", b"")
    if "\x00" in scope.get("path", "") or b"%00" in query:
        raise InvalidRequestError(f"the URL is not valid: {NUL_TEXT}")
    if query and query.count(b"&") + 1 > limits.max_query_params:
        raise TooManyParametersError(
            f"the URL has more than {limits.max_query_params} query parameters"
        )


def declares_body(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    return headers.get("content-length", "0") != "0" or "transfer-encoding" in headers


async def read_body(scope: Scope, receive: Receive, limits: Limits) -> bytes:
    """
    The whole body of the request, read within ``limits.body_timeout`` and
    never beyond ``limits.max_body_bytes``.

    :raises BodyTooLargeError:
        ``Content-Length`` says too much, or the body grew past the limit.
    :raises BodyTimeoutError:
        The body did not arrive in time.
    :raises ClientGoneError:
        The client left before sending it all.
    """
    too_large = BodyTooLargeError(
        f"the body is larger than {limits.max_body_bytes} bytes"
    )
    declared = Headers(scope=scope).get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(limits.body_timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGoneError
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limits.max_body_bytes:
                    raise too_large
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise BodyTimeoutError(
            f"the body did not arrive within {limits.body_timeout:g} seconds"
        ) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def strict_json(text: str | bytes, max_depth: int, what: str = "the body") -> Any:
    """
    ``text`` parsed as JSON (RFC 8259): no ``NaN`` or ``Infinity``, no
    number that overflows, no text with NUL or a lone surrogate (neither
    can be stored), no nesting deeper than ``max_depth``.

    :raises InvalidRequestError:
        With what is wrong, in the project's words.
    """
    if isinstance(text, bytes):
        # RFC 8259: JSON exchanged between systems is UTF-8, with no byte
        # order mark (json.loads would also take UTF-16 and UTF-32).
        if text.startswith(codecs.BOM_UTF8):
            raise InvalidRequestError(f"{what} is not valid JSON: {NOT_UTF8}")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequestError(f"{what} is not valid JSON: {NOT_UTF8}") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        raise InvalidRequestError(_too_deep(what, max_depth)) from None
    except ValueError as error:  # also bad UTF-8 and overlong integers
        raise InvalidRequestError(f"{what} is not valid JSON: {error}") from None
    _check_tree(value, max_depth, what)
    return value


def _too_deep(what: str, max_depth: int) -> str:
    return f"{what} nests JSON deeper than {max_depth} levels"


def _check_tree(value: Any, max_depth: int, what: str) -> None:
    """Walk the parsed JSON (without recursion): depth and every text."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _check_text(node, what)
        elif isinstance(node, dict | list):
            if depth > max_depth:
                raise InvalidRequestError(_too_deep(what, max_depth))
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, item in items:
                if isinstance(key, str):
                    _check_text(key, what)
                stack.append((item, depth + 1))


def _check_text(text: str, what: str) -> None:
    if "\x00" in text:
        raise InvalidRequestError(f"{what} is not valid: {NUL_TEXT}")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            message = f"{what} is not valid: {SURROGATE_TEXT}"
            raise InvalidRequestError(message) from None
