"""Time the execution of every chapter notebook, and the test command (``make bench``).

Each notebook runs top to bottom in a fresh kernel, exactly as ``make execute``
runs it (pinned numerics: one thread per kernel), but nothing is written back.
Three passes:

* serial: one notebook at a time, one row per notebook and the total; the
  wall time (which also holds the start of the zygote the kernels are forked
  from, :mod:`tools.warm_kernel`) against the book's serial budget;
* parallel: one kernel per core (``make execute`` and ``make site`` do this),
  the wall time against the parallel target;
* the test command: ``make test``'s pytest command (lint and the setup steps
  left out), its wall time against the test target, the CPU it used (of all
  the cores, summed over every process it started) and its five slowest
  items; the whole output goes to ``_build/bench-test.log``.

``--serial-only``, ``--parallel-only`` or ``--test-only`` runs one pass;
``--no-test`` leaves out the test command.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.bookconfig import ROOT, chapter_notebooks  # noqa: E402
from tools.notebooks import default_jobs, execute_many  # noqa: E402

# The targets of issue 28, on an idle 2-core machine.
SERIAL_BUDGET_S = 100.0
PARALLEL_TARGET_S = 60.0
TEST_TARGET_S = 120.0
# `make test`'s pytest arguments; the Makefile passes its own (--test-args).
TEST_ARGS = (
    "book tests --nbval --nbval-kernel-name lrbook "
    "--nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=600 "
    "-n auto --dist loadfile"
)
TEST_LOG = ROOT / "_build" / "bench-test.log"
SLOWEST = 5


def _report(path: Path, seconds: float) -> None:
    print(f"  ran {path.relative_to(ROOT)} in {seconds:.1f} s", flush=True)


def _verdict(value: float, limit: float) -> str:
    return f"{value / limit:.2f}x ({'within' if value <= limit else 'OVER'} target)"


def slowest_items(output: str) -> list[str]:
    """The rows of pytest's ``--durations`` table in ``output``.

    Example:
        >>> slowest_items("== slowest 2 durations ==\\n3.10s call  a.py::t\\n"
        ...               "1.00s setup b.py::u\\n\\n== 2 passed ==")
        ['3.10s call  a.py::t', '1.00s setup b.py::u']
    """
    table = r"=+ slowest \d+ durations =+\n(.*?)(?:\n\s*\n|\n=)"
    match = re.search(table, output, re.S)
    return match.group(1).splitlines() if match else []


def summary_line(output: str) -> str:
    """pytest's last line, "N passed, M skipped in S s"."""
    lines = [line.strip("= ") for line in output.splitlines() if line.startswith("=")]
    return lines[-1] if lines else "(no summary: see the log)"


def time_test_command(args: str) -> int:
    """Run the test command; print its wall time, CPU use and slowest items."""
    command = [sys.executable, "-m", "pytest", *shlex.split(args)]
    command.append(f"--durations={SLOWEST}")
    print(f"test command: {shlex.join(command[1:])}", flush=True)
    TEST_LOG.parent.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(TEST_LOG, "w") as log:
        process = subprocess.run(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = TEST_LOG.read_text()
    cores = default_jobs()
    print(f"  {summary_line(output)} (exit status {process.returncode})")
    print(f"  slowest {SLOWEST} items:")
    for row in slowest_items(output):
        print(f"    {row}")
    print(
        f"\ntest command: {wall:.1f} s wall; wall / target ({TEST_TARGET_S:.0f} s) = "
        f"{_verdict(wall, TEST_TARGET_S)}; CPU {cpu:.0f} s, "
        f"{100 * cpu / wall:.0f} % of {100 * cores} %"
    )
    return process.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--serial-only", action="store_true")
    group.add_argument("--parallel-only", action="store_true")
    group.add_argument("--test-only", action="store_true")
    group.add_argument(
        "--no-test", action="store_true", help="leave out the test command"
    )
    parser.add_argument(
        "--test-args",
        default=os.environ.get("LRBOOK_TEST_ARGS") or TEST_ARGS,
        help="the test command's pytest arguments (default: make test's)",
    )
    args = parser.parse_args(argv)
    notebooks = chapter_notebooks()
    serial_wall = None
    status = 0

    if not (args.parallel_only or args.test_only):
        print("serial, one notebook at a time:", flush=True)
        start = time.perf_counter()
        seconds = execute_many(notebooks, write=False, jobs=1, report=_report)
        serial_wall = time.perf_counter() - start
        width = max(len(str(p.relative_to(ROOT))) for p in notebooks)
        print()
        print(f"{'notebook':<{width}}  seconds")
        print(f"{'-' * width}  -------")
        for path in notebooks:
            print(f"{str(path.relative_to(ROOT)):<{width}}  {seconds[path]:7.1f}")
        total = sum(seconds.values())
        print(f"{'-' * width}  -------")
        print(f"{'total':<{width}}  {total:7.1f}")
        print(
            f"\nserial: {serial_wall:.1f} s wall (the rows, and starting the warm "
            f"kernels' zygote); wall / budget ({SERIAL_BUDGET_S:.0f} s) = "
            f"{_verdict(serial_wall, SERIAL_BUDGET_S)}\n"
        )

    if not (args.serial_only or args.test_only):
        jobs = default_jobs()
        print(f"parallel, {jobs} kernels at once:", flush=True)
        start = time.perf_counter()
        execute_many(notebooks, write=False, jobs=jobs, report=_report)
        wall = time.perf_counter() - start
        print(
            f"\nparallel: {wall:.1f} s wall; wall / target ({PARALLEL_TARGET_S:.0f} s)"
            f" = {_verdict(wall, PARALLEL_TARGET_S)}"
        )
        if serial_wall is not None:
            print(f"parallel / serial wall = {wall / serial_wall:.2f}x")
        print()

    if not (args.serial_only or args.parallel_only or args.no_test):
        status = time_test_command(args.test_args)
    return status


if __name__ == "__main__":
    sys.exit(main())
