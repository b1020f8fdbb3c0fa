"""Small result tables that render everywhere: website, Jupyter, Colab, terminal.

A notebook that ends a cell with a :class:`Table` shows an HTML table in
Jupyter and on the website (Markdown outputs are rendered as CommonMark there,
which has no tables), and an aligned plain-text table anywhere else.

Example:
    >>> table = Table(["class", "accuracy"], [["rock", "91.2%"], ["paper", "88.0%"]])
    >>> print(table)
    class  accuracy
    -----  --------
    rock      91.2%
    paper     88.0%
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Table"]


@dataclass(frozen=True)
class Table:
    """A header and rows of already formatted cells.

    Args:
        header: the column names.
        rows: one sequence of cells per row, as many as there are columns;
            cells are shown with ``str``.
        caption: an optional caption shown above the table.
        numeric: which columns hold numbers (right-aligned); default: every
            column but the first.

    Raises:
        ValueError: an empty header, or a row of the wrong length.
    """

    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    caption: str | None = None
    numeric: Sequence[bool] | None = field(default=None)

    def __post_init__(self) -> None:
        if not self.header:
            raise ValueError("a table needs at least one column")
        for number, row in enumerate(self.rows):
            if len(row) != len(self.header):
                raise ValueError(
                    f"row {number} has {len(row)} cells, expected {len(self.header)} "
                    f"(one per column of {list(self.header)})"
                )
        if self.numeric is not None and len(self.numeric) != len(self.header):
            raise ValueError(
                f"numeric has {len(self.numeric)} entries, expected {len(self.header)}"
            )

    def _right(self) -> list[bool]:
        if self.numeric is not None:
            return list(self.numeric)
        return [False] + [True] * (len(self.header) - 1)

    def __str__(self) -> str:
        cells = [[str(c) for c in self.header]] + [
            [str(c) for c in row] for row in self.rows
        ]
        widths = [max(len(row[k]) for row in cells) for k in range(len(self.header))]
        right = self._right()

        def line(row: list[str]) -> str:
            return "  ".join(
                (cell.rjust(w) if r else cell.ljust(w))
                for cell, w, r in zip(row, widths, right)
            ).rstrip()

        out = [self.caption] if self.caption else []
        out += [line(cells[0]), "  ".join("-" * w for w in widths)]
        out += [line(row) for row in cells[1:]]
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        right = self._right()

        def cell(tag: str, value: object, k: int) -> str:
            style = (
                ' style="text-align: right"'
                if right[k]
                else ' style="text-align: left"'
            )
            return f"<{tag}{style}>{html.escape(str(value))}</{tag}>"

        parts = ['<table class="lrbook-table">']
        if self.caption:
            parts.append(f"<caption>{html.escape(self.caption)}</caption>")
        parts.append(
            "<thead><tr>"
            + "".join(cell("th", h, k) for k, h in enumerate(self.header))
            + "</tr></thead>"
        )
        parts.append("<tbody>")
        for row in self.rows:
            parts.append(
                "<tr>" + "".join(cell("td", v, k) for k, v in enumerate(row)) + "</tr>"
            )
        parts.append("</tbody></table>")
        return "".join(parts)
