"""
The names the docs use, and whether each one exists.

A name is what a code span holds: ```name``` in README.md and docs/*.md
(and the schema-qualified names of their ``sql`` blocks), ````name```` or
```name``` in the docstrings and comments of ``planner_app/`` and in the
comments of its unreleased migrations' SQL (a released one is frozen). What a span
claims to be is read from its shape:

- a repository path (``planner_app/rules.py``, ``docs/``, ``errors.py``,
  ``*.forwards.sql``): the file or folder exists, relative to the repository,
  to the doc or to some folder (``routes/plan.py``); a pattern (``*``,
  ``<name>``) matches at least one file. A
  git-ignored path (``.pgdata/``) is one the project makes at run time, and
  a path inside an installed package (``piccolo/main.py``) is that package's;
- a schema-qualified SQL name (``planner_private.week_lockable()``,
  ``public.cycle``, ``auth.users.id``), also inside a span of code: that
  function, relation, type or column exists in the migrated database;
- ``table.column`` for a table of the database: the column exists;
- a project module path (``planner_app.rules.LOCKED_WEEKS``,
  ``planner_app.api:app``, or ``rules.LOCKED_WEEKS`` for a module of
  ``planner_app``): it imports;
- a call of a bare name (``maintain_row()``): a function of the database, of
  the repository's Python or a Python builtin (a method is written with its
  dot: ``.delete()``); ``test_...``: a test of the repository;
- a bare name made like the project's own (``planner_...`` or
  ``<table>_...``: triggers, constraints, indexes, policies, columns): a
  name of the database (including the constraint names its functions
  raise) or of the repository's Python; with ``<table>``, ``<x>`` or ``*``
  in it, a pattern that at least one name of the database matches.

Anything else (SQL keywords, options, messages, other systems' names) is
prose and not checked; ``…`` in a span marks it as elided. A name that is
rightly absent (an example a recipe would add, a benchmark's scratch table,
a name of hosted Supabase only) is declared in the file that uses it, in an
HTML comment of a doc or a comment of a module, with why:
``<!-- not in the schema: cycle_share, cycle_shared_select (a sketch) -->``
or ``# not in the repository: .handle_pids.json (in the data folder)``. A
declared name must be used in that file and must really not exist.
"""

from __future__ import annotations

import ast
import builtins
import fnmatch
import importlib
import importlib.util
import io
import re
import subprocess
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from tests.support import PROJECT_ROOT, closing_bracket

FILE_SUFFIXES = (
    ".py",
    ".sql",
    ".md",
    ".ts",
    ".mjs",
    ".json",
    ".toml",
    ".sha256",
    ".txt",
    ".sh",
    ".yml",
    ".yaml",
)
# The repository's own Python, searched for functions and names.
PYTHON_ROOTS = ("planner_app", "seeds", "tests", "benchmarks", "scripts")
IMPORTABLE_ROOTS = ("planner_app", "seeds", "tests", "piccolo_conf")
SQL_SCHEMAS = ("public", "planner_private", "auth", "extensions", "pg_catalog")
MARKER = re.compile(
    r"(?:<!--|#|--)[ \t]*not in the (schema|repository):[ \t]*(.*?)[ \t]*(?:-->|$)",
    re.M,
)
SPAN = re.compile(r"(`+)([^`\n]+?)\1(?!`)")
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
PLACEHOLDER = re.compile(r"<[^<>]+>")
QUALIFIED = re.compile(
    r"(?<![\w.])(?:public|planner_private|auth)\.[a-z_][a-z0-9_]*(?:\(\))?"
)
ELISION = "…"
BUILTINS = set(dir(builtins))


@dataclass(frozen=True)
class Mention:
    """One name as a file uses it."""

    file: str
    line: int
    text: str

    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Catalog:
    """Every name of the migrated database, by kind."""

    schemas: set[str] = field(default_factory=set)
    # The planner's tables and views (of ``public``).
    tables: set[str] = field(default_factory=set)
    # (schema, name) of relations, functions and types.
    relations: set[tuple[str, str]] = field(default_factory=set)
    functions: set[tuple[str, str]] = field(default_factory=set)
    types: set[tuple[str, str]] = field(default_factory=set)
    # (schema, relation, column)
    columns: set[tuple[str, str, str]] = field(default_factory=set)
    # Every bare name: triggers, constraints, policies, roles, relations,
    # functions, types, schemas, columns.
    names: set[str] = field(default_factory=set)
    # The source of the planner's functions.
    sources: set[str] = field(default_factory=set)


