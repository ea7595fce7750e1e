"""
Reading the live catalog (:mod:`planner_app.schema_export.catalog`): what the
database knows about columns, the columns it fills, and its keys.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from planner_app.schema_export.catalog import assigned_columns, read_catalog

PLANNER_TRIGGER_FILLED = {
    ("cycle", "end_date"),
    ("weekly_plan", "week_start_date"),
    ("task", "cycle_id"),
    ("plan_item", "cycle_id"),
}


def test_trigger_assignments_are_read_from_the_function_source() -> None:
    source = """
    begin
      -- new.commented := 1;
      /* new.also_commented := 2; */
      if new.compared = old.compared then
        NEW . end_date := new.start_date + 83;
      end if;
      select g.cycle_id into new.cycle_id from public.goal g where g.id = new.goal_id;
      select w.x into strict new.strict_one from w;
      return new;
    end
    """
    assert assigned_columns(source) == {"end_date", "cycle_id", "strict_one"}


async def test_the_catalog_says_what_the_database_fills_and_how_tables_link(
    fresh_database: Any,
) -> None:
    url = await fresh_database()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            """
            create table parent (
              id uuid primary key default gen_random_uuid(),
              owner uuid not null,
              unique (id, owner)
            );
            create table child (
              id bigint generated always as identity primary key,
              parent_id uuid not null,
              owner uuid not null,
              derived date not null,
              label varchar(20) not null default 'x',
              note text,
              rank smallint not null check (rank between 1 and 5),
              foreign key (parent_id, owner) references parent (id, owner)
            );
            create table profile (
              parent_id uuid primary key references parent (id)
            );
            create unique index child_one_first on child (parent_id) where rank = 1;
            create function fill() returns trigger language plpgsql as $$
            begin
              new.derived := current_date;
              return new;
            end $$;
            create trigger child_fill before insert on child
              for each row execute function fill();
            """
        )
    finally:
        await conn.close()

    catalog = await read_catalog(url, ["parent", "child", "profile", "missing"])

    assert set(catalog) == {"parent", "child", "profile"}
    child = catalog["child"]
    assert list(child.columns) == [
        "id",
        "parent_id",
        "owner",
        "derived",
        "label",
        "note",
        "rank",
    ]
    assert child.columns["id"].identity
    assert child.columns["derived"].filled_by_trigger
    assert not child.columns["parent_id"].filled_by_trigger
    assert child.columns["label"].default == "'x'::character varying"
    assert child.columns["label"].max_length == 20
    assert child.columns["note"].nullable
    (key,) = child.foreign_keys
    assert (key.columns, key.referenced_relation, key.referenced_columns) == (
        ("parent_id", "owner"),
        "parent",
        ("id", "owner"),
    )
    assert not key.one_to_one
    (rank,) = child.checks
    assert rank.columns == ("rank",)
    assert rank.definition == "CHECK (((rank >= 1) AND (rank <= 5)))"
    partial = next(k for k in child.unique_keys if k.name == "child_one_first")
    assert partial.predicate == "(rank = 1)"
    (profile_key,) = catalog["profile"].foreign_keys
    assert profile_key.one_to_one


async def test_the_planner_columns_a_trigger_fills(migrated: str) -> None:
    from planner_app.tables import TABLES

    names = [table._meta.tablename for table in TABLES]
    catalog = await read_catalog(migrated, names)
    filled = {
        (table.name, column.name)
        for table in catalog.values()
        for column in table.columns.values()
        if column.filled_by_trigger
    }
    assert filled == PLANNER_TRIGGER_FILLED
