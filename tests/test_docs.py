"""
The repository stands alone: its contract is ``docs/product.md``, no tracked
file links outside it, and the README's "where each rule lives" table and
the contract's size table match the code.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from planner_app import rules
from tests import doc_names
from tests.support import PROJECT_ROOT, connected

MIGRATIONS = PROJECT_ROOT / "planner_app" / "piccolo_migrations"
TEXT_SUFFIXES = {
    ".md",
    ".py",
    ".sql",
    ".ts",
    ".mjs",
    ".json",
    ".toml",
    ".txt",
    ".cfg",
    ".yml",
    ".yaml",
    ".sh",
    "",
}
# [text](target) and <a href="target">, outside code spans.
MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""")


def tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "-z"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    files = []
    for name in filter(None, names):
        path = PROJECT_ROOT / name
        if path.suffix in TEXT_SUFFIXES and path.is_file():
            files.append(path)
    return files


def links(text: str) -> list[str]:
    return MARKDOWN_LINK.findall(text) + HTML_LINK.findall(text)


def is_external(target: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", target)) or target.startswith("//")


def test_links_are_found():
    text = '[a](../x.md) [b](<docs/y.md>) [c](z.md "title") <a href="../w">'
    assert links(text) == ["../x.md", "docs/y.md", "z.md", "../w"]


def test_no_tracked_file_links_outside_the_repository():
    root = PROJECT_ROOT.resolve()
    outside = []
    for path in tracked_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        where = path.relative_to(PROJECT_ROOT)
        # The coordination notes this repository grew from are not part of
        # it; naming them sends a reader nowhere. (This file names them to
        # look for them.)
        for stale in ("../shared", "..//", "PRODUCT.md"):
            if stale in text and path.resolve() != Path(__file__).resolve():
                outside.append(f"{where}: mentions {stale}")
        for target in links(text):
            if is_external(target) or target.startswith("#"):
                continue
            resolved = (path.parent / target.split("#")[0]).resolve()
            if not resolved.is_relative_to(root):
                outside.append(f"{where}: links {target}")
    assert outside == []


def test_every_relative_link_in_the_docs_points_at_a_file_that_exists():
    broken = []
    for path in tracked_text_files():
        if path.suffix != ".md":
            continue
        for target in links(path.read_text(encoding="utf-8")):
            if is_external(target) or target.startswith("#"):
                continue
            if not (path.parent / target.split("#")[0]).exists():
                broken.append(f"{path.relative_to(PROJECT_ROOT)}: {target}")
    assert broken == []


def test_the_readme_links_the_product_contract():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "(docs/product.md)" in readme
    assert (PROJECT_ROOT / "docs" / "product.md").is_file()


def rule_rows() -> list[doc_names.RuleRow]:
    rows = doc_names.rule_table((PROJECT_ROOT / "README.md").read_text())
    assert rows, "the README has a rule table"
    return rows


def test_every_path_the_rule_table_names_exists():
    paths = [
        path
        for row in rule_rows()
        for path in (*(e.path for e in row.enforcers), *row.tests)
    ]
    assert any(p.startswith("tests/") for p in paths)
    missing = [p for p in paths if not (PROJECT_ROOT / p).exists()]
    assert missing == []


def test_each_rule_points_at_the_code_that_holds_it():
    problems = doc_names.rule_table_problems(rule_rows())
    assert not problems, "\n".join(problems)


def test_a_migration_stub_or_a_name_its_file_lacks_is_refused():
    """The table as it was: a migration's module, which only loads its SQL."""
    readme = (
        "## Where each rule lives\n\n| rule | enforced in | tested in |\n"
        "|---|---|---|\n"
        "| lock | `planner_app/piccolo_migrations/planner_app_0005_lock.py` "
        "| `tests/test_lock.py` |\n"
        "| audit | `planner_app/piccolo_migrations/"
        "planner_app_0002_protection.forwards.sql` (`planner_private.audit()`, "
        "`planner_week_lockable()`) | `tests/test_audit.py` |\n"
        "| lock constant | `planner_app/rules.py` (`LOCKED_WEEKS`) "
        "| `tests/test_lock.py` |\n"
        "| tables (Piccolo's operations) | `planner_app/piccolo_migrations/"
        "planner_app_0003_tables.py` (`goal_one_per_type`) "
        "| `tests/test_schema_rules.py` |\n"
    )
    problems = doc_names.rule_table_problems(doc_names.rule_table(readme))
    assert problems == [
        "lock: planner_app/piccolo_migrations/planner_app_0005_lock.py only loads "
        "its SQL; name planner_app_0005_lock.backwards.sql or "
        "planner_app_0005_lock.forwards.sql",
        "lock: give planner_app/piccolo_migrations/planner_app_0005_lock.py a name "
        "from its code, e.g. `planner_app/piccolo_migrations/"
        "planner_app_0005_lock.py` (`the_function()`)",
        "audit: the code of planner_app/piccolo_migrations/"
        "planner_app_0002_protection.forwards.sql has no `planner_week_lockable()`",
    ]


def test_a_name_only_a_comment_holds_is_not_code(tmp_path: Path):
    sql = tmp_path / "rule.forwards.sql"
    sql.write_text("-- planner_private.gone()\nselect planner_private.kept();\n")
    module = tmp_path / "rule.py"
    module.write_text('"""GONE"""\n# KEPT_TOO\nKEPT = 1\n')
    assert doc_names.holds(sql, "planner_private.kept()")
    assert not doc_names.holds(sql, "planner_private.gone()")
    assert doc_names.holds(module, "KEPT")
    assert not doc_names.holds(module, "GONE")
    assert not doc_names.holds(module, "KEPT_TOO")


def test_the_contracts_size_table_is_the_one_in_rules_py():
    product = (PROJECT_ROOT / "docs" / "product.md").read_text()
    documented = {
        column: (int(amount), unit)
        for column, amount, unit in re.findall(
            r"\| `(\w+\.\w+)` \| (\d+) (characters|bytes) \|", product
        )
    }
    expected = {c: (n, "characters") for c, n in rules.TEXT_MAX_CHARS.items()}
    expected |= {c: (n, "bytes") for c, n in rules.JSON_MAX_BYTES.items()}
    assert documented == expected


# -- Every name the docs and the code use exists (tests/doc_names.py) ---------


@pytest.fixture(scope="module")
async def checker(migrated: str) -> doc_names.Checker:
    async with connected(migrated) as conn:
        return doc_names.Checker(await doc_names.read_catalog(conn))


def test_every_name_the_docs_use_exists(checker: doc_names.Checker) -> None:
    problems = []
    for path in doc_names.doc_files():
        problems += doc_names.problems_of(checker, path)
    assert not problems, "\n".join(problems)


def test_every_name_the_modules_comments_and_docstrings_use_exists(
    checker: doc_names.Checker,
) -> None:
    problems = []
    for path in doc_names.module_files():
        problems += doc_names.problems_of(checker, path)
    assert not problems, "\n".join(problems)


def not_found(checker: doc_names.Checker, text: str, where: str = "docs/x.md"):
    """The names of ``text`` that the checker finds missing."""
    return [
        problem.split(": `", 1)[1].split("`", 1)[0]
        for problem in doc_names.problems_in(checker, where, text)
    ]


def test_names_that_do_not_exist_are_found(checker: doc_names.Checker) -> None:
    text = """
The function `planner_week_lockable(week_no)`, or `public.planner_audit()`,
the column `cycle.lockd_at`, the trigger `plan_item_lock_upd`, the path
`planner_app/piccolo_migrations/planner_app_0005_lock.forwards.sq`, the
folder `seeds/fixture/`, the module `planner_app.rules.LOCKED_WEEK`, the
test `test_nothing_of_the_sort`, the pattern `<table>_audit`.

```sql
select planner_private.protectt('public.vision');
```
"""
    assert not_found(checker, text) == [
        "planner_week_lockable(week_no)",
        "public.planner_audit()",
        "cycle.lockd_at",
        "plan_item_lock_upd",
        "planner_app/piccolo_migrations/planner_app_0005_lock.forwards.sq",
        "seeds/fixture/",
        "planner_app.rules.LOCKED_WEEK",
        "test_nothing_of_the_sort",
        "<table>_audit",
        "planner_private.protectt",
    ]


def test_names_that_exist_pass(checker: doc_names.Checker) -> None:
    text = """
`planner_private.week_lockable()`, `planner_private.attach_table_rules(table)`,
`public.cycle`, `auth.users.id`, `cycle.lock_enforced`,
`plan_item_rules_update`, `cycle_lock_one_way` (raised, not a catalog
constraint), `<table>_audit_update`, `<table>_id_never_changes`,
`*_same_owner_fkey`, `planner_app/rules.py`, `docs/`, `.pgdata/`,
`errors.py`, `*.forwards.sql`, `planner_app.rules.LOCKED_WEEKS`,
`rules.LOCKED_WEEKS`, `planner_app.api:app`, `common_rules()`,
`test_names_that_exist_pass`,
`select planner_private.attach_table_rules('public.goal')`,
and prose: `--dry-run`, `lock_enforced = true`, `PT423`, `supabase_admin`.
"""
    assert not_found(checker, text) == []


def test_a_name_declared_absent_must_be_absent_and_used(
    checker: doc_names.Checker,
) -> None:
    declared = (
        "<!-- not in the schema: cycle_streak (an example), cycle_no_overlap,"
        " cycle_unused -->\n"
        "<!-- not in the repository: docs/habits.md -->\n"
        "A recipe adds `cycle_streak`; see `docs/habits.md` and `cycle_no_overlap`."
    )
    problems = doc_names.problems_in(checker, "docs/x.md", declared)
    assert problems == [
        "docs/x.md:3: `cycle_no_overlap` exists, so it needs no marker",
        "docs/x.md: declares `cycle_unused` not in the schema, "
        "but no name the check reads is that",
    ]
    module = (
        '"""Uses ``.handle_pids.json``."""\n'
        "# not in the repository: .handle_pids.json\n"
    )
    assert doc_names.problems_in(checker, "planner_app/x.py", module) == []
    assert not_found(checker, '"""Uses ``planner_week_lockable()``."""\n', "x.py") == [
        "planner_week_lockable()"
    ]
