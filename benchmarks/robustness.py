"""Every asserted claim of the book, over many runs (``make robustness``).

A chapter's claims must describe the phenomenon, not one lucky run. This
benchmark executes every chapter notebook under a matrix of settings:

* training seeds: ``LRBOOK_SEED_SHIFT`` = 0, 1, 2, 3, 4 (every
  ``seed_everything`` seed of the book shifted by that much, from outside the
  teaching code: every process of a run, the kernel and the ``torchrun``
  workers it starts, loads the ``sitecustomize.py`` of
  :func:`lrlib.book.robustness.write_startup_hook`, first on ``PYTHONPATH``);
* data: the stand-in data sets ``LRBOOK_STANDIN_SEED`` = 4 (the book's), 5, 6,
  and the real Rock-Paper-Scissors images when ``--real DIR`` (or the
  environment variable ``LRBOOK_REAL_DATA_DIR``) names a folder holding
  ``rps/`` and ``rps-test-set/``;
* numerics: ``LRBOOK_NUMERICS`` = ``pinned`` (the book's) and ``native``
  (this machine's own kernels and two threads).

The real images are never used in place: runs write a decode cache beside the
images they read, so the two split folders are copied (file times kept) to
``_build/robustness/real-data/`` and the kernels read that copy
(``LRBOOK_DATA_SOURCE=real``, ``LRBOOK_DATA_DIR`` set to it). The caller's
folder may be read-only, and nothing is written there. Every other variable of
the caller's environment reaches the kernels as it is (``HOME``, ``PATH``, and
``LRBOOK_DATA_DIR``, where the stand-ins are drawn), except the numerics pins,
which the setting decides.

With ``LRBOOK_CLAIMS_LOG`` set, every :func:`lrlib.book.claims.claim` records
whether it held and its numbers instead of raising, so one run reports all of
a chapter's claims. Plain ``assert`` statements (the mathematical identities
of the chapters) still raise; a cell that raises is recorded and the notebook
goes on. The table lists, per chapter, each claim with the runs it held in
and the range of every number behind it, then one row for the chapter's plain
asserts. The exit status is 1 when any claim or assert failed in any run.

Run: ``python benchmarks/robustness.py [-j JOBS] [--notebooks 02 08] [--seeds 0,1]
[--standins 4] [--real DIR] [--numerics pinned]`` (``--standins ''`` runs the
real images alone). The full matrix is 30 runs of every chapter, 40 with the
real images, about an hour on a 2-core machine. Results (JSON and the table,
whose run labels name the data: ``shift0-standin4-pinned``,
``shift0-real-native``) are written to ``_build/robustness/``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import stat
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
from lrlib.data._download import TEST_ARCHIVE, TRAIN_ARCHIVE  # noqa: E402
from lrlib.data.rps import (  # noqa: E402
    DATA_DIR_ENV,
    DATA_SOURCE_ENV,
    STANDIN_SEED_ENV,
    validate_image_folder,
)
from lrlib.numerics import PINNED_ENV, PINS_ENV  # noqa: E402
from tools.bookconfig import ROOT, chapter_notebooks  # noqa: E402
from tools.notebooks import apply_regression_env, longest_first, notebook_client  # noqa: E402

OUTPUT = ROOT / "_build" / "robustness"
SEED_SHIFTS = (0, 1, 2, 3, 4)
STANDIN_SEEDS = (4, 5, 6)
NUMERICS = ("pinned", "native")
STARTUP_FOLDER = "startup"  # in the output folder: the seed shift's sitecustomize.py
REAL_DATA_ENV = "LRBOOK_REAL_DATA_DIR"
"""Names a folder of the real images (``rps/``, ``rps-test-set/``) to run on too."""
REAL_COPY = "real-data"
"""Sub-folder of the output folder that holds the runs' copy of the real images."""
SPLITS = (TRAIN_ARCHIVE.folder, TEST_ARCHIVE.folder)


@dataclass(frozen=True)
class Setting:
    """One run's settings; ``standin=None`` means the real images."""

    shift: int
    standin: int | None
    numerics: str

    def data(self) -> str:
        return "real" if self.standin is None else f"standin{self.standin}"

    def label(self) -> str:
        return f"shift{self.shift}-{self.data()}-{self.numerics}"


@dataclass
class RunResult:
    notebook: str
    setting: Setting
    seconds: float
    claims: list[dict] = field(default_factory=list)
    failed_cells: list[dict] = field(default_factory=list)  # cells that raised
    assert_cells: int = 0  # code cells holding a plain `assert`
    error: str | None = None  # the run itself broke (kernel died, timeout)


