"""Figures that read on a phone as well as on a desktop: one drawing, two layouts.

A figure drawn for a desktop column puts its panels side by side and is 10 to
14 inches wide. A phone shows it about 360 CSS pixels wide, so its 10-point
labels shrink to 3 or 4 pixels. :func:`responsive` renders the figure twice,
as drawn and re-laid out for a narrow screen (panels stacked, at most
``narrow_width`` inches wide), and returns a :class:`ResponsiveFigure`. Its
HTML is a ``<picture>`` element: the browser shows the stacked picture on
screens narrower than ``breakpoint`` CSS pixels and the drawn one otherwise,
in Jupyter, in Colab and on the website alike.

The rule the book follows: on a 390-pixel phone every figure is shown with at
least 0.75 CSS pixels per typographic point (a 10-point label at least
7.5 pixels), as much as matplotlib's default 6.4-inch figure gets. A figure at
most :data:`PHONE_WIDTH` inches wide meets it as drawn.

Example:
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, axes = plt.subplots(1, 3, figsize=(12, 3))
    >>> for ax, power in zip(axes, (1, 2, 3)):
    ...     _ = ax.plot([x**power for x in range(5)])
    ...     _ = ax.set_title(f"x to the power {power}")
    >>> picture = responsive(fig)
    >>> picture
    ResponsiveFigure(wide=12 x 3 in, narrow=6 x 9 in, panels=3)
    >>> picture.wide_size, picture.narrow_size
    ((12.0, 3.0), (6.0, 9.0))
    >>> fig.axes[0].get_title()
    '(a) x to the power 1'
"""

from __future__ import annotations

import base64
import math
import string
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine
from PIL import Image

from lrlib._validation import check_int, check_number
from lrlib.book.palette import palette_png

__all__ = ["PHONE_WIDTH", "ResponsiveFigure", "responsive"]

#: Widest figure, in inches, that a 390-pixel phone shows with at least 0.75
#: CSS pixels per point (its content column is 342 pixels: 342 / 54 = 6.33).
#: The width is the saved picture's, tight bounding box and its pad included.
PHONE_WIDTH = 6.3

#: Margin, in inches, that saving with a tight bounding box adds on each side.
TIGHT_PAD = 0.1


@dataclass(frozen=True)
class ResponsiveFigure:
    """Two renderings of one figure and the HTML that picks between them.

    Args:
        wide_png: the figure as drawn, PNG bytes.
        narrow_png: the figure re-laid out for narrow screens, PNG bytes.
        wide_size: width and height of the drawn figure, in inches.
        narrow_size: width and height of the narrow figure, in inches.
        panels: how many panels were re-laid out.
        breakpoint: below this viewport width (CSS pixels) browsers show
            the narrow rendering.
        narrow_density: pixels per CSS pixel of the narrow rendering (2: sharp
            on phone screens, which have two or three device pixels per CSS pixel).
    """

    wide_png: bytes
    narrow_png: bytes
    wide_size: tuple[float, float]
    narrow_size: tuple[float, float]
    panels: int
    breakpoint: int = 700
    narrow_density: int = 2

    def _repr_html_(self) -> str:
        wide = base64.b64encode(self.wide_png).decode("ascii")
        narrow = base64.b64encode(self.narrow_png).decode("ascii")
        # No alt here: the website fills it from the figure's caption.
        return (
            '<picture class="lrbook-responsive">'
            f'<source media="(max-width: {self.breakpoint}px)" '
            f'srcset="data:image/png;base64,{narrow} {self.narrow_density}x">'
            f'<img src="data:image/png;base64,{wide}" '
            'style="max-width: 100%; height: auto;">'
            "</picture>"
        )

    def __repr__(self) -> str:
        (ww, wh), (nw, nh) = self.wide_size, self.narrow_size
        return (
            f"ResponsiveFigure(wide={ww:g} x {wh:g} in, narrow={nw:g} x {nh:g} in, "
            f"panels={self.panels})"
        )


def _cells(fig: Figure) -> list[list[Axes]]:
    """The figure's grid cells in reading order (row by row), each the axes
    drawn there: a panel and any twin sharing its place (``ax.twinx()``)."""
    cells: dict[tuple[int, int], list[Axes]] = {}
    grids = set()
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        if spec is None:
            continue  # an inset or a colorbar placed by hand moves with its parent
        if len(spec.rowspan) != 1 or len(spec.colspan) != 1:
            raise ValueError(
                "responsive() re-lays out grids of single-cell panels; a panel "
                f"spans rows {spec.rowspan.start}..{spec.rowspan.stop - 1} and "
                f"columns {spec.colspan.start}..{spec.colspan.stop - 1}"
            )
        grids.add(id(spec.get_gridspec()))
        cells.setdefault((spec.rowspan.start, spec.colspan.start), []).append(ax)
    if not cells:
        raise ValueError("responsive() needs a figure with at least one subplot")
    if len(grids) != 1:
        raise ValueError(
            f"responsive() needs the panels on one grid, found {len(grids)} grids"
        )
    return [cells[key] for key in sorted(cells)]


