"""
Reading PostgreSQL's ``pg_node_tree`` text: how the catalog stores a view's
query (``pg_rewrite.ev_action``).

The format is the one ``outfuncs.c`` writes: a node is ``{NAME :field value
:field value ...}``, a list is ``(item item ...)``, ``<>`` is a null
pointer, and special characters inside a word are escaped with a
backslash. A value is a node, a list, or the words up to the next ``:field``
(``:constvalue 4 [ 1 0 0 0 ]`` is the words ``4 [ 1 0 0 0 ]``). That is all
:func:`parse_node_tree` needs: it reads nodes as dictionaries and lists as
lists, without knowing any node type.

:func:`view_column_origins` reads what PostgreSQL itself records for each
output column of a view: the table column it copies, if it is a plain
column of a table (``TargetEntry.resorigtbl`` / ``resorigcol``, followed
through subqueries by the parser).
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"[{}()]|(?:\\.|[^\s{}()\\])+", re.DOTALL)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


class NodeTreeError(ValueError):
    """The text is not a node tree this reader understands."""


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _word(token: str) -> str | None:
    if token == "<>":
        return None
    if token == '""':
        return ""
    return _ESCAPE.sub(r"\1", token)


def parse_node_tree(text: str) -> Any:
    """
    The node tree ``text`` as Python values: a node is a ``dict`` with its
    type under ``"node"`` and its fields by name (without the colon), a list
    a ``list``; a field of several words is a list of those words.

    :raises NodeTreeError: When the text is not a node tree.
    """
    tokens = _tokens(text)
    position = 0

    def value() -> Any:
        nonlocal position
        if position >= len(tokens):
            raise NodeTreeError("the node tree ends early")
        token = tokens[position]
        position += 1
        if token == "{":
            node: dict[str, Any] = {"node": tokens[position]}
            position += 1
            while tokens[position] != "}":
                field = tokens[position]
                if not field.startswith(":"):
                    raise NodeTreeError(f"expected a field name, got {field!r}")
                position += 1
                words = [value()]
                while tokens[position] != "}" and not tokens[position].startswith(":"):
                    words.append(value())
                node[field[1:]] = words[0] if len(words) == 1 else words
            position += 1
            return node
        if token == "(":
            items = []
            while tokens[position] != ")":
                items.append(value())
            position += 1
            return items
        if token in ("}", ")"):
            raise NodeTreeError(f"unexpected {token!r}")
        return _word(token)

    try:
        tree = value()
    except IndexError as error:
        raise NodeTreeError("the node tree ends early") from error
    if position != len(tokens):
        raise NodeTreeError("text after the node tree")
    return tree


def view_column_origins(rule: str) -> dict[str, tuple[int, int]]:
    """
    For each output column of a view, by name, the ``(table oid, column
    number)`` it copies, from the view's ``_RETURN`` rule (``ev_action``).
    Computed columns are left out.
    """
    queries = parse_node_tree(rule)
    if not isinstance(queries, list) or len(queries) != 1:
        raise NodeTreeError("a view's rule holds one query")
    origins = {}
    for entry in queries[0].get("targetList") or []:
        if entry.get("resjunk") == "true":
            continue
        table, column = int(entry["resorigtbl"]), int(entry["resorigcol"])
        if table and column:
            origins[entry["resname"]] = (table, column)
    return origins
