"""Time drawing the full synthetic Rock-Paper-Scissors stand-in.

Target: the 2,892 pictures (2,520 training + 372 test) in at most 30 seconds
on a 2-core machine, so that a reader without network access waits about as
long as a download would take.

Run: ``python benchmarks/bench_handpose.py [--processes N]``
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from lrlib.data._standin import ensure_handpose, expected_counts

TARGET_SECONDS = 30.0


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished child processes (the workers)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--processes", type=int, default=2, help="worker processes (default: 2)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "rps-synthetic"
        start = time.perf_counter()
        cpu_start = _cpu_seconds()
        ensure_handpose(root, processes=args.processes)
        seconds = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu_start
        files = sorted(root.rglob("*.png"))
        megabytes = sum(f.stat().st_size for f in files) / 1e6
        start = time.perf_counter()
        ensure_handpose(root, processes=args.processes)
        reuse = time.perf_counter() - start

    expected = 3 * sum(expected_counts().values())
    print(
        f"pictures drawn:      {len(files)} (expected {expected}), {megabytes:.1f} MB"
    )
    print(f"worker processes:    {args.processes} (machine has {os.cpu_count()} cores)")
    print(
        f"full generation:     {seconds:.1f} s ({1000 * seconds / len(files):.1f} ms "
        "per picture)"
    )
    print(
        f"ratio to target:     {seconds / TARGET_SECONDS:.2f} (target "
        f"{TARGET_SECONDS:.0f} s; below 1 is within)"
    )
    # On a shared machine the wall time also counts other programs' turns;
    # the CPU time does not. Spread over the workers, it is the wall time
    # the same work takes on otherwise idle cores.
    idle = cpu / min(args.processes, os.cpu_count() or 1)
    print(
        f"CPU time:            {cpu:.1f} s, i.e. {idle:.1f} s on {args.processes} idle "
        "cores "
        f"(ratio {idle / TARGET_SECONDS:.2f}); load average now "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"reusing the cache:   {reuse * 1000:.1f} ms")


if __name__ == "__main__":
    main()
