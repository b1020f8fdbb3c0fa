"""The cells that install lrlib in Colab: the source's bootstrap, the copy's pin.

Readers launch the *reader's copy* of a chapter (tools/colab_copies.py), whose
first cell is :func:`install_source`: lrlib installed at the commit the copy
was made from, and nothing else.

The chapter notebooks themselves (the book's source) start with a *bootstrap*
cell, :func:`bootstrap_source`, which installs lrlib from the repository's
branch, and only when it runs inside Colab. It is there for whoever opens the
source notebook in Colab directly (by its GitHub path on ``main``, or from a
fork), and it marks the place of the install cell: the copy replaces it. The
repository and branch come from ``_config.yml``, so a fork changes them in one
place and runs::

    python -m tools.colab sync

The cell is tagged ``remove-cell`` (hidden on the website) and ``nbval-skip``
(not run by the notebook regression tests).

This module needs nothing beyond nbformat and PyYAML, so that an environment
without the book's tooling (``make colab-install``) can recognise the cells.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

from tools.bookconfig import chapter_notebooks, repository

TAGS = ["remove-cell", "nbval-skip"]
MARKER = "# Colab setup"
INSTALL_MARKER = "# Install lrlib, the book's helper package"
# The package and extras the chapters need; the copy's install cell, the
# bootstrap cell and `make colab-install` all install this.
REQUIREMENT = "lrlib[notebooks]"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_INSTALL_LINE = re.compile(
    r'^%pip install --quiet "(?P<requirement>[^" ]+) @ git\+(?P<url>[^"@ ]+)'
    r'@(?P<commit>[^"]+)"$',
    re.MULTILINE,
)


def install_source(commit: str) -> str:
    """The first cell of a reader's copy: lrlib pinned to ``commit``, nothing else.

    Args:
        commit: the full 40-character hexadecimal id of the commit the copy
            was made from.

    Returns:
        The cell's source: a comment line and one ``%pip install`` line.

    Raises:
        ValueError: ``commit`` is not 40 lowercase hexadecimal digits.

    Example:
        >>> source = install_source("0123456789abcdef0123456789abcdef01234567")
        >>> print(source.splitlines()[1][:48])
        %pip install --quiet "lrlib[notebooks] @ git+htt
    """
    if not isinstance(commit, str) or not _COMMIT.match(commit):
        raise ValueError(
            f"the install cell pins a full commit id (40 lowercase hexadecimal "
            f"digits), got {commit!r}"
        )
    return (
        f"{INSTALL_MARKER}, at the commit this copy was made from.\n"
        f'%pip install --quiet "{REQUIREMENT} @ git+{repository().url}@{commit}"'
    )


def install_cell(commit: str) -> nbformat.NotebookNode:
    """:func:`install_source` as a code cell, without outputs."""
    return nbformat.v4.new_code_cell(install_source(commit))


def installed_commit(cell: nbformat.NotebookNode) -> str | None:
    """The commit an install cell pins, or None when ``cell`` is no install cell."""
    if cell.get("cell_type") != "code" or not cell.source.startswith(INSTALL_MARKER):
        return None
    match = _INSTALL_LINE.search(cell.source)
    return match.group("commit") if match else None


def without_install_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A reader's copy without its install cell, for an environment that has lrlib.

    Raises:
        ValueError: the first cell is not the install cell of a reader's copy.
    """
    if not nb.cells or installed_commit(nb.cells[0]) is None:
        first = nb.cells[0].source.split("\n", 1)[0] if nb.cells else "no cell"
        raise ValueError(
            "expected a reader's copy, whose first cell installs lrlib at a commit "
            f"({INSTALL_MARKER!r}); its first cell starts {first!r}"
        )
    runnable = copy.deepcopy(nb)
    del runnable.cells[0]
    return runnable


def is_bootstrap(cell: nbformat.NotebookNode) -> bool:
    """Whether ``cell`` is a source notebook's Colab bootstrap cell."""
    return cell.get("cell_type") == "code" and cell.source.startswith(MARKER)


def bootstrap_source() -> str:
    repo = repository()
    return (
        f"{MARKER}: in Google Colab, install lrlib from the book's repository.\n"
        "# Elsewhere this cell does nothing; it is hidden on the website.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "{REQUIREMENT} @ git+{repo.url}@{repo.branch}"'
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
    if nb.cells and is_bootstrap(nb.cells[0]):
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
