"""Gradient accumulation: the gradient of a large batch, a few samples at a time.

``backward()`` *adds* to ``.grad``. So a batch too large for memory can be
split into ``k`` micro-batches, each forwarded and back-propagated in turn,
and the optimizer stepped once at the end: the sum of the micro-batch
gradients is the gradient of the whole batch, provided each micro-batch loss
is weighted correctly.

With a loss that *averages* over its samples (``reduction="mean"``, PyTorch's
default), the whole-batch loss is the average of the micro-batch losses
weighted by their sizes: each micro-batch loss must be multiplied by
``len(micro_batch) / len(batch)`` (``1 / k`` when all ``k`` have the same
size). With ``reduction="sum"`` no weighting is needed. :func:`accumulated_gradients`
offers the three weightings (``"size"``, ``"count"`` and ``"none"``) so that a
notebook can show which is right when.

The equality holds only for a model whose output for one sample does not
depend on the other samples of its batch and on fresh random draws: BatchNorm
(in training mode) normalizes with the statistics of each micro-batch, and
dropout draws other masks for a micro-batch than for the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

from lrlib._validation import check_int

__all__ = [
    "accumulated_gradients",
    "batch_gradients",
    "max_difference",
]

Weighting = Literal["size", "count", "none"]
"""How each micro-batch loss is scaled before ``backward()``."""

WEIGHTINGS: tuple[str, ...] = ("size", "count", "none")
"""``"size"``: by ``len(micro) / len(batch)``;
``"count"``: by ``1 / k``; ``"none"``: not at all.
"""

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _check_batch(inputs: torch.Tensor, targets: torch.Tensor) -> None:
    if not isinstance(inputs, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError(
            f"inputs and targets must be tensors, got {type(inputs).__name__} and "
            f"{type(targets).__name__}"
        )
    if len(inputs) == 0 or len(inputs) != len(targets):
        raise ValueError(
            "inputs and targets must hold the same positive number of samples, got "
            f"{len(inputs)} and {len(targets)}"
        )


def _parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    named = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not named:
        raise ValueError(
            "the model has no trainable parameters, so there is no gradient to compute"
        )
    return named


def _gradients_of(
    model: nn.Module, compute: Callable[[], None]
) -> dict[str, torch.Tensor]:
    """Run ``compute`` (which calls ``backward``) on zeroed gradients;
    put the old ones back.
    """
    params = _parameters(model)
    saved = {name: p.grad for name, p in params.items()}
    try:
        for p in params.values():
            p.grad = None
        compute()
        return {
            name: (
                p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
            )
            for name, p in params.items()
        }
    finally:
        for name, p in params.items():
            p.grad = saved[name]


def batch_gradients(
    model: nn.Module, loss_fn: LossFunction, inputs: torch.Tensor, targets: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The gradient of ``loss_fn(model(inputs), targets)``,
    one backward pass over the whole batch.

    Shown in chapter 9.

    The model's ``.grad`` attributes are left as they were found.

    Args:
        model: the model, in the mode (training or evaluation) to measure.
        loss_fn: the loss, e.g. ``nn.CrossEntropyLoss()``.
        inputs: the batch's inputs ``(N, ...)``.
        targets: its targets ``(N, ...)``.

    Returns:
        ``{parameter name: gradient}``, detached copies.

    Raises:
        TypeError: ``model`` is not a module, or the batch is not tensors.
        ValueError: the batch is empty or inputs and targets differ in length;
            the model has no trainable parameters.

    Example:
        >>> model = nn.Linear(2, 1)
        >>> grads = batch_gradients(
        ...     model, nn.MSELoss(), torch.ones(4, 2), torch.zeros(4, 1)
        ... )
        >>> sorted(grads)
        ['bias', 'weight']
    """
    _check_batch(inputs, targets)
    return _gradients_of(model, lambda: loss_fn(model(inputs), targets).backward())


def accumulated_gradients(
    model: nn.Module,
    loss_fn: LossFunction,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    micro_batch_size: int,
    weighting: Weighting = "size",
) -> dict[str, torch.Tensor]:
    """The gradient summed over micro-batches, as an accumulating training loop gets it.

    Shown in chapter 9.

    The batch is cut into consecutive micro-batches of ``micro_batch_size``
    samples (the last may be smaller); for each, the loss is computed, scaled
    according to ``weighting`` and back-propagated, adding to ``.grad``.

    * ``"size"``: each loss times ``len(micro) / len(inputs)``: equals
      :func:`batch_gradients` for a ``reduction="mean"`` loss, whatever the sizes;
    * ``"count"``: each loss divided by the number ``k`` of micro-batches: right
      for a mean loss only when all micro-batches have the same size;
    * ``"none"``: the losses as they are: right for a ``reduction="sum"`` loss;
      ``k`` times too large for a mean loss with equal micro-batches.

    The model's ``.grad`` attributes are left as they were found.

    Args:
        model: the model.
        loss_fn: the loss.
        inputs: the whole batch's inputs.
        targets: its targets.
        micro_batch_size: samples per micro-batch (a positive integer).
        weighting: ``"size"``, ``"count"`` or ``"none"``.

    Returns:
        ``{parameter name: accumulated gradient}``.

    Raises:
        TypeError: ``model`` is not a module, or the batch is not tensors.
        ValueError: ``micro_batch_size`` is not a positive integer,
            ``weighting`` is unknown, or the batch is malformed.

    Example:
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> model, loss_fn = nn.Linear(3, 2), nn.CrossEntropyLoss()
        >>> x, y = torch.randn(8, 3), torch.tensor([0, 1] * 4)
        >>> whole = batch_gradients(model, loss_fn, x, y)
        >>> parts = accumulated_gradients(model, loss_fn, x, y, micro_batch_size=2)
        >>> max_difference(whole, parts) < 1e-6
        True
    """
    _check_batch(inputs, targets)
    micro_batch_size = check_int("micro_batch_size", micro_batch_size, low=1)
    if weighting not in WEIGHTINGS:
        raise ValueError(
            f"weighting must be one of {list(WEIGHTINGS)}, got {weighting!r}"
        )
    micro_inputs = inputs.split(micro_batch_size)
    micro_targets = targets.split(micro_batch_size)
    k = len(micro_inputs)

    def compute() -> None:
        for x, y in zip(micro_inputs, micro_targets):
            loss = loss_fn(model(x), y)
            if weighting == "size":
                loss = loss * (len(x) / len(inputs))
            elif weighting == "count":
                loss = loss / k
            loss.backward()

    return _gradients_of(model, compute)


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """The largest absolute difference between two gradients of the same parameters.

    Shown in chapter 9.

    Args:
        a: ``{name: tensor}``, e.g. from :func:`batch_gradients`.
        b: the same names and shapes.

    Returns:
        ``max |a - b|`` over every element of every tensor.

    Raises:
        ValueError: the names or shapes differ.

    Example:
        >>> max_difference(
        ...     {"w": torch.tensor([1.0, 2.0])}, {"w": torch.tensor([1.0, 2.5])}
        ... )
        0.5
    """
    if set(a) != set(b):
        raise ValueError(
            f"the gradients name different parameters: {sorted(set(a) ^ set(b))}"
        )
    worst = 0.0
    for name in a:
        if a[name].shape != b[name].shape:
            raise ValueError(
                f"{name}: shapes differ, {tuple(a[name].shape)} and "
                f"{tuple(b[name].shape)}"
            )
        diff = (
            a[name].detach().double() - b[name].detach().double().to(a[name].device)
        ).abs()
        worst = max(worst, float(diff.max()) if diff.numel() else 0.0)
    return worst
