"""Figures for the data chapter: image grids, channel histograms, convolution volumes.

Every function draws on axes it is given (or makes one figure) and returns
what it drew on; none of them computes anything the reader should learn from.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Polygon

from lrlib._validation import check_int

__all__ = [
    "CHANNEL_COLORS",
    "draw_conv_volumes",
    "plot_channel_histograms",
    "plot_image_grid",
]

CHANNEL_COLORS = ("tab:red", "tab:green", "tab:blue")


def plot_image_grid(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 6,
    size: float = 1.6,
) -> Figure:
    """Show images (each ``(H, W)`` or ``(H, W, C)`` with values in [0, 1] or uint8)
    in a grid.

    Args:
        images: the images, channels last (see :func:`lrlib.stats.to_displayable`).
        titles: one title per image, or ``None``.
        ncols: images per row.
        size: the side of one image, in inches.

    Returns:
        The new figure; its axes have no ticks.

    Raises:
        ValueError: no images, a title count that does not match, or ``ncols < 1``.
    """
    if len(images) == 0:
        raise ValueError("plot_image_grid needs at least one image, got none")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles")
    ncols = check_int("ncols", ncols, low=1)
    ncols = min(ncols, len(images))
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows + 0.3 * nrows), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < len(images):
            image = np.asarray(images[i])
            ax.imshow(
                image,
                cmap="gray" if image.ndim == 2 else None,
                vmin=0,
                vmax=1 if image.dtype != np.uint8 else 255,
            )
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return fig


def plot_channel_histograms(
    images: np.ndarray,
    *,
    ax: Axes | None = None,
    bins: int = 50,
    labels: Sequence[str] = ("red", "green", "blue"),
    title: str | None = None,
) -> Axes:
    """Histogram of the pixel values of each channel of a batch ``(N, C, H, W)``.

    Args:
        images: an array (or tensor converted with ``.numpy()``) of shape
            ``(N, C, H, W)``.
        ax: where to draw; a new figure when ``None``.
        bins: number of histogram bins.
        labels: one legend label per channel.
        title: the axes title.

    Returns:
        The axes drawn on.

    Raises:
        ValueError: ``images`` is not 4-D, or has more channels than labels.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {images.shape}")
    if images.shape[1] > len(labels):
        raise ValueError(f"{images.shape[1]} channels but only {len(labels)} labels")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    low, high = float(images.min()), float(images.max())
    edges = np.linspace(low, high, bins + 1)
    for c in range(images.shape[1]):
        ax.hist(
            images[:, c].ravel(),
            bins=edges,
            histtype="step",
            linewidth=1.5,
            color=CHANNEL_COLORS[c % 3],
            label=labels[c],
            density=True,
        )
    ax.set(xlabel="pixel value", ylabel="density", yscale="log")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return ax


def _slab(
    ax: Axes,
    x: float,
    y: float,
    size: float,
    depth: int,
    colors: Sequence[str],
    offset: float,
    label: str,
) -> None:
    """Draw ``depth`` stacked squares, back to front, with a label underneath."""
    for d in reversed(range(depth)):
        dx, dy = d * offset, d * offset
        square = Polygon(
            [
                (x + dx, y + dy),
                (x + size + dx, y + dy),
                (x + size + dx, y + size + dy),
                (x + dx, y + size + dy),
            ],
            closed=True,
            facecolor=colors[d % len(colors)],
            edgecolor="black",
            alpha=0.55,
            linewidth=1,
        )
        ax.add_patch(square)
    ax.text(
        x + size / 2 + (depth - 1) * offset / 2,
        y - 0.35,
        label,
        ha="center",
        va="top",
        fontsize=9,
    )


def draw_conv_volumes(n_filters: int = 1, *, ax: Axes | None = None) -> Axes:
    """A schematic of a convolution over a three-channel image.

    Draws the 3@H x W input, ``n_filters`` filters of shape 3@3x3 (one slice
    per input channel) and the output, which has one channel per filter.

    Args:
        n_filters: how many filters (and so output channels) to draw, 1 to 4.
        ax: where to draw; a new figure when ``None``.

    Returns:
        The axes drawn on.

    Raises:
        ValueError: ``n_filters`` is not between 1 and 4.
        TypeError: ``n_filters`` is not an integer.
    """
    n_filters = check_int("n_filters", n_filters, low=1, high=4)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 2.8))
    _slab(ax, 0.0, 0.6, 3.0, 3, CHANNEL_COLORS, 0.35, "input: 3 channels")
    filter_colors = ("#b07aa1", "#f28e2b", "#59a14f", "#edc948")
    for f in range(n_filters):
        y = 2.6 - f * (3.2 / max(n_filters, 1)) if n_filters > 1 else 1.2
        _slab(
            ax,
            5.0,
            y,
            1.0,
            3,
            CHANNEL_COLORS,
            0.2,
            f"filter {f + 1}: 3@3x3" if n_filters > 1 else "filter: 3@3x3",
        )
    _slab(
        ax,
        8.6,
        0.8,
        2.4,
        n_filters,
        filter_colors,
        0.3,
        f"output: {n_filters} channel" + ("s" if n_filters > 1 else ""),
    )
    for start, end in (((3.9, 2.3), (4.8, 2.3)), ((6.7, 2.3), (8.4, 2.3))):
        ax.add_patch(
            FancyArrowPatch(
                start, end, arrowstyle="-|>", mutation_scale=14, color="black"
            )
        )
    ax.text(7.55, 2.55, "sum over\nchannels", ha="center", va="bottom", fontsize=8)
    ax.set_xlim(-0.3, 12.3)
    ax.set_ylim(-0.9, 4.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax
