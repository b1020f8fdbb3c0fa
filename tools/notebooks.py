"""Execute the book's notebooks the way the regression tests expect them.

Authors run ``python -m tools.notebooks execute [NOTEBOOK ...]`` (``make execute``)
after editing a chapter: each notebook is run top to bottom in a fresh kernel of
the current environment, with the same environment variables as the test
command, and written back with its outputs and widget state.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import nbformat
from nbclient import NotebookClient

from tools.bookconfig import chapter_notebooks

REGRESSION_ENV = {
    # Tests and committed outputs use the offline stand-in data, always.
    "LRBOOK_DATA_SOURCE": "synthetic",
}
REGRESSION_DEFAULTS = {
    # CPU unless a workflow asks for another device on purpose.
    "LRLIB_DEVICE": "cpu",
    # tqdm's refresh depends on wall-clock time; a large interval makes the
    # committed progress bars show only their final state.
    "TQDM_MININTERVAL": "1000",
}
CELL_TIMEOUT_S = 600


def apply_regression_env(environ: dict[str, str] = os.environ) -> None:
    """Set the variables that make notebook outputs reproducible."""
    environ.update(REGRESSION_ENV)
    for key, value in REGRESSION_DEFAULTS.items():
        environ.setdefault(key, value)


@contextmanager
def regression_env() -> Iterator[None]:
    saved = dict(os.environ)
    try:
        apply_regression_env()
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def execute(path: Path, *, write: bool) -> float:
    """Run ``path`` top to bottom in a fresh kernel; returns the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    with regression_env():
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
    if write:
        nbformat.write(nb, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["execute"])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook in _toc.yml")
    args = parser.parse_args(argv)
    for path in args.notebooks or chapter_notebooks():
        seconds = execute(path, write=True)
        print(f"executed {path} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
