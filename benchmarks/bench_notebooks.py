"""Time the execution of every chapter notebook (``make bench``).

Each notebook runs top to bottom in a fresh kernel, exactly as ``make execute``
runs it (pinned numerics: one thread per kernel), but nothing is written back.
Two passes:

* serial: one notebook at a time, one row per notebook and the total, against
  the book's serial budget;
* parallel: one kernel per core (``make execute`` and ``make site`` do this),
  the wall time against the parallel target.

``--serial-only`` or ``--parallel-only`` runs one pass.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.bookconfig import ROOT, chapter_notebooks  # noqa: E402
from tools.notebooks import default_jobs, execute_many  # noqa: E402

SERIAL_BUDGET_S = 240.0
PARALLEL_TARGET_S = 60.0


def _report(path: Path, seconds: float) -> None:
    print(f"  ran {path.relative_to(ROOT)} in {seconds:.1f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--serial-only", action="store_true")
    group.add_argument("--parallel-only", action="store_true")
    args = parser.parse_args(argv)
    notebooks = chapter_notebooks()

    if not args.parallel_only:
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
            f"\nserial: {serial_wall:.1f} s wall; total / budget "
            f"({SERIAL_BUDGET_S:.0f} s) = "
            f"{total / SERIAL_BUDGET_S:.2f}x "
            f"({'within' if total <= SERIAL_BUDGET_S else 'OVER'} budget)\n"
        )

    if not args.serial_only:
        jobs = default_jobs()
        print(f"parallel, {jobs} kernels at once:", flush=True)
        start = time.perf_counter()
        execute_many(notebooks, write=False, jobs=jobs, report=_report)
        wall = time.perf_counter() - start
        print(
            f"\nparallel: {wall:.1f} s wall; wall / target ({PARALLEL_TARGET_S:.0f} s) "
            "= "
            f"{wall / PARALLEL_TARGET_S:.2f}x "
            f"({'within' if wall <= PARALLEL_TARGET_S else 'OVER'} target)"
        )
        if not args.parallel_only:
            print(f"parallel / serial wall = {wall / serial_wall:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
