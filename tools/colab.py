"""Keep the Colab bootstrap cell of every notebook in sync with ``_config.yml``.

Each chapter notebook starts with a cell that installs lrlib from the book's
repository, and does so only inside Colab. The repository and branch come from
``_config.yml``, so a fork changes them in one place and runs::

    python -m tools.colab sync

The cell is tagged ``remove-cell`` (hidden on the website) and ``nbval-skip``
(not run by the notebook regression tests).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from tools.bookconfig import chapter_notebooks, repository

TAGS = ["remove-cell", "nbval-skip"]
MARKER = "# Colab setup"


def bootstrap_source() -> str:
    repo = repository()
    return (
        f"{MARKER}: in Google Colab, install lrlib from the book's repository.\n"
        "# Elsewhere this cell does nothing; it is hidden on the website.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "lrlib[notebooks] @ git+{repo.url}@{repo.branch}"'
    )


def bootstrap_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(bootstrap_source())
    cell.metadata["tags"] = list(TAGS)
    return cell


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """What is wrong with a notebook's bootstrap cell (empty when nothing)."""
    if not nb.cells or nb.cells[0].cell_type != "code":
        return ["the first cell is not the Colab bootstrap code cell"]
    first = nb.cells[0]
    found = []
    if first.source != bootstrap_source():
        found.append(
            "the Colab bootstrap cell differs from the one _config.yml implies (run: "
            "python -m tools.colab sync)"
        )
    missing = [t for t in TAGS if t not in first.metadata.get("tags", [])]
    if missing:
        found.append(f"the Colab bootstrap cell lacks the tag(s) {missing}")
    return found


def sync(path: Path) -> bool:
    """Insert or update the bootstrap cell; returns True when the file changed."""
    nb = nbformat.read(path, as_version=4)
    if not problems(nb):
        return False
    if (
        nb.cells
        and nb.cells[0].cell_type == "code"
        and nb.cells[0].source.startswith(MARKER)
    ):
        old = nb.cells[0]
        old.source = bootstrap_source()
        old.metadata["tags"] = sorted(set(old.metadata.get("tags", [])) | set(TAGS))
    else:
        cell = bootstrap_cell()
        cell.execution_count = 1
        nb.cells.insert(0, cell)
    nbformat.write(nb, path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["sync", "check"])
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="default: every notebook in _toc.yml"
    )
    args = parser.parse_args(argv)
    paths = args.notebooks or chapter_notebooks()
    status = 0
    for path in paths:
        if args.command == "sync":
            if sync(path):
                print(
                    f"updated {path} (re-execute it: python -m tools.notebooks execute "
                    f"{path})"
                )
        else:
            for problem in problems(nbformat.read(path, as_version=4)):
                print(f"{path}: {problem}")
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
