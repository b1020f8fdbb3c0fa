"""Execute the book's notebooks the way the regression tests expect them.

Authors run ``python -m tools.notebooks execute [NOTEBOOK ...]`` (``make execute``)
after editing a chapter: each notebook is run top to bottom in a fresh kernel of
the current environment, with the same environment variables as the test
command, and written back with its outputs and widget state. Notebooks run in
parallel, one kernel per core, each kernel on one thread (the pinned numerics
of :mod:`lrlib.numerics`).

This module is the one place that defines the environment of every run that
produces or checks the book's outputs: ``make execute``, ``make test`` (through
``conftest.py``), ``make site``, ``make bench`` and ``make robustness``.

Which images the notebooks read: the test command always uses the offline
stand-in (its committed outputs were made from it). Commands that execute
notebooks (``make site``, ``make execute``) use the stand-in too, unless the
caller sets ``LRBOOK_DATA_SOURCE`` (``real``, ``synthetic`` or ``auto``)
explicitly; ``LRBOOK_DATA_DIR`` always passes through. The website's workflow
builds that way from the real images::

    LRBOOK_DATA_SOURCE=real LRBOOK_DATA_DIR=/path/to/data make site
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from lrlib.numerics import PINNED_ENV, PINS_ENV
from tools.bookconfig import ROOT, chapter_notebooks
from tools.warm_kernel import KERNEL_NAME, kernel_manager_class, warm_kernels

DATA_SOURCE_ENV = "LRBOOK_DATA_SOURCE"
DATA_SOURCES = ("auto", "real", "synthetic")
REGRESSION_ENV = {
    # Tests and committed outputs use the offline stand-in data, always; commands
    # that execute notebooks for a reader keep a source the caller chose.
    DATA_SOURCE_ENV: "synthetic",
    # A claim that fails stops the run (a reader's run shows a note instead).
    "LRBOOK_CLAIMS": "strict",
}
REGRESSION_DEFAULTS = {
    # CPU unless a workflow asks for another device on purpose.
    "LRLIB_DEVICE": "cpu",
    # tqdm's refresh depends on wall-clock time; a large interval makes the
    # committed progress bars show only their final state.
    "TQDM_MININTERVAL": "1000",
}
CELL_TIMEOUT_S = 600

# Longest first, so that a pool of workers finishes together; the test command
# deals its notebooks by them too (tests/_scheduling.py). Seconds each notebook
# took in `make bench`'s serial pass on an idle 2-core machine, warm kernels
# (only the order matters; a notebook not listed counts as 20 s).
EXPECTED_SECONDS = {
    "08_all_together": 16,  # the first kernel also waits for the zygote
    "02_dropout": 13,
    "09_scale": 8,
    "06_schedulers": 7,
    "07_schedulers_in_training": 6,
    "03_lr_range_test": 6,
    "04_adam": 3.2,
    "01_data": 3.1,
    "appendix_schedulers": 3.0,
    "05_momentum": 2.8,
    "00_getting_started": 2.2,
}


def numerics_mode(environ: MutableMapping[str, str] = os.environ) -> str:
    """``pinned`` (default) or ``native``, from ``LRBOOK_NUMERICS``."""
    mode = environ.get(PINS_ENV, "").strip().lower() or "pinned"
    if mode not in {"pinned", "native"}:
        raise ValueError(f"{PINS_ENV} must be 'pinned' or 'native', got {mode!r}")
    return mode


def caller_data_source(environ: Mapping[str, str] = os.environ) -> str | None:
    """The data source the caller set explicitly in ``LRBOOK_DATA_SOURCE``, or None.

    Raises:
        ValueError: the variable holds something other than ``auto``, ``real``
            or ``synthetic``.

    Example:
        >>> caller_data_source({"LRBOOK_DATA_SOURCE": " Real "})
        'real'
        >>> caller_data_source({}) is None
        True
    """
    raw = environ.get(DATA_SOURCE_ENV, "").strip().lower()
    if not raw:
        return None
    if raw not in DATA_SOURCES:
        raise ValueError(
            f"{DATA_SOURCE_ENV} must be one of {DATA_SOURCES}, got "
            f"{environ[DATA_SOURCE_ENV]!r}"
        )
    return raw


def apply_regression_env(
    environ: MutableMapping[str, str] = os.environ, *, caller_data: bool = False
) -> None:
    """Set the variables that make notebook outputs reproducible.

    The pinned numerics are applied unless ``LRBOOK_NUMERICS=native`` (the
    robustness benchmark's second setting).

    Args:
        environ: the environment to change.
        caller_data: keep a ``LRBOOK_DATA_SOURCE`` the caller set (``make
            site``, ``make execute``); without one, or with ``False`` (the test
            command), the notebooks read the offline stand-in.
            ``LRBOOK_DATA_DIR`` is never changed.

    Raises:
        ValueError: ``caller_data`` and an invalid ``LRBOOK_DATA_SOURCE``.
    """
    chosen = caller_data_source(environ) if caller_data else None
    environ.update(REGRESSION_ENV)
    if chosen is not None:
        environ[DATA_SOURCE_ENV] = chosen
    for key, value in REGRESSION_DEFAULTS.items():
        environ.setdefault(key, value)
    if numerics_mode(environ) == "pinned":
        environ.update(PINNED_ENV)


@contextmanager
def regression_env(*, caller_data: bool = False) -> Iterator[None]:
    """:func:`apply_regression_env` on ``os.environ`` for the block, then restored."""
    saved = dict(os.environ)
    try:
        apply_regression_env(caller_data=caller_data)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def notebook_client(
    nb: nbformat.NotebookNode, path: Path, *, allow_errors: bool = False
) -> NotebookClient:
    """The client every tool executes a notebook with: a fresh python3 kernel in its
    folder (forked from a zygote when one runs: :mod:`tools.warm_kernel`).
    """
    return NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL_NAME,
        kernel_manager_class=kernel_manager_class(),
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        allow_errors=allow_errors,
    )


def execute(path: Path, *, write: bool, allow_errors: bool = False) -> float:
    """Run ``path`` top to bottom in a fresh kernel; returns the seconds it took.

    The kernel reads the stand-in, or the source the caller chose in
    ``LRBOOK_DATA_SOURCE`` (see the module's docstring).
    """
    nb = nbformat.read(path, as_version=4)
    client = notebook_client(nb, path, allow_errors=allow_errors)
    with regression_env(caller_data=True):
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
    if write:
        nbformat.write(nb, path)
    return seconds


def default_jobs() -> int:
    """Kernels to run at once: ``LRBOOK_JOBS``, else one per core."""
    raw = os.environ.get("LRBOOK_JOBS", "").strip()
    if raw:
        jobs = int(raw)
        if jobs < 1:
            raise ValueError(f"LRBOOK_JOBS must be a positive integer, got {raw!r}")
        return jobs
    return max(
        1,
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count() or 1,
    )


def longest_first(paths: Iterable[Path]) -> list[Path]:
    return sorted(paths, key=lambda p: -EXPECTED_SECONDS.get(p.stem, 20))


def execute_many(
    paths: Iterable[Path],
    *,
    write: bool,
    jobs: int | None = None,
    report: Callable[[Path, float], None] | None = None,
    report_error: Callable[[Path, BaseException], None] | None = None,
) -> dict[Path, float]:
    """Execute notebooks in parallel, longest first; returns seconds per notebook.

    Their kernels are forked from one zygote (:func:`tools.warm_kernel.warm_kernels`)
    started in the folder most of them share, so that the libraries every
    chapter imports are imported once.

    A notebook that fails does not stop the others: ``report_error`` hears of
    it as it happens, and the first failure is raised after every notebook has
    finished.
    """
    paths = longest_first(paths)
    if not paths:
        return {}
    folders = [path.parent for path in paths]
    folder = max(set(folders), key=folders.count)
    with regression_env(caller_data=True), warm_kernels(folder):
        return _execute_all(paths, write, jobs, report, report_error)


def _execute_all(paths, write, jobs, report, report_error) -> dict[Path, float]:
    jobs = min(jobs or default_jobs(), max(1, len(paths)))
    seconds: dict[Path, float] = {}
    errors: list[tuple[Path, BaseException]] = []

    def settle(path: Path, run: Callable[[], float]) -> None:
        try:
            seconds[path] = run()
        except BaseException as exc:  # noqa: BLE001 - reported, then the others go on
            errors.append((path, exc))
            if report_error:
                report_error(path, exc)
            return
        if report:
            report(path, seconds[path])

    if jobs == 1:
        for path in paths:
            settle(path, lambda path=path: execute(path, write=write))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(execute, path, write=write): path for path in paths}
            for future in as_completed(futures):
                settle(futures[future], future.result)
    if errors:
        path, exc = errors[0]
        raise RuntimeError(
            f"{path} failed to execute ({len(errors)} notebook(s) failed)"
        ) from exc
    return seconds


def add_notebook_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments every notebook-running command takes: notebooks and --jobs."""
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="default: every notebook in _toc.yml"
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        help="kernels at once (default: one per core)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["execute"])
    add_notebook_arguments(parser)
    args = parser.parse_intermixed_args(argv)  # --jobs before or after the notebooks
    paths = [p.resolve() for p in args.notebooks] or chapter_notebooks()
    try:
        source = caller_data_source()
    except ValueError as exc:
        parser.error(str(exc))
    if source not in {None, "synthetic"}:
        print(
            f"{DATA_SOURCE_ENV}={source}: the stored outputs may come from the real "
            "images; the test command compares the notebooks with the stand-in's "
            "outputs, so do not commit them",
            file=sys.stderr,
            flush=True,
        )
    start = time.perf_counter()
    execute_many(
        paths,
        write=True,
        jobs=args.jobs,
        report=lambda path, s: print(
            f"executed {path.relative_to(ROOT)} in {s:.1f} s", flush=True
        ),
    )
    print(f"{len(paths)} notebook(s) in {time.perf_counter() - start:.1f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
