"""
The Zod writer (:mod:`planner_app.schema_export.zod`): the rules of
``planner_app/rules.py`` in their front-end form, checked against what
PostgreSQL itself answers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import asyncpg

from planner_app import rules
from planner_app.schema_export.zod import javascript_pattern
from tests.schema_export.conftest import ask_zod

# Blank and not-blank texts, Unicode spaces and invisible characters included.
TEXTS = [
    "a",
    " a ",
    "é",
    "😀",
    "\u4e00",
    "",
    " ",
    "\t\n\r\x0b\x0c",
    "\u00a0",
    "\u200b",
    "\ufeff",
    "\u200f",
    "\u202e",
    "\u2060",
    "\u3000",
    "\u1160\u3164\uffa0",
    "\u034f\u061c\u180e",
    "\ufe0f",
    "\U000e0020\U000e007f",
    "\U0001bca0",
    "\U0001d173",
    " \u00a0\u200b\ufeff\u200f\u202e ",
    "\u00a0x\u200b",
    "\U000e0020a",
    "\u00ad",
]

# JSON values as a front end sends them; PostgreSQL prints them its own way.
JSON_VALUES: list[Any] = [
    {},
    {"a": 1},
    {"a": [], "b": {}, "c": [1, 2, [3, {"d": None}]]},
    {"title": "Café ☕ 😀", "ключ": "значение"},
    {"escapes": 'quote " backslash \\ newline \n tab \t bell \u0007 del \u007f'},
    {"big": 1e21, "small": 1.5e-7, "tiny": -1e-7, "exact": 123456789.125},
    {"safe": 2**53 - 1, "negative": -42, "fraction": 0.1, "zero": -0.0},
    {"flags": [True, False, None], "nested": {"deeper": {"deepest": "x"}}},
    {"emoji keys 😀": "v", "": ""},
]


def test_the_javascript_pattern_writes_code_points_above_ffff_in_braces() -> None:
    assert javascript_pattern(r"[^\u0020\U0001bca0-\U0001bca3]") == (
        r"[^\u0020\u{1bca0}-\u{1bca3}]"
    )
    assert "\\U" not in javascript_pattern(rules.NOT_BLANK_PATTERN)


async def test_not_blank_agrees_with_postgresql(
    db: asyncpg.Connection, compiled: Path
) -> None:
    in_database = [
        await db.fetchval("select $1::text ~ $2", text, rules.NOT_BLANK_PATTERN)
        for text in TEXTS
    ]
    in_zod = ask_zod(
        compiled,
        "(planner, texts) => texts.map((t) => [planner.NOT_BLANK.test(t),"
        " planner.GoalInsert.shape.title.safeParse(t).success])",
        TEXTS,
    )
    in_python = [bool(re.search(rules.NOT_BLANK_PATTERN, text)) for text in TEXTS]
    by_text = {
        text: (database, zod, python)
        for text, database, zod, python in zip(
            TEXTS, in_database, in_zod, in_python, strict=True
        )
    }
    for text, (database, (pattern, title), python) in by_text.items():
        assert pattern == database == python, f"{text!r}"
        assert title == (database and text != ""), f"{text!r}"
    assert not by_text["\ufeff"][0] and by_text["😀"][0]


async def test_json_size_is_measured_like_postgresql(
    db: asyncpg.Connection, compiled: Path
) -> None:
    measured = ask_zod(
        compiled,
        "(planner, values) => values.map((v) => [JSON.stringify(v),"
        " planner.jsonbTextBytes(v)])",
        JSON_VALUES,
    )
    for value, (sent, size) in zip(JSON_VALUES, measured, strict=True):
        printed = await db.fetchval("select $1::jsonb::text", sent)
        assert size == len(printed.encode()), f"{value!r} prints as {printed}"


async def test_the_json_size_limit_is_exact(
    db: asyncpg.Connection, compiled: Path
) -> None:
    limit = rules.JSON_MAX_BYTES["chat_session.context"]
    overhead = len(await db.fetchval("""select '{"n": ""}'::jsonb::text"""))
    room = limit - overhead
    at_limit = {"n": "é" * (room // 2) + "x" * (room % 2)}
    over = {"n": at_limit["n"] + "xx"}
    sizes = [
        await db.fetchval("select octet_length($1::jsonb::text)", json.dumps(value))
        for value in (at_limit, over)
    ]
    assert sizes == [limit, limit + 2]
    accepted = ask_zod(
        compiled,
        "(planner, values) => values.map((v) =>"
        " planner.ChatSessionInsert.shape.context.safeParse(v).success)",
        [at_limit, over],
    )
    assert accepted == [True, False]


def test_text_length_counts_code_points_as_postgresql_does(compiled: Path) -> None:
    limit = rules.TEXT_MAX_CHARS["goal.title"]
    texts = ["😀" * limit, "a" * limit, "a" * (limit + 1), "😀" * (limit + 1)]
    accepted = ask_zod(
        compiled,
        "(planner, texts) => texts.map((t) =>"
        " planner.GoalInsert.shape.title.safeParse(t).success)",
        texts,
    )
    assert accepted == [True, True, False, False]


def test_ids_are_rfc_9562_uuids_and_references_any_uuid(compiled: Path) -> None:
    ids = [
        "11111111-1111-1111-1111-111111111111",
        "00000000-0000-0000-0000-000000000000",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "not-a-uuid",
        "11111111111111111111111111111111",
    ]
    accepted = ask_zod(
        compiled,
        "(planner, ids) => ids.map((id) => ["
        " planner.VisionRow.shape.id.safeParse(id).success,"
        " planner.AuditLogRow.shape.actor_id.safeParse(id).success])",
        ids,
    )
    # The database refuses ids and owners that z.uuid() would refuse
    # (<table>_id_is_rfc_9562); other uuid columns take any UUID.
    assert accepted == [
        [False, True],
        [True, True],
        [True, True],
        [False, False],
        [False, False],
    ]


async def test_a_json_object_reads_back_with_every_key_or_both_refuse_it(
    db: asyncpg.Connection, owner, compiled: Path
) -> None:
    """
    Every document the database stores parses with the Row schema to the
    same keys at every depth, and the Insert schema refuses exactly what
    the database refuses (``<table>_<column>_keys_representable``).
    """
    from tests.attacks.test_json_keys import REPRESENTABLE, UNREPRESENTABLE

    documents = {**UNREPRESENTABLE, **REPRESENTABLE, "plain": '{"k": "v"}'}
    stored: dict[str, str | None] = {}
    for what, text in documents.items():
        savepoint = db.transaction()
        await savepoint.start()
        try:
            stored[what] = await db.fetchval(
                "insert into chat_session (user_id, context) values ($1, $2::jsonb) "
                "returning to_jsonb(chat_session.*)::text",
                owner.user_id,
                text,
            )
        except asyncpg.CheckViolationError as error:
            assert error.constraint_name == "chat_session_context_keys_representable"
            stored[what] = None
        finally:
            await savepoint.rollback()
    answers = ask_zod(
        compiled,
        """(planner, input) => {
          // Keys sorted at every depth, read with Object.entries (obj[key]
          // would read a prototype for __proto__).
          const sorted = (v) => Object.fromEntries(
            Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)));
          const canon = (value) => JSON.stringify(value, (_, v) =>
            v && typeof v === "object" && !Array.isArray(v) ? sorted(v) : v);
          return input.documents.map(([text, row]) => {
            const insert = planner.ChatSessionInsert.safeParse(
              { user_id: input.user_id, context: JSON.parse(text) }).success;
            if (row === null) return [insert, null];
            const stored = JSON.parse(row);
            const read = planner.ChatSessionRow.safeParse(stored);
            const same = read.success
              && canon(read.data.context) === canon(stored.context);
            return [insert, same];
          });
        }""",
        {
            "user_id": str(owner.user_id),
            "documents": [[documents[w], stored[w]] for w in documents],
        },
    )
    outcome = dict(zip(documents, answers, strict=True))
    assert {w: a for w, a in outcome.items() if w in UNREPRESENTABLE} == {
        w: [False, None] for w in UNREPRESENTABLE
    }
    assert {w: a for w, a in outcome.items() if w not in UNREPRESENTABLE} == {
        w: [True, True] for w in documents if w not in UNREPRESENTABLE
    }
