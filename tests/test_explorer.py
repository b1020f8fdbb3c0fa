from __future__ import annotations

import random

import ipywidgets as widgets
import numpy as np
import pytest
import torch

from lrlib.book.explorer import (
    LIVE_CLASS,
    STATIC_CLASS,
    ExplorerChooser,
    FigureExplorer,
)


def slope_explorer(calls: list | None = None, **kwargs) -> FigureExplorer:
    def draw(ax, slope, label):
        if calls is not None:
            calls.append((slope, label))
        ax.plot([0, 1], [0, slope], label=label)

    return FigureExplorer(
        draw,
        {
            "slope": widgets.FloatSlider(value=1.0, min=0.0, max=2.0),
            "label": widgets.Dropdown(options=["a", "b"], value="a"),
        },
        **kwargs,
    )


def test_draws_first_with_the_initial_values():
    calls = []
    explorer = slope_explorer(calls)
    assert calls[0] == (1.0, "a")
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


def test_live_values_between_grid_points_are_drawn_exactly():
    calls = []
    explorer = slope_explorer(calls, grid={"slope": [0.0, 1.0, 2.0]})
    explorer.controls["slope"].value = 1.37
    assert calls[-1] == (1.37, "a")
    assert explorer.image.tooltip == "slope = 1.37, label = a"
    # The static side follows to the nearest grid point.
    assert explorer.static_controls["slope"].index == 1
    assert explorer.picture().tooltip == "slope = 1.00, label = a"


def test_default_grid_shares_the_picture_budget():
    explorer = slope_explorer()
    assert explorer.grid["label"] == ("a", "b")
    slope = explorer.grid["slope"]
    assert slope[0] == 0.0 and slope[-1] == 2.0 and 1.0 in slope
    assert list(slope) == sorted(slope)
    assert len(explorer.pictures) == len(slope) * 2 <= 40


def test_single_slider_grid_is_multiples_of_the_step_with_ends_and_value():
    explorer = FigureExplorer(
        lambda ax, gamma: ax.plot([0, 1], [1, gamma]),
        {"gamma": widgets.FloatSlider(value=0.9, min=0.5, max=0.99, step=0.01)},
    )
    assert explorer.grid["gamma"] == (
        0.5,
        0.55,
        0.6,
        0.65,
        0.7,
        0.75,
        0.8,
        0.85,
        0.9,
        0.95,
        0.99,
    )
    assert explorer.labels["gamma"][-1] == "0.99"
    twin = explorer.static_controls["gamma"]
    assert isinstance(twin, widgets.SelectionSlider)
    assert twin.label == "0.90"


def test_int_slider_grid_holds_ints():
    explorer = FigureExplorer(
        lambda ax, n: ax.plot(range(n)),
        {"n": widgets.IntSlider(value=7, min=1, max=100)},
    )
    assert all(isinstance(v, int) for v in explorer.grid["n"])
    assert {1, 7, 100} <= set(explorer.grid["n"])


def test_precomputed_pictures_sit_in_nested_stacks_linked_to_the_static_controls():
    explorer = slope_explorer(grid={"slope": [0.0, 1.0, 2.0]})
    outer = explorer.stacks[0][0]
    assert len(outer.children) == 3 and len(explorer.stacks[1]) == 3
    assert all(len(stack.children) == 2 for stack in explorer.stacks[1])
    links = {
        (link.source[0].model_id, link.target[0].model_id) for link in explorer.links
    }
    slope, label = explorer.static_controls.values()
    assert (slope.model_id, outer.model_id) in links
    for stack in explorer.stacks[1]:
        assert (label.model_id, stack.model_id) in links
    assert all(link.source[1] == "index" for link in explorer.links)
    assert all(link.target[1] == "selected_index" for link in explorer.links)
    # A drop-down over all its options is its own static control.
    assert label is explorer.controls["label"]
    assert isinstance(slope, widgets.SelectionSlider)


