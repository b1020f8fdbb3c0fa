"""Execute the reader's copy of every chapter in this environment, saving nothing.

``make colab-install`` runs this with the Python of a fresh environment in
which lrlib was installed the way a copy's install cell installs it (the
newest releases of everything, as in Colab), after writing the copies with
the book's own tooling (``tools/colab_copies.py``). Each copy runs top to
bottom in a fresh kernel (as ``make execute`` runs a chapter, same
environment variables) without its install cell, since lrlib is installed
already; the kernel starts in a scratch folder beside the copy, as Colab
starts in ``/content``. Outputs are thrown away. A copy that raises counts as
failed; the others still run.

Run it isolated from the checkout, so that what is tested is the installed
lrlib and not the one beside this file::

    .venv-colab/bin/python -I tools/execute_unsaved.py --copies .venv-colab/copies

The script then adds the checkout to the *end* of its own module path, only to
reach ``tools.notebooks`` and ``tools.colab``; the kernels never see the
checkout, and the script refuses to run when they would.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # last: an installed lrlib wins over the checkout's

from tools.colab import without_install_cell  # noqa: E402
from tools.notebooks import (  # noqa: E402
    add_notebook_arguments,
    execute_many,
    longest_first,
    regression_env,
)

DEFAULT_COPIES = ROOT / "_build" / "colab"


def kernel_lrlib(cwd: Path) -> Path:
    """Where a kernel started in ``cwd`` with this interpreter imports lrlib from.

    Raises:
        RuntimeError: lrlib cannot be imported there.
    """
    with regression_env():
        found = subprocess.run(
            [sys.executable, "-c", "import lrlib; print(lrlib.__file__)"],
            cwd=cwd,
            capture_output=True,
            text=True,
        )
    if found.returncode != 0:
        raise RuntimeError(
            f"lrlib cannot be imported by {sys.executable}: {found.stderr.strip()}"
        )
    return Path(found.stdout.strip()).resolve()


def runnable_copies(copies: list[Path], scratch: Path) -> list[Path]:
    """Each copy without its install cell, written under ``scratch``.

    Raises:
        ValueError: a file is not a reader's copy.
    """
    written = []
    for path in copies:
        nb = nbformat.read(path, as_version=4)
        try:
            runnable = without_install_cell(nb)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        target = scratch / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(runnable, target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_notebook_arguments(parser)
    parser.add_argument(
        "--copies",
        type=Path,
        default=DEFAULT_COPIES,
        help="the folder `python -m tools.colab_copies build` wrote (default: "
        "_build/colab); the notebooks given run instead of all of them",
    )
    args = parser.parse_args(argv)
    copies = (
        [p.resolve() for p in args.notebooks]
        if args.notebooks
        else sorted(args.copies.resolve().rglob("*.ipynb"))
    )
    if not copies:
        print(
            f"no reader's copies under {args.copies}: write them first "
            "(python -m tools.colab_copies build --out DIR)",
            file=sys.stderr,
        )
        return 2

    with tempfile.TemporaryDirectory(prefix="lrbook-copies-") as scratch:
        used = kernel_lrlib(Path(scratch))
        if used.is_relative_to(ROOT / "lrlib"):
            print(
                f"the kernels would import lrlib from the checkout ({used}), not from "
                "an installed package; install it (pip install .) and unset PYTHONPATH",
                file=sys.stderr,
            )
            return 2
        print(f"lrlib imported from {used}", flush=True)
        try:
            paths = longest_first(runnable_copies(copies, Path(scratch)))
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2

        start = time.perf_counter()
        failed: list[Path] = []

        def passed(path: Path, seconds: float) -> None:
            print(f"executed the copy of {path.name} in {seconds:.1f} s", flush=True)

        def broke(path: Path, exc: BaseException) -> None:
            failed.append(path)
            print(
                f"FAILED the copy of {path.name}: {type(exc).__name__}: "
                f"{str(exc).strip()[-2000:]}",
                flush=True,
            )

        try:
            execute_many(
                paths, write=False, jobs=args.jobs, report=passed, report_error=broke
            )
        except RuntimeError:
            if not failed:  # not a notebook's failure: something else broke
                raise
        wall = time.perf_counter() - start
    print(
        f"reader's copies: {len(paths) - len(failed)} passed, {len(failed)} failed "
        f"in {wall:.1f} s wall"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
