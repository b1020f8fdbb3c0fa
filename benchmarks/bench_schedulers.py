"""Benchmark: tracing every scheduler of the catalog for 1,000 steps.

Target: at most 1 s in total on the book's build machine (2 shared CPU cores).

Run: ``python benchmarks/bench_schedulers.py``. It first pays PyTorch's one-off
cost of a process's first ``optimizer.step()`` (reported separately), then
times each scheduler (best of a few repeats, to see through other processes'
noise) and one plain pass over the whole catalog. It prints the numbers and
their ratio to the target, and exits 0 whatever the outcome: the numbers are
for reading, not a pass/fail test.
"""

from __future__ import annotations

import time

from lrlib.book.scheduler_catalog import CATALOG
from lrlib.schedulers import trace

STEPS = 1_000
TARGET_S = 1.0
REPEATS = 3


def seconds(entry) -> float:
    start = time.perf_counter()
    trace(entry, STEPS)
    return time.perf_counter() - start


def main() -> None:
    warm_up = seconds(CATALOG[0])  # the first optimizer.step() imports torch._dynamo
    best = {
        entry.name: min(seconds(entry) for _ in range(REPEATS)) for entry in CATALOG
    }
    one_pass = sum(seconds(entry) for entry in CATALOG)
    best_total = sum(best.values())

    print(f"Tracing {len(CATALOG)} schedulers for {STEPS:,} steps each")
    print(f"(one-off first trace in this process, not counted: {warm_up:.3f} s)")
    for name, value in best.items():
        print(
            f"  {name:<28} {value * 1e3:7.1f} ms  ({value / STEPS * 1e6:5.1f} us/step)"
        )
    print(
        f"total, best of {REPEATS} per scheduler: {best_total:.3f} s  "
        f"ratio to the {TARGET_S:.0f} s target: {best_total / TARGET_S:.2f}"
    )
    print(
        f"total, one plain pass:            {one_pass:.3f} s  "
        f"ratio to the {TARGET_S:.0f} s target: {one_pass / TARGET_S:.2f}"
    )


if __name__ == "__main__":
    main()
