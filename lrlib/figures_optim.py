"""Figures for the chapters on moving averages, Adam, and SGD with momentum.

Each function draws on the ``ax`` it is given (or on a new figure's axes) and
returns that ``ax``, so a notebook can place several figures side by side and
restyle them afterwards. The functions only plot: the numbers come from
:mod:`lrlib.moving_averages`, :mod:`lrlib.optim_math` and :mod:`lrlib.linreg`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from numpy.typing import ArrayLike
from torch import Tensor

from lrlib.linreg import LossSurface
from lrlib.moving_averages import LagWeights
from lrlib.optim_math import AdamTrace


class BiasWeightPath(Protocol):
    """Anything with ``biases`` and ``weights`` arrays, such as :class:`lrlib.linreg.PathResult`."""

    biases: np.ndarray
    weights: np.ndarray


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _series(name: str, values: ArrayLike | Tensor) -> np.ndarray:
    """A 1-D float array; length-1 axes (a scalar parameter's ``(T, 1, 1)``) are dropped."""
    if isinstance(values, Tensor):
        values = values.detach().cpu().numpy()
    array = np.squeeze(np.asarray(values, dtype=float))
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D series, got shape {np.shape(values)}")
    return array


def _element(values: Tensor, element: int) -> np.ndarray:
    """Column ``element`` of a ``(steps, *param_shape)`` tensor, the parameter flattened."""
    flat = values.detach().cpu().reshape(len(values), -1)
    if not -flat.shape[1] <= element < flat.shape[1]:
        raise IndexError(
            f"element must index one of the parameter's {flat.shape[1]} values, got {element}"
        )
    return flat[:, element].numpy()


def plot_lag_weights(weights: Mapping[str, LagWeights], *, ax: Axes | None = None) -> Axes:
    """Bars of the weight each moving average gives to each lag, side by side.

    Args:
        weights: label -> :class:`LagWeights`, e.g. ``{"EWMA": ewma_lag_weights(1/3, 10),
            "SMA (5)": sma_lag_weights(5, n_lags=10)}``.
        ax: the axes to draw on (default: a new figure).

    Returns:
        The axes, with one bar container per entry of ``weights``.
    """
    ax = _axes(ax)
    width = 0.8 / max(len(weights), 1)
    for i, (label, lag_weights) in enumerate(weights.items()):
        offset = (i - (len(weights) - 1) / 2) * width
        ax.bar(np.asarray(lag_weights.lags) + offset, lag_weights.weights, width=width, label=label)
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
            raise ValueError(f"average {label!r} has {len(line)} values, the series {len(raw)}")
        ax.plot(t, line, label=label)
    ax.set_xlabel("t")
    ax.legend()
    return ax


def plot_adam_gradients(trace: AdamTrace, *, element: int = 0, ax: Axes | None = None) -> Axes:
    """One parameter value's gradients, smoothed gradients (``m_hat``) and adapted gradients.

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
        steps, _element(trace.adapted_grad, element), label="adapted (m_hat / (sqrt(v_hat) + eps))"
    )
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_xlabel("step")
    ax.legend()
    return ax


def plot_adam_scaling(trace: AdamTrace, *, element: int = 0, ax: Axes | None = None) -> Axes:
    """The factor ``1 / (sqrt(v_hat) + eps)`` by which Adam scales the smoothed gradient.

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
    ax.contour(surface.biases, surface.weights, surface.losses, levels=levels, cmap="viridis")
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
        ax.plot(path.biases, path.weights, marker=".", markersize=3, linewidth=1, label=label)
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


def plot_update_terms(terms: Mapping[str, ArrayLike], *, ax: Axes | None = None) -> Axes:
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
