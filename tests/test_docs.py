"""
The repository stands alone: its contract is ``docs/product.md``, no tracked
file links outside it, and the README's "where each rule lives" table and
the contract's size table match the code.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from planner_app import rules
from tests.support import PROJECT_ROOT

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
        for stale in ("../shared", "..//", "shared/PRODUCT.md"):
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


def rule_table_paths() -> list[str]:
    """Every path in the README's "where each rule lives" table."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## Where each rule lives", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]
    assert rows, "the README has a rule table"
    paths = []
    for row in rows:
        rule, enforced, tested = row.strip("|").split(" | ")
        assert enforced.strip() and tested.strip(), rule
        paths += re.findall(r"`([\w./-]+\.\w+)`", enforced + tested)
    return paths


def test_every_path_the_rule_table_names_exists():
    paths = rule_table_paths()
    assert any(p.startswith("tests/") for p in paths)
    missing = [p for p in paths if not (PROJECT_ROOT / p).exists()]
    assert missing == []


def test_the_rule_table_names_only_files_of_the_repository_besides_migrations():
    """The part of the table that does not wait for the baseline."""
    missing = [
        p
        for p in rule_table_paths()
        if not p.startswith("planner_app/piccolo_migrations/")
        and not (PROJECT_ROOT / p).exists()
    ]
    assert missing == []


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
