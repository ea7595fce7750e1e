"""
What the schema tests share: the TypeScript compiler over ``schema/`` (the
generated schemas, the validation script and the supabase-js type tests) and
a way to ask the compiled Zod schemas a question from Python. The node
packages come from ``npm ci --prefix schema``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support import PROJECT_ROOT

SCHEMA_DIR = PROJECT_ROOT / "schema"
TSC = SCHEMA_DIR / "node_modules" / ".bin" / "tsc"


def typescript(project: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """Run ``tsc -p project [options]``."""
    return subprocess.run(
        [str(TSC), "-p", str(project), *options],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def compiled() -> Path:
    """
    Type-check everything in ``schema/`` (``tsconfig.json``: the generated
    Zod schemas and ``Database`` type, ``validate.ts`` and the supabase-js
    type tests of ``database.typetest.ts``) and compile it to ``schema/dist``
    (``schema/dist-<worker>`` in a parallel run: each worker has its own).
    """
    assert TSC.exists(), "the node packages are missing: run npm ci --prefix schema"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    out = SCHEMA_DIR / (f"dist-{worker}" if worker else "dist")
    shutil.rmtree(out, ignore_errors=True)
    result = typescript(SCHEMA_DIR, "--outDir", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def ask_zod(compiled: Path, body: str, payload: Any) -> Any:
    """
    Evaluate ``body`` (a JavaScript function of ``(planner, input)``, where
    ``planner`` is the compiled ``planner.zod`` module) on ``payload`` and
    return its JSON result.
    """
    script = compiled / "ask.mjs"
    script.write_text(
        'import { readFileSync } from "node:fs";\n'
        'import * as planner from "./planner.zod.js";\n'
        'const input = JSON.parse(readFileSync(0, "utf8"));\n'
        f"const answer = ({body})(planner, input);\n"
        "process.stdout.write(JSON.stringify(answer));\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        ["node", str(script)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