CATALOG_QUERIES = {
    "schemas": "select nspname from pg_namespace",
    "tables": """
        select relname from pg_class
         where relnamespace = 'public'::regnamespace
           and relkind in ('r', 'p', 'v', 'm', 'f')
    """,
    "relations": "select relnamespace::regnamespace::text, relname from pg_class",
    "functions": "select pronamespace::regnamespace::text, proname from pg_proc",
    "types": "select typnamespace::regnamespace::text, typname from pg_type",
    "columns": """
        select c.relnamespace::regnamespace::text, c.relname, a.attname
          from pg_attribute a join pg_class c on c.oid = a.attrelid
         where a.attnum > 0 and not a.attisdropped
    """,
    "names": """
        select tgname from pg_trigger
        union select conname from pg_constraint
        union select polname from pg_policy
        union select rolname from pg_roles
        union select relname from pg_class
        union select proname from pg_proc
        union select typname from pg_type
        union select nspname from pg_namespace
        union select attname from pg_attribute where attnum > 0
    """,
    "sources": """
        select prosrc from pg_proc
         where pronamespace::regnamespace::text in ('public', 'planner_private')
    """,
}
# What the planner's functions raise as a constraint's name: ``constraint =
# 'cycle_lock_one_way'``, or per table ``tg_table_name || '_id_never_changes'``
# (``table_name || ...`` in a helper the triggers call with their table).
RAISED = re.compile(r"constraint\s*=\s*((?:tg_)?table_name\s*\|\|\s*)?'(\w+)'")


async def read_catalog(conn: asyncpg.Connection) -> Catalog:
    catalog = Catalog()
    for kind, query in CATALOG_QUERIES.items():
        rows = await conn.fetch(query)
        getattr(catalog, kind).update(
            row[0] if len(row) == 1 else tuple(row) for row in rows
        )
    for source in catalog.sources:
        for per_table, name in RAISED.findall(source):
            owners = catalog.tables if per_table else {""}
            catalog.names |= {f"{table}{name}" for table in owners}
    return catalog


# -- Where the names are -----------------------------------------------------


