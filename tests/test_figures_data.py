from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from lrlib.book.figures_data import (
    draw_conv_volumes,
    plot_channel_histograms,
    plot_image_grid,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_image_grid_lays_out_rows_and_titles():
    images = [np.full((4, 4, 3), i / 10) for i in range(7)]
    fig = plot_image_grid(images, [f"img {i}" for i in range(7)], ncols=3)
    axes = fig.axes
    assert len(axes) == 9  # 3 rows of 3, two left empty
    shown = [ax for ax in axes if ax.images]
    assert len(shown) == 7
    assert [ax.get_title() for ax in shown] == [f"img {i}" for i in range(7)]


@pytest.mark.parametrize(
    ("images", "titles", "message"),
    [
        ([], None, "at least one image"),
        ([np.zeros((2, 2))], ["a", "b"], "1 images but 2 titles"),
    ],
)
def test_image_grid_rejects_bad_input(images, titles, message):
    with pytest.raises(ValueError, match=message):
        plot_image_grid(images, titles)


def test_channel_histograms_draw_one_histogram_per_channel():
    images = np.random.default_rng(0).random((2, 3, 5, 5))
    ax = plot_channel_histograms(images, title="raw")
    assert len(ax.patches) == 3
    assert ax.get_title() == "raw"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "red",
        "green",
        "blue",
    ]


def test_channel_histograms_reject_non_batches():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        plot_channel_histograms(np.zeros((3, 5, 5)))


@pytest.mark.parametrize("n_filters", [1, 2])
def test_conv_volumes_draw_input_filters_and_output(n_filters):
    ax = draw_conv_volumes(n_filters)
    squares = [p for p in ax.patches if p.__class__.__name__ == "Polygon"]
    assert len(squares) == 3 + 3 * n_filters + n_filters
    texts = " ".join(t.get_text() for t in ax.texts)
    assert f"output: {n_filters} channel" in texts


@pytest.mark.parametrize(
    "n_filters, error", [(5, ValueError), (0, ValueError), (2.0, TypeError)]
)
def test_conv_volumes_reject_a_bad_filter_count(n_filters, error):
    message = f"^n_filters must be an int from 1 to 4, got {n_filters}$"
    with pytest.raises(error, match=message):
        draw_conv_volumes(n_filters)