def test_every_picture_says_its_values_and_the_start_shows_the_live_picture():
    explorer = slope_explorer(grid={"slope": [0.0, 1.0, 2.0]})
    assert explorer.pictures[(2, 1)].tooltip == "slope = 2.00, label = b"
    # The browser's Image view shows a tooltip only beside a description.
    assert explorer.pictures[(2, 1)].get_state()["description"] == ""
    assert explorer.image.get_state()["description"] == ""
    assert explorer.picture().value == explorer.image.value
    assert explorer.stacks[0][0].selected_index == 1
    # The label is not drawn (no legend): one picture per slope.
    assert len({bytes(p.value) for p in explorer.pictures.values()}) == 3


def test_moving_a_static_control_switches_the_stacks_and_the_live_control():
    explorer = slope_explorer(grid={"slope": [0.0, 1.0, 2.0]})
    explorer.static_controls["slope"].index = 2
    explorer.controls["label"].value = "b"
    assert explorer.stacks[0][0].selected_index == 2
    assert all(s.selected_index == 1 for s in explorer.stacks[1])
    assert explorer.controls["slope"].value == 2.0
    assert explorer.picture().tooltip == "slope = 2.00, label = b"
    assert explorer.image.tooltip == explorer.picture().tooltip


def test_one_tree_for_kernel_and_site():
    explorer = slope_explorer()
    style, live_row, static_row, image, stack = explorer.children
    assert "<style>" in style.value and style.layout.display == "none"
    assert LIVE_CLASS in live_row._dom_classes and LIVE_CLASS in image._dom_classes
    assert STATIC_CLASS in static_row._dom_classes
    assert STATIC_CLASS in stack._dom_classes
    assert list(live_row.children) == list(explorer.controls.values())
    assert list(static_row.children) == list(explorer.static_controls.values())
    assert image is explorer.image


def fixed_steps_explorer(calls: list | None = None) -> FigureExplorer:
    """A slope the site can move, and a number of steps it precomputes once."""

    def draw(ax, slope, steps):
        if calls is not None:
            calls.append((slope, steps))
        ax.plot([0, steps], [0, slope])

    return FigureExplorer(
        draw,
        {
            "slope": widgets.FloatSlider(value=1.0, min=0.0, max=2.0),
            "steps": widgets.IntSlider(value=10, min=1, max=100),
        },
        grid={"slope": [0.0, 1.0, 2.0], "steps": [10]},
    )


def test_a_control_with_one_grid_value_is_live_only():
    explorer = fixed_steps_explorer()
    _, live_row, static_row, _, stack = explorer.children
    assert explorer.fixed == ("steps",)
    assert list(live_row.children) == list(explorer.controls.values())
    assert list(explorer.static_controls) == ["slope"]
    assert list(static_row.children) == [explorer.static_controls["slope"]]
    # One level of stacks, for the one control the site shows, linked to it.
    assert len(explorer.stacks) == 1 and len(stack.children) == 3
    assert {link.source[0] for link in explorer.links} == {
        explorer.static_controls["slope"]
    }
    assert explorer.grid == {"slope": (0.0, 1.0, 2.0), "steps": (10,)}


def test_pictures_name_only_the_controls_the_site_shows():
    explorer = fixed_steps_explorer()
    tooltips = sorted(picture.tooltip for picture in explorer.pictures.values())
    assert tooltips == ["slope = 0.00", "slope = 1.00", "slope = 2.00"]
    # The live picture, which a kernel shows beside every live control:
    assert explorer.image.tooltip == "slope = 1.00, steps = 10"
    assert explorer.picture().value == explorer.image.value


def test_a_fixed_control_redraws_live_and_leaves_the_static_side_alone():
    calls = []
    explorer = fixed_steps_explorer(calls)
    before = explorer.picture()
    explorer.controls["steps"].value = 50
    assert calls[-1] == (1.0, 50)
    assert explorer.image.tooltip == "slope = 1.00, steps = 50"
    assert explorer.picture() is before
    explorer.static_controls["slope"].index = 2
    assert explorer.stacks[0][0].selected_index == 2
    assert explorer.controls["slope"].value == 2.0
    assert calls[-1] == (2.0, 50)
    assert explorer.picture().tooltip == "slope = 2.00"


def test_every_control_fixed_leaves_one_picture_and_no_static_control():
    explorer = FigureExplorer(
        line, {"slope": widgets.IntSlider(3, 2, 4)}, grid={"slope": [3]}
    )
    _, _, static_row, _, stack = explorer.children
    assert static_row.children == () and explorer.links == []
    assert stack.children == (explorer.picture(),)
    assert explorer.picture().tooltip == ""
    chooser = ExplorerChooser({"steep": explorer}, description="line")
    assert chooser.chosen().picture().tooltip == "line = steep"
    assert explorer.image.tooltip == "line = steep: slope = 3"


def test_set_controls_recomputes_which_controls_are_fixed():
    explorer = fixed_steps_explorer()
    explorer.set_controls(dict(explorer.controls), grid={"steps": [10, 20]})
    assert explorer.fixed == ()
    assert list(explorer.static_controls) == ["slope", "steps"]
    assert explorer.picture().tooltip == "slope = 1.00, steps = 10"


def test_a_subset_of_options_gets_a_twin_of_the_same_kind():
    explorer = FigureExplorer(
        lambda ax, mode: ax.set_title(mode),
        {"mode": widgets.ToggleButtons(options=["x", "y", "z"], value="z")},
        grid={"mode": ["x", "z"]},
    )
    twin = explorer.static_controls["mode"]
    assert isinstance(twin, widgets.ToggleButtons) and twin.index == 1
    assert twin._options_labels == ("x", "z")
    assert twin.value == "z"


def test_precomputing_leaves_the_random_generators_alone():
    def draw(ax, p):
        ax.hist(torch.rand(10).numpy() * p + np.random.rand(10) + random.random())

    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    FigureExplorer(draw, {"p": widgets.FloatSlider(value=0.5, min=0, max=1)})
    after = (torch.rand(1).item(), np.random.rand(), random.random())
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    draw(FigureExplorer(draw, {"p": widgets.IntSlider()}, grid={"p": [0]}).ax, 0.5)
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    torch.rand(10), np.random.rand(10), random.random()  # the one live drawing
    assert after == (torch.rand(1).item(), np.random.rand(), random.random())


def test_a_failing_draw_fails_at_creation():
    def draw(ax, x):
        raise RuntimeError("cannot draw")

    with pytest.raises(RuntimeError, match="cannot draw"):
        FigureExplorer(draw, {"x": widgets.IntSlider()})


def slider():
    return widgets.FloatSlider(value=1.0, min=0.0, max=2.0)


@pytest.mark.parametrize(
    ("draw", "controls", "kwargs", "error", "message"),
    [
        ("no", {"x": slider()}, {}, TypeError, "draw must be callable"),
        (lambda ax: None, {}, {}, ValueError, "at least one control"),
        (
            lambda ax, x: None,
            {"x": 3},
            {},
            TypeError,
            "control 'x' must be an ipywidgets value widget",
        ),
        (
            lambda ax, x: None,
            {"x": widgets.Text()},
            {},
            TypeError,
            "control 'x' must be one of IntSlider.*got Text",
        ),
        (
            lambda ax, x: None,
            {"x": slider()},
            {"grid": {"y": [1.0]}},
            ValueError,
            r"grid must name controls of the explorer \['x'\], got \['y'\]",
        ),
        (
            lambda ax, x: None,
            {"x": slider()},
            {"grid": {"x": []}},
            ValueError,
            "grid for 'x' must hold at least one value, got none",
        ),
        (
            lambda ax, x: None,
            {"x": slider()},
            {"grid": {"x": 1.0}},
            ValueError,
            "grid for 'x' must be a sequence of values, got float",
        ),
        (
            lambda ax, x: None,
            {"x": slider()},
            {"grid": {"x": [0.0, 3.0]}},
            ValueError,
            r"grid for 'x' must hold numbers in \[0.0, 2.0\].*got 3.0",
        ),
        (
            lambda ax, x: None,
            {"x": slider()},
            {"grid": {"x": [1.0, 0.5]}},
            ValueError,
            r"grid for 'x' must be increasing, got \[1.0, 0.5\]",
        ),
        (
            lambda ax, x: None,
            {"x": widgets.Dropdown(options=["a", "b"])},
            {"grid": {"x": ["a", "c"]}},
            ValueError,
            r"grid for 'x' must hold options of the control \['a', 'b'\], got 'c'",
        ),
        (
            lambda ax, x: None,
            {"x": widgets.IntSlider()},
            {"grid": {"x": [1, 2.5]}},
            ValueError,
            "grid for 'x' must hold whole numbers",
        ),
        (
            lambda ax, x, y: None,
            {"x": widgets.Dropdown(options=range(7)), "y": slider()},
            {"max_pictures": 10},
            ValueError,
            r"would hold 21 pictures \(x: 7, y: 3\), more than max_pictures=10",
        ),
        (lambda ax, x: None, {"x": slider()}, {"max_pictures": 0}, ValueError, "max"),
    ],
)
def test_bad_arguments(draw, controls, kwargs, error, message):
    with pytest.raises(error, match=message):
        FigureExplorer(draw, controls, **kwargs)


def test_without_tight_layout_a_drawing_keeps_the_layout_it_sets():
    def draw(ax, x):
        ax.plot([0, 1], [0, x])
        ax.figure.subplots_adjust(left=0.3, bottom=0.3)

    explorer = FigureExplorer(
        draw, {"x": widgets.IntSlider(value=1)}, grid={"x": [1, 2]}, tight_layout=False
    )
    assert explorer.ax.get_position().x0 == pytest.approx(0.3)
    laid_out = FigureExplorer(draw, {"x": widgets.IntSlider(value=1)}, grid={"x": [1]})
    assert laid_out.ax.get_position().x0 < 0.3  # tight_layout moved it


def test_each_drawing_starts_from_a_clean_figure():
    def draw(ax, x):
        ax.twinx().plot([0, 1], [x, x])  # a second axes, as plot_trace adds

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
    explorer.set_controls({"kind": kind, "size": size}, grid={"size": [5, 6]})
    assert ("line", {"size": 5}) in calls
    assert list(explorer.children[1].children) == [kind, size]
    assert explorer.grid == {"kind": ("line", "dots"), "size": (5, 6)}

    count = len(calls)
    width.value = 2.0  # removed: no longer redraws
    assert len(calls) == count
    size.value = 6  # added: redraws
    assert calls[-1] == ("line", {"size": 6})
    count = len(calls)
    kind.value = "dots"  # kept: observed exactly once
    assert calls[count:] == [("dots", {"size": 6})]


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


def line(ax, slope):
    ax.plot([0, 1], [0, slope])


def test_chooser_switches_explorers_with_a_client_side_link():
    steep = FigureExplorer(line, {"slope": widgets.IntSlider(3, 2, 4)})
    flat = FigureExplorer(line, {"slope": widgets.IntSlider(0, 0, 1)})
    chooser = ExplorerChooser({"steep": steep, "flat": flat}, description="line")
    assert chooser.stack.children == (steep, flat)
    assert chooser.link.source == (chooser.choice, "index")
    assert chooser.link.target == (chooser.stack, "selected_index")
    chooser.choice.value = "flat"
    assert chooser.stack.selected_index == 1 and chooser.chosen() is flat
    assert steep.picture().tooltip == "line = steep: slope = 3"
    assert flat.image.tooltip == "line = flat: slope = 0"


@pytest.mark.parametrize(
    ("explorers", "kwargs", "error", "message"),
    [
        ({}, {}, ValueError, "at least one explorer, got none"),
        ({"a": widgets.IntSlider()}, {}, TypeError, "'a' must be a FigureExplorer"),
        (None, {"value": "c"}, ValueError, r"value must be one of \['a'\], got 'c'"),
    ],
)
def test_chooser_bad_arguments(explorers, kwargs, error, message):
    if explorers is None:
        explorers = {"a": FigureExplorer(line, {"slope": widgets.IntSlider()})}
    with pytest.raises(error, match=message):
        ExplorerChooser(explorers, **kwargs)
