"""Execute every chapter notebook in this interpreter's environment, saving nothing.

``make colab-install`` runs this with the Python of a fresh environment in
which lrlib was installed the way the Colab bootstrap cell installs it. Each
notebook runs top to bottom in a fresh kernel (as ``make execute`` runs it,
same environment variables), but its outputs are thrown away: book/ is left
as committed. A notebook that raises counts as failed; the others still run.

Run it isolated from the checkout, so that what is tested is the installed
lrlib and not the one beside this file::

    .venv-colab/bin/python -I tools/execute_unsaved.py

The script then adds the checkout to the *end* of its own module path, only to
reach ``tools.notebooks``; the kernels never see the checkout (they start in
book/, which holds no lrlib), and the script refuses to run when they would.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # last: an installed lrlib wins over the checkout's

from tools.bookconfig import chapter_notebooks  # noqa: E402
from tools.notebooks import (  # noqa: E402
    add_notebook_arguments,
    execute_many,
    longest_first,
    regression_env,
)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_notebook_arguments(parser)
    args = parser.parse_args(argv)
    paths = (
        longest_first(p.resolve() for p in args.notebooks)
        if args.notebooks
        else longest_first(chapter_notebooks())
    )
    if not paths:
        print("no notebooks to execute", file=sys.stderr)
        return 2

    used = kernel_lrlib(paths[0].parent)
    if used.is_relative_to(ROOT / "lrlib"):
        print(
            f"the kernels would import lrlib from the checkout ({used}), not from an "
            "installed "
            "package; install it (pip install .) and unset PYTHONPATH",
            file=sys.stderr,
        )
        return 2
    print(f"lrlib imported from {used}", flush=True)

    start = time.perf_counter()
    failed: list[Path] = []

    def passed(path: Path, seconds: float) -> None:
        print(f"executed {path.relative_to(ROOT)} in {seconds:.1f} s", flush=True)

    def broke(path: Path, exc: BaseException) -> None:
        failed.append(path)
        print(
            f"FAILED {path.relative_to(ROOT)}: {type(exc).__name__}: "
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
        f"notebooks: {len(paths) - len(failed)} passed, {len(failed)} failed in "
        f"{wall:.1f} s wall"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
