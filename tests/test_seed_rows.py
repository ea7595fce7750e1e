"""
The seed without a database: what importing the CLI costs.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import PROJECT_ROOT


def test_importing_the_cli_loads_neither_faker_nor_the_generator():
    code = (
        "import sys, piccolo_conf, planner_app.piccolo_app\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] == 'faker'"
        " or m in ('seeds.generate', 'seeds.writer', 'seeds.rows'))\n"
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"
