"""A simple linear regression, small enough to watch optimizers at work.

The data follow ``y = 1 + 2 x + noise``. A model ``y_hat = b + w x`` has just
two parameters, a bias ``b`` and a weight ``w``, so the loss is a surface over
the ``(b, w)`` plane and every optimizer traces a path on it. This module
makes the data, the model (started at a chosen point so that paths are
comparable), the loss surface in closed form, and records the path any
optimizer (and scheduler) takes over mini-batches.

Nothing here touches global random state: each random draw uses its own
:class:`torch.Generator`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.utils.data import DataLoader, TensorDataset

from lrlib._checks import resolve_scheduler_step
from lrlib._validation import check_int, check_number
from lrlib.schedulers import fractional_epoch, takes_fractional_epochs

__all__ = [
    "PathResult",
    "least_squares",
    "linreg_mse",
    "loss_surface",
    "make_linreg_data",
    "make_linreg_loader",
    "make_linreg_model",
    "record_path",
]

TRUE_BIAS = 1.0
"""The bias of the line the data come from."""

TRUE_WEIGHT = 2.0
"""The weight (slope) of the line the data come from."""


@dataclass(frozen=True)
class LinRegData:
    """Training and validation points of ``y = true_bias + true_weight * x + noise``.

    Attributes:
        x_train, y_train: training inputs and targets, shape ``(n_train, 1)``, float32.
        x_val, y_val: validation inputs and targets, shape ``(n_val, 1)``, float32.
        true_bias, true_weight, noise_std: how the data were generated.
    """

    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor
    true_bias: float
    true_weight: float
    noise_std: float


@dataclass(frozen=True)
class LossSurface:
    """The MSE of ``b + w x`` over a grid of biases and weights.

    Attributes:
        biases: the grid's biases, shape ``(B,)`` (the horizontal axis).
        weights: the grid's weights, shape ``(W,)`` (the vertical axis).
        losses: shape ``(W, B)``; ``losses[i, j]`` is the loss at
            ``(biases[j], weights[i])``, the layout
            ``plt.contour(biases, weights, losses)`` expects.
        best_bias, best_weight: the exact minimizer (least squares), which need
            not lie on the grid.
        best_loss: the loss at the minimizer.
    """

    biases: np.ndarray
    weights: np.ndarray
    losses: np.ndarray
    best_bias: float
    best_weight: float
    best_loss: float


@dataclass(frozen=True)
class PathResult:
    """Where an optimizer took a one-input linear model, step by step.

    Shown in chapter 5.

    Attributes:
        biases, weights: shape ``(steps + 1,)``; the start, then the values
            after each optimizer step.
        batch_losses: shape ``(steps,)``; the mini-batch loss computed at each
            step, before the step moved the parameters.
        epoch_losses: shape ``(epochs,)``; each epoch's mean training loss
            (batches weighted by their size).
        lrs: shape ``(steps, param_groups)``; the learning rate of each
            parameter group at each step.
    """

    biases: np.ndarray
    weights: np.ndarray
    batch_losses: np.ndarray
    epoch_losses: np.ndarray
    lrs: np.ndarray

    @property
    def n_steps(self) -> int:
        """How many optimizer steps were taken."""
        return len(self.batch_losses)


# --------------------------------------------------------------------------- #
# Data, model, loader
# --------------------------------------------------------------------------- #


def make_linreg_data(
    n: int = 100,
    *,
    seed: int = 42,
    val_fraction: float = 0.2,
    true_bias: float = TRUE_BIAS,
    true_weight: float = TRUE_WEIGHT,
    noise_std: float = 0.1,
) -> LinRegData:
    """Draw ``n`` points of ``y = true_bias + true_weight * x + noise`` and split them.

    Shown in chapters 4, 5 and 7.

    ``x ~ U(0, 1)`` and ``noise ~ N(0, noise_std**2)``, drawn with a generator
    seeded by ``seed``. The points are shuffled, then the first
    ``round(n * (1 - val_fraction))`` go to training and the rest to validation.

    Args:
        n: number of points, >= 2.
        seed: seed of the private random generator.
        val_fraction: share of the points kept for validation, in [0, 1).
        true_bias, true_weight: the line's parameters.
        noise_std: standard deviation of the noise, >= 0.

    Returns:
        A :class:`LinRegData` of float32 tensors of shape ``(points, 1)``.

    Raises:
        ValueError: ``n < 2``, ``val_fraction`` out of range, ``noise_std < 0``,
            or a split that leaves no training point.

    Example:
        >>> data = make_linreg_data(100, seed=0)
        >>> tuple(data.x_train.shape), tuple(data.x_val.shape)
        ((80, 1), (20, 1))
    """
    check_int("n", n, low=2)
    check_number("val_fraction", val_fraction, low=0, high=1, include_high=False)
    check_number("noise_std", noise_std, low=0)
    n_train = round(n * (1 - val_fraction))
    if n_train < 1:
        raise ValueError(
            f"n={n} with val_fraction={val_fraction} leaves no training point"
        )

    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=generator)
    noise = noise_std * torch.randn(n, 1, generator=generator)
    y = true_bias + true_weight * x + noise

    order = torch.randperm(n, generator=generator)
    train, val = order[:n_train], order[n_train:]
    return LinRegData(
        x_train=x[train],
        y_train=y[train],
        x_val=x[val],
        y_val=y[val],
        true_bias=float(true_bias),
        true_weight=float(true_weight),
        noise_std=float(noise_std),
    )


def make_linreg_model(bias: float, weight: float) -> nn.Linear:
    """An ``nn.Linear(1, 1)`` whose parameters start at ``(bias, weight)``.

    Shown in chapters 4, 5 and 7.

    Starting every optimizer from the same point makes their paths on the
    loss surface comparable.

    Args:
        bias: the starting bias ``b``.
        weight: the starting weight ``w``.

    Returns:
        A fresh ``nn.Linear(1, 1)`` computing ``b + w x``.

    Example:
        >>> model = make_linreg_model(bias=0.5, weight=-1.0)
        >>> model.bias.item(), model.weight.item()
        (0.5, -1.0)
    """
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.bias.fill_(bias)
        model.weight.fill_(weight)
    return model


def make_linreg_loader(
    x: Tensor, y: Tensor, *, batch_size: int = 16, shuffle: bool = True, seed: int = 0
) -> DataLoader:
    """Mini-batches of ``(x, y)`` whose order depends only on ``seed``.

    Shown in chapters 4, 5 and 7.

    The loader shuffles with its own :class:`torch.Generator`, so the batches
    are the same no matter what other code drew from the global generator.

    Args:
        x, y: inputs and targets with the same number of rows.
        batch_size: points per mini-batch, >= 1.
        shuffle: reshuffle the points at every epoch.
        seed: seed of the loader's generator.

    Returns:
        A :class:`torch.utils.data.DataLoader` over a ``TensorDataset``.

    Raises:
        ValueError: ``x`` and ``y`` have different lengths or ``batch_size < 1``.

    Example:
        >>> data = make_linreg_data(seed=0)
        >>> loader = make_linreg_loader(data.x_train, data.y_train, batch_size=16)
        >>> len(loader)
        5
    """
    if len(x) != len(y):
        raise ValueError(
            f"x and y must have the same length, got {len(x)} and {len(y)}"
        )
    check_int("batch_size", batch_size, low=1)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle, generator=generator
    )


# --------------------------------------------------------------------------- #
# The loss surface, in closed form
# --------------------------------------------------------------------------- #


def _as_column_values(name: str, values: ArrayLike | Tensor) -> np.ndarray:
    if isinstance(values, Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError(f"{name} must hold at least one value")
    return array


def linreg_mse(
    x: ArrayLike | Tensor, y: ArrayLike | Tensor, bias: ArrayLike, weight: ArrayLike
) -> np.ndarray:
    """Mean squared error of ``bias + weight * x`` on the points ``(x, y)``.

    Shown in chapters 4 and 5.

    ``bias`` and ``weight`` may be arrays of any shapes that broadcast
    together: the loss is computed at every pair at once. Expanding the square,

        mean((y - b - w x)**2) = mean(y**2) + b**2 + w**2 mean(x**2)
                                 - 2 b mean(y) - 2 w mean(x y) + 2 b w mean(x),

    so five averages of the data are all it needs, however many points and
    however many ``(b, w)`` pairs there are.

    Args:
        x, y: the points (any shape; they are flattened), same size.
        bias, weight: the model's parameters, broadcastable arrays.

    Returns:
        An array of losses with the broadcast shape of ``bias`` and ``weight``.

    Raises:
        ValueError: ``x`` and ``y`` differ in size or are empty.

    Example:
        >>> float(linreg_mse([0.0, 1.0], [1.0, 3.0], bias=1.0, weight=2.0))
        0.0
    """
    x = _as_column_values("x", x)
    y = _as_column_values("y", y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same size, got {x.size} and {y.size}")
    b = np.asarray(bias, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    mean_x, mean_y = x.mean(), y.mean()
    mean_xx, mean_xy, mean_yy = (x * x).mean(), (x * y).mean(), (y * y).mean()
    losses = (
        mean_yy
        + b**2
        + w**2 * mean_xx
        - 2 * b * mean_y
        - 2 * w * mean_xy
        + 2 * b * w * mean_x
    )
    return np.maximum(losses, 0.0)  # rounding must not make a square negative


def least_squares(x: ArrayLike | Tensor, y: ArrayLike | Tensor) -> tuple[float, float]:
    """The ``(bias, weight)`` that minimizes the MSE, in closed form.

    Shown in chapters 4 and 5.

    ``weight = cov(x, y) / var(x)`` and ``bias = mean(y) - weight * mean(x)``.

    Raises:
        ValueError: ``x`` and ``y`` differ in size, or all ``x`` are equal.

    Example:
        >>> least_squares([0.0, 1.0, 2.0], [1.0, 3.0, 5.0])
        (1.0, 2.0)
    """
    x = _as_column_values("x", x)
    y = _as_column_values("y", y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same size, got {x.size} and {y.size}")
    dx = x - x.mean()
    var_x = np.mean(dx * dx)
    if var_x == 0:
        raise ValueError("all x are equal, so the weight is not determined")
    weight = np.mean(dx * (y - y.mean())) / var_x
    bias = y.mean() - weight * x.mean()
    return float(bias), float(weight)


def loss_surface(
    x: ArrayLike | Tensor, y: ArrayLike | Tensor, biases: ArrayLike, weights: ArrayLike
) -> LossSurface:
    """The MSE over a grid of biases and weights, with its exact minimum.

    Shown in chapters 4, 5 and 7.

    Args:
        x, y: the points (usually the training split).
        biases: 1-D grid of biases (the horizontal axis).
        weights: 1-D grid of weights (the vertical axis).

    Returns:
        A :class:`LossSurface`; its ``losses`` have shape
        ``(len(weights), len(biases))``.

    Raises:
        ValueError: ``biases`` or ``weights`` is not a non-empty 1-D array, or
            ``x`` and ``y`` are unusable (see :func:`linreg_mse`).

    Example:
        >>> surface = loss_surface([0.0, 1.0], [1.0, 3.0], [0.0, 1.0, 2.0], [2.0, 3.0])
        >>> surface.losses.shape, surface.best_bias, surface.best_weight
        ((2, 3), 1.0, 2.0)
    """
    grid_b = np.asarray(biases, dtype=np.float64)
    grid_w = np.asarray(weights, dtype=np.float64)
    for name, grid in (("biases", grid_b), ("weights", grid_w)):
        if grid.ndim != 1 or grid.size == 0:
            raise ValueError(
                f"{name} must be a non-empty 1-D array, got shape {grid.shape}"
            )
    bias_mesh, weight_mesh = np.meshgrid(grid_b, grid_w)  # both of shape (W, B)
    best_bias, best_weight = least_squares(x, y)
    return LossSurface(
        biases=grid_b,
        weights=grid_w,
        losses=linreg_mse(x, y, bias_mesh, weight_mesh),
        best_bias=best_bias,
        best_weight=best_weight,
        best_loss=float(linreg_mse(x, y, best_bias, best_weight)),
    )


# --------------------------------------------------------------------------- #
# Recording an optimizer's path
# --------------------------------------------------------------------------- #


def _bias_and_weight(model: nn.Module) -> tuple[nn.Parameter, nn.Parameter]:
    if (
        not isinstance(model, nn.Linear)
        or model.in_features != 1
        or model.out_features != 1
    ):
        raise TypeError(f"model must be an nn.Linear(1, 1), got {model!r}")
    if model.bias is None:
        raise ValueError("model must have a bias (nn.Linear(1, 1, bias=True))")
    return model.bias, model.weight


def record_path(
    model: nn.Linear,
    optimizer: Optimizer,
    loader: DataLoader,
    epochs: int,
    scheduler: object | None = None,
    *,
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
    scheduler_step: Literal["epoch", "batch", "metric"] | None = None,
) -> PathResult:
    """Train a one-input linear model
    and record its ``(bias, weight)`` after every step.

    Shown in chapters 4, 5 and 7.

    A plain mini-batch loop: for each batch, zero the gradients, compute the
    loss, backpropagate, step the optimizer, record. The scheduler, if any,
    steps after the optimizer, as PyTorch requires since version 1.1, where
    the trainer steps it (:func:`lrlib.schedulers.scheduler_step_kind`):
    after each epoch, after each batch (``CosineAnnealingWarmRestarts`` with
    the fractional epoch reached), or, for ``ReduceLROnPlateau``, after each
    epoch with the epoch's training loss (there is no validation set here).

    The model is trained in place (that is the point); its train/eval mode is
    restored afterwards, even if training fails.

    Args:
        model: an ``nn.Linear(1, 1)``, e.g. from :func:`make_linreg_model`.
        optimizer: any optimizer holding the model's parameters whose
            ``step()`` needs no closure (all but ``LBFGS``).
        loader: mini-batches ``(x, y)``, e.g. from :func:`make_linreg_loader`.
        epochs: passes over the loader, >= 1.
        scheduler: an optional learning-rate scheduler of ``optimizer``.
        loss_fn: ``loss_fn(prediction, target)``; defaults to ``nn.MSELoss()``.
        scheduler_step: ``"epoch"``, ``"batch"`` or ``"metric"``: where
            the scheduler steps; ``None`` (default) takes the scheduler's own
            kind, as the trainer does; the same setting as the trainer's.

    Returns:
        A :class:`PathResult`.

    Raises:
        TypeError: ``model`` is not an ``nn.Linear(1, 1)``.
        ValueError: ``epochs < 1``, a bad ``scheduler_step`` (any but
            ``"metric"`` for ``ReduceLROnPlateau``, or one given without a
            scheduler), a scheduler of another optimizer, an empty loader, or
            an optimizer that does not hold the model's parameters.

    Example:
        >>> data = make_linreg_data(seed=0)
        >>> model = make_linreg_model(bias=0.0, weight=0.0)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> loader = make_linreg_loader(data.x_train, data.y_train, batch_size=16)
        >>> path = record_path(model, optimizer, loader, epochs=2)
        >>> path.n_steps, path.biases.shape
        (10, (11,))
    """
    bias, weight = _bias_and_weight(model)
    check_int("epochs", epochs, low=1)
    scheduler_step = resolve_scheduler_step(scheduler, scheduler_step, optimizer)
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if id(bias) not in held or id(weight) not in held:
        raise ValueError(
            "optimizer must hold the model's bias and weight (pass model.parameters())"
        )
    if len(loader) == 0:
        raise ValueError("loader yields no batch")
    loss_fn = nn.MSELoss() if loss_fn is None else loss_fn
    device = weight.device

    biases, weights = [bias.item()], [weight.item()]
    batch_losses: list[float] = []
    epoch_losses: list[float] = []
    lrs: list[list[float]] = []
    was_training = model.training
    model.train()
    try:
        for epoch in range(epochs):
            loss_sum, n_points = 0.0, 0
            for i, (x, y) in enumerate(loader):
                x, y = x.to(device), y.to(device)
                lrs.append([float(group["lr"]) for group in optimizer.param_groups])
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()

                batch_losses.append(loss.item())
                biases.append(bias.item())
                weights.append(weight.item())
                loss_sum += loss.item() * len(x)
                n_points += len(x)
                if scheduler is not None and scheduler_step == "batch":
                    if takes_fractional_epochs(scheduler):
                        scheduler.step(fractional_epoch(epoch, i, len(loader)))
                    else:
                        scheduler.step()
            epoch_losses.append(loss_sum / n_points)
            if scheduler is not None and scheduler_step == "epoch":
                scheduler.step()
            elif scheduler is not None and scheduler_step == "metric":
                scheduler.step(epoch_losses[-1])  # the training loss: no validation
    finally:
        model.train(was_training)

    return PathResult(
        biases=np.array(biases),
        weights=np.array(weights),
        batch_losses=np.array(batch_losses),
        epoch_losses=np.array(epoch_losses),
        lrs=np.array(lrs),
    )
