"""Time the execution of every chapter notebook (``make bench``).

Each notebook runs top to bottom in a fresh kernel, exactly as ``make execute``
runs it, but nothing is written back. Prints one row per notebook, the total,
and the total's ratio to the book's budget.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.bookconfig import ROOT, chapter_notebooks  # noqa: E402
from tools.notebooks import execute  # noqa: E402

BUDGET_S = 240.0


def main() -> int:
    rows = []
    for path in chapter_notebooks():
        seconds = execute(path, write=False)
        rows.append((str(path.relative_to(ROOT)), seconds))
        print(f"  ran {rows[-1][0]} in {seconds:.1f} s", flush=True)
    width = max(len(name) for name, _ in rows)
    total = sum(s for _, s in rows)
    print()
    print(f"{'notebook':<{width}}  seconds")
    print(f"{'-' * width}  -------")
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds:7.1f}")
    print(f"{'-' * width}  -------")
    print(f"{'total':<{width}}  {total:7.1f}")
    print(f"\ntotal / budget ({BUDGET_S:.0f} s) = {total / BUDGET_S:.2f}x "
          f"({'within' if total <= BUDGET_S else 'OVER'} budget)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
