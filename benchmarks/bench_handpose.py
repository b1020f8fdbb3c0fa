"""Time drawing the full synthetic Rock-Paper-Scissors stand-in.

Target: the 2,892 pictures (2,520 training + 372 test) in at most 30 seconds
on a 2-core machine, so that a reader without network access waits about as
long as a download would take.

Run: ``python benchmarks/bench_handpose.py [--processes N]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from lrlib.handpose import ensure_handpose, expected_counts

TARGET_SECONDS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2, help="worker processes (default: 2)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "rps-synthetic"
        start = time.perf_counter()
        ensure_handpose(root, processes=args.processes)
        seconds = time.perf_counter() - start
        files = sorted(root.rglob("*.png"))
        megabytes = sum(f.stat().st_size for f in files) / 1e6
        start = time.perf_counter()
        ensure_handpose(root, processes=args.processes)
        reuse = time.perf_counter() - start

    expected = 3 * sum(expected_counts().values())
    print(f"pictures drawn:      {len(files)} (expected {expected}), {megabytes:.1f} MB")
    print(f"worker processes:    {args.processes} (machine has {os.cpu_count()} cores)")
    print(f"full generation:     {seconds:.1f} s ({1000 * seconds / len(files):.1f} ms per picture)")
    print(f"ratio to target:     {seconds / TARGET_SECONDS:.2f} (target {TARGET_SECONDS:.0f} s; below 1 is within)")
    print(f"reusing the cache:   {reuse * 1000:.1f} ms")


if __name__ == "__main__":
    main()
