"""
Writing ``schema/planner.schema.json``: the JSON Schema (2020-12) of the
generated Zod schemas, made by Zod itself (``z.toJSONSchema()``), so the two
cannot say different things.

The generated Zod file is compiled with the project's pinned TypeScript and
read by ``schema/json-schema.mjs`` with the pinned Zod, both from
``schema/node_modules`` (``npm ci --prefix schema``): nothing is downloaded.
Rules JSON Schema has no keyword for are declared with the keywords the
validators know: ``formatMinimum`` / ``formatMaximum`` (ajv-formats) for the
date range, ``x-jsonb-max-bytes`` for a JSON object's size (see
``schema/validate.ts`` for a validator that applies it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from planner_app.database import PROJECT_ROOT
from planner_app.schema_export.shared import GENERATED_BY, SchemaExportError

TOOLS_DIR = PROJECT_ROOT / "schema"
"""Where the node packages (``node_modules``) and ``json-schema.mjs`` live."""

_TSCONFIG = {
    "compilerOptions": {
        "target": "es2022",
        "lib": ["es2022"],
        "module": "nodenext",
        "moduleResolution": "nodenext",
        "strict": True,
        "types": [],
        "skipLibCheck": True,
    },
    "files": ["planner.zod.ts"],
}


def _tools(tools_dir: Path) -> tuple[str, Path, Path]:
    node = shutil.which("node")
    if node is None:
        raise SchemaExportError(
            "node is not installed: the JSON Schema is written by Zod "
            "(z.toJSONSchema); install Node.js 20.19 or later, then run "
            "`npm ci --prefix schema`"
        )
    tsc = tools_dir / "node_modules" / ".bin" / "tsc"
    if not tsc.exists() or not (tools_dir / "node_modules" / "zod").exists():
        raise SchemaExportError(
            "the node packages are missing: run `npm ci --prefix schema`"
        )
    return node, tsc, tools_dir / "json-schema.mjs"


def _run(command: list[str], what: str) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except OSError as error:
        raise SchemaExportError(f"cannot run {command[0]}: {error}") from error
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise SchemaExportError(f"{what}: {output[0] if output else 'no output'}")
    return result.stdout


def json_schema_definitions(zod_text: str, tools_dir: Path = TOOLS_DIR) -> dict:
    """``{name: JSON Schema}`` of every schema the Zod file ``zod_text`` exports."""
    node, tsc, script = _tools(tools_dir)
    # Inside the tools folder, so that the compiled file finds its `zod`.
    with tempfile.TemporaryDirectory(dir=tools_dir, prefix=".export-") as temporary:
        folder = Path(temporary)
        (folder / "planner.zod.ts").write_text(zod_text, encoding="utf-8")
        (folder / "tsconfig.json").write_text(json.dumps(_TSCONFIG), encoding="utf-8")
        _run([str(tsc), "-p", str(folder)], "the generated Zod schemas do not compile")
        output = _run(
            [node, str(script), str(folder / "planner.zod.js")],
            "z.toJSONSchema() failed",
        )
    return json.loads(output)


def render_json_schema(zod_text: str, names: list[str]) -> str:
    """
    The text of ``schema/planner.schema.json``.

    :param names: the definitions in the order to write them (every schema
        the Zod file exports).
    """
    definitions = json_schema_definitions(zod_text)
    if sorted(definitions) != sorted(names):
        raise SchemaExportError(
            f"the Zod schemas define {sorted(definitions)}, expected {sorted(names)}"
        )
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Planner tables and views",
        "description": GENERATED_BY,
        "$defs": {name: definitions[name] for name in names},
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
