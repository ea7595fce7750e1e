"""
The tables, the rules and the catalog put together
(:mod:`planner_app.schema_export.model`): each fact from its one source.
"""

from __future__ import annotations

import pytest

from planner_app import rules
from planner_app.schema_export.catalog import read_catalog
from planner_app.schema_export.model import (
    NOT_LITERAL,
    TableSchema,
    build_tables,
    default_literal,
    integer_bounds,
)
from planner_app.schema_export.shared import SchemaExportError
from planner_app.tables import TABLES, GoalType


@pytest.mark.parametrize(
    ("definition", "bounds"),
    [
        ("CHECK ((quota >= 0))", ("quota", 0, None)),
        ("CHECK ((quota > 0))", ("quota", 1, None)),
        ("CHECK (((week_no >= 1) AND (week_no <= 12)))", ("week_no", 1, 12)),
        ("CHECK ((week_no < 13)) NOT VALID", ("week_no", None, 12)),
        ("CHECK (((a >= 1) AND (b <= 12)))", None),
        ("CHECK ((char_length(title) <= 200))", None),
        ("CHECK ((octet_length((context)::text) <= 16384))", None),
        ("CHECK ((end_date = (start_date + 83)))", None),
        ("CHECK ((title ~ '\\S'::text))", None),
    ],
)
def test_integer_bounds_follow_their_small_grammar(
    definition: str, bounds: tuple[str, int | None, int | None] | None
) -> None:
    assert integer_bounds(definition) == bounds


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("'draft'::character varying", "draft"),
        ("''::text", ""),
        ("'it''s'::text", "it's"),
        ("'{}'::jsonb", {}),
        ("NULL::character varying", None),
        ("1", 1),
        ("false", False),
        ("gen_random_uuid()", NOT_LITERAL),
        ("CURRENT_DATE", NOT_LITERAL),
    ],
)
def test_default_literals_are_read(expression: str, value: object) -> None:
    assert default_literal(expression) == value or default_literal(expression) is value


async def planner_tables(url: str) -> dict[str, TableSchema]:
    names = [table._meta.tablename for table in TABLES]
    return {t.name: t for t in build_tables(await read_catalog(url, names))}


async def test_rules_come_from_rules_py_and_enums_from_the_tables(
    migrated: str,
) -> None:
    tables = await planner_tables(migrated)
    goal = tables["goal"]
    assert goal.column("goal_type").enum is GoalType
    assert goal.column("title").not_blank
    assert goal.column("title").max_chars == rules.TEXT_MAX_CHARS["goal.title"]
    assert not goal.column("description").not_blank
    context = tables["chat_session"].column("context")
    assert context.json_object
    assert context.json_max_bytes == rules.JSON_MAX_BYTES["chat_session.context"]
    cycle = tables["cycle"]
    start, end = cycle.column("start_date"), cycle.column("end_date")
    assert (start.date_min, start.date_max) == (rules.DATE_MIN, rules.DATE_MAX)
    assert end.derived and end.date_min is None
    week_no = tables["weekly_plan"].column("week_no")
    assert (week_no.minimum, week_no.maximum) == (1, rules.WEEKS_PER_CYCLE)
    assert cycle.database_only_rules == [
        "cycle_end_date_is_start_plus_83",
        "cycle_no_overlap",
        "cycle_one_active_per_user",
    ]


async def test_insert_is_optional_exactly_where_the_database_fills(
    migrated: str,
) -> None:
    tables = await planner_tables(migrated)
    required = {
        name: [c.name for c in table.columns if not c.insert_optional]
        for name, table in tables.items()
    }
    # A default its own rules reject ('' for a not-blank title, NULL for a
    # NOT NULL column) does not make a column optional.
    assert required["goal"] == ["user_id", "cycle_id", "goal_type", "title"]
    assert required["vision"] == ["user_id", "title", "statement"]
    assert required["chat_message"] == ["user_id", "session_id", "role", "content"]
    # Trigger-filled, identity and defaulted columns are optional.
    assert required["cycle"] == ["user_id"]
    assert required["task"] == ["user_id", "goal_id", "title"]
    assert required["weekly_plan"] == ["user_id", "cycle_id", "week_no"]
    assert "id" not in required["audit_log"]


async def test_rules_naming_a_column_that_does_not_exist_are_refused(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(rules.TEXT_MAX_CHARS, "goal.colour", 20)
    with pytest.raises(SchemaExportError, match="TEXT_MAX_CHARS names goal.colour"):
        await planner_tables(migrated)


async def test_a_text_column_without_a_maximum_is_refused(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(rules.TEXT_MAX_CHARS, "goal.description")
    with pytest.raises(SchemaExportError, match="goal.description has no maximum"):
        await planner_tables(migrated)
