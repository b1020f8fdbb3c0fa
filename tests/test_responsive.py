"""lrlib.book.responsive: one figure, drawn for a desktop and stacked for a phone."""

from __future__ import annotations

import base64
import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from PIL import Image

from lrlib.book.responsive_figures import PHONE_WIDTH, ResponsiveFigure, responsive


def png_inches(data: bytes, density: float = 1.0) -> tuple[float, float]:
    """Width and height of a PNG in inches, from its pixels and its dpi."""
    with Image.open(io.BytesIO(data)) as image:
        dpi = image.info["dpi"][0]
        return image.size[0] / dpi, image.size[1] / dpi


def row_of_three(**kwargs) -> tuple[Figure, list]:
    fig, axes = plt.subplots(1, 3, figsize=(12, 3), **kwargs)
    for power, ax in enumerate(axes, 1):
        ax.plot([x**power for x in range(5)], label=f"power {power}")
        ax.set(title=f"power {power}", xlabel="x")
    return fig, list(axes)


def test_panels_are_stacked_in_reading_order_at_the_narrow_width():
    fig, axes = row_of_three()
    fig.tight_layout()
    picture = responsive(fig)
    assert picture.panels == 3
    assert picture.wide_size == (12.0, 3.0)
    assert picture.narrow_size == (6.0, 9.0)
    # Now one column: same left edge, the first panel on top.
    boxes = [ax.get_position() for ax in axes]
    assert len({round(b.x0, 6) for b in boxes}) == 1
    assert boxes[0].y0 > boxes[1].y0 > boxes[2].y0
    # Titles, labels and legends survive; letters name the panels.
    assert [ax.get_title() for ax in axes] == [
        "(a) power 1",
        "(b) power 2",
        "(c) power 3",
    ]
    assert all(ax.get_xlabel() == "x" for ax in axes)


def test_the_pngs_have_the_sizes_they_claim():
    fig, _ = row_of_three(layout="constrained")
    picture = responsive(fig)
    wide_w, _ = png_inches(picture.wide_png)
    narrow_w, narrow_h = png_inches(picture.narrow_png)
    # bbox_inches="tight" trims white margins and pads by 0.1 inch each side.
    assert 11.0 < wide_w <= 12.2
    assert (
        5.5 < narrow_w <= 6.2 < PHONE_WIDTH and narrow_h > 1.4 * narrow_w
    )  # 9 x 6 inches
    with Image.open(io.BytesIO(picture.narrow_png)) as image:
        assert round(image.info["dpi"][0]) == 2 * round(fig.dpi)  # sharp on phones


def test_grids_keep_their_order_with_several_narrow_columns():
    fig, axes = plt.subplots(2, 4, figsize=(12, 5))
    for number, ax in enumerate(axes.flat):
        ax.set_title(str(number))
    picture = responsive(fig, narrow_columns=2, label_panels=False)
    assert picture.narrow_size == (6.0, 10.0)
    positions = [
        (ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start)
        for ax in axes.flat
    ]
    assert positions == [(r, c) for r in range(4) for c in range(2)]
    assert [ax.get_title() for ax in axes.flat] == [str(n) for n in range(8)]


def test_tick_labels_hidden_by_shared_axes_come_back():
    fig, axes = row_of_three(sharey=True)
    assert not axes[1].yaxis.get_tick_params()["labelleft"]
    responsive(fig)
    assert all(ax.yaxis.get_tick_params()["labelleft"] for ax in axes)


def test_tick_labels_hidden_on_purpose_stay_hidden():
    fig, axes = row_of_three()
    axes[2].tick_params(labelleft=False)
    responsive(fig)
    assert not axes[2].yaxis.get_tick_params()["labelleft"]


def test_a_twin_axis_stays_with_its_panel():
    fig, axes = row_of_three(layout="constrained")
    twin = axes[1].twinx()
    twin.plot([1, 0, 1], color="tab:orange")
    picture = responsive(fig)
    assert picture.panels == 3
    assert twin.get_subplotspec().rowspan == axes[1].get_subplotspec().rowspan
    assert twin.get_title() == ""  # the letter goes on the panel only
    assert axes[1].get_title() == "(b) power 2"


def test_unused_grid_cells_take_no_room_when_stacked():
    fig, axes = plt.subplots(2, 2, figsize=(8, 6), layout="constrained")
    axes[1, 1].set_visible(False)
    picture = responsive(fig)
    assert picture.panels == 3
    assert axes[1, 1] not in fig.axes
    assert picture.narrow_size == (6.0, 9.0)


def test_the_figure_is_closed_so_a_notebook_shows_it_once():
    fig, _ = row_of_three()
    assert fig.number in plt.get_fignums()
    responsive(fig)
    assert fig.number not in plt.get_fignums()


def test_html_is_a_picture_that_browsers_switch_at_the_breakpoint():
    fig, _ = row_of_three()
    picture = responsive(fig, breakpoint=640)
    html = picture._repr_html_()
    assert html.startswith('<picture class="lrbook-responsive">')
    source = re.search(r'<source media="\(max-width: 640px\)" srcset="([^"]+)">', html)
    assert source, html[:200]
    url, density = source.group(1).split(" ")
    assert density == "2x"
    assert base64.b64decode(url.removeprefix("data:image/png;base64,")) == (
        picture.narrow_png
    )
    img = re.search(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert base64.b64decode(img.group(1)) == picture.wide_png
    assert " alt=" not in html  # the website fills it from the caption
    assert repr(picture) == (
        "ResponsiveFigure(wide=12 x 3 in, narrow=6 x 9 in, panels=3)"
    )


def test_a_single_panel_is_narrowed_without_a_letter():
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot([0, 1], [1, 0])
    ax.set_title("one panel")
    picture = responsive(fig, narrow_width=5)
    assert picture.panels == 1 and ax.get_title() == "one panel"
    assert picture.narrow_size == (5.0, 1.94)  # the drawn shape, 5/9 the size


def test_label_panels_false_keeps_the_titles():
    fig, axes = row_of_three()
    responsive(fig, label_panels=False)
    assert [ax.get_title() for ax in axes] == ["power 1", "power 2", "power 3"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: plt.figure().subplot_mosaic([["a", "a"], ["b", "c"]])["a"].figure,
            "spans rows 0..0 and columns 0..1",
        ),
        (lambda: plt.figure().add_axes((0.1, 0.1, 0.8, 0.8)).figure, "subplot"),
    ],
)
def test_figures_it_cannot_relayout_are_refused(make, message):
    fig = make()
    with pytest.raises(ValueError, match=re.escape(message)):
        responsive(fig)
    plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"narrow_columns": 0}, "narrow_columns must be a positive int, got 0"),
        (
            {"narrow_width": 8.0},
            "narrow_width must be a finite number in [1.0, 6.1], got 8.0",
        ),
        ({"breakpoint": 0}, "breakpoint must be a positive int, got 0"),
    ],
)
def test_bad_arguments_name_the_problem(kwargs, message):
    fig, _ = row_of_three()
    with pytest.raises(ValueError, match=re.escape(message)):
        responsive(fig, **kwargs)
    plt.close(fig)


def test_too_many_panels_to_letter():
    fig, _ = plt.subplots(3, 9)
    with pytest.raises(ValueError, match="up to 26 panels, got 27"):
        responsive(fig)
    plt.close(fig)
    assert isinstance(
        responsive(plt.subplots(3, 9)[0], label_panels=False), ResponsiveFigure
    )
