"""Interactive figures that also work under test and on a static website.

``ipywidgets.interactive`` draws its figure through an ``Output`` widget, which
only a live Jupyter front end understands: a notebook test runner sees the plot
as an extra cell output, and a static page shows whatever happened to be
captured. A :class:`FigureExplorer` instead renders the figure to PNG bytes and
puts them in an ``Image`` widget. Moving a control redraws the image; the
widget's state (controls and picture) is saved with the notebook, so the
website shows the first picture next to the controls, and nothing is printed
to the cell.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


class FigureExplorer(widgets.VBox):
    """Controls above a figure that ``draw`` redraws whenever a control moves.

    Args:
        draw: called as ``draw(ax, **values)`` with a cleared axes and the
            current value of every control, by name. It draws and returns
            nothing.
        controls: the widgets, by the keyword ``draw`` receives their value
            under (e.g. ``{"gamma": FloatSlider(...)}``).
        figsize: the figure's size in inches.
        dpi: resolution of the rendered picture.

    Raises:
        TypeError: ``draw`` is not callable, or a control is not a value widget.
        ValueError: there are no controls.
        Exception: whatever ``draw`` raises on the first drawing, so a broken
            explorer fails when it is created, not silently later.

    Example:
        >>> explorer = FigureExplorer(
        ...     lambda ax, slope: ax.plot([0, 1], [0, slope]),
        ...     {"slope": widgets.FloatSlider(value=1.0, min=0.0, max=2.0)},
        ... )
        >>> first = explorer.image.value
        >>> explorer.controls["slope"].value = 2.0
        >>> explorer.image.value != first
        True
    """

    def __init__(
        self,
        draw: Callable[..., Any],
        controls: Mapping[str, widgets.ValueWidget],
        *,
        figsize: tuple[float, float] = (6.0, 3.0),
        dpi: int = 100,
    ) -> None:
        if not callable(draw):
            raise TypeError(f"draw must be callable, got {type(draw).__name__}")
        _check_controls(controls)
        self.draw = draw
        self.controls = dict(controls)
        self.dpi = dpi
        self.figure = Figure(figsize=figsize)
        FigureCanvasAgg(self.figure)
        self.ax: Axes = self.figure.add_subplot()
        self.image = widgets.Image(format="png")
        self.redraw()
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        super().__init__(children=[_control_row(self.controls), self.image])

    def set_controls(self, controls: Mapping[str, widgets.ValueWidget]) -> None:
        """Replace the controls, then redraw.

        For explorers where one control decides which others exist (a
        drop-down of schedulers, each with settings of its own): observe the
        deciding control, build the new set of controls, and pass it here.
        Controls present before and after keep their state; the others stop
        triggering redraws.

        Args:
            controls: the new widgets, by the keyword ``draw`` receives their
                value under.

        Raises:
            TypeError, ValueError: as for the constructor's ``controls``.
            Exception: whatever ``draw`` raises for the new values; the old
                controls are then put back.
        """
        _check_controls(controls)
        old = self.controls
        new = dict(controls)
        for control in old.values():
            if all(control is not kept for kept in new.values()):
                control.unobserve(self._on_change, names="value")
        for control in new.values():
            if all(control is not known for known in old.values()):
                control.observe(self._on_change, names="value")
        self.controls = new
        try:
            self.redraw()
        except Exception:
            self.set_controls(old)
            raise
        self.children = [_control_row(self.controls), self.image]

    def values(self) -> dict[str, Any]:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def redraw(self) -> None:
        """Draw the figure for the current values into the image."""
        # A fresh axes each time: draw may add twins or colour bars beside it.
        self.figure.clear()
        self.ax = self.figure.add_subplot()
        self.draw(self.ax, **self.values())
        self.figure.tight_layout()
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=self.dpi)
        self.image.value = buffer.getvalue()

    def _on_change(self, change: dict[str, Any]) -> None:
        self.redraw()


def _check_controls(controls: Mapping[str, Any]) -> None:
    if not controls:
        raise ValueError("a FigureExplorer needs at least one control, got none")
    for name, control in controls.items():
        if not isinstance(control, widgets.ValueWidget):
            raise TypeError(
                f"control {name!r} must be an ipywidgets value widget (a slider, a "
                f"dropdown, ...), got {type(control).__name__}"
            )


def _control_row(controls: Mapping[str, widgets.ValueWidget]) -> widgets.HBox:
    """The controls side by side, wrapping onto more lines when they do not fit."""
    return widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
