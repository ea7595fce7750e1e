"""
The per-table set of rules, read from the catalog: what
``planner_private.attach_table_rules()`` gives a table (row-level security,
exact grants, the owner-only policies, the RFC 9562 id checks, a same-owner
key, the rules trigger per event, the audit triggers), and what a domain
table has instead.

The expected set is not written down here: it is read from a scratch table
that the helper protects in a rolled-back transaction, so the lint follows
the helper, and a domain table differs from it only where the lint allows
(a policy narrowed by a later migration, a ``<table>_rules_delete`` trigger
for a table whose own rules act on deletes).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tests.roles import rolled_back

REFERENCE = "table_rules_reference"

# pg_trigger.tgtype bits (PostgreSQL's trigger.h).
ROW, BEFORE, INSERT, DELETE, UPDATE = 1, 2, 4, 8, 16

_RLS = "select relrowsecurity from pg_class where oid = $1::regclass"

_GRANTS = """
select coalesce(g.rolname, 'public') as grantee, a.privilege_type
  from pg_class c
 cross join lateral aclexplode(c.relacl) a
  left join pg_roles g on g.oid = a.grantee
 where c.oid = $1::regclass and a.grantee <> c.relowner
"""

_POLICIES = """
select policyname, cmd, permissive, roles::text[] as roles,
       coalesce(qual, '') as qual, coalesce(with_check, '') as with_check
  from pg_policies
 where schemaname = 'public' and tablename = $1
"""

_CHECKS = """
select conname, pg_get_constraintdef(oid) as definition, convalidated
  from pg_constraint
 where conrelid = $1::regclass and contype = 'c' and conname like '%\\_is\\_rfc\\_9562'
"""

# A unique key whose first column is id and whose last is user_id: what a
# child's same-owner foreign key references.
_SAME_OWNER_KEY = """
select exists (
  select from pg_constraint c
   where c.conrelid = $1::regclass and c.contype = 'u'
     and c.conkey[1] = (select attnum from pg_attribute
                         where attrelid = c.conrelid and attname = 'id')
     and c.conkey[cardinality(c.conkey)]
         = (select attnum from pg_attribute
             where attrelid = c.conrelid and attname = 'user_id'))
"""

_TRIGGERS = """
select tgname, tgtype, tgenabled::text as tgenabled,
       tgfoid::regprocedure::text as function,
       pg_get_triggerdef(oid) as definition
  from pg_trigger
 where tgrelid = $1::regclass and not tgisinternal
"""


@dataclass(frozen=True)
class TableRules:
    """One table's rules, with its own name replaced by ``<table>``."""

    row_level_security: bool
    grants: frozenset[tuple[str, str]]
    policies: dict[str, tuple]
    checks: dict[str, tuple[str, bool]]
    same_owner_key: bool
    triggers: dict[str, tuple]
    own_rules: bool
    """The table has a rules trigger function of its own,
    ``planner_private.<table>_rules()``."""


def _generic(text: str, table: str) -> str:
    return (
        text.replace(f"public.{table} ", "public.<table> ")
        .replace(f"'{table}'::regclass", "'<table>'::regclass")
        .replace(f"{table}_", "<table>_")
    )


async def read_rules(conn: asyncpg.Connection, table: str) -> TableRules:
    name = f"public.{table}"
    policies = {
        _generic(r["policyname"], table): (
            r["cmd"],
            r["permissive"],
            tuple(r["roles"]),
            r["qual"],
            r["with_check"],
        )
        for r in await conn.fetch(_POLICIES, table)
    }
    checks = {
        _generic(r["conname"], table): (r["definition"], r["convalidated"])
        for r in await conn.fetch(_CHECKS, name)
    }
    triggers = {
        _generic(r["tgname"], table): (
            r["tgtype"],
            r["tgenabled"],
            _generic(r["function"], table),
            _generic(r["definition"], table),
        )
        for r in await conn.fetch(_TRIGGERS, name)
    }
    return TableRules(
        row_level_security=await conn.fetchval(_RLS, name),
        grants=frozenset(tuple(r) for r in await conn.fetch(_GRANTS, name)),
        policies=policies,
        checks=checks,
        same_owner_key=await conn.fetchval(_SAME_OWNER_KEY, name),
        triggers=triggers,
        own_rules=await conn.fetchval(
            "select to_regprocedure($1) is not null",
            f"planner_private.{table}_rules()",
        ),
    )


async def reference_rules(conn: asyncpg.Connection) -> TableRules:
    """What the helper gives a new table now (created and rolled back)."""
    async with rolled_back(conn):
        await conn.execute(
            f"create table public.{REFERENCE} (id uuid primary key, "
            "user_id uuid not null, created_at timestamptz not null default now(), "
            "updated_at timestamptz not null default now())"
        )
        await conn.execute(
            "select planner_private.attach_table_rules($1::regclass)",
            f"public.{REFERENCE}",
        )
        return await read_rules(conn, REFERENCE)


def _narrowed(actual: str, expected: str) -> bool:
    """The owner condition, alone or ANDed with more (a later migration)."""
    return actual == expected or actual.startswith(f"({expected} AND ")


def problems(rules: TableRules, reference: TableRules) -> list[str]:
    """What ``rules`` lacks of ``reference``, one line each."""
    found = []
    if not rules.row_level_security:
        found.append("row-level security is off")
    if rules.grants != reference.grants:
        found.append(
            f"grants are {sorted(rules.grants)}, not {sorted(reference.grants)}"
        )
    for name, (cmd, permissive, roles, qual, check) in reference.policies.items():
        policy = rules.policies.get(name)
        if policy is None:
            found.append(f"policy {name} is missing")
        elif policy[:3] != (cmd, permissive, roles) or not (
            _narrowed(policy[3], qual) and _narrowed(policy[4], check)
        ):
            found.append(f"policy {name} is {policy}, not the owner-only {cmd}")
    for name, expected in reference.checks.items():
        if rules.checks.get(name) != expected:
            found.append(f"check {name} is {rules.checks.get(name)}, not {expected}")
    if not rules.same_owner_key:
        found.append("no same-owner key (unique, from id to user_id)")
    # The rules triggers run the table's own rules function where it has one.
    generic_function = reference.triggers["<table>_rules_insert"][2]
    rules_function = (
        "planner_private.<table>_rules()" if rules.own_rules else generic_function
    )
    for name, expected in reference.triggers.items():
        expected = tuple(
            part.replace(generic_function, rules_function)
            if isinstance(part, str)
            else part
            for part in expected
        )
        if rules.triggers.get(name) != expected:
            found.append(
                f"trigger {name} is {rules.triggers.get(name)}, not {expected}"
            )
    # One BEFORE row trigger per event, all of them the rules trigger (and,
    # on INSERT, the taken-id check of the reference).
    for name, (tgtype, enabled, function, _) in rules.triggers.items():
        if tgtype & (ROW | BEFORE) != ROW | BEFORE or name in reference.triggers:
            continue
        if name != "<table>_rules_delete" or tgtype & (INSERT | UPDATE):
            found.append(f"trigger {name} is a BEFORE row trigger besides the rules")
        elif function != rules_function or enabled != "A":
            found.append(f"trigger {name} is not the rules trigger, enabled always")
    return found


async def table_problems(
    conn: asyncpg.Connection, table: str, reference: TableRules | None = None
) -> list[str]:
    """What the table ``public.<table>`` lacks of the per-table set."""
    expected = reference or await reference_rules(conn)
    return problems(await read_rules(conn, table), expected)
