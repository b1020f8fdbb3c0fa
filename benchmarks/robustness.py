"""Every asserted claim of the book, over many runs (``make robustness``).

A chapter's claims must describe the phenomenon, not one lucky run. This
benchmark executes every chapter notebook under a matrix of settings:

* training seeds: ``LRBOOK_SEED_SHIFT`` = 0, 1, 2, 3, 4 (every
  ``seed_everything`` seed of the book shifted by that much, from outside the
  teaching code: every process of a run, the kernel and the ``torchrun``
  workers it starts, loads the ``sitecustomize.py`` of
  :func:`lrlib.book.robustness.write_startup_hook`, first on ``PYTHONPATH``);
* stand-in data sets: ``LRBOOK_STANDIN_SEED`` = 4 (the book's), 5, 6;
* numerics: ``LRBOOK_NUMERICS`` = ``pinned`` (the book's) and ``native``
  (this machine's own kernels and two threads).

With ``LRBOOK_CLAIMS_LOG`` set, every :func:`lrlib.book.claims.claim` records
whether it held and its numbers instead of raising, so one run reports all of
a chapter's claims. Plain ``assert`` statements (the mathematical identities
of the chapters) still raise; a cell that raises is recorded and the notebook
goes on. The table lists, per chapter, each claim with the runs it held in
and the range of every number behind it, then one row for the chapter's plain
asserts. The exit status is 1 when any claim or assert failed in any run.

Run: ``python benchmarks/robustness.py [-j JOBS] [--notebooks 02 08] [--seeds 0,1]
[--standins 4] [--numerics pinned]``. The full matrix is 30 runs of every
chapter, about an hour on a 2-core machine. Results (JSON and the table) are
written to ``_build/robustness/``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from itertools import product
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lrlib.book.claims import CLAIMS_LOG_ENV, read_claims_log  # noqa: E402
from lrlib.book.robustness import SEED_SHIFT_ENV, write_startup_hook  # noqa: E402
from lrlib.data.rps import STANDIN_SEED_ENV  # noqa: E402
from lrlib.numerics import PINNED_ENV, PINS_ENV  # noqa: E402
from tools.bookconfig import ROOT, chapter_notebooks  # noqa: E402
from tools.notebooks import apply_regression_env, longest_first, notebook_client  # noqa: E402

OUTPUT = ROOT / "_build" / "robustness"
SEED_SHIFTS = (0, 1, 2, 3, 4)
STANDIN_SEEDS = (4, 5, 6)
NUMERICS = ("pinned", "native")
STARTUP_FOLDER = "startup"  # in the output folder: the seed shift's sitecustomize.py


@dataclass(frozen=True)
class Setting:
    shift: int
    standin: int
    numerics: str

    def label(self) -> str:
        return f"shift{self.shift}-standin{self.standin}-{self.numerics}"


@dataclass
class RunResult:
    notebook: str
    setting: Setting
    seconds: float
    claims: list[dict] = field(default_factory=list)
    failed_cells: list[dict] = field(default_factory=list)  # cells that raised
    assert_cells: int = 0  # code cells holding a plain `assert`
    error: str | None = None  # the run itself broke (kernel died, timeout)


def _environment(setting: Setting, log: Path) -> dict[str, str]:
    env = dict(os.environ)
    for (
        name
    ) in PINNED_ENV:  # native means the machine's defaults, whatever the caller set
        env.pop(name, None)
    env.update(
        {
            SEED_SHIFT_ENV: str(setting.shift),
            STANDIN_SEED_ENV: str(setting.standin),
            PINS_ENV: setting.numerics,
            CLAIMS_LOG_ENV: str(log),
        }
    )
    apply_regression_env(env)
    # The seed shift is installed at the start of every process of the run.
    startup = str(log.parent / STARTUP_FOLDER)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [startup, env.get("PYTHONPATH")]))
    return env


def run_one(path: Path, setting: Setting, out: Path) -> RunResult:
    """Execute one notebook under one setting (in a worker process)."""
    import nbformat

    log = out / f"{path.stem}--{setting.label()}.jsonl"
    log.unlink(missing_ok=True)
    nb = nbformat.read(path, as_version=4)
    client = notebook_client(nb, path, allow_errors=True)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(_environment(setting, log))
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except Exception as exc:  # noqa: BLE001 - a broken run is a result too
        text = str(exc).strip()
        error = f"{type(exc).__name__}: {text.splitlines()[-1] if text else ''}"
    finally:
        seconds = time.perf_counter() - start
        os.environ.clear()
        os.environ.update(saved)
    result = RunResult(path.stem, setting, seconds, read_claims_log(log), error=error)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "nbval-skip" in cell.metadata.get("tags", []):
            continue
        if any(
            line.lstrip().startswith("assert ") or "assert_close(" in line
            for line in cell.source.splitlines()
        ):
            result.assert_cells += 1
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                result.failed_cells.append(
                    {
                        "cell": index,
                        "ename": output["ename"],
                        "evalue": str(output["evalue"])[:200],
                    }
                )
    return result


def _spread(values: list[float]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)

    def fmt(v: float) -> str:
        return f"{v:.3g}"

    return fmt(low) if low == high else f"{fmt(low)} to {fmt(high)}"


def summarize(
    results: list[RunResult],
) -> tuple[list[tuple[str, str, int, int, str]], bool]:
    """Rows (chapter, claim, held, runs, spread) and whether everything held."""
    rows = []
    ok = True
    by_notebook: dict[str, list[RunResult]] = defaultdict(list)
    for result in results:
        by_notebook[result.notebook].append(result)
    for notebook in sorted(by_notebook):
        runs = by_notebook[notebook]
        n = len(runs)
        held: dict[str, int] = defaultdict(int)
        seen: dict[str, int] = defaultdict(int)
        numbers: dict[str, dict[str, list[float]]] = defaultdict(
            lambda: defaultdict(list)
        )
        order: list[str] = []
        for run in runs:
            for record in run.claims:
                statement = record["statement"]
                if statement not in order:
                    order.append(statement)
                seen[statement] += 1
                held[statement] += bool(record["held"])
                for name, value in record["numbers"].items():
                    numbers[statement][name].append(value)
        for statement in order:
            spread = "; ".join(
                f"{name} {_spread(v)}" for name, v in numbers[statement].items()
            )
            # a claim a broken run never reached counts as not held
            rows.append((notebook, statement, held[statement], n, spread))
            ok &= held[statement] == n
        clean = sum(1 for run in runs if not run.failed_cells and run.error is None)
        asserts = max(run.assert_cells for run in runs)
        failures = sorted(
            {
                f"{c['ename']} in cell {c['cell']}"
                for run in runs
                for c in run.failed_cells
            }
            | {run.error for run in runs if run.error}
        )
        rows.append(
            (
                notebook,
                f"every cell ran, {asserts} cells of plain asserts held",
                clean,
                n,
                "; ".join(failures)[:300],
            )
        )
        ok &= clean == n
    return rows, ok


def render(rows: list[tuple[str, str, int, int, str]]) -> str:
    lines = ["| chapter | claim | held | spread of the numbers |", "|---|---|---:|---|"]
    for notebook, statement, held, n, spread in rows:
        mark = "" if held == n else " **FAILED**"
        lines.append(f"| {notebook} | {statement} | {held}/{n}{mark} | {spread} |")
    return "\n".join(lines)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--notebooks",
        nargs="*",
        default=None,
        help="chapter prefixes or stems (default: every chapter)",
    )
    parser.add_argument(
        "--seeds", type=_ints, default=SEED_SHIFTS, help="seed shifts, e.g. 0,1,2"
    )
    parser.add_argument(
        "--standins",
        type=_ints,
        default=STANDIN_SEEDS,
        help="stand-in seeds, e.g. 4,5,6",
    )
    parser.add_argument("--numerics", default=",".join(NUMERICS), help="pinned,native")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    notebooks = chapter_notebooks()
    if args.notebooks:
        notebooks = [
            p
            for p in notebooks
            if any(p.stem.startswith(key) for key in args.notebooks)
        ]
        if not notebooks:
            parser.error(f"no chapter matches {args.notebooks}")
    numerics = tuple(part.strip() for part in args.numerics.split(",") if part.strip())
    if not set(numerics) <= set(NUMERICS):
        parser.error(f"--numerics takes {NUMERICS}, got {numerics}")
    settings = [
        Setting(*combo) for combo in product(args.seeds, args.standins, numerics)
    ]
    args.out = (
        args.out.resolve()
    )  # the kernels run in book/: the claims log needs an absolute path
    args.out.mkdir(parents=True, exist_ok=True)
    write_startup_hook(args.out / STARTUP_FOLDER)

    # Draw every stand-in once before the runs share them.
    from lrlib.data.rps import get_rps

    for standin in args.standins:
        print(get_rps("synthetic", seed=standin), flush=True)

    tasks = [
        (path, setting) for path in longest_first(notebooks) for setting in settings
    ]
    print(
        f"{len(tasks)} runs: {len(notebooks)} chapters x {len(settings)} settings, "
        f"{args.jobs} at a time",
        flush=True,
    )
    start = time.perf_counter()
    results: list[RunResult] = []
    done = 0
    # Pinned runs use one thread each, so they run side by side; native runs use
    # the machine's default thread count, so they take the whole machine in turn.
    for mode in numerics:
        batch = [(path, setting) for path, setting in tasks if setting.numerics == mode]
        jobs = args.jobs if mode == "pinned" else 1
        with ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            futures = [
                pool.submit(run_one, path, setting, args.out) for path, setting in batch
            ]
            for future in as_completed(futures):
                result = future.result()
                results.append(result)
                done += 1
                bad = (
                    sum(not c["held"] for c in result.claims)
                    + len(result.failed_cells)
                    + bool(result.error)
                )
                print(
                    f"[{done}/{len(tasks)}] {result.notebook} "
                    f"{result.setting.label()}: "
                    f"{len(result.claims)} claims, {bad} failures, "
                    f"{result.seconds:.0f} s",
                    flush=True,
                )
                for cell in result.failed_cells:
                    print(
                        f"    cell {cell['cell']}: {cell['ename']}: "
                        f"{cell['evalue'][:150]}",
                        flush=True,
                    )
                for record in result.claims:
                    if not record["held"]:
                        print(
                            f"    claim failed: {record['statement']} "
                            f"{record['numbers']}",
                            flush=True,
                        )
                if result.error:
                    print(f"    run broke: {result.error}", flush=True)
    wall = time.perf_counter() - start
    rows, ok = summarize(results)
    table = render(rows)
    (args.out / "results.json").write_text(
        json.dumps([asdict(r) for r in results], indent=1)
    )
    (args.out / "table.md").write_text(table + "\n")
    print()
    print(table)
    print(
        f"\n{len(tasks)} runs in {wall:.0f} s wall; "
        + (
            "every claim held in every run"
            if ok
            else "SOME CLAIMS FAILED (see the table)"
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
