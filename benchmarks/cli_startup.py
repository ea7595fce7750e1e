"""
How long the CLI takes to start, before a command does any work.

Each case runs in a fresh process, the cases alternating, ``--runs`` times.
Two medians per case: wall time, and the CPU time (user + system) of the
process, which a busy machine disturbs far less than wall time; on an idle
machine the two agree. Ratios are against ``python -c pass`` measured in the
same run (the machine's own floor).

    .venv/bin/python benchmarks/cli_startup.py            # DATABASE_URL or embedded
    .venv/bin/python benchmarks/cli_startup.py --runs=31
    .venv/bin/python benchmarks/cli_startup.py --project=/path/to/other/checkout

The cases:

- ``import piccolo_conf``: what every use of Piccolo's engine pays first
  (the figure of the target: at most 0.25 s);
- ``import piccolo.conf.apps``: the part of it that is Piccolo's own
  (``AppRegistry`` lives there, and it imports black), a floor for any
  ``piccolo_conf.py``;
- ``import piccolo.main``: Piccolo's CLI before it reads ``piccolo_conf``;
- ``piccolo planner_app seed --help``: a whole command start-up through the
  CLI, up to the point where the command would run (it connects to
  nothing).

It writes nothing: ``PLANNER_PGDATA`` points at a folder that must not
appear (the engine connects only when a command runs; the script fails if
the folder was created).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PICCOLO = str(Path(sys.executable).with_name("piccolo"))

CASES: dict[str, list[str]] = {
    "python -c pass": [PYTHON, "-c", "pass"],
    "import piccolo_conf": [PYTHON, "-c", "import piccolo_conf"],
    "import piccolo.conf.apps (Piccolo's floor)": [
        PYTHON,
        "-c",
        "import piccolo.conf.apps",
    ],
    "import piccolo.main (Piccolo's CLI)": [PYTHON, "-c", "import piccolo.main"],
    "piccolo planner_app seed --help": [PICCOLO, "planner_app", "seed", "--help"],
}


def run_once(command: list[str], project: Path, env: dict[str, str]) -> tuple:
    """(wall seconds, CPU seconds) of one run of ``command``."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"error: {' '.join(command)} exited {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def measure(runs: int, project: Path, env: dict[str, str]) -> dict[str, tuple]:
    """Per case: (median wall seconds, median CPU seconds)."""
    walls: dict[str, list[float]] = {name: [] for name in CASES}
    cpus: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(runs):
        for name, command in CASES.items():
            wall, cpu = run_once(command, project, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {
        name: (statistics.median(walls[name]), statistics.median(cpus[name]))
        for name in CASES
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per case")
    parser.add_argument(
        "--project",
        type=Path,
        default=PROJECT_ROOT,
        help="the checkout to measure (default: this one)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        data_dir = Path(scratch) / "pgdata"
        env = {**os.environ, "PLANNER_PGDATA": str(data_dir)}
        engine = "DATABASE_URL" if env.get("DATABASE_URL") else "embedded"
        medians = measure(args.runs, args.project.resolve(), env)
        started_a_server = data_dir.exists()

    wall_floor, cpu_floor = medians["python -c pass"]
    print(
        f"CLI start-up, median of {args.runs} runs, {args.project.resolve()} "
        f"({engine}), {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'case':<45} {'wall':>7} {'ratio':>6} {'CPU':>7} {'ratio':>6}")
    for name, (wall, cpu) in medians.items():
        print(
            f"{name:<45} {wall:>6.3f}s {wall / wall_floor:>5.1f}x "
            f"{cpu:>6.3f}s {cpu / cpu_floor:>5.1f}x"
        )
    wall, cpu = medians["import piccolo_conf"]
    verdict = "met" if cpu <= 0.25 else "missed"
    print(
        f"target: import piccolo_conf <= 0.25 s: {verdict} "
        f"({cpu:.3f} s of CPU, {wall:.3f} s wall)"
    )
    if started_a_server:
        sys.exit("error: a case started the embedded server (PLANNER_PGDATA appeared)")


if __name__ == "__main__":
    main()
