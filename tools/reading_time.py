"""How long a chapter takes to read: the estimate behind the intro's table.

``python -m tools.reading_time`` prints, for every notebook of the book, the
prose words, the visible code lines, the figures and the minutes they add up
to, at

* 200 words of prose a minute (every word of every Markdown cell, exercises
  and solutions included);
* 10 lines of visible code a minute: code cells whose input the site shows
  (cells tagged ``remove-cell``, ``remove-input``, ``hide-input`` or
  ``hide-cell`` fold away and are not counted, nor are ``lrlib`` listings,
  which the prose introduces and a reader skims);
* half a minute a figure: a PNG output, or an HTML output holding a picture
  (the responsive figures, an explorer's first picture, an animation).

The intro quotes these numbers (rounded to 5 minutes); a test keeps the two in
step, and one keeps every chapter within :data:`BUDGET_MINUTES`.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from tools.bookconfig import ROOT, chapter_notebooks

WORDS_PER_MINUTE = 200
CODE_LINES_PER_MINUTE = 10
MINUTES_PER_FIGURE = 0.5
BUDGET_MINUTES = 45
FOLDED_TAGS = frozenset({"remove-cell", "remove-input", "hide-input", "hide-cell"})
_WORD = re.compile(r"\w+")
_PICTURE = re.compile(r"<(?:picture|img)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ReadingTime:
    """What one notebook asks of a reader, and the minutes it adds up to."""

    words: int
    code_lines: int
    figures: int

    @property
    def minutes(self) -> float:
        return (
            self.words / WORDS_PER_MINUTE
            + self.code_lines / CODE_LINES_PER_MINUTE
            + self.figures * MINUTES_PER_FIGURE
        )

    @property
    def rounded(self) -> int:
        """The minutes rounded to the nearest 5 (at least 5), as the intro shows."""
        return max(5, 5 * round(self.minutes / 5))


def _is_figure(output: nbformat.NotebookNode) -> bool:
    data = output.get("data", {})
    if "image/png" in data or "image/svg+xml" in data:
        return True
    html = data.get("text/html", "")
    html = html if isinstance(html, str) else "".join(html)
    return bool(_PICTURE.search(html))


def reading_time(nb: nbformat.NotebookNode) -> ReadingTime:
    """Count the words, visible code lines and figures of a notebook.

    Example:
        >>> nb = nbformat.v4.new_notebook()
        >>> nb.cells = [
        ...     nbformat.v4.new_markdown_cell("Two words."),
        ...     nbformat.v4.new_code_cell("a = 1\\nb = 2"),
        ... ]
        >>> reading_time(nb)
        ReadingTime(words=2, code_lines=2, figures=0)
    """
    words = code_lines = figures = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            words += len(_WORD.findall(cell.source))
        elif cell.cell_type == "code":
            if not FOLDED_TAGS & set(cell.metadata.get("tags", [])):
                code_lines += len(cell.source.splitlines())
            figures += sum(_is_figure(o) for o in cell.get("outputs", []))
    return ReadingTime(words, code_lines, figures)


def book_reading_times(paths: list[Path] | None = None) -> dict[Path, ReadingTime]:
    """Reading time of every notebook of the book, in table-of-contents order."""
    paths = chapter_notebooks() if paths is None else paths
    return {p: reading_time(nbformat.read(p, as_version=4)) for p in paths}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="default: every notebook in _toc.yml"
    )
    args = parser.parse_args(argv)
    times = book_reading_times([p.resolve() for p in args.notebooks] or None)
    width = max(len(str(p.relative_to(ROOT))) for p in times)
    print(f"{'notebook':<{width}}  words  code  figures  minutes  (intro)")
    over = []
    for path, t in times.items():
        name = str(path.relative_to(ROOT))
        print(
            f"{name:<{width}}  {t.words:5d}  {t.code_lines:4d}  {t.figures:7d}  "
            f"{t.minutes:7.1f}  ({t.rounded} min)"
        )
        if t.minutes > BUDGET_MINUTES:
            over.append(name)
    total = sum(t.minutes for t in times.values())
    print(f"total: {total / 60:.1f} hours")
    if over:
        print(f"over the {BUDGET_MINUTES}-minute budget: {', '.join(over)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
