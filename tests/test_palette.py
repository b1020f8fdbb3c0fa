"""lrlib.book.palette: figures as palette PNGs that say their dpi."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from lrlib.book.palette import palette_png


def _figure() -> Figure:
    fig = Figure(figsize=(5, 2.5))
    ax = fig.subplots()
    for k in range(6):
        ax.plot(np.sin(np.linspace(0, 6, 200) + k), label=f"line {k}")
    ax.legend()
    return fig


def _open(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


@pytest.mark.parametrize("colours", [2, 16, 64, 256])
def test_the_palette_holds_at_most_the_colours_asked_for(colours):
    image = _open(palette_png(_figure(), dpi=60, colours=colours))
    assert image.mode == "P"
    assert len(image.getcolors(maxcolors=256)) <= colours


def test_the_whole_figure_at_its_dpi_which_the_png_records():
    image = _open(palette_png(_figure(), dpi=80, colours=64))
    assert image.size == (400, 200)
    assert image.info["dpi"] == pytest.approx((80, 80), abs=0.01)


def test_looks_like_the_true_colour_picture_and_is_smaller():
    fig = _figure()
    true_colour = io.BytesIO()
    fig.savefig(true_colour, format="png", dpi=80)
    exact = np.asarray(_open(true_colour.getvalue()).convert("RGB"), dtype=float)
    png = palette_png(fig, dpi=80, colours=64)
    small = np.asarray(_open(png).convert("RGB"), dtype=float)
    assert np.abs(small - exact).mean() < 2.0  # out of 255
    assert len(png) < len(true_colour.getvalue()) / 2


def test_a_tight_pad_crops_to_the_content_plus_the_pad():
    fig = Figure(figsize=(5, 5))
    fig.text(0.5, 0.5, "x", fontsize=40)
    whole = _open(palette_png(fig, dpi=50, colours=16))
    tight = _open(palette_png(fig, dpi=50, colours=16, tight_pad=0.1))
    wider = _open(palette_png(fig, dpi=50, colours=16, tight_pad=0.5))
    assert tight.size[0] < whole.size[0] and tight.size[1] < whole.size[1]
    assert wider.size[0] - tight.size[0] == pytest.approx(2 * 0.4 * 50, abs=2)


def test_the_method_is_pillows_quantizer():
    fig = _figure()
    median = palette_png(fig, dpi=60, colours=64)
    octree = palette_png(fig, dpi=60, colours=64, method=Image.Quantize.FASTOCTREE)
    assert median != octree


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"dpi": 0, "colours": 64}, ValueError, "^dpi must be a finite number"),
        ({"dpi": 72, "colours": 1}, ValueError, "^colours must be an int from 2"),
        ({"dpi": 72, "colours": 300}, ValueError, "^colours must be an int from 2"),
        ({"dpi": 72, "colours": 64.0}, TypeError, "^colours must be an int"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        palette_png(_figure(), **kwargs)
