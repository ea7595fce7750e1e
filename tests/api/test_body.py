"""
A request's input is read and checked before the database sees it
(``planner_app/api/body.py``): strict JSON (finite numbers, storable text,
bounded nesting) and a body that is read only up to its limit.
"""

from __future__ import annotations

import asyncio

import pytest

from planner_app.api.body import check_url, read_body, strict_json
from planner_app.api.limits import (
    LIMITS,
    BodyTimeoutError,
    BodyTooLargeError,
    InvalidRequestError,
    Limits,
)


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def test_json_nested_to_the_limit_is_read_and_one_deeper_is_refused():
    assert strict_json(nested(LIMITS.max_json_depth), LIMITS.max_json_depth)
    for depth in (LIMITS.max_json_depth + 1, 900, 5000, 100_000):
        with pytest.raises(InvalidRequestError, match="deeper than 32 levels"):
            strict_json(nested(depth), LIMITS.max_json_depth)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"a": NaN}', "NaN is not a JSON number"),
        ("[Infinity]", "Infinity is not a JSON number"),
        ("[-Infinity]", "-Infinity is not a JSON number"),
        ("[1e999]", "1e999 is not a finite number"),
        ("[" + "9" * 5000 + "]", "not valid JSON"),
        ('{"a": "\\u0000"}', "NUL"),
        ('{"\\u0000": 1}', "NUL"),
        ('["\\ud800"]', "lone surrogate"),
        (b'["\xff"]', "not valid JSON"),
        ("{'a': 1}", "not valid JSON"),
    ],
)
def test_json_a_column_cannot_store_is_refused_in_the_projects_words(text, words):
    with pytest.raises(InvalidRequestError, match=words) as caught:
        strict_json(text, LIMITS.max_json_depth)
    assert caught.value.http_status("anon") == 422


def test_valid_unicode_json_is_read_as_sent():
    text = '{"t": "\\ud83d\\ude00 caf\u00e9", "n": [1, 2.5, -3e2, null, true]}'
    assert strict_json(text, 32) == {
        "t": "\U0001f600 café",
        "n": [1, 2.5, -300.0, None, True],
    }


@pytest.mark.parametrize(
    ("path", "query"), [("/api/vision/\x00/", b""), ("/api/vision/", b"title=a%00")]
)
def test_a_url_with_nul_is_refused(path, query):
    with pytest.raises(InvalidRequestError, match="NUL"):
        check_url({"path": path, "query_string": query}, LIMITS)


async def test_a_body_declared_too_large_is_refused_unread():
    async def receive() -> dict:
        raise AssertionError("the body was read")

    scope = {"headers": [(b"content-length", str(LIMITS.max_body_bytes + 1).encode())]}
    with pytest.raises(BodyTooLargeError) as caught:
        await read_body(scope, receive, LIMITS)
    assert caught.value.headers()["Connection"] == "close"


async def test_a_streamed_body_is_read_no_further_than_its_limit():
    chunks = 0

    async def receive() -> dict:
        nonlocal chunks
        chunks += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    with pytest.raises(BodyTooLargeError):
        await read_body({"headers": []}, receive, Limits(max_body_bytes=10_000))
    assert chunks == 11


async def test_a_body_that_does_not_arrive_in_time_is_refused():
    async def receive() -> dict:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    with pytest.raises(BodyTimeoutError) as caught:
        await asyncio.wait_for(
            read_body({"headers": []}, receive, Limits(body_timeout=0.1)), 10
        )
    assert caught.value.http_status("anon") == 408
