"""
Views in the front-end schema (:mod:`planner_app.schema_export.views`): each
column's origin read from the view's query tree (``node_tree``), its rules
taken from the column it copies, its nullability and range from
``planner_app/views.py``, and every writer showing the views read-only.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import asyncpg
import pytest

from planner_app import rules
from planner_app.schema_export.catalog import read_catalog
from planner_app.schema_export.model import build_tables
from planner_app.schema_export.node_tree import (
    NodeTreeError,
    parse_node_tree,
    view_column_origins,
)
from planner_app.schema_export.shared import SchemaExportError
from planner_app.schema_export.views import build_views
from planner_app.tables import TABLES
from planner_app.views import VIEWS
from tests.support import PROJECT_ROOT

NAMES = [table._meta.tablename for table in TABLES] + [view.name for view in VIEWS]


def test_the_node_tree_reader_reads_nodes_lists_words_and_escapes() -> None:
    text = (
        "({QUERY :commandType 1 :utilityStmt <> :rtable ({RTE :relid 42 "
        ':colnames ("a" "b\\ c")}) :targetList ({TARGETENTRY :expr {CONST '
        ":constvalue 4 [ 1 0 0 0 ]} :resno 1 :resname odd\\)name\\{ "
        ":resorigtbl 42 :resorigcol 2 :resjunk false} {TARGETENTRY :resno 2 "
        ":resname hidden :resorigtbl 42 :resorigcol 1 :resjunk true} "
        "{TARGETENTRY :resno 3 :resname computed :resorigtbl 0 :resorigcol 0 "
        ':resjunk false}) :empty ""})'
    )
    [query] = parse_node_tree(text)
    assert query["node"] == "QUERY" and query["utilityStmt"] is None
    assert query["rtable"][0]["colnames"] == ['"a"', '"b c"']
    constant = query["targetList"][0]["expr"]
    assert constant["constvalue"] == ["4", "[", "1", "0", "0", "0", "]"]
    assert query["empty"] == ""
    assert view_column_origins(text) == {"odd)name{": (42, 2)}


@pytest.mark.parametrize("text", ["({QUERY :a 1", "({QUERY a 1})", "({Q}) extra"])
def test_the_node_tree_reader_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(NodeTreeError):
        parse_node_tree(text)


async def test_the_catalog_reads_which_column_each_view_column_copies(
    fresh_database: Any,
) -> None:
    url = await fresh_database()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            """
            create table parent (id uuid primary key, label text not null);
            create table child (
              id uuid primary key,
              parent_id uuid not null references parent (id),
              amount int not null
            );
            create view totals with (security_invoker = true) as
            select p.id as parent_key, p.label, t.total, p.label || '!' as loud
              from parent p
             cross join lateral (
               select sum(c.amount) as total
                 from child c where c.parent_id = p.id
             ) t;
            create view of_totals as select label, total, parent_key from totals;
            comment on view totals is 'Per parent.';
            """
        )
    finally:
        await conn.close()
    catalog = await read_catalog(url, ["parent", "child", "totals", "of_totals"])
    totals = catalog["totals"]
    assert totals.view and totals.comment == "Per parent."
    assert {name: c.origin for name, c in totals.columns.items()} == {
        "parent_key": ("parent", "id"),
        "label": ("parent", "label"),
        "total": None,
        "loud": None,
    }
    # A view of a view copies the view's column (its origin is resolved
    # one level at a time by the model).
    assert catalog["of_totals"].columns["label"].origin == ("totals", "label")
    assert not catalog["parent"].view and catalog["parent"].comment is None


async def planner_views(url: str) -> dict[str, Any]:
    catalog = await read_catalog(url, NAMES)
    return {v.name: v for v in build_views(catalog, build_tables(catalog))}


async def test_a_view_column_has_its_origins_rules_and_the_stated_nullability(
    migrated: str,
) -> None:
    views = await planner_views(migrated)
    weekly = views["weekly_score"]
    assert weekly.view and weekly.read_only and weekly.class_name == "WeeklyScore"
    week_no = weekly.column("week_no")
    assert (week_no.sql_type, week_no.minimum, week_no.maximum) == ("int2", 1, 12)
    assert (
        weekly.column("user_id").rfc_9562 and weekly.column("weekly_plan_id").rfc_9562
    )
    assert not weekly.column("cycle_id").rfc_9562  # as weekly_plan.cycle_id
    score = weekly.column("score")
    assert (score.sql_type, score.nullable, score.bounds) == ("float8", True, (0, 1))
    assert not any(
        c.nullable
        for c in weekly.columns
        if c.name != "score" and c.name != "target_met"
    )
    start = views["cycle_score"].column("start_date")
    assert (start.date_min, start.date_max) == (rules.DATE_MIN, rules.DATE_MAX)
    assert not views["cycle_score"].column("end_date").derived
    assert weekly.foreign_keys == []
    assert weekly.row_of == ("weekly_plan", "weekly_plan_id")
    assert views["cycle_score"].row_of == ("cycle", "cycle_id")


async def test_relationships_through_views_are_the_ones_postgrest_infers(
    migrated: str,
) -> None:
    catalog = await read_catalog(migrated, NAMES)
    tables = build_tables(catalog)
    views = build_views(catalog, tables)
    links = {
        (relation.name, key.name, key.columns, key.referenced_table)
        + (key.referenced_columns, key.one_to_one)
        for relation in tables + views
        for key in relation.view_relationships
    }
    owner = ("cycle_id", "user_id")
    assert links == {
        # From a view: the keys of the table it copies, to the table and to
        # the view copying the referenced columns.
        ("weekly_score", "weekly_plan_cycle_same_owner_fkey", owner, "cycle")
        + (("id", "user_id"), False),
        ("weekly_score", "weekly_plan_cycle_same_owner_fkey", owner, "cycle_score")
        + (owner, False),
        # Into a view: the tables' keys to the tables the views copy.
        ("goal", "goal_cycle_same_owner_fkey", owner, "cycle_score") + (owner, False),
        ("weekly_plan", "weekly_plan_cycle_same_owner_fkey", owner, "cycle_score")
        + (owner, False),
        ("chat_session", "chat_session_cycle_same_owner_fkey", owner, "cycle_score")
        + (owner, False),
        (
            "plan_item",
            "plan_item_weekly_plan_same_owner_fkey",
            ("weekly_plan_id", "cycle_id", "user_id"),
            "weekly_score",
            ("weekly_plan_id", "cycle_id", "user_id"),
            False,
        ),
    }


async def test_a_view_that_differs_from_planner_app_views_is_refused(
    migrated: str,
) -> None:
    catalog = await read_catalog(migrated, NAMES)
    tables = build_tables(catalog)
    live = catalog["weekly_score"]
    fewer = dict(live.columns)
    del fewer["locked"]
    changed = {**catalog, "weekly_score": dataclasses.replace(live, columns=fewer)}
    with pytest.raises(SchemaExportError, match="view weekly_score has the columns"):
        build_views(changed, tables)
    missing = {k: v for k, v in catalog.items() if k != "cycle_score"}
    with pytest.raises(SchemaExportError, match="no view cycle_score"):
        build_views(missing, tables)


def test_the_artifacts_show_the_views_read_only() -> None:
    types = (PROJECT_ROOT / "schema/database.types.ts").read_text()
    views = types[types.index("    Views: {") : types.index("    Functions: {")]
    for view in VIEWS:
        assert f"      {view.name}: {{\n        Row: {{" in views
    assert "Insert" not in views and "Update" not in views
    # Nullable, as PostgreSQL says of view columns; Zod narrows them.
    assert "score: number | null" in views and "planned: number | null" in views
    assert "planned: number\n" not in views
    zod = (PROJECT_ROOT / "schema/planner.zod.ts").read_text()
    assert "export const WeeklyScoreRow" in zod
    assert "WeeklyScoreInsert" not in zod and "CycleScoreUpdate" not in zod
    assert "score: z.number().min(0).max(1).nullable()," in zod
    assert "planned: z.int().min(0)," in zod
    document = json.loads((PROJECT_ROOT / "schema/planner.schema.json").read_text())
    assert document["$defs"]["CycleScoreRow"]["properties"]["weeks_elapsed"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 12,
    }
    erd = (PROJECT_ROOT / "docs/erd.md").read_text()
    assert 'weekly_score["weekly_score (view)"] {' in erd
    assert 'cycle ||--|| cycle_score : "cycle_id"' in erd
