"""
Reading the live database: what only the migrated database knows for sure.

For each planner table: its columns (type, nullability, default, identity,
length limit), which of them a trigger fills, its foreign keys (composite ones
included, with the columns they reference), its CHECK constraints as the
database prints them, its unique keys (partial unique indexes included) and
its exclusion constraints. For each planner view: its columns, its comment
and, for each column that copies a column of a table or view of ``public``,
that column (its origin, as PostgreSQL records it in the view's rule:
:func:`~planner_app.schema_export.node_tree.view_column_origins`). Nothing
here knows the product's rules: that is
:mod:`planner_app.schema_export.model`'s job.

Trigger-filled columns
    A column is filled by a trigger when it is ``NOT NULL`` without a default
    and a ``BEFORE INSERT … FOR EACH ROW`` trigger of its table runs a
    function whose source assigns it, written as ``new.<column> := …`` or
    ``select … into new.<column>`` (comments ignored). That is the whole
    grammar: a trigger that fills a column any other way is not seen, and the
    column is then required on insert (a test pins the planner's four).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg

from planner_app.schema_export.node_tree import NodeTreeError, view_column_origins
from planner_app.schema_export.shared import SchemaExportError


@dataclass(frozen=True)
class CatalogColumn:
    name: str
    sql_type: str
    """PostgreSQL's type name (``udt_name``): ``uuid``, ``int4``, ``jsonb``..."""
    nullable: bool
    default: str | None
    """The default expression as PostgreSQL prints it (``'draft'::character
    varying``, ``gen_random_uuid()``), or ``None``."""
    identity: bool = False
    max_length: int | None = None
    """``varchar(n)``'s ``n``."""
    filled_by_trigger: bool = False
    origin: tuple[str, str] | None = None
    """A view's column that copies a column of a relation of ``public``:
    ``(relation, column)``."""


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    referenced_schema: str
    referenced_table: str
    referenced_columns: tuple[str, ...]
    one_to_one: bool = False
    """The key's columns are exactly a unique key of the referencing table."""

    @property
    def referenced_relation(self) -> str:
        """The parent's name, schema-qualified outside ``public``."""
        if self.referenced_schema == "public":
            return self.referenced_table
        return f"{self.referenced_schema}.{self.referenced_table}"


@dataclass(frozen=True)
class CheckConstraint:
    name: str
    columns: tuple[str, ...]
    definition: str
    """As ``pg_get_constraintdef`` prints it: ``CHECK ((quota >= 0))``."""


@dataclass(frozen=True)
class UniqueKey:
    name: str
    columns: tuple[str, ...]
    predicate: str | None = None
    """The ``WHERE`` of a partial unique index."""
    primary: bool = False


@dataclass(frozen=True)
class CatalogTable:
    name: str
    columns: dict[str, CatalogColumn]
    """In the database's column order."""
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    unique_keys: tuple[UniqueKey, ...] = ()
    exclusions: tuple[str, ...] = ()
    view: bool = False
    comment: str | None = None
    """``comment on view`` (views only)."""


_COLUMNS_SQL = """
select table_name, column_name, udt_name, is_nullable = 'YES' as nullable,
       column_default, character_maximum_length, is_identity = 'YES' as identity
from information_schema.columns
where table_schema = 'public' and table_name = any($1::text[])
order by table_name, ordinal_position
"""

_CONSTRAINTS_SQL = """
select t.relname as table_name, c.conname as name, c.contype::text as type,
       pg_catalog.pg_get_constraintdef(c.oid) as definition,
       array(select a.attname from unnest(c.conkey) with ordinality k(num, i)
             join pg_catalog.pg_attribute a
               on a.attrelid = c.conrelid and a.attnum = k.num
             order by k.i)::text[] as columns,
       fn.nspname as parent_schema, f.relname as parent_table,
       array(select a.attname from unnest(c.confkey) with ordinality k(num, i)
             join pg_catalog.pg_attribute a
               on a.attrelid = c.confrelid and a.attnum = k.num
             order by k.i)::text[] as parent_columns
from pg_catalog.pg_constraint c
join pg_catalog.pg_class t on t.oid = c.conrelid
join pg_catalog.pg_namespace n on n.oid = t.relnamespace
left join pg_catalog.pg_class f on f.oid = c.confrelid
left join pg_catalog.pg_namespace fn on fn.oid = f.relnamespace
where n.nspname = 'public' and t.relname = any($1::text[])
order by t.relname, c.conname
"""

