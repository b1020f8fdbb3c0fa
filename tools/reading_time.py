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

The intro's table quotes these numbers (rounded to 5 minutes) between two
markers; ``python -m tools.reading_time --write-intro`` rewrites it, a test
keeps the two in step, and one keeps every chapter (the table of contents'
first part) within :data:`BUDGET_MINUTES`. Reference pages (the appendices)
are looked up, not read in one sitting, and have no budget.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from tools.bookconfig import ROOT, TOC, chapter_notebooks, toc_parts

WORDS_PER_MINUTE = 200
CODE_LINES_PER_MINUTE = 10
MINUTES_PER_FIGURE = 0.5
BUDGET_MINUTES = 45
FOLDED_TAGS = frozenset({"remove-cell", "remove-input", "hide-input", "hide-cell"})
INTRO = ROOT / "book" / "intro.md"
TABLE_START = (
    "<!-- reading-time table: written by python -m tools.reading_time --write-intro -->"
)
TABLE_END = "<!-- end of the reading-time table -->"
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


def chapters_with_a_budget(toc: Path = TOC) -> list[Path]:
    """The notebooks of the table of contents' first part: the chapters."""
    first = next(iter(toc_parts(toc).values()), [])
    return [p for p in (toc.parent / f"{f}.ipynb" for f in first) if p.exists()]


def book_reading_times(paths: list[Path] | None = None) -> dict[Path, ReadingTime]:
    """Reading time of every notebook of the book, in table-of-contents order."""
    paths = chapter_notebooks() if paths is None else paths
    return {p: reading_time(nbformat.read(p, as_version=4)) for p in paths}


def _minutes_text(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def intro_table(toc: Path = TOC) -> str:
    """The intro's reading-time block: a sentence with the total, and a table.

    The first part of the table of contents holds the chapters, each within
    :data:`BUDGET_MINUTES`; later parts hold reference pages, listed with
    their own estimate.
    """
    root = toc.parent
    parts = toc_parts(toc)
    lines: list[str] = []
    total = 0.0
    rows = []
    for n, files in enumerate(parts.values()):
        for f in files:
            path = root / f"{f}.ipynb"
            if not path.exists():
                continue
            t = reading_time(nbformat.read(path, as_version=4))
            name = f.rsplit("/", 1)[-1]
            number = (name[:2].lstrip("0") or "0") if name[:2].isdigit() else ""
            kind = "" if n == 0 else " (reference)"
            rows.append(
                f"| {number} | {{doc}}`{name}`{kind} | {_minutes_text(t.rounded)} |"
            )
            total += t.minutes
    lines.append(
        f"About {max(1, round(total / 60))} hours of reading in all, spread over the"
        " pages as below."
    )
    lines.append("")
    lines.append("| | Page | Reading time |")
    lines.append("|---:|---|---:|")
    lines.extend(rows)
    return "\n".join([TABLE_START, *lines, "", TABLE_END])


def _replace_table(text: str, table: str) -> str:
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(
            f"the intro holds no reading-time table: expected a line {TABLE_START!r}"
            f" and, after it, a line {TABLE_END!r}"
        )
    return text[:start] + table + text[end + len(TABLE_END) :]


def write_intro(intro: Path = INTRO, toc: Path = TOC) -> bool:
    """Rewrite the intro's reading-time table; True when it changed."""
    text = intro.read_text()
    new = _replace_table(text, intro_table(toc))
    if new != text:
        intro.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="default: every notebook in _toc.yml"
    )
    parser.add_argument(
        "--write-intro",
        action="store_true",
        help="rewrite the reading-time table of book/intro.md",
    )
    args = parser.parse_args(argv)
    if args.write_intro:
        changed = write_intro()
        print(f"{INTRO.relative_to(ROOT)}: {'rewritten' if changed else 'unchanged'}")
        return 0
    times = book_reading_times([p.resolve() for p in args.notebooks] or None)
    budgeted = set(chapters_with_a_budget())
    width = max(len(str(p.relative_to(ROOT))) for p in times)
    print(f"{'notebook':<{width}}  words  code  figures  minutes  (intro)")
    over = []
    for path, t in times.items():
        name = str(path.relative_to(ROOT))
        print(
            f"{name:<{width}}  {t.words:5d}  {t.code_lines:4d}  {t.figures:7d}  "
            f"{t.minutes:7.1f}  ({t.rounded} min)"
        )
        if t.minutes > BUDGET_MINUTES and path in budgeted:
            over.append(name)
    total = sum(t.minutes for t in times.values())
    print(f"total: {total / 60:.1f} hours")
    if over:
        print(f"over the {BUDGET_MINUTES}-minute budget: {', '.join(over)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
