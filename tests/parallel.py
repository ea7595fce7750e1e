"""
How pytest-xdist hands the suite to its workers: whole test modules, one
at a time, to whichever worker is free (the biggest modules first), so a
module's fixtures (the Supabase deploy walk, a compiled front-end test) are
built once; the modules of ``tests/supabase/`` go together, so the run
builds one Supabase-like cluster.

pytest-xdist's own ``--dist loadfile`` does the same but keys its work by
test id, and the schemathesis test of the HTTP API is one id shared
by its 92 generated cases: ``loadfile`` would run one case and drop the
others without a word. This scheduler keys its work by the index of each
test in the collection instead; ``tests/conftest.py`` installs it for
``--dist loadfile``.
"""

from __future__ import annotations

from collections import OrderedDict

from xdist.scheduler import LoadScopeScheduling
from xdist.workermanage import WorkerController

# Folders whose modules share a costly session fixture and so run on one
# worker, as one unit: the Supabase-like cluster (initdb, start, bootstrap).
ONE_UNIT_FOLDERS = ("tests/supabase/",)


class ModuleScheduling(LoadScopeScheduling):
    """``LoadScopeScheduling`` by module, with work units of test indices."""

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        for folder in ONE_UNIT_FOLDERS:
            if module.startswith(folder):
                return folder
        return module

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:
            for node in self.nodes:
                self._reschedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = list(next(iter(self.registered_collections.values())))
        if not self.collection:
            return
        units: dict[str, dict[int, bool]] = {}
        for index, nodeid in enumerate(self.collection):
            units.setdefault(self._split_scope(nodeid), {})[index] = False
        # The biggest modules first, so that none is left alone at the end.
        self.workqueue = OrderedDict(sorted(units.items(), key=lambda u: -len(u[1])))
        for _ in range(len(self.nodes) - len(self.workqueue)):
            unused, _assigned = self.assigned_work.popitem()
            unused.shutdown()
        for node in self.nodes:
            self._assign_work_unit(node)
        for node in self.nodes:
            self._reschedule(node)
        if not self.workqueue:
            for node in self.nodes:
                node.shutdown()

    def _assign_work_unit(self, node: WorkerController) -> None:
        scope, unit = self.workqueue.popitem(last=False)
        self.assigned_work.setdefault(node, {})[scope] = unit
        node.send_runtest_some([index for index, done in unit.items() if not done])

    def mark_test_complete(
        self, node: WorkerController, item_index: int, duration: float = 0
    ) -> None:
        assert self.collection is not None
        scope = self._split_scope(self.collection[item_index])
        self.assigned_work[node][scope][item_index] = True
        self._reschedule(node)

    def remove_node(self, node: WorkerController) -> str | None:
        """A worker is gone: its unfinished modules go back to the queue."""
        assert self.collection is not None
        workload = self.assigned_work.pop(node)
        pending = [
            index
            for unit in workload.values()
            for index, done in unit.items()
            if not done
        ]
        if not pending:
            return None
        self.workqueue.update(workload)
        for other in self.assigned_work:
            self._reschedule(other)
        return self.collection[pending[0]]
