"""
``planner_app.migration_sql.MigrationManager`` runs Piccolo's operations in
the order a migration lists them: Piccolo itself visits the tables of a
collection in set order, which differs between Python processes, so the
same migration would run (and ``export_schema`` would write its
``supabase/migrations/`` file) in another order each time.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import PROJECT_ROOT

# Tables added in an order that no hash of their names is likely to keep.
TABLES = [f"table_{n}" for n in (9, 3, 7, 1, 8, 2, 6, 4, 5, 0)]

LISTED = """
from piccolo.constraints import Check
from planner_app.migration_sql import MigrationManager
manager = MigrationManager(migration_id="x", app_name="planner_app")
for name in {tables!r}:
    manager.add_constraint(
        table_class_name=name, tablename=name,
        constraint_name=name + "_c", constraint_class=Check,
        params={{"condition": "true"}},
    )
print(manager.add_constraints.table_class_names)
"""


def listed_order(seed: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", LISTED.format(tables=TABLES)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_operations_run_in_the_order_the_migration_lists_them() -> None:
    orders = {listed_order(seed) for seed in ("1", "2", "3", "4")}
    assert orders == {repr(TABLES)}
