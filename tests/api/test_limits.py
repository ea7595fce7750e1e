"""
The limits are stated once (``planner_app/api/limits.py``): the table in
``docs/api.md`` shows the values the API runs with, and ``serve`` gives
uvicorn its share of them.
"""

from __future__ import annotations

import dataclasses
import re

from planner_app.api.limits import LIMITS, Limits
from planner_app.api.server import HeaderDeadlineProtocol, uvicorn_config
from tests.api.helpers import SECRET
from tests.support import PROJECT_ROOT

# | body size (`max_body_bytes`) | 1048576 bytes (1 MiB) | ...
_ROW = re.compile(r"^\| [^|]*\(`(\w+)`\) \| ([\d.]+) ", re.MULTILINE)


def test_the_documented_table_of_limits_is_the_codes():
    text = (PROJECT_ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    text = text.split("\n## Limits\n", 1)[1].split("\n## ", 1)[0]
    documented = {name: float(value) for name, value in _ROW.findall(text)}
    expected = {
        field.name: float(getattr(LIMITS, field.name))
        for field in dataclasses.fields(Limits)
    }
    assert documented == expected


def test_serve_gives_uvicorn_its_limits(monkeypatch):
    monkeypatch.setenv("PLANNER_JWT_SECRET", SECRET)
    limits = Limits(header_timeout=3.5, keep_alive=2, max_connections=7)
    config = uvicorn_config(port=0, limits=limits)
    assert (
        config.timeout_keep_alive,
        config.limit_concurrency,
        config.h11_max_incomplete_event_size,
    ) == (2, 7, limits.max_header_bytes)
    assert issubclass(config.http, HeaderDeadlineProtocol)
    assert config.http.header_timeout == 3.5