def _label(cells: list[list[Axes]]) -> None:
    letters = string.ascii_lowercase
    if len(cells) > len(letters):
        raise ValueError(
            f"label_panels letters up to {len(letters)} panels, got {len(cells)}"
        )
    for letter, (ax, *_twins) in zip(letters, cells):
        title = ax.get_title()
        ax.set_title(f"({letter}) {title}" if title else f"({letter})")


def _show_shared_tick_labels(ax: Axes) -> None:
    # plt.subplots(sharey=True) hides the inner panels' tick labels; stacked,
    # every panel needs its own.
    if len(ax.get_shared_x_axes().get_siblings(ax)) > 1:
        ax.tick_params(axis="x", labelbottom=True)
    if len(ax.get_shared_y_axes().get_siblings(ax)) > 1:
        ax.tick_params(axis="y", labelleft=True)


def _picture(fig: Figure, dpi: float) -> bytes:
    """The figure cropped to its content, as a 256-colour PNG."""
    return palette_png(
        fig,
        dpi=dpi,
        colours=256,
        method=Image.Quantize.FASTOCTREE,
        tight_pad=TIGHT_PAD,
    )


def responsive(
    fig: Figure,
    *,
    narrow_columns: int = 1,
    narrow_width: float = 6.0,
    label_panels: bool | None = None,
    breakpoint: int = 700,
) -> ResponsiveFigure:
    """Render ``fig`` as drawn and stacked for phones; close it.

    The narrow layout keeps every panel, its title, labels and legend, in
    reading order (row by row of the drawn grid), ``narrow_columns`` to a row.
    It is ``narrow_width`` wide; a panel keeps its drawn height, or less in
    proportion when it has to be narrower than drawn. Tick labels that shared
    axes hid are shown again, because stacked panels no longer share an edge.

    Args:
        fig: a figure whose panels are subplots on one grid, one cell each
            (``plt.subplots``); insets ride along with their panel.
        narrow_columns: panels per row in the narrow layout.
        narrow_width: the narrow layout's largest width in inches; at most
            :data:`PHONE_WIDTH` less the saved margins keeps text readable
            on a phone.
        label_panels: prefix the panels' titles with (a), (b), ... in both
            layouts, so a caption can name a panel whatever the layout (left
            and right are not where they were on a phone). Default: when
            there is more than one panel.
        breakpoint: viewport width (CSS pixels) below which browsers show
            the narrow layout.

    Returns:
        The two renderings; show it by ending a cell with it.

    Raises:
        ValueError: a panel spans several grid cells, the panels lie on
            several grids, the figure has no subplot, or a number is out of
            range.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> fig, axes = plt.subplots(2, 4, figsize=(12, 5))
        >>> responsive(fig, narrow_columns=2).narrow_size  # 4 rows of 2
        (6.0, 10.0)
    """
    narrow_columns = check_int("narrow_columns", narrow_columns, low=1)
    narrow_width = check_number(
        "narrow_width", narrow_width, low=1.0, high=PHONE_WIDTH - 2 * TIGHT_PAD
    )
    breakpoint = check_int("breakpoint", breakpoint, low=1)
    every_cell = _cells(fig)
    cells = [cell for cell in every_cell if cell[0].get_visible()]
    if not cells:
        raise ValueError("responsive() needs at least one visible panel")
    if label_panels is None:
        label_panels = len(cells) > 1
    if label_panels:
        _label(cells)

    wide_size = tuple(float(v) for v in fig.get_size_inches())
    wide_png = _picture(fig, fig.dpi)

    old_rows, old_cols = cells[0][0].get_subplotspec().get_gridspec().get_geometry()
    panel_width = wide_size[0] / old_cols
    panel_height = wide_size[1] / old_rows
    columns = min(narrow_columns, len(cells))
    rows = math.ceil(len(cells) / columns)
    width = narrow_width
    height = panel_height * min(1.0, width / (panel_width * columns)) * rows

    for cell in every_cell:
        if not cell[0].get_visible():
            for ax in cell:
                ax.remove()  # an unused grid cell takes no room when stacked
    grid = GridSpec(rows, columns, figure=fig)
    for number, cell in enumerate(cells):
        for ax in cell:
            ax.set_subplotspec(grid[number // columns, number % columns])
        _show_shared_tick_labels(cell[0])
    fig.set_size_inches(width, height)
    if not isinstance(
        fig.get_layout_engine(), ConstrainedLayoutEngine | TightLayoutEngine
    ):
        fig.tight_layout()  # the drawn layout was computed once, for the wide grid
    narrow_png = _picture(fig, fig.dpi * 2)
    plt.close(fig)
    return ResponsiveFigure(
        wide_png=wide_png,
        narrow_png=narrow_png,
        wide_size=wide_size,
        narrow_size=(round(width, 2), round(height, 2)),
        panels=len(cells),
        breakpoint=breakpoint,
    )
