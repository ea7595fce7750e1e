"""
The suite's parallel runs (:mod:`tests.parallel`): every collected test runs
exactly once, and a module's tests run on one worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import PROJECT_ROOT

# A test directory with two modules: one of plain tests, one whose three
# cases share one test id, as the HTTP API's schemathesis cases do.
CONFTEST = """
import os
from pathlib import Path

import pytest

from tests.parallel import ModuleScheduling


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    return ModuleScheduling(config, log)


def record(name):
    worker = os.environ["PYTEST_XDIST_WORKER"]
    (Path(os.environ["RAN"]) / f"{name}@{worker}").touch()


class Case(pytest.Item):
    def __init__(self, *, case, **kwargs):
        super().__init__(**kwargs)
        self.case = case

    def runtest(self):
        record(f"cases.txt {self.case}")


class Cases(pytest.File):
    def collect(self):
        for case in range(3):
            yield Case.from_parent(self, name="case", case=case)


def pytest_collect_file(parent, file_path):
    if file_path.name == "cases.txt":
        return Cases.from_parent(parent, path=file_path)
"""
PLAIN = """
from conftest import record


def test_one():
    record("test_plain.py one")


def test_two():
    record("test_plain.py two")
"""


def test_every_test_runs_once_and_each_module_on_one_worker(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    ran = tmp_path / "ran"
    suite.mkdir()
    ran.mkdir()
    (suite / "conftest.py").write_text(CONFTEST)
    (suite / "test_plain.py").write_text(PLAIN)
    (suite / "cases.txt").write_text("")
    (suite / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "xdist", "-p", "no:cacheprovider"]
        + ["-n", "2", "--dist", "loadfile", "-q"],
        cwd=suite,
        env={
            **os.environ,
            "RAN": str(ran),
            "PYTHONPATH": str(PROJECT_ROOT),
            # Only pytest-xdist: the project's other plugins cost start-up.
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    runs = sorted(path.name.split("@") for path in ran.iterdir())
    assert [name for name, _ in runs] == [
        "cases.txt 0",
        "cases.txt 1",
        "cases.txt 2",
        "test_plain.py one",
        "test_plain.py two",
    ]
    workers_of = {}
    for name, worker in runs:
        workers_of.setdefault(name.split()[0], set()).add(worker)
    assert all(len(workers) == 1 for workers in workers_of.values()), workers_of
