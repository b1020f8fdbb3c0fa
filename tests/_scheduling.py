"""Longest first: how ``make test`` deals its test files to the xdist workers.

xdist's ``--dist loadfile`` keeps every file on one worker, its items in
order (each notebook's cells run in one kernel, top to bottom), but it deals
the files out by their number of items, most first: the emulated-CPU proof
(a few items, minutes of work) and the browser tests started last, and ran
alone while the other worker idled. :class:`LongestFirstScheduling` keeps
the file grouping and deals the files by their expected seconds instead,
longest first (the classic greedy rule for finishing together), and gives a
worker its next file only when it is about to run the last item of the one
in hand, so that no long file waits behind another while a worker is free.

The browser tests of ``tests/test_site.py`` and ``tests/test_site_explorers.py``
are one unit, so that one worker builds the site once and drives one
browser for both (their session fixtures live in ``tests/conftest.py``).

``conftest.py`` installs the scheduler for ``--dist loadfile``; any other
``--dist`` keeps xdist's own.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import PurePosixPath

from xdist.scheduler import LoadFileScheduling

from tools.notebooks import EXPECTED_SECONDS

# Files that belong to one unit: one worker runs them, in this order.
UNITS = {
    "tests/test_site.py": "tests/test_site.py",
    "tests/test_site_explorers.py": "tests/test_site.py",
}

# Seconds each slow test file takes under `make test` (its whole unit, fixtures
# included) on an idle 2-core machine, the scale of
# tools.notebooks.EXPECTED_SECONDS. Only the order matters; a file not listed
# counts DEFAULT_ITEM_SECONDS per item.
EXPECTED_TEST_SECONDS = {
    "tests/test_site.py": 130,  # with tests/test_site_explorers.py
    "tests/test_numerics.py": 75,
    "tests/test_distributed.py": 24,
    "tests/test_robustness_hook.py": 23,
    "tests/test_explorer.py": 23,
    "tests/test_reader_copies_run.py": 19,
    "tests/test_warm_kernel.py": 15,
    "tests/test_responsive.py": 9,
    "tests/test_checkpoint.py": 5,
    "tests/test_robustness.py": 5,
    "tests/test_data_source_env.py": 5,
    "tests/test_reader_copy_rules.py": 4,
    "tests/test_reader_copies.py": 4,
    "tests/test_training.py": 4,
    "tests/test_standin_seed.py": 3,
    "tests/test_package.py": 3,
}
DEFAULT_ITEM_SECONDS = 0.01


def unit_of(nodeid: str) -> str:
    """The unit a test item belongs to: its file, or the unit its file joins."""
    path = nodeid.split("::", 1)[0]
    return UNITS.get(path, path)


def expected_seconds(unit: str, items: int) -> float:
    """How long a unit is expected to take (notebooks: their execution time)."""
    if unit in EXPECTED_TEST_SECONDS:
        return EXPECTED_TEST_SECONDS[unit]
    path = PurePosixPath(unit)
    if path.suffix == ".ipynb" and path.stem in EXPECTED_SECONDS:
        return EXPECTED_SECONDS[path.stem]
    return items * DEFAULT_ITEM_SECONDS


def longest_first(units: dict[str, dict[str, bool]]) -> list[str]:
    """The units in the order they are dealt: longest first, then by name."""
    return sorted(
        units, key=lambda unit: (-expected_seconds(unit, len(units[unit])), unit)
    )


class LongestFirstScheduling(LoadFileScheduling):
    """xdist's ``loadfile``, dealt longest first and one unit ahead at most."""

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)

    def schedule(self) -> None:
        # xdist's LoadScopeScheduling.schedule, with the work queue in
        # longest_first order instead of by number of items.
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
        units: dict[str, dict[str, bool]] = {}
        for nodeid in self.collection:
            units.setdefault(self._split_scope(nodeid), {})[nodeid] = False
        self.workqueue = OrderedDict(
            (unit, units[unit]) for unit in longest_first(units)
        )
        for _ in range(len(self.nodes) - len(self.workqueue)):
            unused, _ = self.assigned_work.popitem()
            unused.shutdown()
        for node in self.nodes:
            self._assign_work_unit(node)
        for node in self.nodes:
            self._reschedule(node)
        if not self.workqueue:
            for node in self.nodes:
                node.shutdown()

    def _reschedule(self, node) -> None:
        # xdist runs an item once it knows the next one, so a worker needs its
        # next unit when one item of the current unit is left, and not sooner.
        if node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        if self._pending_of(self.assigned_work[node]) > 1:
            return
        self._assign_work_unit(node)