def tracked_files() -> list[str]:
    return subprocess.run(
        ["git", "ls-files"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()


def doc_files() -> list[Path]:
    return [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


def released_migrations() -> set[str]:
    """The frozen migration files (their comments describe their own time)."""
    listing = PROJECT_ROOT / "planner_app" / "piccolo_migrations" / "released.sha256"
    return {line.split()[-1] for line in listing.read_text().splitlines() if line}


def module_files() -> list[Path]:
    """The modules of ``planner_app/`` and the SQL of unreleased migrations."""
    frozen = released_migrations()
    package = PROJECT_ROOT / "planner_app"
    return [
        path
        for path in sorted([*package.rglob("*.py"), *package.rglob("*.sql")])
        if path.name not in frozen
    ]


def markdown_mentions(where: str, text: str) -> Iterator[Mention]:
    """Code spans outside fenced blocks; qualified names inside ``sql`` ones."""
    fence = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
    last = 0
    for block in fence.finditer(text):
        yield from _spans(where, text, last, block.start())
        if block.group(1) == "sql":
            for name in QUALIFIED.finditer(block.group(2)):
                line = text.count("\n", 0, block.start(2) + name.start()) + 1
                yield Mention(where, line, name.group(0))
        last = block.end()
    yield from _spans(where, text, last, len(text))


def _spans(where: str, text: str, start: int, end: int) -> Iterator[Mention]:
    for span in SPAN.finditer(text, start, end):
        yield Mention(where, text.count("\n", 0, span.start()) + 1, span.group(2))


def python_mentions(where: str, text: str) -> Iterator[Mention]:
    """Code spans of the docstrings (any string statement) and comments."""
    for node in ast.walk(ast.parse(text)):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            for span in SPAN.finditer(node.value.value):
                line = node.lineno + node.value.value.count("\n", 0, span.start())
                yield Mention(where, line, span.group(2))
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            for span in SPAN.finditer(token.string):
                yield Mention(where, token.start[0], span.group(2))


def sql_mentions(where: str, text: str) -> Iterator[Mention]:
    """Code spans of the ``--`` comments of a SQL file."""
    for number, line in enumerate(text.splitlines(), start=1):
        if "--" in line:
            for span in SPAN.finditer(line.split("--", 1)[1]):
                yield Mention(where, number, span.group(2))


def declared_absent(text: str) -> dict[str, set[str]]:
    """What a file declares absent: ``{"schema": {...}, "repository": {...}}``."""
    declared: dict[str, set[str]] = {"schema": set(), "repository": set()}
    for marker in MARKER.finditer(text):
        names = re.sub(r"\([^)]*\)", "", marker.group(2))
        declared[marker.group(1)] |= {n.strip() for n in names.split(",") if n.strip()}
    return declared


# -- Whether a name exists ---------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    name: str
    kind: str  # "schema" or "repository"
    exists: bool


@dataclass
class Checker:
    catalog: Catalog
    files: list[str] = field(default_factory=tracked_files)
    python_names: set[str] = field(default_factory=set)
    python_functions: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for name in self.files:
            if name.endswith(".py") and (
                name.split("/")[0] in PYTHON_ROOTS or "/" not in name
            ):
                self._read_python(PROJECT_ROOT / name)
        # File and folder names (``planner_app``, migration modules).
        self.python_names |= {
            part.split(".")[0] for name in self.files for part in name.split("/")
        }
        self._top = {name.split("/")[0] for name in self.files}

    def _read_python(self, path: Path) -> None:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.python_functions.add(node.name)
                self.python_names.add(node.name)
            elif isinstance(node, ast.ClassDef):
                self.python_names.add(node.name)
            elif isinstance(node, ast.Name):
                self.python_names.add(node.id)
            elif isinstance(node, ast.Attribute):
                self.python_names.add(node.attr)
            elif isinstance(node, ast.arg | ast.keyword) and node.arg:
                self.python_names.add(node.arg)

    def verdicts(self, mention: Mention) -> list[Verdict]:
        """What the span names, each with whether it exists (prose: none)."""
        text = mention.text.strip().rstrip(".,;:")
        if ELISION in text:
            return []
        if " " not in text:
            verdict = self._name(mention.file, text)
            return [verdict] if verdict else []
        # A span of code: its first word if that is a path, and the
        # schema-qualified names in it.
        found = []
        first = text.split()[0]
        if self._is_path(first):
            found.append(
                Verdict(first, "repository", self.path_exists(first, mention.file))
            )
        for name in QUALIFIED.findall(text):
            verdict = self._name(mention.file, name)
            if verdict:
                found.append(verdict)
        return found

    def _name(self, doc: str, text: str) -> Verdict | None:
        if "://" in text or text.startswith("/"):
            return None
        if self._is_path(text):
            return Verdict(text, "repository", self.path_exists(text, doc))
        if re.fullmatch(r"\w+(\.\w+)+:\w+", text):
            module, attribute = text.split(":")
            exists = module.split(".")[0] in IMPORTABLE_ROOTS and _imports(
                [*module.split("."), attribute]
            )
            return Verdict(text, "repository", exists)
        call = re.fullmatch(r"(.+?)\((.*)\)", text)
        name = call.group(1) if call else text
        if DOTTED.fullmatch(name):
            return self._dotted(text, name, called=bool(call))
        if PLACEHOLDER.search(name) or "*" in name:
            return self._pattern(text, name)
        if not IDENTIFIER.fullmatch(name):
            return None
        if name.startswith("test_"):
            return Verdict(text, "repository", name in self.python_functions)
        if call:
            exists = (
                name in self.python_functions
                or name in BUILTINS
                or any(n == name for _, n in self.catalog.functions)
            )
            return Verdict(text, "schema", exists)
        if self._is_projects(name):
            exists = name in self.catalog.names or name in self.python_names
            return Verdict(text, "schema", exists)
        return None

    def _is_projects(self, name: str) -> bool:
        return name.startswith("planner_") or any(
            name.startswith(f"{table}_") for table in self.catalog.tables
        )

    def _is_path(self, text: str) -> bool:
        if not re.fullmatch(r"[\w.<>*/-]+", text) or ".." in text:
            return False
        first = text.split("/")[0]
        return text.endswith(FILE_SUFFIXES) or (
            "/" in text and (first in self._top or first.startswith("."))
        )

    def path_exists(self, text: str, doc: str) -> bool:
        pattern = PLACEHOLDER.sub("*", text).rstrip("/")
        if "/" not in text:
            # A file name (``errors.py``) or a suffix (``.forwards.sql``,
            # ``forwards.sql``): some tracked file is named so.
            suffix = "." + pattern.lstrip(".")
            return any(
                fnmatch.fnmatch(base, pattern) or base.endswith(suffix)
                for base in (name.rsplit("/", 1)[-1] for name in self.files)
            )
        # From the root, from the doc's folder, or from a folder the text
        # around it names (``routes/plan.py`` of ``planner_app/api/``).
        for candidate in (pattern, str(Path(doc).parent / pattern), f"*/{pattern}"):
            if any(
                fnmatch.fnmatch(name, candidate)
                or fnmatch.fnmatch(name, f"{candidate}/*")
                for name in self.files
            ):
                return True
        # A path the project makes at run time (``.pgdata/``,
        # ``schema/dist-<worker>/``) is git-ignored.
        if _git_ignored(PLACEHOLDER.sub("x", text).replace("*", "x")):
            return True
        if "*" in pattern:
            return False
        top = pattern.split("/")[0]
        package = _is_module(top) and importlib.util.find_spec(top)
        if package and package.submodule_search_locations:
            for location in package.submodule_search_locations:
                if (Path(location).parent / pattern).exists():
                    return True
        return False

    def _dotted(self, text: str, name: str, called: bool) -> Verdict | None:
        parts = name.split(".")
        head = parts[0]
        catalog = self.catalog
        if head in SQL_SCHEMAS and head in catalog.schemas:
            if len(parts) == 2:
                key = (head, parts[1])
                kinds = [catalog.functions]
                if not called:
                    kinds += [catalog.relations, catalog.types]
                return Verdict(text, "schema", any(key in kind for kind in kinds))
            if len(parts) == 3 and not called:
                return Verdict(text, "schema", tuple(parts) in catalog.columns)
            return None
        if head in catalog.tables and len(parts) == 2 and not called:
            exists = ("public", head, parts[1]) in catalog.columns
            return Verdict(text, "schema", exists)
        if head in IMPORTABLE_ROOTS:
            return Verdict(text, "repository", _imports(parts))
        if len(parts) == 2 and not called and _is_module(f"planner_app.{head}"):
            return Verdict(text, "repository", _imports(["planner_app", *parts]))
        return None

    def _pattern(self, text: str, name: str) -> Verdict | None:
        """``<table>_audit_update``, ``*_same_owner_fkey``: one name matches."""
        if not re.fullmatch(r"[a-z0-9_<>*]+", name):
            return None
        if not (name.startswith(("<table>", "*")) or self._is_projects(name)):
            return None
        tables = "|".join(sorted(self.catalog.tables))
        regex = "".join(
            f"(?:{tables})"
            if piece == "<table>"
            else "[a-z0-9_]+"
            if piece == "*" or piece.startswith("<")
            else re.escape(piece)
            for piece in re.split(r"(<[^<>]+>|\*)", name)
        )
        matcher = re.compile(regex)
        exists = any(matcher.fullmatch(n) for n in self.catalog.names)
        return Verdict(text, "schema", exists)


def _git_ignored(path: str) -> bool:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "--no-index", path],
        cwd=PROJECT_ROOT,
        capture_output=True,
    )
    return ignored.returncode == 0


def _is_module(name: str) -> bool:
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", name):
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _imports(parts: list[str]) -> bool:
    """``a.b.c``: the longest importable module, then attributes."""
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        if not _is_module(module_name):
            continue
        value = importlib.import_module(module_name)
        for attribute in parts[cut:]:
            try:
                value = getattr(value, attribute)
            except AttributeError:
                return False
            except Exception:
                # A module attribute built on first use (``planner_app.api:app``
                # needs its secret): it exists.
                return True
        return True
    return False


def problems_in(checker: Checker, where: str, text: str) -> list[str]:
    """
    What the file ``where`` (text ``text``) names that does not exist, and
    what it declares absent that it does not use or that exists after all.
    """
    if where.endswith(".py"):
        mentions = python_mentions(where, text)
    elif where.endswith(".sql"):
        mentions = sql_mentions(where, text)
    else:
        mentions = markdown_mentions(where, text)
    declared = declared_absent(text)
    used: set[str] = set()
    problems = []
    for mention in mentions:
        for verdict in checker.verdicts(mention):
            name = verdict.name
            bare = re.sub(r"\(.*\)$", "", name)
            if {name, bare} & declared[verdict.kind]:
                used |= {name, bare}
                if verdict.exists:
                    problems.append(
                        f"{mention.where()}: `{name}` exists, so it needs no marker"
                    )
            elif not verdict.exists:
                problems.append(
                    f"{mention.where()}: `{name}` is not in the {verdict.kind} "
                    f"(fix the name, or declare it: <!-- not in the "
                    f"{verdict.kind}: {bare} (why) -->)"
                )
    for kind, names in declared.items():
        for name in sorted(names - used):
            problems.append(
                f"{where}: declares `{name}` not in the {kind}, "
                "but no name the check reads is that"
            )
    return problems


def problems_of(checker: Checker, path: Path) -> list[str]:
    where = str(path.relative_to(PROJECT_ROOT))
    return problems_in(checker, where, path.read_text(encoding="utf-8"))


# -- The README's rule table -------------------------------------------------


@dataclass(frozen=True)
class Enforcer:
    """One entry of a rule's "enforced in": a path and the names it holds."""

    path: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class RuleRow:
    rule: str
    enforcers: tuple[Enforcer, ...]
    tests: tuple[str, ...]


def rule_table(readme: str) -> list[RuleRow]:
    """
    The rows of the README's "where each rule lives" table: the rule, where
    it is enforced (``path`` (``name``, ...), ...) and its tests.
    """
    section = readme.split("## Where each rule lives", 1)[1].split("\n## ", 1)[0]
    # The table's lines after its header and separator.
    lines = [line for line in section.splitlines() if line.startswith("|")][2:]
    rows = []
    for line in lines:
        rule, enforced, tested = (c.strip() for c in line.strip("|").split(" | "))
        enforcers = tuple(_enforcers(enforced))
        rows.append(RuleRow(rule, enforcers, tuple(re.findall(r"`([^`]+)`", tested))))
    return rows


def _enforcers(cell: str) -> Iterator[Enforcer]:
    at = 0
    while (start := cell.find("`", at)) >= 0:
        end = cell.index("`", start + 1)
        path, at = cell[start + 1 : end], end + 1
        names: tuple[str, ...] = ()
        rest = cell[at:]
        if rest.lstrip().startswith("("):
            opening = at + len(rest) - len(rest.lstrip())
            closing = _closing_bracket(cell, opening)
            names = tuple(re.findall(r"`([^`]+)`", cell[opening:closing]))
            at = closing + 1
        yield Enforcer(path, names)


def _closing_bracket(text: str, opening: int) -> int:
    closing = closing_bracket(text, opening, "`")
    if closing < 0:
        raise ValueError(f"unclosed bracket in {text!r}")
    return closing


def code_of(path: Path) -> str:
    """The text of ``path`` without its comments (and docstrings)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".sql":
        return re.sub(r"--[^\n]*", "", text)
    if path.suffix in (".ts", ".mjs", ".js"):
        return re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S)
    if path.suffix == ".py":
        docstrings = {
            node.value.lineno
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        }
        kept = [
            token
            for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type != tokenize.COMMENT
            and not (token.type == tokenize.STRING and token.start[0] in docstrings)
        ]
        return tokenize.untokenize(kept)
    return text


def holds(path: Path, name: str) -> bool:
    """Whether the code of ``path`` (or of a file under it) holds ``name``."""
    bare = re.sub(r"\(\)$", "", name.strip())
    pattern = re.compile(
        r"(?<![\w.])" + r"\s+".join(map(re.escape, bare.split())) + r"(?!\w)"
    )
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in FILE_SUFFIXES)
    else:
        files = [path]
    return any(pattern.search(code_of(file)) for file in files)


def sql_in_place_of(path: str) -> list[str]:
    """
    The ``.sql`` files to name instead of ``path`` when it is a migration
    module that only loads them (no operation of Piccolo's of its own, such
    as the ``add_table`` of the migration that creates the tables).
    """
    file = PROJECT_ROOT / path
    if file.parent.name != "piccolo_migrations" or file.suffix != ".py":
        return []
    if re.search(r"\bmanager\.(add|alter|drop|rename)_\w+\(", code_of(file)):
        return []
    return sorted(p.name for p in file.parent.glob(f"{file.stem}.*.sql"))


def rule_table_problems(rows: list[RuleRow]) -> list[str]:
    """
    Each "enforced in" entry is a file (or folder) of the repository whose
    code holds every name given after it, at least one; a migration is
    named by its ``.sql``, which holds the rule, not by a module that only
    loads it.
    """
    problems = []
    for row in rows:
        if not row.enforcers or not row.tests:
            problems.append(f"{row.rule}: names no enforcer or no test")
        for enforcer in row.enforcers:
            path = PROJECT_ROOT / enforcer.path
            if not path.exists():
                problems.append(f"{row.rule}: {enforcer.path} does not exist")
                continue
            if sql := sql_in_place_of(enforcer.path):
                problems.append(
                    f"{row.rule}: {enforcer.path} only loads its SQL; name "
                    f"{' or '.join(sql)}"
                )
            if not enforcer.names:
                problems.append(
                    f"{row.rule}: give {enforcer.path} a name from its code, "
                    f"e.g. `{enforcer.path}` (`the_function()`)"
                )
            for name in enforcer.names:
                if not holds(path, name):
                    problems.append(
                        f"{row.rule}: the code of {enforcer.path} has no `{name}`"
                    )
    return problems
