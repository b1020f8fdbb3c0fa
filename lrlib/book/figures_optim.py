"""Figures for the chapters on moving averages, Adam, and SGD with momentum.

Each function draws on the ``ax`` it is given (or on a new figure's axes) and
returns that ``ax``, so a notebook can place several figures side by side and
restyle them afterwards. The functions only plot: the numbers come from
:mod:`lrlib.moving_averages`, :mod:`lrlib.optim_math` and :mod:`lrlib.linreg`.

:func:`animate_paths` makes an animation of optimizers' paths, and
:func:`animation_html` turns it into HTML that plays on a static website: self-contained
(no stylesheet or font fetched from the internet) and identical from one run to
the next, so a notebook's committed output can be compared with a fresh one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from torch import Tensor

from lrlib.linreg import LossSurface
from lrlib.moving_averages import LagWeights
from lrlib.optim_math import AdamTrace

__all__ = [
    "animate_paths",
    "animation_html",
    "BiasWeightPath",
    "plot_adam_gradients",
    "plot_adam_scaling",
    "plot_lag_weights",
    "plot_loss_curves",
    "plot_loss_surface",
    "plot_moving_averages",
    "plot_update_terms",
]


class BiasWeightPath(Protocol):
    """Anything with ``biases`` and ``weights`` arrays,
    such as :class:`lrlib.linreg.PathResult`.
    """

    biases: np.ndarray
    weights: np.ndarray


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _series(name: str, values: ArrayLike | Tensor) -> np.ndarray:
    """A 1-D float array;
    length-1 axes (a scalar parameter's ``(T, 1, 1)``) are dropped.
    """
    if isinstance(values, Tensor):
        values = values.detach().cpu().numpy()
    array = np.squeeze(np.asarray(values, dtype=float))
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D series, got shape {np.shape(values)}")
    return array


def _element(values: Tensor, element: int) -> np.ndarray:
    """Column ``element`` of a ``(steps, *param_shape)`` tensor,
    the parameter flattened.
    """
    flat = values.detach().cpu().reshape(len(values), -1)
    if not -flat.shape[1] <= element < flat.shape[1]:
        raise IndexError(
            "element must index one of the parameter's "
            f"{flat.shape[1]} values, got {element}"
        )
    return flat[:, element].numpy()


def plot_lag_weights(
    weights: Mapping[str, LagWeights], *, ax: Axes | None = None
) -> Axes:
    """Bars of the weight each moving average gives to each lag, side by side.

    Args:
        weights: label -> :class:`LagWeights`, e.g.
            ``{"EWMA": ewma_lag_weights(1/3, 10),
            "SMA (5)": sma_lag_weights(5, n_lags=10)}``.
        ax: the axes to draw on (default: a new figure).

    Returns:
        The axes, with one bar container per entry of ``weights``.
    """
    ax = _axes(ax)
    width = 0.8 / max(len(weights), 1)
    for i, (label, lag_weights) in enumerate(weights.items()):
        offset = (i - (len(weights) - 1) / 2) * width
        ax.bar(
            np.asarray(lag_weights.lags) + offset,
            lag_weights.weights,
            width=width,
            label=label,
        )
    ax.set_xlabel("lag (1 = newest value)")
    ax.set_ylabel("weight")
    ax.legend()
    return ax


def plot_moving_averages(
    values: ArrayLike,
    averages: Mapping[str, ArrayLike],
    *,
    ax: Axes | None = None,
) -> Axes:
    """A series as dots and its moving averages as lines.

    Args:
        values: the raw series.
        averages: label -> a moving average of ``values`` (same length), e.g.
            ``{"SMA": sma(...), "EWMA": ewma_beta(...),
            "EWMA, corrected": ewma_bias_corrected(...)}``.
        ax: the axes to draw on (default: a new figure).

    Returns:
        The axes, with ``1 + len(averages)`` lines.

    Raises:
        ValueError: an average's length differs from the series'.
    """
    ax = _axes(ax)
    raw = _series("values", values)
    t = np.arange(1, len(raw) + 1)
    ax.plot(t, raw, linestyle="none", marker=".", color="0.6", label="values")
    for label, average in averages.items():
        line = _series(label, average)
        if len(line) != len(raw):
            raise ValueError(
                f"average {label!r} has {len(line)} values, the series {len(raw)}"
            )
        ax.plot(t, line, label=label)
    ax.set_xlabel("t")
    ax.legend()
    return ax


def plot_adam_gradients(
    trace: AdamTrace, *, element: int = 0, ax: Axes | None = None
) -> Axes:
    """One parameter value's gradients,
    smoothed gradients (``m_hat``) and adapted gradients.

    Args:
        trace: the result of :func:`lrlib.optim_math.adam_reference`.
        element: which value of the (flattened) parameter to show.
        ax: the axes to draw on (default: a new figure).

    Returns:
        The axes, with three lines (and a thin line at zero).

    Raises:
        IndexError: ``element`` is out of range.
    """
    ax = _axes(ax)
    steps = trace.steps.numpy()
    ax.plot(steps, _element(trace.grad, element), color="0.6", label="gradient")
    ax.plot(steps, _element(trace.m_hat, element), label="smoothed (m_hat)")
    ax.plot(
        steps,
        _element(trace.adapted_grad, element),
        label="adapted (m_hat / (sqrt(v_hat) + eps))",
    )
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_xlabel("step")
    ax.legend()
    return ax


def plot_adam_scaling(
    trace: AdamTrace, *, element: int = 0, ax: Axes | None = None
) -> Axes:
    """The factor ``1 / (sqrt(v_hat) + eps)``
    by which Adam scales the smoothed gradient.

    Args:
        trace: the result of :func:`lrlib.optim_math.adam_reference`.
        element: which value of the (flattened) parameter to show.
        ax: the axes to draw on (default: a new figure).

    Returns:
        The axes, with one line.
    """
    ax = _axes(ax)
    ax.plot(trace.steps.numpy(), _element(trace.scaling, element))
    ax.set_xlabel("step")
    ax.set_ylabel("1 / (sqrt(v_hat) + eps)")
    return ax


def plot_loss_surface(
    surface: LossSurface,
    paths: Mapping[str, BiasWeightPath] | None = None,
    *,
    levels: int | ArrayLike = 20,
    ax: Axes | None = None,
) -> Axes:
    """Contours of the loss over ``(bias, weight)``, the minimum, and optimizers' paths.

    Args:
        surface: from :func:`lrlib.linreg.loss_surface`.
        paths: label -> a path with ``biases`` and ``weights`` (e.g. a
            :class:`lrlib.linreg.PathResult`); each is drawn as a line with dots
            at the visited points.
        levels: number of contour levels, or the levels themselves.
        ax: the axes to draw on (default: a new figure).

    Returns:
        The axes, with one contour set and ``1 + len(paths)`` lines (the
        minimum's marker first).
    """
    ax = _axes(ax)
    ax.contour(
        surface.biases, surface.weights, surface.losses, levels=levels, cmap="viridis"
    )
    ax.plot(
        [surface.best_bias],
        [surface.best_weight],
        marker="*",
        markersize=12,
        color="black",
        linestyle="none",
        label="minimum",
    )
    for label, path in (paths or {}).items():
        ax.plot(
            path.biases,
            path.weights,
            marker=".",
            markersize=3,
            linewidth=1,
            label=label,
        )
    ax.set_xlabel("bias b")
    ax.set_ylabel("weight w")
    ax.legend()
    return ax


def plot_loss_curves(
    curves: Mapping[str, ArrayLike],
    *,
    xlabel: str = "step",
    log_scale: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Loss per step (or per epoch) of several runs.

    Args:
        curves: label -> losses, e.g. ``{"SGD": sgd_path.batch_losses, "Adam": ...}``.
        xlabel: what the horizontal axis counts.
        log_scale: use a logarithmic loss axis.
        ax: the axes to draw on (default: a new figure).

    Returns:
        The axes, with one line per curve.
    """
    ax = _axes(ax)
    for label, losses in curves.items():
        values = _series(label, losses)
        ax.plot(np.arange(1, len(values) + 1), values, label=label)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.legend()
    return ax


def plot_update_terms(
    terms: Mapping[str, ArrayLike], *, ax: Axes | None = None
) -> Axes:
    """The update term (what the learning rate multiplies) of SGD's flavours, per step.

    Args:
        terms: label -> update terms of one parameter value, e.g.
            ``{"plain": plain.update_term, "momentum": ..., "Nesterov": ...}``
            from :func:`lrlib.optim_math.sgd_reference` on a scalar parameter.
        ax: the axes to draw on (default: a new figure).

    Returns:
        The axes, with one line per flavour (and a thin line at zero).
    """
    ax = _axes(ax)
    for label, values in terms.items():
        series = _series(label, values)
        ax.plot(np.arange(1, len(series) + 1), series, marker=".", label=label)
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_xlabel("step")
    ax.set_ylabel("update term")
    ax.legend()
    return ax


# --------------------------------------------------------------------------- #
# Animation
# --------------------------------------------------------------------------- #


def animate_paths(
    surface: LossSurface,
    paths: Mapping[str, BiasWeightPath],
    *,
    steps: Sequence[int] | None = None,
    levels: int | ArrayLike = 20,
    figsize: tuple[float, float] = (6.0, 4.4),
    dpi: float = 100,
    interval_ms: int = 200,
    legend_loc: str = "below",
    fig: Figure | None = None,
) -> FuncAnimation:
    """Animate optimizers' paths over a loss surface.

    The frame for step ``k`` shows every path from its start up to the point
    reached after ``k`` steps, with a larger marker on that point. The
    background is :func:`plot_loss_surface`'s figure, with its contour lines
    drawn without antialiasing: every frame is stored as a PNG, and smooth
    contour lines would make each one about three times larger.

    A new figure is made with :class:`matplotlib.figure.Figure`, not with
    pyplot, so a notebook does not also display it as a static image. Its
    layout is fixed once, before the first frame, rather than at every frame.

    Args:
        surface: from :func:`lrlib.linreg.loss_surface`.
        paths: label -> a path with ``biases`` and ``weights``, each starting
            before the first step (e.g. :class:`lrlib.linreg.PathResult`).
        steps: the step each frame shows, e.g. ``range(0, 60, 2)``; default:
            every step of the shortest path (``0`` is the start).
        levels: contour levels, as in :func:`plot_loss_surface`.
        figsize, dpi: the size of the new figure, in inches and dots per inch
            (the default, 600 pixels wide, is shown at its size on a desktop and
            stays readable on a phone).
        interval_ms: the delay between frames when the animation plays.
        legend_loc: where the legend goes: ``"below"`` (under the plot, in
            one row, where it hides no path) or a location inside the axes, as
            in ``ax.legend(loc=...)``. It is fixed: ``"best"`` would move the
            legend from frame to frame.
        fig: an empty figure to draw on instead of a new one.

    Returns:
        A :class:`matplotlib.animation.FuncAnimation`; show it in a notebook
        with ``IPython.display.HTML(animation_html(animation, "some_id"))``.

    Raises:
        ValueError: no path is given, or ``steps`` is empty or names a step
            that the shortest path does not have.

    Example:
        >>> # needs a surface and paths
        >>> animation = animate_paths(  # doctest: +SKIP
        ...     surface, {"SGD": path}, steps=range(0, 40, 2)
        ... )
    """
    if not paths:
        raise ValueError("paths must hold at least one path to animate")
    shortest = min(len(path.biases) for path in paths.values())
    steps = list(range(shortest) if steps is None else steps)
    if not steps or not all(
        isinstance(k, (int, np.integer)) and 0 <= k < shortest for k in steps
    ):
        raise ValueError(
            f"steps must be a non-empty list of ints in [0, {shortest - 1}] (the "
            f"shortest path has {shortest} points), got {steps!r}"
        )

    if fig is None:
        fig = Figure(figsize=figsize, dpi=dpi)
    ax = plot_loss_surface(surface, paths, levels=levels, ax=fig.subplots())
    for contours in ax.collections:
        contours.set_antialiased(False)
    if legend_loc == "below":
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            ncols=len(paths) + 1,  # the minimum and every path in one row
            frameon=False,
        )
    else:
        ax.legend(loc=legend_loc)
    trails = ax.lines[
        1:
    ]  # plot_loss_surface draws the minimum first, then one line per path
    heads = [
        ax.plot([], [], marker="o", markersize=6, color=trail.get_color())[0]
        for trail in trails
    ]
    title = ax.set_title(
        f"after {max(steps)} steps"
    )  # the longest title, to fix the layout
    if fig.get_layout_engine() is None:
        fig.tight_layout()

    def draw_frame(step: int) -> list[Artist]:
        for path, trail, head in zip(paths.values(), trails, heads):
            trail.set_data(path.biases[: step + 1], path.weights[: step + 1])
            head.set_data([path.biases[step]], [path.weights[step]])
        title.set_text(f"after {step} steps")
        return [*trails, *heads, title]

    return FuncAnimation(
        fig, draw_frame, frames=steps, interval=interval_ms, blit=False
    )


# The buttons of matplotlib's player use Font Awesome icons, which its HTML
# loads from a CDN. Plain characters need no font download and work offline.
_BUTTON_SYMBOLS = {
    "fa fa-minus": "\u2212",  # slower
    "fa fa-fast-backward": "\u21e4",  # first frame
    "fa fa-step-backward": "\u25c1",  # previous frame
    "fa fa-play fa-flip-horizontal": "\u25c0",  # play backwards
    "fa fa-pause": "\u275a\u275a",  # pause
    "fa fa-play": "\u25b6",  # play
    "fa fa-step-forward": "\u25b7",  # next frame
    "fa fa-fast-forward": "\u21e5",  # last frame
    "fa fa-plus": "+",  # faster
}
_ELEMENT_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def animation_html(animation: FuncAnimation, element_id: str) -> str:
    """HTML with a JavaScript player for ``animation``, offline and reproducible.

    ``animation.to_jshtml()`` embeds every frame as a PNG and adds a player.
    Its output has two problems for a book whose pages must work offline and
    whose notebooks are compared with a fresh run: it fetches the player's
    icons from a CDN, and it names its HTML elements with a random id. This
    function drops the stylesheet link, draws the buttons with plain
    characters, and uses ``element_id`` instead of the random id (so use a
    different id for each animation on a page).

    Args:
        animation: any matplotlib animation, e.g. from :func:`animate_paths`.
        element_id: a JavaScript identifier (letters, digits, ``_``; not
            starting with a digit), unique on the page.

    Returns:
        The HTML, ready for ``IPython.display.HTML``.

    Raises:
        ValueError: ``element_id`` is not a valid identifier.
        RuntimeError: matplotlib's HTML no longer has the expected shape.

    Example:
        >>> # needs a surface and paths
        >>> animation = animate_paths(surface, paths)  # doctest: +SKIP
        >>> HTML(animation_html(animation, "sgd_paths"))  # doctest: +SKIP
    """
    if not isinstance(element_id, str) or not _ELEMENT_ID.fullmatch(element_id):
        raise ValueError(
            f"element_id must be letters, digits and '_', not starting with a digit, "
            f"got {element_id!r}"
        )
    html = animation.to_jshtml()
    random_ids = set(re.findall(r'id="_anim_img(\w+)"', html))
    if len(random_ids) != 1:
        raise RuntimeError(
            f"expected one animation id in matplotlib's HTML, found {len(random_ids)}"
        )
    html = html.replace(random_ids.pop(), element_id)
    html = re.sub(r"<link[^>]*font-awesome[^>]*>\s*", "", html)
    for icon, symbol in _BUTTON_SYMBOLS.items():
        html = html.replace(f'<i class="{icon}"></i>', symbol)
    if '<i class="fa' in html or "https://" in html:
        raise RuntimeError("matplotlib's HTML still refers to web fonts or other sites")
    return html
