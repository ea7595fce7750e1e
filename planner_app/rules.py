"""
The product's rules that more than one layer needs, stated once.

The tables (``tables.py``) build their CHECK constraints from these values,
the front-end schema generator mirrors them, the services and the seeds read
them, and the tests check that the database agrees (``docs/product.md`` says
what each rule means).
"""

from __future__ import annotations

from datetime import date

WEEKS_PER_CYCLE = 12
"""A cycle is 12 weeks: ``end_date`` is always ``start_date + 83`` days."""

CYCLE_LAST_DAY_OFFSET = 7 * WEEKS_PER_CYCLE - 1

LOCKED_WEEKS = range(7, 13)
"""The weeks a cycle's lock freezes (7..12). The SQL function
``planner_private.week_lockable(week_no)`` states the same range; a test checks
that they agree."""

DATE_MIN = date(2000, 1, 1)
DATE_MAX = date(2199, 12, 31)
"""The range of a cycle's ``start_date`` (finite, and well inside what the
front end's date parsing handles)."""

# Characters that do not count as content for "not blank": Unicode
# White_Space and Default_Ignorable_Code_Point (inclusive ranges).
BLANK_CHARACTERS: tuple[tuple[int, int], ...] = (
    (0x0009, 0x000D),
    (0x0020, 0x0020),
    (0x0085, 0x0085),
    (0x00A0, 0x00A0),
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x1680, 0x1680),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2000, 0x200F),
    (0x2028, 0x202F),
    (0x205F, 0x206F),
    (0x3000, 0x3000),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def _escape(code_point: int) -> str:
    # \uXXXX and \UXXXXXXXX read the same in PostgreSQL's regular
    # expressions; JavaScript (with the u flag) reads \u{...}, so the
    # generator rewrites the long form.
    return f"\\u{code_point:04x}" if code_point <= 0xFFFF else f"\\U{code_point:08x}"


NOT_BLANK_PATTERN = (
    "[^"
    + "".join(
        _escape(first) if first == last else f"{_escape(first)}-{_escape(last)}"
        for first, last in BLANK_CHARACTERS
    )
    + "]"
)
"""A regular expression (PostgreSQL ARE) that matches a text containing at
least one character that is not blank."""

TEXT_MAX_CHARS: dict[str, int] = {
    "vision.title": 200,
    "vision.statement": 5_000,
    "goal.title": 200,
    "goal.description": 5_000,
    "task.title": 200,
    "task.description": 5_000,
    "weekly_plan.reflection": 5_000,
    "plan_item.notes": 2_000,
    "chat_session.title": 200,
    "chat_message.content": 32_000,
}
"""The longest text each text column accepts, in characters."""

NOT_BLANK_COLUMNS: frozenset[str] = frozenset(
    {
        "vision.title",
        "vision.statement",
        "goal.title",
        "task.title",
        "chat_message.content",
    }
)
"""Text columns that must hold at least one non-blank character."""

RFC_9562_ID_COLUMNS: tuple[str, ...] = ("id", "user_id")
"""Columns of every user-owned table that hold only RFC 9562 UUIDs (versions
1-8, variant 10xx, or the nil and max UUIDs: what Zod's ``z.uuid()``
accepts), checked by ``<table>_<column>_is_rfc_9562``."""

JSON_MAX_BYTES: dict[str, int] = {
    "chat_session.context": 16_384,
    "chat_message.metadata": 16_384,
}
"""The largest JSON object each JSONB column accepts: bytes of its text
form as PostgreSQL prints it (``jsonb::text``)."""

WEEKLY_TARGET_PERCENT = 85
"""The 12 Week Year's target: a week whose execution score (done / planned,
each item's completions counted up to its quota) is at least 85 % meets it.
The view ``public.weekly_score`` compares ``done * 100 >= planned * 85``; a
test checks that they agree."""

JSON_UNREPRESENTABLE_KEYS: tuple[str, ...] = ("__proto__",)
"""Keys no JSON object may hold, at any depth, because the front end cannot
keep them as data: ``JSON.parse`` makes ``__proto__`` an own key, but Zod's
object and record schemas leave it out (assigning it to a JavaScript object
sets the object's prototype instead), so a stored object would read back
without it. The database refuses them (``<table>_<column>_keys_representable``)
and so do the generated schemas."""

BUDGETS: dict[str, int] = {
    "live_rows": 100_000,
    "live_bytes": 100_000_000,
    "daily_audit_rows": 10_000,
    "daily_audit_bytes": 10_000_000,
}
"""
Per-user budgets, refused with SQLSTATE ``PT429`` (HTTP 429) to writers under
row-level security (``docs/security.md``, "Resource exhaustion"):

- ``live_rows``: rows a user keeps in the eight domain tables;
- ``live_bytes``: bytes of those rows (a row's bytes: ``octet_length(row::text)``
  with DateStyle ISO and TimeZone UTC);
- ``daily_audit_rows``: audit rows the user's own inserts and updates write in
  a UTC day;
- ``daily_audit_bytes``: the bytes of the row images those audit rows hold
  (the new row of an insert, the old and the new row of an update).

The SQL function ``planner_private.budget_limit(budget)`` states the same
values; a test checks that they agree."""
