"""``make bench``: its test pass runs what ``make test`` runs, and reads its report."""

from __future__ import annotations

import importlib.util
import re

from tools.bookconfig import ROOT

MAKEFILE = (ROOT / "Makefile").read_text()


def bench():
    path = ROOT / "benchmarks" / "bench_notebooks.py"
    spec = importlib.util.spec_from_file_location("bench_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def makefile_test_args() -> str:
    match = re.search(r"^TEST_ARGS := ((?:.*\\\n)*.*)$", MAKEFILE, re.MULTILINE)
    assert match, "the Makefile defines no TEST_ARGS"
    return " ".join(match.group(1).replace("\\\n", " ").split())


def test_bench_times_the_test_commands_pytest_arguments():
    args = makefile_test_args().replace("$(JOBS)", "auto")
    assert " ".join(bench().TEST_ARGS.split()) == args
    assert "$(PY) -m pytest $(TEST_ARGS)" in MAKEFILE.split("\ntest:", 1)[1]
    assert '--test-args "$(TEST_ARGS)"' in MAKEFILE.split("\nbench:", 1)[1]


def test_bench_reads_pytests_summary_and_slowest_items():
    module = bench()
    output = (
        "....\n"
        "========================= slowest 2 durations =========================\n"
        "106.00s setup    tests/test_numerics.py::test_pinned\n"
        "83.10s call     tests/test_site.py::test_every_page_in_a_browser\n"
        "====================== short test summary info ======================\n"
        "FAILED tests/test_x.py::test_y\n"
        "======= 1 failed, 1989 passed, 10 skipped in 119.50s (0:01:59) =======\n"
    )
    assert module.slowest_items(output) == [
        "106.00s setup    tests/test_numerics.py::test_pinned",
        "83.10s call     tests/test_site.py::test_every_page_in_a_browser",
    ]
    assert module.summary_line(output) == (
        "1 failed, 1989 passed, 10 skipped in 119.50s (0:01:59)"
    )
    assert module.SERIAL_BUDGET_S == 100 and module.PARALLEL_TARGET_S == 60
    assert module.TEST_TARGET_S == 120
