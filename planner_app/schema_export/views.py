"""
The planner views as the front end sees them: ``planner_app/views.py`` and
the live catalog put together, in the same form as the tables
(:class:`~planner_app.schema_export.model.TableSchema`, ``view`` set), so
every writer reads them like a read-only table.

Where each fact comes from
    - the views, their order, their columns' nullability and ranges, and the
      table each row describes: ``planner_app/views.py`` (the database must
      have exactly these columns, in this order);
    - what a view is: its ``comment on view``;
    - each column's type, and for a column that copies a column of a table
      or of an earlier view (its origin, read from the view's query), that
      column's rules: enumeration, text and number ranges, UUID form;
    - the relationships PostgREST (and Supabase's type generator) infer
      through views (:func:`view_relationships`), so embedded selects from
      and into the views are typed.
"""

from __future__ import annotations

import dataclasses

from planner_app.schema_export.catalog import CatalogColumn, CatalogTable, ForeignKey
from planner_app.schema_export.model import Column, TableSchema
from planner_app.schema_export.shared import SchemaExportError, pascal
from planner_app.views import VIEWS, View, ViewColumn


def build_views(
    catalog: dict[str, CatalogTable], tables: list[TableSchema]
) -> list[TableSchema]:
    """
    The planner views, in the order of :data:`planner_app.views.VIEWS`.

    :param tables: the planner tables (:func:`~.model.build_tables`).
    :raises SchemaExportError:
        When the database has no such view, or other columns.
    """
    relations = {table.name: table for table in tables}
    views = []
    for view in VIEWS:
        schema = _view_schema(view, catalog, relations)
        relations[view.name] = schema
        views.append(schema)
    for name, keys in view_relationships(catalog, tables, views).items():
        relations[name].view_relationships = keys
    return views


def _view_schema(
    view: View, catalog: dict[str, CatalogTable], relations: dict[str, TableSchema]
) -> TableSchema:
    live = catalog.get(view.name)
    if live is None or not live.view:
        raise SchemaExportError(
            f"the database has no view {view.name}: run "
            "`piccolo migrations forwards all` first"
        )
    if list(live.columns) != list(view.columns):
        raise SchemaExportError(
            f"view {view.name} has the columns {', '.join(live.columns)}, "
            f"planner_app/views.py says {', '.join(view.columns)}: migrate the "
            "database or correct planner_app/views.py"
        )
    row_of = _row_of(view, live, relations)
    return TableSchema(
        name=view.name,
        class_name=pascal(view.name),
        doc=" ".join((live.comment or "").split()),
        columns=[
            _column(view.name, name, stated, live.columns[name], relations)
            for name, stated in view.columns.items()
        ],
        foreign_keys=[],
        database_only_rules=[],
        view=True,
        row_of=row_of,
    )


def _row_of(
    view: View, live: CatalogTable, relations: dict[str, TableSchema]
) -> tuple[str, str]:
    """``(table, view column)``: the table of ``view.row_of`` and the column of
    the view that copies its primary key."""
    table = relations.get(view.row_of)
    keys = [c.name for c in table.columns if c.primary_key] if table else []
    copies = [c.name for c in live.columns.values() if c.origin == (view.row_of, *keys)]
    if len(keys) != 1 or not copies:
        raise SchemaExportError(
            f"planner_app/views.py: {view.name} describes rows of {view.row_of}, "
            "so it must copy that table's primary key"
        )
    return view.row_of, copies[0]


def _column(
    view: str,
    name: str,
    stated: ViewColumn,
    found: CatalogColumn,
    relations: dict[str, TableSchema],
) -> Column:
    if found.origin and found.origin[0] in relations:
        source = relations[found.origin[0]].column(found.origin[1])
        # The copied column's rules, not its role in its own table.
        column = dataclasses.replace(
            source,
            name=name,
            default=None,
            identity=False,
            primary_key=False,
            derived=False,
            foreign_key=False,
            unique_keys=[],
        )
    else:
        column = Column(name=name, sql_type=found.sql_type, nullable=True)
    if column.sql_type != found.sql_type:
        raise SchemaExportError(
            f"{view}.{name} is a {found.sql_type}, its origin a {column.sql_type}"
        )
    column.nullable = stated.nullable
    if stated.minimum is not None:
        low = column.minimum
        column.minimum = stated.minimum if low is None else max(low, stated.minimum)
    if stated.maximum is not None:
        high = column.maximum
        column.maximum = stated.maximum if high is None else min(high, stated.maximum)
    return column


def _base_columns(
    name: str, catalog: dict[str, CatalogTable], tables: set[str]
) -> dict[tuple[str, str], str]:
    """``(table, column) -> column of view name``: the table columns the view
    copies, through the views it reads (the first copy of each)."""
    copies: dict[tuple[str, str], str] = {}
    for column in catalog[name].columns.values():
        origin = column.origin
        while origin and origin[0] not in tables and origin[0] in catalog:
            origin = catalog[origin[0]].columns[origin[1]].origin
        if origin and origin[0] in tables:
            copies.setdefault(origin, column.name)
    return copies


def view_relationships(
    catalog: dict[str, CatalogTable],
    tables: list[TableSchema],
    views: list[TableSchema],
) -> dict[str, list[ForeignKey]]:
    """
    The relationships through views, by the relation they start from, as
    PostgREST infers them: a foreign key of table ``A`` to table ``B`` links
    every relation that has all of the key's columns of ``A`` (``A``, or a
    view copying them) to every relation that has all of its columns of
    ``B``, under the key's name. The tables' own keys are left out (they
    are ``foreign_keys``); a link from a view is never one-to-one.
    """
    names = {table.name for table in tables}
    has: dict[str, list[tuple[str, dict[str, str]]]] = {
        table.name: [(table.name, {c.name: c.name for c in table.columns})]
        for table in tables
    }
    for view in views:
        for (table, column), copy in _base_columns(view.name, catalog, names).items():
            found = next((m for r, m in has[table] if r == view.name), None)
            if found is None:
                found = {}
                has[table].append((view.name, found))
            found[column] = copy
    links: dict[str, list[ForeignKey]] = {}
    for table in tables:
        for key in table.foreign_keys:
            if key.referenced_schema != "public":
                continue
            for source, columns in has[table.name]:
                if not all(c in columns for c in key.columns):
                    continue
                for target, referenced in has.get(key.referenced_table, []):
                    if source == table.name and target == key.referenced_table:
                        continue
                    if not all(c in referenced for c in key.referenced_columns):
                        continue
                    links.setdefault(source, []).append(
                        ForeignKey(
                            name=key.name,
                            columns=tuple(columns[c] for c in key.columns),
                            referenced_schema="public",
                            referenced_table=target,
                            referenced_columns=tuple(
                                referenced[c] for c in key.referenced_columns
                            ),
                            one_to_one=key.one_to_one and source == table.name,
                        )
                    )
    return links