# Unique indexes that back no constraint: the partial uniques.
_UNIQUE_INDEXES_SQL = """
select t.relname as table_name, i.relname as name,
       array(select a.attname from unnest(x.indkey) with ordinality k(num, j)
             join pg_catalog.pg_attribute a
               on a.attrelid = x.indrelid and a.attnum = k.num
             order by k.j)::text[] as columns,
       pg_catalog.pg_get_expr(x.indpred, x.indrelid) as predicate
from pg_catalog.pg_index x
join pg_catalog.pg_class i on i.oid = x.indexrelid
join pg_catalog.pg_class t on t.oid = x.indrelid
join pg_catalog.pg_namespace n on n.oid = t.relnamespace
where n.nspname = 'public' and t.relname = any($1::text[]) and x.indisunique
  and not exists (
    select 1 from pg_catalog.pg_constraint c
    where c.conindid = x.indexrelid and c.contype in ('p', 'u', 'x')
  )
order by t.relname, i.relname
"""

# The functions of the row triggers that run before an insert
# (tgtype bits: 1 row, 2 before, 4 insert).
_INSERT_TRIGGERS_SQL = """
select t.relname as table_name, p.prosrc as source
from pg_catalog.pg_trigger g
join pg_catalog.pg_class t on t.oid = g.tgrelid
join pg_catalog.pg_namespace n on n.oid = t.relnamespace
join pg_catalog.pg_proc p on p.oid = g.tgfoid
where n.nspname = 'public' and t.relname = any($1::text[])
  and not g.tgisinternal and g.tgtype & 7 = 7
order by t.relname, g.tgname
"""

# The planner views' query trees, and the columns of every relation of
# public (to name the columns the views copy).
_VIEWS_SQL = """
select c.relname as table_name, r.ev_action::text as rule,
       pg_catalog.obj_description(c.oid, 'pg_class') as comment
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_rewrite r on r.ev_class = c.oid and r.rulename = '_RETURN'
where n.nspname = 'public' and c.relkind = 'v' and c.relname = any($1::text[])
order by c.relname
"""

_PUBLIC_COLUMNS_SQL = """
select a.attrelid::oid as relation_id, c.relname, a.attnum, a.attname
from pg_catalog.pg_attribute a
join pg_catalog.pg_class c on c.oid = a.attrelid
where c.relnamespace = 'public'::regnamespace and a.attnum > 0
  and not a.attisdropped
"""

_ASSIGNED = re.compile(
    r"\bnew\s*\.\s*(\w+)\s*:=|\binto\s+(?:strict\s+)?new\s*\.\s*(\w+)", re.IGNORECASE
)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def assigned_columns(source: str) -> set[str]:
    """
    The columns of ``NEW`` that a trigger function's source assigns:
    ``new.<column> := …`` or ``… into new.<column>`` (module docstring).
    """
    return {
        (first or second).lower()
        for first, second in _ASSIGNED.findall(_COMMENTS.sub(" ", source))
    }


