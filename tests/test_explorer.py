from __future__ import annotations

import ipywidgets as widgets
import pytest

from lrlib.explorer import FigureExplorer


def slope_explorer(calls: list | None = None) -> FigureExplorer:
    def draw(ax, slope, label):
        if calls is not None:
            calls.append((slope, label))
        ax.plot([0, 1], [0, slope], label=label)

    return FigureExplorer(draw, {
        "slope": widgets.FloatSlider(value=1.0, min=0.0, max=2.0),
        "label": widgets.Dropdown(options=["a", "b"], value="a"),
    })


def test_draws_once_on_creation_with_the_initial_values():
    calls = []
    explorer = slope_explorer(calls)
    assert calls == [(1.0, "a")]
    assert bytes(explorer.image.value).startswith(b"\x89PNG")


def test_moving_a_control_redraws_with_the_new_value():
    calls = []
    explorer = slope_explorer(calls)
    first = explorer.image.value
    explorer.controls["slope"].value = 2.0
    assert calls[-1] == (2.0, "a")
    assert explorer.image.value != first
    explorer.controls["label"].value = "b"
    assert calls[-1] == (2.0, "b")
    assert len(explorer.ax.lines) == 1, "the axes is cleared before each drawing"


def test_is_a_plain_vbox_of_controls_and_image():
    explorer = slope_explorer()
    assert isinstance(explorer, widgets.VBox)
    controls, image = explorer.children
    assert list(controls.children) == list(explorer.controls.values())
    assert image is explorer.image


def test_a_failing_draw_fails_at_creation():
    def draw(ax, x):
        raise RuntimeError("cannot draw")

    with pytest.raises(RuntimeError, match="cannot draw"):
        FigureExplorer(draw, {"x": widgets.IntSlider()})


@pytest.mark.parametrize(("draw", "controls", "error", "message"), [
    ("not callable", {"x": widgets.IntSlider()}, TypeError, "draw must be callable"),
    (lambda ax: None, {}, ValueError, "at least one control"),
    (lambda ax, x: None, {"x": 3}, TypeError, "control 'x' must be an ipywidgets value widget"),
])
def test_bad_arguments(draw, controls, error, message):
    with pytest.raises(error, match=message):
        FigureExplorer(draw, controls)


def test_each_drawing_starts_from_a_clean_figure():
    def draw(ax, x):
        ax.twinx().plot([0, 1], [x, x])  # a second axes, as plot_trace adds for momentum

    explorer = FigureExplorer(draw, {"x": widgets.IntSlider(value=1)})
    explorer.controls["x"].value = 2
    explorer.controls["x"].value = 3
    assert len(explorer.figure.axes) == 2, "twins of earlier drawings are gone"


def test_set_controls_swaps_the_controls_and_redraws():
    calls = []

    def draw(ax, kind, **settings):
        calls.append((kind, settings))

    kind = widgets.Dropdown(options=["line", "dots"], value="line")
    width = widgets.FloatSlider(value=1.0)
    explorer = FigureExplorer(draw, {"kind": kind, "width": width})
    size = widgets.IntSlider(value=5)
    explorer.set_controls({"kind": kind, "size": size})
    assert calls[-1] == ("line", {"size": 5})
    assert list(explorer.children[0].children) == [kind, size]

    count = len(calls)
    width.value = 2.0  # removed: no longer redraws
    assert len(calls) == count
    size.value = 6  # added: redraws
    assert calls[-1] == ("line", {"size": 6})
    kind.value = "dots"  # kept: observed exactly once
    assert calls[count + 1:] == [("dots", {"size": 6})]


def test_set_controls_puts_the_old_controls_back_when_drawing_fails():
    def draw(ax, x=0, y=0):
        if y < 0:
            raise ValueError("y must not be negative")
        ax.plot([0, 1], [0, x])

    x = widgets.IntSlider(value=1)
    explorer = FigureExplorer(draw, {"x": x})
    with pytest.raises(ValueError, match="negative"):
        explorer.set_controls({"y": widgets.IntSlider(value=-1, min=-5)})
    assert explorer.controls == {"x": x}
    picture = explorer.image.value
    x.value = 2
    assert explorer.image.value != picture  # x still drives the picture
