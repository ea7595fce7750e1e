"""
How long the test suite takes, per engine, and how much CPU it uses.

Runs the README's test command (``python -m pytest``, the project's own
options) in ``--project`` (default: this checkout) against each engine and
prints, per run: the pytest summary line, wall time, the CPU time of pytest
and everything it waited for (its workers, the CLI subprocesses, the
Supabase-like cluster), the CPU time of the database server, and the load
average before and after. CPU time is what a busy machine disturbs least:
compare it between runs taken under different loads, and wall time only
between quiet runs.

    .venv/bin/python benchmarks/suite.py                       # both engines
    .venv/bin/python benchmarks/suite.py --engine=embedded
    .venv/bin/python benchmarks/suite.py --project=/tmp/old -- -p no:xdist

Arguments after ``--`` go to pytest. The server's CPU time is read from
``/proc`` (Linux, the server on this machine, readable by this user): for
the embedded engine the script holds the project's embedded server open for
the run, so the server and its CPU counters outlive the suite; for
``DATABASE_URL`` it is the whole server's, other clients included.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int, with_reaped: bool) -> float:
    """CPU seconds of ``pid`` (and of its children it has reaped)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    used = int(fields[11]) + int(fields[12])
    if with_reaped:
        used += int(fields[13]) + int(fields[14])
    return used / TICKS


def server_cpu(postmaster: int) -> float:
    """The server's CPU seconds: the postmaster, its live and its ended children."""
    total = process_cpu(postmaster, with_reaped=True)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) == postmaster:
                total += process_cpu(int(entry.name), with_reaped=False)
        except (OSError, IndexError, ValueError):
            continue
    return total


async def postmaster_of(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        backend = await conn.fetchval("select pg_backend_pid()")
        # While the backend lives.
        stat = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
    finally:
        await conn.close()
    return int(stat[1])


def embedded_server(project: Path):
    """Join (or start) the project's embedded server; returns (handle, URL)."""
    sys.path.insert(0, str(project))
    os.environ.setdefault("PLANNER_PGDATA", str(project / ".pgdata"))
    from planner_app.database import embedded_server_url, start_embedded_server

    return start_embedded_server(), embedded_server_url("postgres")


def run_suite(project: Path, env: dict[str, str], pytest_args: list[str]) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = [
        line.strip("= ")
        for line in result.stdout.splitlines()
        if re.search(r"\d+ (passed|failed|error)", line)
    ]
    return {
        "summary": summary[-1] if summary else f"exit {result.returncode}",
        "exit": result.returncode,
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "output": result.stdout + result.stderr,
    }


def measure(engine: str, project: Path, url: str, pytest_args: list[str]) -> None:
    env = dict(os.environ)
    if engine == "embedded":
        env.pop("DATABASE_URL", None)
        _handle, server_url = embedded_server(project)
    else:
        env["DATABASE_URL"] = server_url = url
    postmaster = asyncio.run(postmaster_of(server_url))
    load_before = os.getloadavg()[0]
    server_before = server_cpu(postmaster)
    run = run_suite(project, env, pytest_args)
    server = server_cpu(postmaster) - server_before
    load_after = os.getloadavg()[0]
    print(
        f"{engine}: {run['summary']}; wall {run['wall']:.1f} s; "
        f"pytest and its children {run['cpu']:.1f} s CPU; "
        f"the server {server:.1f} s CPU"
        + (" (all its clients)" if engine == "postgres" else "")
        + f"; load average {load_before:.2f} -> {load_after:.2f}",
        flush=True,
    )
    if run["exit"] != 0:
        print(run["output"][-4000:], file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path, default=PROJECT_ROOT)
    parser.add_argument(
        "--engine", choices=("postgres", "embedded", "both"), default="both"
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("pytest_args", nargs="*")
    options = parser.parse_args()
    both = ("postgres", "embedded")
    engines = both if options.engine == "both" else (options.engine,)
    print(f"{os.cpu_count()} CPUs; project {options.project}", flush=True)
    for engine in engines:
        measure(
            engine, options.project.resolve(), options.database_url, options.pytest_args
        )


if __name__ == "__main__":
    main()
