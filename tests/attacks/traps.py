"""
Traps for code that runs as the owner (issue 19, item 1).

Every role may create temporary tables, functions and domains, and
PostgreSQL looks for relation and type names in ``pg_temp`` *first* unless
``search_path`` names it. So user A can shadow any type or relation name a
function of the project could resolve: a domain ``pg_temp.uuid`` whose CHECK
calls A's own function, a view ``pg_temp.cycle`` that calls it when read.
If a trigger or function resolved one of those names, A's function ran
inside it, with its privileges (the owner's, for a security definer
function or a cascade).

:func:`set_traps` builds such traps as the caller, derived from the catalog:
a view for every relation name and a domain for every type name that occurs
in the definition of any function of the project, plus the common type
names (and every relation of the project's schemas and of ``auth``). The spy
reports each call with a ``NOTICE`` (which reaches the client even
when the statement then fails and rolls back) and records it in
``pg_temp.seen``: who ran it (``current_user``), whether
``planner_private.may_lift_lock()`` said yes, and what it could read of
another user's vision.

:func:`arm_twins` gives every trigger of the project, as the table owner in
the current transaction, a twin that fires just before it with the same
events, columns and ``WHEN`` clause and only reports that it fired: the
proof that a statement really fires a trigger.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import asyncpg

from tests import schema_lint

SPY_MARK = "planner-trap-spy"
FIRED_MARK = "planner-trap-fired"

# Type names shadowed whether or not a function names them. SQL's own
# spellings (integer, boolean...) are keywords that the parser qualifies
# with pg_catalog; a domain of that name costs nothing and would catch a
# quoted "integer".
COMMON_TYPES: dict[str, str] = {
    "uuid": "uuid",
    "text": "text",
    "boolean": "bool",
    "bool": "bool",
    "integer": "int4",
    "int4": "int4",
    "smallint": "int2",
    "int2": "int2",
    "bigint": "int8",
    "int8": "int8",
    "numeric": "numeric",
    "date": "date",
    "timestamptz": "timestamptz",
    "timestamp": "timestamp",
    "interval": "interval",
    "jsonb": "jsonb",
    "json": "json",
    "varchar": "varchar",
    "name": "name",
    "oid": "oid",
    "regclass": "regclass",
    "regprocedure": "regprocedure",
    "regnamespace": "regnamespace",
    "regrole": "regrole",
    "regtype": "regtype",
}

_IDENTIFIER = re.compile(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)')

PROJECT_FUNCTIONS = r"""
    select p.oid, p.oid::pg_catalog.regprocedure::pg_catalog.text as name,
           pg_catalog.pg_get_functiondef(p.oid) as definition, p.prosecdef,
           p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype as is_trigger
      from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where p.prokind = 'f'
       and n.nspname not like 'pg\_temp\_%'
       and n.nspname not like 'pg\_toast\_temp\_%'
       and (not n.nspname = any($1::pg_catalog.text[])
            or pg_catalog.obj_description(p.oid, 'pg_proc') = 'planner_app:compat')
       and not exists (
         select 1 from pg_catalog.pg_depend d
          where d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
            and d.objid = p.oid and d.deptype = 'e')
     order by 2
"""
"""Every function of the project: the scope of the search_path lint."""

PROJECT_TRIGGERS = r"""
    select t.oid, t.tgname,
           t.tgrelid::pg_catalog.regclass::pg_catalog.text as table_name,
           t.tgfoid::pg_catalog.regprocedure::pg_catalog.text as function,
           pg_catalog.pg_get_triggerdef(t.oid) as definition
      from pg_catalog.pg_trigger t
      join pg_catalog.pg_class c on c.oid = t.tgrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where not t.tgisinternal
       and n.nspname not like 'pg\_temp\_%'
       and (not n.nspname = any($1::pg_catalog.text[])
            or t.tgfoid in (
              select p.oid from pg_catalog.pg_proc p
                join pg_catalog.pg_namespace pn on pn.oid = p.pronamespace
               where not pn.nspname = any($1::pg_catalog.text[])))
     order by 3, 2
