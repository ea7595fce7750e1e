"""
Supabase's own type generator (``@supabase/postgres-meta``, what ``supabase
gen types typescript`` runs) against a database, and a TypeScript file that
makes ``tsc`` prove ``schema/database.types.ts`` differs from its output only
by the narrowings docs/frontend.md lists, each found in the database:

- a column whose CHECK allows a fixed list of strings: that union, where the
  generator says ``string``;
- a JSONB column whose CHECK says ``jsonb_typeof(c) = 'object'`` (on its own,
  or ``c IS NULL OR ...``): a JSON object, where the generator says any JSON;
- a ``NOT NULL`` column without default that a ``BEFORE INSERT ... FOR EACH
  ROW`` trigger assigns: optional in ``Insert``, where the generator
  requires it;
- a table no API role may insert into (update): ``Insert`` (``Update``) is
  ``never``;
- a table or view no API role may read: left out (Piccolo's ``migration``);
- ``Enums`` (and ``Constants``) list the CHECK unions by name.

Everything else (every table, view, column, type, optionality and
relationship) must be the generator's exactly.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from planner_app.schema_export.catalog import assigned_columns
from tests.support import PROJECT_ROOT, closing_bracket

SCHEMA_DIR = PROJECT_ROOT / "schema"
GENERATOR = SCHEMA_DIR / "node_modules/@supabase/postgres-meta/dist/server/server.js"
API_ROLES = ("anon", "authenticated", "service_role")
POSTGREST_VERSION = "12"


def generator_url(database_url: str) -> str:
    """
    ``database_url`` as the generator's URL parser takes it: a URL with a
    socket folder and no host (the embedded server's) gets the placeholder
    host ``localhost``; the ``host`` parameter still picks the socket.
    """
    parts = urlsplit(database_url)
    if parts.hostname or "host=" not in parts.query:
        return database_url
    user = parts.username or "postgres"
    return urlunsplit(parts._replace(netloc=f"{user}@localhost"))


def generate_types(database_url: str) -> str:
    """
    The generator's TypeScript for schema ``public`` of ``database_url``, run
    the way the Supabase CLI runs it (``node dist/server/server.js`` with
    ``PG_META_GENERATE_TYPES``), offline.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PG_META_DB_URL": generator_url(database_url),
        "PG_META_GENERATE_TYPES": "typescript",
        "PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS": "public",
        "PG_META_GENERATE_TYPES_DETECT_ONE_TO_ONE_RELATIONSHIPS": "true",
        "PG_META_POSTGREST_VERSION": POSTGREST_VERSION,
    }
    result = subprocess.run(
        ["node", str(GENERATOR)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "export type Database" in result.stdout, result.stdout[:2000]
    return result.stdout


# -- What the database says ---------------------------------------------------


@dataclass
class ColumnFacts:
    name: str
    enum_values: tuple[str, ...] | None = None
    json_object: bool = False
    trigger_filled: bool = False


@dataclass
class RelationFacts:
    name: str
    kind: str
    """``Tables`` or ``Views``."""
    readable: bool
    insertable: bool
    updatable: bool
    columns: dict[str, ColumnFacts] = field(default_factory=dict)


def strip_parentheses(text: str) -> str:
    """``((a = b))`` -> ``a = b``; ``(a) OR (b)`` stays."""
    text = text.strip()
    while text.startswith("(") and closing_bracket(text, 0, "'") == len(text) - 1:
        text = text[1:-1].strip()
    return text


def conjuncts(definition: str) -> list[str]:
    """The top-level ``AND`` terms of a CHECK as PostgreSQL prints it."""
    body = strip_parentheses(
        definition.removeprefix("CHECK ").removesuffix(" NOT VALID")
    )
    terms, depth, quoted, start = [], 0, False, 0
    index = 0
    while index < len(body):
        char = body[index]
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and body.startswith(" AND ", index):
            terms.append(strip_parentheses(body[start:index]))
            start = index + 5
            index += 4
        index += 1
    terms.append(strip_parentheses(body[start:]))
    return terms


_IN_LIST = re.compile(
    r"\(?(\w+)\)?(?:::text)? = ANY \(\(?ARRAY\[([^\]]+)\]\)?(?:::text\[\])?\)"
)
_ITEM = re.compile(r"'((?:[^']|'')*)'::[\w ]+")


def enum_check(term: str) -> tuple[str, tuple[str, ...]] | None:
    """``(status)::text = ANY ((ARRAY['a'::character varying, ...])::text[])``."""
    match = _IN_LIST.fullmatch(term)
    if not match:
        return None
    items = [item.strip() for item in match[2].split(",")]
    values = []
    for item in items:
        literal = _ITEM.fullmatch(item)
        if not literal:
            return None
        values.append(literal[1].replace("''", "'"))
    return match[1], tuple(values)


def json_object_check(term: str) -> str | None:
    """``jsonb_typeof(c) = 'object'::text``, or ``(c IS NULL) OR (...)``."""
    match = re.fullmatch(r"jsonb_typeof\((\w+)\) = 'object'::text", term)
    if match:
        return match[1]
    match = re.fullmatch(
        r"\((\w+) IS NULL\) OR \(jsonb_typeof\((\w+)\) = 'object'::text\)", term
    )
    if match and match[1] == match[2]:
        return match[1]
    return None


_RELATIONS_SQL = """
select c.oid, c.relname, c.relkind::text as kind,
       bool_or(pg_catalog.has_table_privilege(r, c.oid, 'SELECT')) as readable,
       bool_or(pg_catalog.has_table_privilege(r, c.oid, 'INSERT')) as insertable,
       bool_or(pg_catalog.has_table_privilege(r, c.oid, 'UPDATE')) as updatable
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
cross join unnest($1::text[]) r
where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f')
group by c.oid, c.relname, c.relkind
order by c.relname
"""

_COLUMNS_SQL = """
select a.attrelid as oid, a.attname as name, a.attnotnull as not_null,
       a.atthasdef as has_default, a.attidentity <> '' as identity
from pg_catalog.pg_attribute a
where a.attrelid = any($1::oid[]) and a.attnum > 0 and not a.attisdropped
order by a.attrelid, a.attnum
"""

_CHECKS_SQL = """
select conrelid as oid, pg_catalog.pg_get_constraintdef(oid) as definition
from pg_catalog.pg_constraint
where contype = 'c' and conrelid = any($1::oid[])
"""

# BEFORE INSERT ... FOR EACH ROW (tgtype bits: 1 row, 2 before, 4 insert).
_INSERT_TRIGGERS_SQL = """
select g.tgrelid as oid, p.prosrc as source
from pg_catalog.pg_trigger g
join pg_catalog.pg_proc p on p.oid = g.tgfoid
where g.tgrelid = any($1::oid[]) and not g.tgisinternal and g.tgtype & 7 = 7
"""


async def database_facts(url: str) -> dict[str, RelationFacts]:
    """The relations of ``public`` and what backs each narrowing."""
    conn = await asyncpg.connect(url)
    try:
        relations = await conn.fetch(_RELATIONS_SQL, list(API_ROLES))
        oids = [r["oid"] for r in relations]
        columns = await conn.fetch(_COLUMNS_SQL, oids)
        checks = await conn.fetch(_CHECKS_SQL, oids)
        triggers = await conn.fetch(_INSERT_TRIGGERS_SQL, oids)
    finally:
        await conn.close()
    facts: dict[str, RelationFacts] = {}
    by_oid = {}
    for row in relations:
        relation = RelationFacts(
            name=row["relname"],
            kind="Views" if row["kind"] in ("v", "m") else "Tables",
            readable=row["readable"],
            insertable=row["insertable"],
            updatable=row["updatable"],
        )
        facts[relation.name] = by_oid[row["oid"]] = relation
    assigned: dict[int, set[str]] = {}
    for row in triggers:
        assigned.setdefault(row["oid"], set()).update(assigned_columns(row["source"]))
    for row in columns:
        filled = (
            row["name"] in assigned.get(row["oid"], set())
            and row["not_null"]
            and not row["has_default"]
            and not row["identity"]
        )
        by_oid[row["oid"]].columns[row["name"]] = ColumnFacts(
            row["name"], trigger_filled=filled
        )
    for row in checks:
        relation = by_oid[row["oid"]]
        for term in conjuncts(row["definition"]):
            if found := enum_check(term):
                relation.columns[found[0]].enum_values = found[1]
            elif (column := json_object_check(term)) is not None:
                relation.columns[column].json_object = True
    return facts


# -- The proof, in TypeScript -------------------------------------------------

_PRELUDE = """\
// Written by tests/schema_export/postgres_meta.py for one test run.
import type {
  Database as Ours,
  Enums as OursEnums,
  Json as OursJson,
  Tables as OursTables,
  TablesInsert as OursTablesInsert,
  TablesUpdate as OursTablesUpdate,
} from "./ours.js"
import { Constants as OursConstants } from "./ours.js"
import type {
  Database as Generated,
  Json as GeneratedJson,
  Tables as GeneratedTables,
  TablesInsert as GeneratedTablesInsert,
  TablesUpdate as GeneratedTablesUpdate,
} from "./generated.js"

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2
    ? true
    : false
type Expect<T extends true> = T
type OptionalKeys<T> = {
  [K in keyof T]-?: {} extends Pick<T, K> ? K : never
}[keyof T]
type IsNever<T> = [T] extends [never] ? true : false
type Get<T, K extends PropertyKey> = K extends keyof T ? T[K] : never
/** The narrowed type, nullable where the generator's is. */
type Narrowed<Wide, Narrow> = null extends Wide ? Narrow | null : Narrow
type JsonObject = { [key: string]: GeneratedJson | undefined }
type O = Ours["public"]
type G = Generated["public"]
type OursEnumConstants = (typeof OursConstants)["public"]["Enums"]

export type Whole = [
  Expect<Equal<OursJson, GeneratedJson>>,
  Expect<Equal<keyof Ours, keyof Generated>>,
  Expect<Equal<Ours["__InternalSupabase"], Generated["__InternalSupabase"]>>,
  Expect<Equal<keyof O, keyof G>>,
  Expect<Equal<O["Functions"], G["Functions"]>>,
  Expect<Equal<O["CompositeTypes"], G["CompositeTypes"]>>,
  Expect<Equal<Pick<O["Enums"], keyof G["Enums"]>, G["Enums"]>>,
  Expect<Equal<keyof OursEnumConstants, keyof O["Enums"]>>,
]
"""


def _ts(value: str) -> str:
    return json.dumps(value)


def _union(names: list[str] | tuple[str, ...]) -> str:
    return " | ".join(_ts(name) for name in names) if names else "never"


def _shape_checks(
    alias: str, relation: RelationFacts, shape: str, entry: tuple[str, str]
) -> list[str]:
    ours, generated = entry
    o, g = f"{ours}[{_ts(shape)}]", f"{generated}[{_ts(shape)}]"
    filled = sorted(c.name for c in relation.columns.values() if c.trigger_filled)
    optional_extra = _union(filled) if shape == "Insert" else "never"
    lines = [
        f"type {alias}_{shape}_columns = Expect<Equal<keyof {o}, keyof {g}>>",
        f"type {alias}_{shape}_optional = Expect<Equal<OptionalKeys<{o}>, "
        f"OptionalKeys<{g}> | {optional_extra}>>",
    ]
    if shape == "Insert" and filled:
        lines.append(
            f"type {alias}_Insert_trigger_filled_required_by_generator = "
            f"Expect<IsNever<Extract<OptionalKeys<{g}>, {optional_extra}>>>"
        )
    for column in sorted(relation.columns.values(), key=lambda c: c.name):
        ours_type = f"Required<{o}>[{_ts(column.name)}]"
        wide = f"Required<{g}>[{_ts(column.name)}]"
        expected = wide
        name = f"{alias}_{shape}_{column.name}"
        if column.enum_values is not None:
            expected = f"Narrowed<{wide}, {_union(column.enum_values)}>"
            lines.append(
                f"type {name}_generator_says_string = "
                f"Expect<Equal<NonNullable<{wide}>, string>>"
            )
        elif column.json_object:
            expected = f"Narrowed<{wide}, JsonObject>"
            lines.append(
                f"type {name}_generator_says_json = "
                f"Expect<Equal<NonNullable<{wide}>, NonNullable<GeneratedJson>>>"
            )
        lines.append(f"type {name} = Expect<Equal<{ours_type}, {expected}>>")
    return lines


def _relation_checks(relation: RelationFacts) -> list[str]:
    kind, name = relation.kind, relation.name
    ours, generated = f"O[{_ts(kind)}][{_ts(name)}]", f"G[{_ts(kind)}][{_ts(name)}]"
    alias = f"{kind}_{name}"
    lines = [
        f"// {kind}.{name}",
        f"type {alias}_shapes = Expect<Equal<keyof {ours}, keyof {generated}>>",
        f'type {alias}_relationships = Expect<Equal<{ours}["Relationships"], '
        f'{generated}["Relationships"]>>',
        f"type {alias}_helper_row = Expect<Equal<OursTables<{_ts(name)}>, "
        f'{ours}["Row"]>>',
        f"type {alias}_generator_helper_row = "
        f'Expect<Equal<GeneratedTables<{_ts(name)}>, {generated}["Row"]>>',
    ]
    lines += _shape_checks(alias, relation, "Row", (ours, generated))
    if kind == "Views":
        # Updatable views get Insert and Update from the generator: the
        # same, with no narrowing (both sides have the same keys, above).
        for shape in ("Insert", "Update"):
            lines.append(
                f"type {alias}_{shape} = Expect<Equal<Get<{ours}, {_ts(shape)}>, "
                f"Get<{generated}, {_ts(shape)}>>>"
            )
        return lines
    for shape, allowed, helper in (
        ("Insert", relation.insertable, "TablesInsert"),
        ("Update", relation.updatable, "TablesUpdate"),
    ):
        if allowed:
            lines += _shape_checks(alias, relation, shape, (ours, generated))
        else:
            lines += [
                f"type {alias}_{shape}_never = Expect<IsNever<{ours}[{_ts(shape)}]>>",
                f"type {alias}_{shape}_generator_allows_it = "
                f"Expect<Equal<IsNever<{generated}[{_ts(shape)}]>, false>>",
            ]
        lines.append(
            f"type {alias}_helper_{helper} = Expect<Equal<Ours{helper}<{_ts(name)}>, "
            f"{ours}[{_ts(shape)}]>>"
        )
        lines.append(
            f"type {alias}_generator_helper_{helper} = Expect<Equal<"
            f"Generated{helper}<{_ts(name)}>, {generated}[{_ts(shape)}]>>"
        )
    return lines


def comparison_source(
    facts: dict[str, RelationFacts], enum_names: dict[str, tuple[str, str]]
) -> str:
    """
    The TypeScript that compiles exactly when ``ours.ts`` is ``generated.ts``
    with the narrowings the database backs.

    :param enum_names:
        Each name of our ``Enums`` and the column (table, column) whose CHECK
        it mirrors.
    """
    lines = [_PRELUDE]
    for kind in ("Tables", "Views"):
        hidden = sorted(
            r.name for r in facts.values() if r.kind == kind and not r.readable
        )
        visible = sorted(
            r.name for r in facts.values() if r.kind == kind and r.readable
        )
        lines += [
            f"type {kind}_hidden = {_union(hidden)}",
            f"type {kind}_names = Expect<Equal<keyof O[{_ts(kind)}], "
            f"Exclude<keyof G[{_ts(kind)}], {kind}_hidden>>>",
            f"type {kind}_every_visible_relation = Expect<Equal<keyof "
            f"O[{_ts(kind)}], {_union(visible)}>>",
        ]
    for relation in sorted(facts.values(), key=lambda r: (r.kind, r.name)):
        if relation.readable:
            lines += _relation_checks(relation)
    lines.append(
        f'type Enums_names = Expect<Equal<keyof O["Enums"], keyof G["Enums"] | '
        f"{_union(sorted(enum_names))}>>"
    )
    for name, (table, column) in sorted(enum_names.items()):
        values = facts[table].columns[column].enum_values
        assert values is not None, f"{table}.{column} has no CHECK listing its values"
        lines += [
            f'type Enums_{name} = Expect<Equal<O["Enums"][{_ts(name)}], '
            f"{_union(values)}>>",
            f"type Enums_{name}_helper = Expect<Equal<OursEnums<{_ts(name)}>, "
            f"{_union(values)}>>",
            f"type Enums_{name}_constants = Expect<Equal<"
            f"OursEnumConstants[{_ts(name)}][number], {_union(values)}>>",
        ]
    return "\n".join(lines) + "\n"


TSCONFIG = {
    "compilerOptions": {
        "target": "es2022",
        "lib": ["es2022"],
        "module": "nodenext",
        "moduleResolution": "nodenext",
        "strict": True,
        "noEmit": True,
        "skipLibCheck": True,
        "types": [],
    },
    "include": ["*.ts"],
}


def write_comparison(folder: Path, ours: str, generated: str, source: str) -> None:
    """The comparison project: our file, the generator's, the proof."""
    (folder / "ours.ts").write_text(ours, encoding="utf-8")
    (folder / "generated.ts").write_text(generated, encoding="utf-8")
    (folder / "compare.ts").write_text(source, encoding="utf-8")
    (folder / "package.json").write_text('{"type": "module"}\n', encoding="utf-8")
    (folder / "tsconfig.json").write_text(json.dumps(TSCONFIG), encoding="utf-8")