async def read_catalog(database_url: str, names: list[str]) -> dict[str, CatalogTable]:
    """
    The tables and views ``names`` of schema ``public`` as the database at
    ``database_url`` has them; a relation it does not have is left out.

    :raises SchemaExportError: When the database cannot be reached, or a
        view's query tree cannot be read.
    """
    try:
        conn = await asyncpg.connect(database_url)
    except (OSError, asyncpg.PostgresError) as error:
        raise SchemaExportError(f"cannot connect to the database: {error}") from error
    try:
        rows = {
            "columns": await conn.fetch(_COLUMNS_SQL, names),
            "constraints": await conn.fetch(_CONSTRAINTS_SQL, names),
            "unique_indexes": await conn.fetch(_UNIQUE_INDEXES_SQL, names),
            "triggers": await conn.fetch(_INSERT_TRIGGERS_SQL, names),
            "views": await conn.fetch(_VIEWS_SQL, names),
        }
        if rows["views"]:
            rows["public_columns"] = await conn.fetch(_PUBLIC_COLUMNS_SQL)
    finally:
        await conn.close()
    return {
        name: _table(name, rows)
        for name in names
        if any(r["table_name"] == name for r in rows["columns"])
    }


def _origins(name: str, rows: dict[str, list[asyncpg.Record]]) -> dict | None:
    """The origin of each column of view ``name``; None for a table."""
    view = next((r for r in rows["views"] if r["table_name"] == name), None)
    if view is None:
        return None
    try:
        found = view_column_origins(view["rule"])
    except NodeTreeError as error:
        raise SchemaExportError(
            f"cannot read the query of view {name}: {error}"
        ) from error
    columns = {
        (r["relation_id"], r["attnum"]): (r["relname"], r["attname"])
        for r in rows["public_columns"]
    }
    return {
        column: columns[origin] for column, origin in found.items() if origin in columns
    }


def _table(name: str, rows: dict[str, list[asyncpg.Record]]) -> CatalogTable:
    def of_table(kind: str) -> list[asyncpg.Record]:
        return [r for r in rows[kind] if r["table_name"] == name]

    assigned: set[str] = set()
    for trigger in of_table("triggers"):
        assigned |= assigned_columns(trigger["source"])
    origins = _origins(name, rows)

    columns = {}
    for row in of_table("columns"):
        default = row["column_default"]
        filled = (
            row["column_name"] in assigned
            and not row["nullable"]
            and default is None
            and not row["identity"]
        )
        columns[row["column_name"]] = CatalogColumn(
            name=row["column_name"],
            sql_type=row["udt_name"],
            nullable=row["nullable"],
            default=default,
            identity=row["identity"],
            max_length=row["character_maximum_length"],
            filled_by_trigger=filled,
            origin=(origins or {}).get(row["column_name"]),
        )

    constraints = of_table("constraints")
    unique_keys = [
        UniqueKey(r["name"], tuple(r["columns"]), primary=r["type"] == "p")
        for r in constraints
        if r["type"] in ("p", "u")
    ]
    unique_keys += [
        UniqueKey(r["name"], tuple(r["columns"]), predicate=r["predicate"])
        for r in of_table("unique_indexes")
    ]
    # Like PostgREST: one-to-one when the key's columns are a (total) unique
    # key of the child.
    unique_sets = {frozenset(k.columns) for k in unique_keys if k.predicate is None}
    foreign_keys = tuple(
        ForeignKey(
            name=r["name"],
            columns=tuple(r["columns"]),
            referenced_schema=r["parent_schema"],
            referenced_table=r["parent_table"],
            referenced_columns=tuple(r["parent_columns"]),
            one_to_one=frozenset(r["columns"]) in unique_sets,
        )
        for r in constraints
        if r["type"] == "f"
    )
    return CatalogTable(
        name=name,
        columns=columns,
        foreign_keys=foreign_keys,
        checks=tuple(
            CheckConstraint(r["name"], tuple(r["columns"]), r["definition"])
            for r in constraints
            if r["type"] == "c"
        ),
        unique_keys=tuple(unique_keys),
        exclusions=tuple(r["name"] for r in constraints if r["type"] == "x"),
        view=origins is not None,
        comment=next(
            (r["comment"] for r in rows["views"] if r["table_name"] == name), None
        ),
    )