def _environment(
    setting: Setting, log: Path, real_dir: Path | None = None
) -> dict[str, str]:
    """The kernel's environment: the caller's, with the setting's variables.

    Args:
        setting: the run's settings.
        log: the file the run's claims are recorded in.
        real_dir: the runs' copy of the real images (see :func:`real_copy`);
            required when ``setting.standin`` is None.
    """
    env = dict(os.environ)
    for (
        name
    ) in PINNED_ENV:  # native means the machine's defaults, whatever the caller set
        env.pop(name, None)
    env.update(
        {
            SEED_SHIFT_ENV: str(setting.shift),
            PINS_ENV: setting.numerics,
            CLAIMS_LOG_ENV: str(log),
        }
    )
    if setting.standin is None:
        if real_dir is None:
            raise ValueError(f"the setting {setting.label()} needs a real_dir")
        env[DATA_SOURCE_ENV] = "real"
        env[DATA_DIR_ENV] = str(real_dir)
        env.pop(STANDIN_SEED_ENV, None)
    else:
        env[DATA_SOURCE_ENV] = "synthetic"
        env[STANDIN_SEED_ENV] = str(setting.standin)
    apply_regression_env(env, caller_data=True)
    # The seed shift is installed at the start of every process of the run.
    startup = str(log.parent / STARTUP_FOLDER)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [startup, env.get("PYTHONPATH")]))
    return env


def real_copy(source: Path, out: Path) -> Path:
    """Copy the real images' two split folders to ``out / REAL_COPY``; returns it.

    The runs write a decode cache beside the images they read, so they read
    this copy and the caller's folder stays untouched (it may be read-only).
    File times are kept, so a copy made again leaves the copy's decode cache
    valid. ``source`` is checked first: it must hold ``rps/`` and
    ``rps-test-set/``, each with one folder of images per class.

    Raises:
        FileNotFoundError, NotADirectoryError, ValueError: ``source`` does not
            hold the two splits (the message says what is missing).
    """
    source = Path(source).expanduser().resolve()
    for split in SPLITS:
        validate_image_folder(source / split)
    target = (out / REAL_COPY).resolve()
    if target == source:  # already the runs' own copy
        return target
    target.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        shutil.rmtree(target / split, ignore_errors=True)
        shutil.copytree(source / split, target / split)  # copy2: times kept
        # A read-only source gives read-only copies: make them the runs' own, so
        # that the next copy can replace them.
        for folder, _, files in os.walk(target / split):
            for path in (folder, *(os.path.join(folder, name) for name in files)):
                os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
    return target


def run_one(
    path: Path, setting: Setting, out: Path, real_dir: Path | None = None
) -> RunResult:
    """Execute one notebook under one setting (in a worker process)."""
    import nbformat

    log = out / f"{path.stem}--{setting.label()}.jsonl"
    log.unlink(missing_ok=True)
    nb = nbformat.read(path, as_version=4)
    client = notebook_client(nb, path, allow_errors=True)
    saved = dict(os.environ)
    # Computed before os.environ is cleared: it starts from the caller's variables.
    env = _environment(setting, log, real_dir)
    os.environ.clear()
    os.environ.update(env)
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
    parser.add_argument(
        "--real",
        type=Path,
        default=os.environ.get(REAL_DATA_ENV, "").strip() or None,
        metavar="DIR",
        help="also run on the real images in DIR (holding rps/ and rps-test-set/; "
        f"default: ${REAL_DATA_ENV}); they are copied, DIR is not written to",
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
    data: list[int | None] = list(args.standins)
    if args.real is not None:
        data.append(None)
    if not data:
        parser.error(
            f"no data to run on: give --standins, or --real (or ${REAL_DATA_ENV})"
        )
    settings = [Setting(*combo) for combo in product(args.seeds, data, numerics)]
    args.out = (
        args.out.resolve()
    )  # the kernels run in book/: the claims log needs an absolute path
    args.out.mkdir(parents=True, exist_ok=True)
    write_startup_hook(args.out / STARTUP_FOLDER)
    real_dir = None
    if args.real is not None:
        try:
            real_dir = real_copy(args.real, args.out)
        except (OSError, ValueError) as exc:
            parser.error(f"--real {args.real}: {exc}")
        print(
            f"the real images: {args.real}, read from the copy {real_dir}", flush=True
        )

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
                pool.submit(run_one, path, setting, args.out, real_dir)
                for path, setting in batch
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
