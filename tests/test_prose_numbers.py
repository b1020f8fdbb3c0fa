"""No run result typed into the prose.

Every number a run produces reaches the prose through myst-nb's ``glue``, so it
changes with the run. A number typed into Markdown instead (``78.5 %``,
``0.443``, ``1.79e-05``) is true of one run only. This test finds numbers that
look like results (decimals with two or more digits, percentages with a decimal,
scientific notation) in the Markdown cells and figure captions of every chapter
and in the Markdown pages, outside math, code and glue roles, and accepts one
only if the same literal appears in the chapter's code or in lrlib's source:
then it is a setting the code uses (``lr=3e-4``, ``beta = 0.98``), not a result.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tools.bookconfig import ROOT, chapter_notebooks

RESULT_LIKE = re.compile(
    r"(?<![\w.])(\d+\.\d+\s?%|\d+\.\d{2,}|\d(?:\.\d+)?e-?\d+)(?!\w)"
)
NOT_PROSE = [
    re.compile(r"```.*?```", re.S),  # fenced blocks and directives
    re.compile(r"\$\$.*?\$\$", re.S),  # display math
    re.compile(r"\$[^$\n]*\$"),  # inline math
    re.compile(r"\{[a-z:-]+\}`[^`]*`"),  # roles: {glue:text}`x`, {ref}`y`
    re.compile(r"`[^`]*`"),  # inline code
    re.compile(r"\]\([^)]*\)"),  # link targets
]
LRLIB_SOURCE = "\n".join(p.read_text() for p in (ROOT / "lrlib").rglob("*.py"))


def prose_numbers(text: str) -> list[str]:
    for pattern in NOT_PROSE:
        text = pattern.sub(" ", text)
    return [m.group(1) for m in RESULT_LIKE.finditer(text)]


def typed_results(prose: list[str], code: str) -> list[str]:
    known = code + "\n" + LRLIB_SOURCE
    return [
        number
        for text in prose
        for number in prose_numbers(text)
        if number.rstrip("% ").strip() not in known
    ]


def test_the_detector_flags_results_and_accepts_settings() -> None:
    prose = ["Accuracy reached 78.5 % and the minimum lies at 0.443 ($x = 0.25$)."]
    assert typed_results(prose, code="lr = 3e-4") == ["78.5 %", "0.443"]
    assert typed_results(["a rate of 3e-4"], code="lr = 3e-4") == []
    assert typed_results(["{glue:text}`acc:.1%` and `0.123`"], code="") == []


@pytest.mark.parametrize("path", chapter_notebooks(), ids=lambda p: p.stem)
def test_no_typed_run_numbers_in_a_chapter(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    prose = [c.source for c in nb.cells if c.cell_type == "markdown"]
    prose += [
        c.metadata.get("mystnb", {}).get("figure", {}).get("caption", "")
        for c in nb.cells
    ]
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    typed = typed_results(prose, code)
    assert not typed, (
        f"{path.name}: numbers in the prose that look like results but appear in no "
        f"code: {typed}; glue them from the notebook (lrlib.book.glue) instead"
    )


@pytest.mark.parametrize(
    "path", sorted((ROOT / "book").glob("*.md")), ids=lambda p: p.stem
)
def test_no_typed_run_numbers_in_a_page(path: Path) -> None:
    typed = typed_results([path.read_text()], code="")
    assert not typed, f"{path.name}: numbers that look like results: {typed}"
