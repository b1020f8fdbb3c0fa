"""Interactive figures that work in a kernel, under test and on a static website.

``ipywidgets.interactive`` draws its figure through an ``Output`` widget, which
only a live Jupyter front end understands: a notebook test runner sees the plot
as an extra cell output, and a static page shows whatever happened to be
captured. A :class:`FigureExplorer` instead renders the figure to PNG bytes and
puts them in ``Image`` widgets, and it lives in two worlds at once:

* In a kernel (Jupyter, Colab), the reader's controls are live: moving one
  redraws the picture exactly, for any value between the grid points below.
* On the static website (no kernel), each control has a *static twin* over a
  small grid of values (a ``SelectionSlider`` with readable labels for a
  slider, the drop-down itself or a copy over fewer options for a choice).
  The pictures for every combination of grid values are drawn in advance and
  kept in nested ``Stack`` widgets; each twin is linked to its level of
  stacks in the browser (``jsdlink`` from its ``index`` to the stacks'
  ``selected_index``), so moving it switches pictures without a kernel. The
  links are widgets too, saved with the notebook's widget state.

One widget tree serves both: a style sheet inside the explorer hides the
static twins and the precomputed pictures by default, and, on the book's site
only (inside the theme's ``.bd-article``), hides the live controls and the
live picture instead. In a kernel the twins follow the live controls (each
jumps to the grid point nearest its control's value), so the precomputed
stacks always show the nearest precomputed picture.

A control whose grid holds one value cannot change the picture on the
website, so it has no static twin there: it stays in the live row only (a
kernel can still move it), and the site shows the pictures drawn at that value.
A ``steps`` slider precomputed at 100 steps alone is such a control.

Every precomputed picture carries in its tooltip (the ``title`` of the
``<img>``) the values of the controls the static page shows, as
``"name = label, ..."``, with the labels those controls show: the site's
browser test checks it, and checks that moving each of those controls changes
the picture. The live picture's tooltip names every live control.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import product
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from traitlets import Unicode

from lrlib.book.palette import palette_png

__all__ = [
    "DEFAULT_MAX_PICTURES",
    "EXPLORER_CLASS",
    "ExplorerChooser",
    "FigureExplorer",
    "LIVE_CLASS",
    "MAX_SLIDER_POINTS",
    "PALETTE_COLOURS",
    "Picture",
    "STATIC_CLASS",
    "STYLE",
]

DEFAULT_MAX_PICTURES = 40
"""How many pictures an explorer precomputes at most, unless told otherwise."""

MAX_SLIDER_POINTS = 11
"""The most grid points a slider gets by default (its ends and its value count)."""

PALETTE_COLOURS = 64
"""Pictures are stored as palette PNGs of this many colours: a third the bytes."""

LIVE_CLASS = "lrlib-live"
STATIC_CLASS = "lrlib-static"
EXPLORER_CLASS = "lrlib-explorer"

# Hidden (display: none) HTML widget: its style sheet applies all the same.
# Default (a kernel's front end): live controls and picture. On the book's
# site (the theme's article), the static twins and the precomputed pictures.
STYLE = f"""<style>
.{EXPLORER_CLASS} .{STATIC_CLASS} {{ display: none !important; }}
.bd-article .{EXPLORER_CLASS} .{STATIC_CLASS} {{ display: flex !important; }}
.bd-article .{EXPLORER_CLASS} .{LIVE_CLASS} {{ display: none !important; }}
</style>"""

_SLIDERS = (widgets.IntSlider, widgets.FloatSlider, widgets.FloatLogSlider)
_CHOICES = (
    widgets.Dropdown,
    widgets.ToggleButtons,
    widgets.RadioButtons,
    widgets.Select,
    widgets.SelectionSlider,
)


class Picture(widgets.Image):
    """An ``Image`` whose tooltip works in the browser.

    The view of ipywidgets 8.1 sets a widget's tooltip only after reading the
    length of its description, which ``Image`` lacks: the view then fails to
    render. An empty description, saved with the widget's state, mends it.
    """

    description = Unicode("", help="Empty: lets the browser show the tooltip.").tag(
        sync=True
    )


class FigureExplorer(widgets.VBox):
    """Controls above a figure that ``draw`` redraws, live or from a precomputed grid.

    Args:
        draw: called as ``draw(ax, **values)`` with a cleared axes and a value
            for every control, by name. It draws and returns nothing.
        controls: the live widgets, by the keyword ``draw`` receives their
            value under (e.g. ``{"gamma": FloatSlider(...)}``). Supported:
            ``IntSlider``, ``FloatSlider``, ``FloatLogSlider``, ``Dropdown``,
            ``ToggleButtons``, ``RadioButtons``, ``Select``,
            ``SelectionSlider`` and ``Checkbox``.
        figsize: the figure's size in inches.
        dpi: resolution of the rendered pictures.
        grid: the values to precompute, by control name, for the controls
            whose default grid does not suit. Default for a slider: up to
            :data:`MAX_SLIDER_POINTS` multiples of its step from its
            minimum, its maximum and its current value (fewer when several
            controls share :data:`DEFAULT_MAX_PICTURES`); for a choice: all its
            options; for a checkbox: both states. A control given one value
            is live only: the static page does not show it (see
            :attr:`fixed`).
        max_pictures: the most pictures the grid may hold (the product of
            the grid sizes).
        title: put before the values in every picture's tooltip (e.g.
            ``"scheduler = StepLR"`` for an explorer among several).
        tight_layout: lay out every drawing with ``Figure.tight_layout``;
            ``False`` keeps the layout ``draw`` sets (say with
            ``ax.figure.subplots_adjust``), which saves a third of the time
            a picture takes when the labels do not change size.

    Attributes:
        controls: the live controls, by name.
        static_controls: the static page's controls, by name: one for each
            control whose grid holds more than one value.
        fixed: the names of the controls whose grid holds one value, which
            cannot change the static page's picture and are not shown there.
        grid: the precomputed values of every control, by name.

    Raises:
        TypeError: ``draw`` is not callable, or a control is not a supported
            widget.
        ValueError: there are no controls; ``grid`` names an unknown control,
            is empty, holds a value the control cannot take or holds it twice;
            or the grid would hold more than ``max_pictures`` pictures.
        Exception: whatever ``draw`` raises on the first drawing, so a broken
            explorer fails when it is created, not silently later.

    Example:
        >>> explorer = FigureExplorer(
        ...     lambda ax, slope: ax.plot([0, 1], [0, slope]),
        ...     {"slope": widgets.FloatSlider(value=1.0, min=0.0, max=2.0)},
        ...     grid={"slope": [0.0, 1.0, 2.0]},
        ... )
        >>> first = explorer.image.value
        >>> explorer.controls["slope"].value = 1.9
        >>> explorer.image.value != first
        True
        >>> explorer.static_controls["slope"].label  # the nearest grid point
        '2.00'
        >>> explorer.picture().tooltip
        'slope = 2.00'

        A control with a one-value grid is live only; the pictures leave it out:

        >>> explorer = FigureExplorer(
        ...     lambda ax, slope, steps: ax.plot([0, steps], [0, slope]),
        ...     {
        ...         "slope": widgets.FloatSlider(value=1.0, min=0.0, max=2.0),
        ...         "steps": widgets.IntSlider(value=10, min=1, max=100),
        ...     },
        ...     grid={"slope": [0.0, 1.0, 2.0], "steps": [10]},
        ... )
        >>> explorer.fixed, list(explorer.static_controls)
        (('steps',), ['slope'])
        >>> explorer.picture().tooltip, explorer.image.tooltip
        ('slope = 1.00', 'slope = 1.00, steps = 10')
    """

    def __init__(
        self,
        draw: Callable[..., Any],
        controls: Mapping[str, widgets.ValueWidget],
        *,
        figsize: tuple[float, float] = (6.0, 3.0),
        dpi: int = 100,
        grid: Mapping[str, Sequence[Any]] | None = None,
        max_pictures: int = DEFAULT_MAX_PICTURES,
        title: str = "",
        tight_layout: bool = True,
    ) -> None:
        if not callable(draw):
            raise TypeError(f"draw must be callable, got {type(draw).__name__}")
        if not isinstance(max_pictures, int) or max_pictures < 1:
            raise ValueError(
                f"max_pictures must be a positive int, got {max_pictures!r}"
            )
        _check_controls(controls)
        self.draw = draw
        self.dpi = dpi
        self.max_pictures = max_pictures
        self.title = title
        self.tight_layout = tight_layout
        self.figure = Figure(figsize=figsize)
        FigureCanvasAgg(self.figure)
        self.ax: Axes = self.figure.add_subplot()
        self.image = Picture(format="png")
        self.image.add_class(LIVE_CLASS)
        self._grid_request = _checked_names(grid, controls)
        self.controls: dict[str, widgets.ValueWidget] = {}
        self.static_controls: dict[str, widgets.ValueWidget] = {}
        self.fixed: tuple[str, ...] = ()
        self.grid: dict[str, tuple[Any, ...]] = {}
        self.labels: dict[str, tuple[str, ...]] = {}
        self.pictures: dict[tuple[int, ...], widgets.Image] = {}
        self.stacks: list[list[widgets.Stack]] = []
        self.links: list[widgets.widget_link.Link] = []
        self._style = widgets.HTML(STYLE, layout=widgets.Layout(display="none"))
        super().__init__()
        self.add_class(EXPLORER_CLASS)
        self._install(dict(controls))

    # -- the live side ---------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The current value of every live control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def redraw(self) -> None:
        """Draw the figure for the live controls' values into the live image."""
        values = self.values()
        self.image.value = self._render(values)
        self.image.tooltip = self._tooltip(
            {name: _label(self.controls[name], v) for name, v in values.items()}
        )

    def set_controls(
        self,
        controls: Mapping[str, widgets.ValueWidget],
        *,
        grid: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        """Replace the controls, then redraw and precompute their grid again.

        For explorers in a kernel where one control decides which others
        exist. On a static page only the controls of the saved state exist;
        for a choice among explorers that works there too, see
        :class:`ExplorerChooser`. Controls present before and after keep
        their state; the others stop triggering redraws.

        Args:
            controls: the new widgets, by the keyword ``draw`` receives their
                value under.
            grid: as for the constructor; grids given there for controls
                that remain still apply.

        Raises:
            TypeError, ValueError: as for the constructor.
            Exception: whatever ``draw`` raises for the new values; the old
                controls are then put back.
        """
        _check_controls(controls)
        old_controls, old_request = self.controls, self._grid_request
        self._grid_request = {**old_request, **_checked_names(grid, controls)}
        try:
            self._install(dict(controls))
        except Exception:
            self._grid_request = old_request
            self._install(old_controls)
            raise

    # -- the static side -------------------------------------------------------

    def picture(self) -> widgets.Image:
        """The precomputed picture the static controls select now."""
        return self.pictures[self._key()]

    def retitle(self, title: str) -> None:
        """Change what every picture's tooltip starts with (no redrawing)."""
        self.title = title
        for key, image in self.pictures.items():
            image.tooltip = self._tooltip(self._shown_labels(key))
        values = self.values()
        self.image.tooltip = self._tooltip(
            {name: _label(self.controls[name], v) for name, v in values.items()}
        )

    # -- building --------------------------------------------------------------

    def _install(self, controls: dict[str, widgets.ValueWidget]) -> None:
        """Observe ``controls``, draw, precompute the grid and lay it all out."""
        grid = _make_grid(controls, self._grid_request, self.max_pictures)
        # Drawn first: a broken draw fails before anything changes.
        values = {name: control.value for name, control in controls.items()}
        png = self._render(values)
        for control in self.controls.values():
            control.unobserve(self._on_live_change, names="value")
        for control in self.static_controls.values():
            control.unobserve(self._on_static_change, names="index")
        for link in self.links:
            link.unlink()
        self.controls = controls
        self.fixed = tuple(name for name, values in grid.items() if len(values) == 1)
        self.image.value = png
        self.image.tooltip = self._tooltip(
            {name: _label(controls[name], v) for name, v in values.items()}
        )
        self.grid = grid
        self.labels = {
            name: tuple(_label(controls[name], v) for v in values)
            for name, values in grid.items()
        }
        self.static_controls = {
            name: _static_twin(controls[name], name, self.grid[name], self.labels[name])
            for name in controls
            if name not in self.fixed
        }
        self._precompute()
        self.links = [
            widgets.jsdlink(
                (self.static_controls[name], "index"), (stack, "selected_index")
            )
            for name, level in zip(self.static_controls, self.stacks, strict=False)
            for stack in level
        ]
        for control in controls.values():
            control.observe(self._on_live_change, names="value")
        for control in self.static_controls.values():
            control.observe(self._on_static_change, names="index")
        live_row = _control_row(list(controls.values()))
        live_row.add_class(LIVE_CLASS)
        static_row = _control_row(list(self.static_controls.values()))
        static_row.add_class(STATIC_CLASS)
        self.children = [
            self._style,
            live_row,
            static_row,
            self.image,
            self.stacks[0][0],
        ]

    def _key(self) -> tuple[int, ...]:
        """The grid indices the static controls select (0 for a fixed control)."""
        return tuple(
            self.static_controls[name].index if name in self.static_controls else 0
            for name in self.grid
        )

    def _shown_labels(self, key: tuple[int, ...]) -> dict[str, str]:
        """The labels of the shown controls' values at grid indices ``key``."""
        return {
            name: self.labels[name][i]
            for name, i in zip(self.grid, key, strict=True)
            if name not in self.fixed
        }

    def _precompute(self) -> None:
        names = list(self.grid)
        shown = list(self.static_controls)  # the controls with several values
        current = self.values()
        self.pictures = {}
        # One layout for all the pictures and one for all the stacks: each
        # layout is a model of its own in the saved widget state (about 1 kB).
        picture_layout, stack_layout = widgets.Layout(), widgets.Layout()
        with _preserved_random_state():
            for key in product(*(range(len(self.grid[name])) for name in names)):
                values = {
                    name: self.grid[name][i] for name, i in zip(names, key, strict=True)
                }
                png = self.image.value if values == current else self._render(values)
                self.pictures[key] = Picture(
                    value=png,
                    format="png",
                    tooltip=self._tooltip(self._shown_labels(key)),
                    layout=picture_layout,
                )
        # Nested stacks over the shown controls, innermost first: level k
        # chooses along shown control k (a fixed control's index is always 0).
        position = [names.index(name) for name in shown]
        level: dict[tuple[int, ...], widgets.Widget] = {
            tuple(key[p] for p in position): picture
            for key, picture in self.pictures.items()
        }
        stacks: list[list[widgets.Stack]] = []
        for depth in reversed(range(len(shown))):
            parents: dict[tuple[int, ...], widgets.Stack] = {}
            for prefix in product(*(range(len(self.grid[n])) for n in shown[:depth])):
                children = [
                    level[(*prefix, i)] for i in range(len(self.grid[shown[depth]]))
                ]
                parents[prefix] = widgets.Stack(
                    children,
                    selected_index=self.static_controls[shown[depth]].index,
                    layout=stack_layout,
                )
            stacks.insert(0, list(parents.values()))
            level = parents
        if not shown:  # every control fixed: one picture, in a stack of its own
            stacks = [[widgets.Stack([level[()]], selected_index=0)]]
        self.stacks = stacks
        self.stacks[0][0].add_class(STATIC_CLASS)

    def _render(self, values: Mapping[str, Any]) -> bytes:
        # A fresh axes each time: draw may add twins or colour bars beside it.
        self.figure.clear()
        self.ax = self.figure.add_subplot()
        self.draw(self.ax, **values)
        if self.tight_layout:
            self.figure.tight_layout()
        return palette_png(self.figure, dpi=self.dpi, colours=PALETTE_COLOURS)

    def _tooltip(self, labels: Mapping[str, str]) -> str:
        described = ", ".join(
            f"{_description(self.controls[name], name)} = {label}"
            for name, label in labels.items()
        )
        if not (self.title and described):
            return self.title or described
        return f"{self.title}: {described}"

    # -- keeping the two sides together in a kernel ------------------------------

    def _on_live_change(self, change: dict[str, Any]) -> None:
        self.redraw()
        for name, control in self.controls.items():
            twin = self.static_controls.get(name)
            if control is change["owner"] and twin is not None:
                nearest = _nearest(self.grid[name], control.value)
                if nearest is not None and twin is not control:
                    twin.index = nearest

    def _on_static_change(self, change: dict[str, Any]) -> None:
        # The links do this in the browser; here it keeps the Python side equal.
        names = list(self.static_controls)
        for depth, name in enumerate(names):
            twin = self.static_controls[name]
            if twin is change["owner"]:
                for stack in self.stacks[depth]:
                    stack.selected_index = twin.index
                control = self.controls[name]
                if (
                    twin is not control
                    and _nearest(self.grid[name], control.value) != twin.index
                ):
                    control.value = self.grid[name][twin.index]


class ExplorerChooser(widgets.VBox):
    """A drop-down choosing among explorers, each with controls of its own.

    The explorers sit in a ``Stack`` linked to the drop-down in the browser,
    so choosing works on a static page too: the chosen explorer's controls and
    picture appear together. Every explorer's tooltips start with
    ``"<description> = <choice>"``.

    Args:
        explorers: the explorers, by the label the drop-down shows.
        description: the drop-down's description.
        value: the label chosen first (default: the first).
        style: the drop-down's style (e.g. ``{"description_width": "9em"}``).

    Raises:
        ValueError: no explorers, or ``value`` is not one of their labels.
        TypeError: an explorer is not a :class:`FigureExplorer`.

    Example:
        >>> def line(ax, slope):
        ...     ax.plot([0, 1], [0, slope])
        >>> chooser = ExplorerChooser({
        ...     "steep": FigureExplorer(line, {"slope": widgets.IntSlider(3, 2, 4)}),
        ...     "flat": FigureExplorer(line, {"slope": widgets.IntSlider(0, 0, 1)}),
        ... }, description="line")
        >>> chooser.choice.value = "flat"
        >>> chooser.stack.selected_index, chooser.chosen().picture().tooltip
        (1, 'line = flat: slope = 0')
    """

    def __init__(
        self,
        explorers: Mapping[str, FigureExplorer],
        *,
        description: str = "",
        value: str | None = None,
        style: Mapping[str, Any] | None = None,
    ) -> None:
        if not explorers:
            raise ValueError("an ExplorerChooser needs at least one explorer, got none")
        for label, explorer in explorers.items():
            if not isinstance(explorer, FigureExplorer):
                raise TypeError(
                    f"explorer {label!r} must be a FigureExplorer, "
                    f"got {type(explorer).__name__}"
                )
        labels = list(explorers)
        value = labels[0] if value is None else value
        if value not in explorers:
            raise ValueError(f"value must be one of {labels}, got {value!r}")
        self.explorers = dict(explorers)
        for label, explorer in self.explorers.items():
            explorer.retitle(f"{description} = {label}" if description else label)
        self.choice = widgets.Dropdown(
            options=labels,
            value=value,
            description=description,
            style=dict(style or {}),
        )
        self.stack = widgets.Stack(
            list(self.explorers.values()), selected_index=labels.index(value)
        )
        self.link = widgets.jsdlink(
            (self.choice, "index"), (self.stack, "selected_index")
        )
        self.choice.observe(self._on_choice, names="index")
        super().__init__(children=[self.choice, self.stack])
        self.add_class(EXPLORER_CLASS)

    def chosen(self) -> FigureExplorer:
        """The explorer the drop-down shows now."""
        return self.explorers[self.choice.value]

    def _on_choice(self, change: dict[str, Any]) -> None:
        self.stack.selected_index = self.choice.index


# -- grids -------------------------------------------------------------------------


def _check_controls(controls: Mapping[str, Any]) -> None:
    if not controls:
        raise ValueError("a FigureExplorer needs at least one control, got none")
    supported = (*_SLIDERS, *_CHOICES, widgets.Checkbox)
    for name, control in controls.items():
        if not isinstance(control, widgets.ValueWidget):
            raise TypeError(
                f"control {name!r} must be an ipywidgets value widget (a slider, a "
                f"dropdown, ...), got {type(control).__name__}"
            )
        if not isinstance(control, supported):
            raise TypeError(
                f"control {name!r} must be one of "
                f"{', '.join(t.__name__ for t in supported)}, "
                f"got {type(control).__name__}"
            )


def _checked_names(
    grid: Mapping[str, Sequence[Any]] | None, controls: Mapping[str, Any]
) -> dict[str, Sequence[Any]]:
    grid = dict(grid or {})
    unknown = [name for name in grid if name not in controls]
    if unknown:
        raise ValueError(
            f"grid must name controls of the explorer {list(controls)}, got {unknown}"
        )
    return grid


def _make_grid(
    controls: Mapping[str, widgets.ValueWidget],
    request: Mapping[str, Sequence[Any]],
    max_pictures: int,
) -> dict[str, tuple[Any, ...]]:
    """The values to precompute for every control, checked against the budget."""
    grid: dict[str, tuple[Any, ...] | None] = {}
    for name, control in controls.items():
        if name in request:  # grids of controls that went away are ignored
            grid[name] = _checked_grid(name, control, request[name])
        elif isinstance(control, _SLIDERS):
            grid[name] = None  # sized below, from what the other controls leave
        elif isinstance(control, widgets.Checkbox):
            grid[name] = (False, True)
        else:
            grid[name] = tuple(control._options_values)
    fixed = math.prod(len(values) for values in grid.values() if values is not None)
    free = [name for name, values in grid.items() if values is None]
    points = MAX_SLIDER_POINTS
    if free:
        points = min(
            points, max(2, int((max_pictures / fixed) ** (1 / len(free)) + 1e-9))
        )
    while True:
        sized = {
            name: values if values is not None else _slider_grid(controls[name], points)
            for name, values in grid.items()
        }
        total = math.prod(len(values) for values in sized.values())
        if total <= max_pictures or points <= 2 or not free:
            break
        points -= 1
    if total > max_pictures:
        sizes = ", ".join(f"{name}: {len(values)}" for name, values in sized.items())
        raise ValueError(
            f"the grid would hold {total} pictures ({sizes}), more than "
            f"max_pictures={max_pictures}; pass a coarser grid= or a larger "
            "max_pictures"
        )
    return sized


def _checked_grid(
    name: str, control: widgets.ValueWidget, values: Any
) -> tuple[Any, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ValueError(
            f"grid for {name!r} must be a sequence of values, "
            f"got {type(values).__name__}"
        )
    values = tuple(values)
    if not values:
        raise ValueError(f"grid for {name!r} must hold at least one value, got none")
    if isinstance(control, _SLIDERS):
        low, high = control.min, control.max
        if isinstance(control, widgets.FloatLogSlider):
            low, high = control.base**low, control.base**high
        for value in values:
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number or not low <= value <= high:
                raise ValueError(
                    f"grid for {name!r} must hold numbers in [{low}, {high}] (the "
                    f"slider's range), got {value!r}"
                )
        if any(b <= a for a, b in zip(values, values[1:], strict=False)):
            raise ValueError(
                f"grid for {name!r} must be increasing, got {list(values)}"
            )
        if isinstance(control, widgets.IntSlider) and any(v != int(v) for v in values):
            raise ValueError(
                f"grid for {name!r} must hold whole numbers, got {list(values)}"
            )
        return values
    options = (
        (False, True)
        if isinstance(control, widgets.Checkbox)
        else control._options_values
    )
    for value in values:
        if value not in options:
            raise ValueError(
                f"grid for {name!r} must hold options of the control {list(options)}, "
                f"got {value!r}"
            )
    if len(set(map(repr, values))) != len(values):
        raise ValueError(f"grid for {name!r} holds a value twice: {list(values)}")
    return values


def _slider_grid(control: widgets.ValueWidget, points: int) -> tuple[Any, ...]:
    """About ``points`` values: multiples of the step, the ends and the value."""
    if isinstance(control, widgets.FloatLogSlider):
        exponents = np.linspace(control.min, control.max, points)
        values = {float(control.base**e) for e in exponents} | {float(control.value)}
        return tuple(sorted(values))
    low, high, step = control.min, control.max, control.step or 1
    count = round((high - low) / step)
    stride = max(1, math.ceil(count / max(points - 1, 1)))
    indices = set(range(0, count + 1, stride)) | {count}
    if isinstance(control, widgets.IntSlider):
        values = {low + i * step for i in indices} | {high, control.value}
    else:
        digits = max(0, -math.floor(math.log10(step))) + 3
        values = {round(low + i * step, digits) for i in indices} | {
            high,
            control.value,
        }
    return tuple(sorted(v for v in values if low <= v <= high))


def _nearest(grid: Sequence[Any], value: Any) -> int | None:
    """Where ``value`` is in ``grid``, or the nearest number; None if neither."""
    for i, candidate in enumerate(grid):
        if type(candidate) is type(value) and candidate == value:
            return i
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in grid)
    if numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
        return min(range(len(grid)), key=lambda i: abs(grid[i] - value))
    return None


def _label(control: widgets.ValueWidget, value: Any) -> str:
    """``value`` as the control shows it."""
    if isinstance(control, _CHOICES):
        for label, option in zip(
            control._options_labels, control._options_values, strict=True
        ):
            if type(option) is type(value) and option == value:
                return label
        return str(value)
    if isinstance(control, _SLIDERS):
        try:
            return format(value, control.readout_format)
        except (ValueError, TypeError):
            return f"{value:g}"
    return str(value)


def _unique_labels(values: Sequence[Any], labels: Sequence[str]) -> list[str]:
    if len(set(labels)) == len(labels):
        return list(labels)
    return [f"{v:.6g}" if isinstance(v, float) else str(v) for v in values]


def _description(control: widgets.ValueWidget, name: str) -> str:
    return control.description or name


def _static_twin(
    control: widgets.ValueWidget,
    name: str,
    grid: tuple[Any, ...],
    labels: tuple[str, ...],
) -> widgets.ValueWidget:
    """The control the static page shows: ``control`` itself when it already
    chooses among exactly ``grid``, else a selection over ``grid``."""
    index = _nearest(grid, control.value)
    index = 0 if index is None else index
    if isinstance(control, _CHOICES) and tuple(control._options_values) == grid:
        return control
    options = list(zip(_unique_labels(grid, labels), grid, strict=True))
    style = {"description_width": control.style.description_width}
    common = {"description": _description(control, name), "style": style}
    if isinstance(control, (*_SLIDERS, widgets.SelectionSlider)):
        twin = widgets.SelectionSlider(
            options=options, continuous_update=True, **common
        )
    elif isinstance(control, _CHOICES):
        twin = type(control)(options=options, **common)
    else:
        twin = widgets.ToggleButtons(options=options, **common)
    twin.index = index
    return twin


def _control_row(controls: list[widgets.ValueWidget]) -> widgets.HBox:
    """The controls side by side, wrapping onto more lines when they do not fit."""
    return widgets.HBox(controls, layout=widgets.Layout(flex_flow="row wrap"))


@contextmanager
def _preserved_random_state() -> Iterator[None]:
    """Precomputing draws as if it never happened, for code that draws at random
    (the random generators of Python, NumPy and, if imported, PyTorch)."""
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    torch = sys.modules.get("torch")
    torch_state = torch.random.get_rng_state() if torch is not None else None
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        if torch is not None:
            torch.random.set_rng_state(torch_state)