"""
"""Every trigger on a table of the project, or calling a project function."""


async def project_functions(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        PROJECT_FUNCTIONS, list(schema_lint.NOT_THE_PROJECTS_SCHEMAS)
    )


async def project_triggers(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        PROJECT_TRIGGERS, list(schema_lint.NOT_THE_PROJECTS_SCHEMAS)
    )


def identifiers(source: str) -> set[str]:
    """Every identifier of a function body, as PostgreSQL would fold it."""
    found = set()
    for quoted, plain in _IDENTIFIER.findall(source):
        found.add(quoted.replace('""', '"') if quoted else plain.lower())
    return found


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Spied:
    """One call of the spy: the trap, who ran it and what it saw."""

    trap: str
    role: str
    may_lift_lock: bool
    read: str | None


@dataclass
class Traps:
    """The traps of one connection, and what they saw."""

    conn: asyncpg.Connection
    relations: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    spied: list[Spied] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)

    def _listen(self, _conn: object, message: asyncpg.PostgresLogMessage) -> None:
        text = message.message or ""
        if text.startswith(SPY_MARK + " "):
            self.spied.append(Spied(**json.loads(text[len(SPY_MARK) + 1 :])))
        elif text.startswith(FIRED_MARK + " "):
            self.fired.append(text[len(FIRED_MARK) + 1 :])

    @contextmanager
    def listening(self) -> Iterator[None]:
        self.conn.add_log_listener(self._listen)
        try:
            yield
        finally:
            self.conn.remove_log_listener(self._listen)

    async def settle(self) -> None:
        """Let the notices of the last statement reach the listener."""
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    async def recorded(self) -> list[tuple[str, str, bool, str | None]]:
        """The rows of ``pg_temp.seen`` (calls of a statement that succeeded)."""
        rows = await self.conn.fetch(
            "select trap, role, may_lift_lock, read from pg_temp.seen"
        )
        return [tuple(row) for row in rows]


async def arm_twins(conn: asyncpg.Connection, triggers: list[asyncpg.Record]) -> None:
    """
    As the table owner, in the current transaction: a twin of every trigger
    in ``triggers`` that sorts just before it (so it fires just before it,
    with the same ``NEW``), fires on the same events, columns and ``WHEN``
    clause, and reports ``<FIRED_MARK> <trigger name>``.
    """
    await conn.execute(
        f"""
        create function pg_temp.trap_fired() returns trigger
          language plpgsql set search_path = pg_catalog, pg_temp
        as $fn$
        begin
          raise notice '{FIRED_MARK} %', tg_argv[0];
          if tg_level = 'ROW' and tg_when = 'BEFORE' then
            if tg_op = 'DELETE' then return old; end if;
            return new;
          end if;
          return null;
        end
        $fn$
        """
    )
    pattern = re.compile(
        r"^CREATE (?:CONSTRAINT )?TRIGGER (\S+|\"(?:[^\"]|\"\")+\") (.*) "
        r"EXECUTE FUNCTION .*$",
        re.DOTALL,
    )
    for trigger in triggers:
        match = pattern.match(trigger["definition"])
        assert match, trigger["definition"]
        name = trigger["tgname"]
        assert len(name.encode()) < 63, name
        twin = name[:-1] + chr(ord(name[-1]) - 1) + "~"
        await conn.execute(
            f"create trigger {_ident(twin)} {match[2]} "
            f"execute function pg_temp.trap_fired({_literal(name)})"
        )


async def set_traps(conn: asyncpg.Connection, victim: uuid.UUID) -> Traps:
    """
    As the current role (the attacker, after ``set local role``): shadow
    every relation and type name a function of the project could resolve
    (see the module), with a spy that reads ``victim``'s vision.
    """
    names: set[str] = set()
    for function in await project_functions(conn):
        names |= identifiers(function["definition"])
    # And every relation of the project's schemas and of auth, named or not.
    names |= {
        row["relname"]
        for row in await conn.fetch(
            r"""
            select c.relname from pg_catalog.pg_class c
              join pg_catalog.pg_namespace n on n.oid = c.relnamespace
             where c.relkind in ('r', 'p', 'v', 'm', 'f')
               and n.nspname not like 'pg\_%'
               and (n.nspname = 'auth'
                    or not n.nspname = any($1::pg_catalog.text[]))
            """,
            list(schema_lint.NOT_THE_PROJECTS_SCHEMAS),
        )
    }
    await conn.execute(
        "create temp table seen (trap pg_catalog.text, role pg_catalog.text, "
        "may_lift_lock pg_catalog.bool, read pg_catalog.text)"
    )
    await conn.execute(
        f"""
        create function pg_temp.spy(trap pg_catalog.text) returns pg_catalog.bool
          language plpgsql set search_path = pg_catalog, pg_temp
        as $fn$
        declare
          lifts pg_catalog.bool := planner_private.may_lift_lock();
          seen_text pg_catalog.text;
        begin
          begin
            select pg_catalog.string_agg(v.statement, ',') into seen_text
              from public.vision v where v.user_id = {_literal(str(victim))};
          exception when others then
            seen_text := 'error: ' || sqlerrm;
          end;
          insert into pg_temp.seen values (trap, current_user, lifts, seen_text);
          raise notice '{SPY_MARK} %', pg_catalog.json_build_object(
            'trap', trap, 'role', current_user, 'may_lift_lock', lifts,
            'read', seen_text);
          return true;
        end
        $fn$
        """
    )
    await conn.execute(
        """
        create function pg_temp.spy_write() returns trigger
          language plpgsql set search_path = pg_catalog, pg_temp
        as $fn$
        begin
          perform pg_temp.spy('write ' || tg_table_name);
          if tg_op = 'DELETE' then return old; end if;
          return new;
        end
        $fn$
        """
    )
    traps = Traps(conn)
    relations = await conn.fetch(
        """
        select distinct on (c.relname) c.relname,
               pg_catalog.string_agg(
                 -- A pseudo-type column (pg_attribute.attmissingval is
                 -- anyarray) cannot be a view's: text stands in for it.
                 case when t.typtype = 'p'
                      then pg_catalog.format('cast(null as pg_catalog.text) as %I',
                                             a.attname)
                      else pg_catalog.format('cast(null as %I.%I) as %I',
                                             tn.nspname, t.typname, a.attname)
                 end,
                 ', ' order by a.attnum) as columns
          from pg_catalog.pg_class c
          join pg_catalog.pg_attribute a
            on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
          join pg_catalog.pg_type t on t.oid = a.atttypid
          join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace
         where c.relkind in ('r', 'p', 'v', 'm', 'f')
           and c.relname = any($1::pg_catalog.text[])
           and c.relnamespace <> pg_catalog.pg_my_temp_schema()
         group by c.oid, c.relname
         order by c.relname, c.oid
        """,
        sorted(names),
    )
    for relation in relations:
        name = relation["relname"]
        trap = _literal(f"relation {name}")
        await conn.execute(
            f"create temp view {_ident(name)} as select {relation['columns']} "
            f"where pg_temp.spy({trap})"
        )
        await conn.execute(
            f"create trigger spy_write instead of insert or update or delete "
            f"on pg_temp.{_ident(name)} for each row "
            "execute function pg_temp.spy_write()"
        )
        traps.relations.append(name)
    shadowed = set(traps.relations)
    types = dict(COMMON_TYPES)
    for row in await conn.fetch(
        """
        select t.typname, pg_catalog.format('%I.%I', n.nspname, t.typname) as base
          from pg_catalog.pg_type t
          join pg_catalog.pg_namespace n on n.oid = t.typnamespace
         where t.typname = any($1::pg_catalog.text[])
           and t.typtype in ('b', 'd', 'e', 'r', 'm')
           and t.typcategory <> 'A'
           and n.oid <> pg_catalog.pg_my_temp_schema()
         order by n.nspname <> 'pg_catalog', 1
        """,
        sorted(names),
    ):
        types.setdefault(row["typname"], row["base"])
    for name, base in sorted(types.items()):
        if name in shadowed:
            continue
        base_type = base if "." in base else f"pg_catalog.{base}"
        await conn.execute(
            f"create domain pg_temp.{_ident(name)} as {base_type} "
            f"check (pg_temp.spy({_literal('type ' + name)}))"
        )
        traps.types.append(name)
    return traps
