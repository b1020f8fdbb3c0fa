"""The test command deals its files to the workers longest first."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests import _scheduling
from tests._scheduling import (
    EXPECTED_TEST_SECONDS,
    UNITS,
    LongestFirstScheduling,
    longest_first,
    unit_of,
)
from tools.bookconfig import ROOT, chapter_notebooks
from tools.notebooks import EXPECTED_SECONDS


class FakeWorker:
    """What the scheduler sees of an xdist worker: the items it was sent."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.sent: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent += indices

    def shutdown(self) -> None:
        self.shutting_down = True


COLLECTION = [
    "book/00_getting_started.ipynb::Cell 0",
    "book/00_getting_started.ipynb::Cell 1",
    "book/08_all_together.ipynb::Cell 0",
    "book/08_all_together.ipynb::Cell 1",
    "book/08_all_together.ipynb::Cell 2",
    *(f"tests/test_many.py::test_{n}" for n in range(30)),
    "tests/test_numerics.py::test_pinned",
    "tests/test_numerics.py::test_unpinned",
    "tests/test_site.py::test_every_page",
    "tests/test_site.py::test_faults",
    "tests/test_site_explorers.py::test_explorer[a]",
    "tests/test_site_explorers.py::test_explorer[b]",
]


def started(collection=COLLECTION, workers=2):
    config = SimpleNamespace(
        option=SimpleNamespace(loadscopereorder=True),
        getvalue=lambda name: {"tx": [f"{workers}*popen"]}[name],
    )
    scheduler = LongestFirstScheduling(config, log=None)
    nodes = [FakeWorker(f"gw{n}") for n in range(workers)]
    for node in nodes:
        scheduler.add_node(node)
        scheduler.add_node_collection(node, collection)
    scheduler.schedule()
    return scheduler, nodes


def names(node: FakeWorker) -> list[str]:
    return [COLLECTION[i] for i in node.sent]


def test_the_site_files_are_one_unit_and_every_other_file_its_own():
    assert unit_of("tests/test_site_explorers.py::test_x[a]") == "tests/test_site.py"
    assert unit_of("tests/test_site.py::test_y") == "tests/test_site.py"
    assert unit_of("book/01_data.ipynb::Cell 3") == "book/01_data.ipynb"
    assert set(UNITS.values()) <= set(UNITS)


def test_units_are_dealt_longest_first_notebooks_by_their_execution_time():
    units = {}
    for nodeid in COLLECTION:
        units.setdefault(unit_of(nodeid), {})[nodeid] = False
    assert longest_first(units) == [
        "tests/test_site.py",
        "tests/test_numerics.py",
        "book/08_all_together.ipynb",
        "book/00_getting_started.ipynb",
        "tests/test_many.py",
    ]


def test_each_worker_starts_a_long_unit_and_gets_the_next_one_when_one_item_is_left():
    scheduler, (first, second) = started()
    # The two longest units, whole and in their order, one on each worker.
    assert names(first) == [
        "tests/test_site.py::test_every_page",
        "tests/test_site.py::test_faults",
        "tests/test_site_explorers.py::test_explorer[a]",
        "tests/test_site_explorers.py::test_explorer[b]",
    ]
    assert names(second) == [
        "tests/test_numerics.py::test_pinned",
        "tests/test_numerics.py::test_unpinned",
    ]
    # One item left: the next unit (xdist runs an item once it knows the next).
    scheduler.mark_test_complete(second, second.sent[0])
    assert names(second)[2:] == [
        "book/08_all_together.ipynb::Cell 0",
        "book/08_all_together.ipynb::Cell 1",
        "book/08_all_together.ipynb::Cell 2",
    ]
    sent = len(first.sent)
    for done in range(2):  # two of the four site items done: nothing new yet
        scheduler.mark_test_complete(first, first.sent[done])
    assert len(first.sent) == sent
    scheduler.mark_test_complete(first, first.sent[2])
    assert names(first)[sent:] == [
        "book/00_getting_started.ipynb::Cell 0",
        "book/00_getting_started.ipynb::Cell 1",
    ]


def test_every_listed_file_exists_and_every_notebook_has_its_seconds():
    for path in [*EXPECTED_TEST_SECONDS, *UNITS]:
        assert (ROOT / path).is_file(), f"{path} is listed in tests/_scheduling.py"
    stems = {p.stem for p in chapter_notebooks()}
    assert stems == set(EXPECTED_SECONDS), "update tools.notebooks.EXPECTED_SECONDS"


@pytest.mark.parametrize("dist", ["loadfile", "load", "no"])
def test_conftest_installs_it_for_loadfile_only(dist):
    import conftest

    config = SimpleNamespace(getvalue=lambda name: dist)
    made = conftest.pytest_xdist_make_scheduler(config, log=None)
    assert (made is not None) == (dist == "loadfile")
    assert made is None or isinstance(made, _scheduling.LongestFirstScheduling)
