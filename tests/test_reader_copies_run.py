"""Reader's copies run top to bottom, as a reader runs them.

The copies of the two quickest chapters are executed in a fresh kernel of
the test environment, without their install cell (lrlib is installed here
already; ``make colab-install`` runs every copy the same way under the
unpinned install), in a folder of their own, as Colab runs them in
``/content``: folding cells and converting the Markdown must not have broken
what the chapter runs.
"""

from __future__ import annotations

import nbformat
import pytest

from tools.bookconfig import ROOT, chapter_notebooks
from tools.colab_copies import write_copies
from tools.execute_unsaved import runnable_copies
from tools.notebooks import EXPECTED_SECONDS, execute

COMMIT = "fedcba9876543210fedcba9876543210fedcba98"
QUICKEST = sorted(
    (p.relative_to(ROOT).with_suffix("").as_posix() for p in chapter_notebooks()),
    key=lambda docname: EXPECTED_SECONDS.get(docname.split("/")[-1], 20),
)[:2]


@pytest.mark.parametrize("docname", QUICKEST)
def test_copy_runs_top_to_bottom(tmp_path, docname):
    (copy,) = write_copies(ROOT, tmp_path / "copies", COMMIT, only=[docname])
    (runnable,) = runnable_copies([copy], tmp_path / "run")
    stored = nbformat.read(copy, as_version=4)
    assert nbformat.read(runnable, as_version=4).cells == stored.cells[1:]

    execute(runnable, write=True)

    ran = nbformat.read(runnable, as_version=4)
    code = [c for c in ran.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []
    # The figures come back where the copy shows them.
    figures = [c for c in code if c.metadata.get("mystnb", {}).get("figure")]
    assert figures and all(c.outputs for c in figures)


def test_a_file_that_is_no_copy_is_refused(tmp_path):
    source = ROOT / "book" / "00_getting_started.ipynb"
    with pytest.raises(ValueError, match="expected a reader's copy"):
        runnable_copies([source], tmp_path)
