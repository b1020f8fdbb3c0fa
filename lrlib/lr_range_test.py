"""The learning-rate range test, in the per-batch form popularised by fastai.

Train for ``num_iter`` steps, one mini-batch each, while the learning rate
grows from ``start_lr`` to ``end_lr``, linearly or exponentially, and record
the loss at every step. The steps add up: each trains the network the earlier
steps left, so the loss recorded at a rate is measured at those weights,
before that rate's own step. Where the loss falls fastest, the learning rate
is large enough to learn quickly; where it shoots up, it is too large.

Where it comes from: Smith ("Cyclical Learning Rates for Training Neural
Networks", 2017) proposed a range test to choose the two bounds of a cyclical
schedule. His version raises the rate linearly over a few epochs and watches
the model's *accuracy*: the rate where accuracy starts to climb gives the
lower bound, the one where it stalls or drops the upper bound. The version
here, with the rate growing exponentially from one mini-batch to the next and
a smoothed *training loss* read off the curve, is the one that fastai (Howard
and Gugger) made popular as its "learning rate finder", and that
torch-lr-finder implements for plain PyTorch.

The test is a measurement, not training: :func:`range_test` puts the model,
the optimizer and the random number generators back exactly as it found them,
even when it is interrupted. Plotting (:func:`plot_range_test`) and the rules
that read a learning rate off the curve (:mod:`lrlib.suggestions`) are separate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch import nn

from lrlib._batches import check_materialized, is_one_shot, split_batch
from lrlib._states import (
    capture_rng_state,
    copy_state,
    loader_generators,
    restore_rng_state,
)
from lrlib._validation import check_int, check_number
from lrlib.device import model_device
from lrlib.suggestions import Suggestion, suggest_all
from lrlib.training import batch_losses, compute_loss, model_mode

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "lr_factor",
    "plot_range_test",
    "range_test",
]

StepMode = Literal["exp", "linear"]
StopReason = Literal["completed", "diverged", "non-finite loss"]
STEP_MODES: tuple[str, ...] = ("exp", "linear")


def lr_factor(
    start_lr: float, end_lr: float, num_iter: int, step_mode: StepMode = "exp"
) -> Callable[[int], float]:
    """Return the factor function of a range test, for ``LambdaLR``.

    Shown in chapter 3.

    ``LambdaLR`` sets the learning rate of iteration ``i`` to
    ``start_lr * factor(i)``. The factor grows from 1 at ``i = 0`` to
    ``end_lr / start_lr`` at ``i = num_iter - 1``, so that the test tries
    ``start_lr`` first and ``end_lr`` last (up to rounding: ``start_lr *
    (end_lr / start_lr)`` may differ from ``end_lr`` in the last bit):

    * ``"exp"``: ``factor(i) = (end_lr / start_lr) ** (i / (num_iter - 1))``,
      equal steps in ``log(lr)``;
    * ``"linear"``: ``factor(i) = 1 + (end_lr / start_lr - 1) * i / (num_iter - 1)``,
      equal steps in ``lr``.

    Past ``num_iter - 1`` the growth simply continues.

    Args:
        start_lr: the first learning rate, positive.
        end_lr: the last learning rate, larger than ``start_lr``.
        num_iter: the number of learning rates to try, at least 2.
        step_mode: ``"exp"`` or ``"linear"``.

    Returns:
        A function of the iteration index ``i`` (0-based).

    Raises:
        ValueError: a bad ``step_mode``, ``num_iter < 2``, a non-positive
            ``start_lr`` or an ``end_lr`` not above it.
        TypeError: ``num_iter`` is not an int.

    Example:
        >>> model = nn.Linear(2, 1)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        >>> # 11 rates: 10 steps of 10 ** 0.1
        >>> factor = lr_factor(0.01, 0.1, num_iter=11)
        >>> scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        >>> round(scheduler.get_last_lr()[0], 6)
        0.01
        >>> optimizer.step(); scheduler.step()
        >>> round(scheduler.get_last_lr()[0], 6)
        0.012589
    """
    _check_schedule(start_lr, end_lr, num_iter, step_mode)
    ratio = end_lr / start_lr
    last = num_iter - 1
    if step_mode == "exp":

        def factor(i: int) -> float:
            return ratio ** (i / last)

    else:

        def factor(i: int) -> float:
            t = i / last
            return (1 - t) + t * ratio  # this form gives exactly `ratio` at t = 1

    return factor


@dataclass(frozen=True)
class RangeTestResult:
    """What a range test measured. The arrays are read-only.

    Attributes:
        lrs: the learning rates tried, shape ``(points, param groups)``.
        losses: the raw loss at each point, shape ``(points,)``.
        smoothed_losses: the bias-corrected moving average of ``losses``.
        stop_reason: ``"completed"``, ``"diverged"`` (the smoothed loss passed
            ``diverge_th`` times its best value; that last point is kept) or
            ``"non-finite loss"`` (a NaN or infinite loss, not recorded).
        step_mode: ``"exp"`` or ``"linear"``.
        suggestions: :func:`lrlib.suggestions.suggest_all` applied to the
            first group's learning rates and the smoothed losses; empty when
            fewer than 3 points were recorded. On a curve with no usable
            descent, each suggestion says so (``usable`` is ``False``, ``note``
            explains).
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    stop_reason: StopReason
    step_mode: StepMode
    suggestions: dict[str, Suggestion]

    def __post_init__(self) -> None:
        for array in (self.lrs, self.losses, self.smoothed_losses):
            array.flags.writeable = False


def range_test(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: Callable[[Any, Any], torch.Tensor],
    train_loader: Iterable,
    *,
    start_lr: float | Sequence[float] | None = None,
    end_lr: float = 10.0,
    num_iter: int = 100,
    step_mode: StepMode = "exp",
    beta: float = 0.98,
    diverge_th: float | None = 5.0,
    accumulation_steps: int = 1,
    val_loader: Iterable | None = None,
) -> RangeTestResult:
    """Run an LR range test and restore everything it changed.

    Shown in chapters 3 and 8.

    Step ``i`` sets every parameter group's learning rate to its starting
    rate times ``lr_factor(...)(i)`` (all groups grow by the same factor, so
    a backbone/head ratio is kept), then trains on the next mini-batch. As
    usual, the loss recorded for a learning rate is that of the mini-batch
    its step was computed on. The train loader starts over when it runs out.

    The loss is smoothed by a bias-corrected exponentially weighted moving
    average, ``avg = beta * avg + (1 - beta) * loss`` divided by
    ``1 - beta ** t`` after ``t`` points. The test stops early when the
    smoothed loss exceeds ``diverge_th`` times the best smoothed loss so far
    (a rule meant for positive losses), or when a loss is NaN or infinite.

    Afterwards (also after an exception or Ctrl-C) parameters, buffers,
    gradients, optimizer state and hyperparameters, train/eval modes, and the
    states of torch's CPU and CUDA generators and of the loaders' generators
    are exactly as before. No scheduler is attached to the optimizer.

    Batches are ``(inputs, targets, ...)`` tuples or lists of tensors, or
    mappings such as ``{"inputs": ..., "targets": ...}`` (the same rule as the
    trainer's, :func:`lrlib._batches.split_batch`); they are moved to the
    model's device (put the model on :func:`lrlib.device.get_device` before
    creating the optimizer).

    Args:
        model: the model; the optimizer must hold its parameters.
        optimizer: any ``torch.optim`` optimizer.
        criterion: ``criterion(outputs, targets)`` returns a scalar loss
            averaged over the batch (e.g. ``nn.CrossEntropyLoss()``).
        train_loader: an iterable of batches, such as a ``DataLoader``. It is
            started again when it runs out, so an iterator (a generator, or
            ``iter(loader)``), which can be gone over only once, must hold at
            least ``num_iter * accumulation_steps`` batches.
        start_lr: the first learning rate: one for all groups, one per
            group, or ``None`` for the optimizer's own learning rates.
        end_lr: the last learning rate of the first parameter group.
        num_iter: the number of learning rates (optimizer steps), at least 2.
        step_mode: ``"exp"`` or ``"linear"`` growth, see :func:`lr_factor`.
        beta: the smoothing factor in ``[0, 1)``; 0 turns smoothing off.
        diverge_th: the divergence threshold, above 1; ``None`` never stops.
        accumulation_steps: mini-batches per optimizer step; each loss is
            divided by it, so the step sees the average gradient.
        val_loader: if given, the loss recorded after each step is the
            average loss over this loader, measured in eval mode under
            ``torch.no_grad()``; slower, less noisy. It is gone over after
            every step, so it cannot be an iterator.

    Returns:
        A :class:`RangeTestResult`.

    Raises:
        ValueError: an invalid argument (see :func:`lr_factor`), a
            ``start_lr`` sequence of the wrong length, an empty loader, an
            iterator ``train_loader`` used up before the test's end, a model
            on the meta device, or outputs and targets whose shapes broadcast
            to a shape other than the outputs' (see
            :func:`lrlib._batches.check_loss_shapes`).
        TypeError: a non-integer ``num_iter`` or ``accumulation_steps``, a
            ``val_loader`` that is an iterator, or a batch that is neither an
            ``(inputs, targets, ...)`` sequence nor a mapping with known keys.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> x = torch.randn(64, 3)
        >>> batches = [x[i:i + 8] for i in range(0, 64, 8)]
        >>> data = [(b, b.sum(1, keepdim=True)) for b in batches]
        >>> model = nn.Linear(3, 1)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> result = range_test(model, optimizer, nn.MSELoss(), data, start_lr=1e-4,
        ...                     end_lr=10, num_iter=50)
        >>> result.stop_reason, sorted(result.suggestions)
        ('diverged', ['minimum/10', 'steepest', 'valley'])
        >>> # the optimizer is untouched
        >>> float(result.lrs[0, 0]), optimizer.param_groups[0]["lr"]
        (0.0001, 0.1)
    """
    start_lrs = _start_lrs(optimizer, start_lr)
    factor = lr_factor(start_lrs[0], end_lr, num_iter, step_mode)
    _check_options(beta, diverge_th, accumulation_steps)
    if val_loader is not None and is_one_shot(val_loader):
        raise TypeError(
            f"val_loader is an iterator ({type(val_loader).__name__}), which yields "
            "its batches only once, but the validation loss is measured over the whole "
            "loader after every step: pass a DataLoader, a list of batches, or another "
            "object that can be iterated again"
        )
    check_materialized(model)
    device = model_device(model)
    generators = loader_generators(train_loader, val_loader)

    lrs: list[list[float]] = []
    losses: list[float] = []
    smoothed: list[float] = []
    stop_reason: StopReason = "completed"
    with _restored(model, optimizer, generators), model_mode(model, training=True):
        batches = _cycle(train_loader)
        average, best = 0.0, math.inf
        for i in range(num_iter):
            step_lrs = [lr * factor(i) for lr in start_lrs]
            for group, lr in zip(optimizer.param_groups, step_lrs):
                group["lr"] = lr  # set directly: a scheduler would leave traces behind
            loss = _train_step(
                model, optimizer, criterion, batches, accumulation_steps, device
            )
            if val_loader is not None:
                loss = _validation_loss(model, criterion, val_loader)
            if not math.isfinite(loss):
                stop_reason = (
                    "non-finite loss"  # stop before the point spoils the curve
                )
                break
            average = beta * average + (1 - beta) * loss
            smooth = average / (
                1 - beta ** (i + 1)
            )  # bias correction: `average` started at 0
            lrs.append(step_lrs)
            losses.append(loss)
            smoothed.append(smooth)
            best = min(best, smooth)
            if diverge_th is not None and smooth > diverge_th * best:
                stop_reason = "diverged"
                break

    lrs_array = np.array(lrs, dtype=float).reshape(-1, len(start_lrs))
    smoothed_array = np.array(smoothed, dtype=float)
    suggestions = (
        suggest_all(lrs_array[:, 0], smoothed_array) if len(smoothed) >= 3 else {}
    )
    return RangeTestResult(
        lrs=lrs_array,
        losses=np.array(losses, dtype=float),
        smoothed_losses=smoothed_array,
        stop_reason=stop_reason,
        step_mode=step_mode,
        suggestions=suggestions,
    )


def plot_range_test(
    result: RangeTestResult, ax: Axes | None = None, *, show_raw: bool = True
) -> Axes:
    """Plot the loss against the learning rate of the first parameter group.

    Shown in chapter 3.

    The x-axis is logarithmic for an exponential test. The smoothed curve is
    drawn over the raw losses, with a marker for each suggestion. When the
    curve has no usable descent (see :class:`lrlib.suggestions.Suggestion`),
    a note on the axes says so instead of markers. The y-axis stops a little
    above the first smoothed loss.

    Args:
        result: what :func:`range_test` returned.
        ax: the axes to draw on; a new figure is created when ``None``.
        show_raw: also draw the raw losses, faintly.

    Returns:
        The axes drawn on.

    Example:
        >>> # needs a result
        >>> ax = plot_range_test(result)  # doctest: +SKIP
        >>> ax.set_title("LR range test")  # doctest: +SKIP
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    lrs = result.lrs[:, 0]
    if show_raw:
        ax.plot(lrs, result.losses, color="tab:blue", alpha=0.3, label="loss")
    ax.plot(lrs, result.smoothed_losses, color="tab:blue", label="smoothed loss")
    log_x = result.step_mode == "exp"
    scale = np.log10 if log_x else np.asarray
    notes = []
    for k, suggestion in enumerate(result.suggestions.values(), start=1):
        if not suggestion.usable:
            if suggestion.note not in notes:
                notes.append(suggestion.note)
            continue
        # A suggestion may lie between recorded points (minimum/10):
        # read its loss off the curve.
        loss = np.interp(scale(suggestion.lr), scale(lrs), result.smoothed_losses)
        label = f"{suggestion.rule}: {suggestion.lr:.2g}"
        ax.plot(suggestion.lr, loss, "o", color=f"C{k}", label=label)
    if notes:
        ax.text(
            0.5,
            0.95,
            "No suggestion: " + "\n".join(notes),
            transform=ax.transAxes,
            ha="center",
            va="top",
            wrap=True,
            fontsize="small",
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8},
        )
    if log_x:
        ax.set_xscale("log")
    first, lowest = result.smoothed_losses[0], result.smoothed_losses.min()
    if (
        first > lowest
    ):  # keep the blow-up at the end from flattening the interesting part
        top = first + 0.5 * (first - lowest)
        bottom = min(lowest, result.losses.min()) if show_raw else lowest
        ax.set_ylim(bottom - 0.05 * (top - bottom), top)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.legend()
    return ax


def _check_schedule(
    start_lr: float, end_lr: float, num_iter: int, step_mode: str
) -> None:
    if step_mode not in STEP_MODES:
        raise ValueError(f"step_mode must be one of {STEP_MODES}, got {step_mode!r}")
    check_int("num_iter", num_iter)
    if num_iter < 2:
        raise ValueError(
            f"num_iter must be at least 2 (a first and a last rate), got {num_iter}"
        )
    if not start_lr > 0:
        why = (
            "exponential growth from 0 stays at 0"
            if step_mode == "exp"
            else ("LambdaLR multiplies the optimizer's rate, so it cannot start from 0")
        )
        raise ValueError(f"start_lr must be positive ({why}), got {start_lr}")
    if not (end_lr > start_lr and math.isfinite(end_lr)):
        raise ValueError(
            f"end_lr must be finite and above start_lr={start_lr}, got {end_lr}"
        )


def _check_options(
    beta: float, diverge_th: float | None, accumulation_steps: int
) -> None:
    check_number("beta", beta, low=0, high=1, include_high=False)
    if diverge_th is not None and not diverge_th > 1:
        raise ValueError(f"diverge_th must be above 1 (or None), got {diverge_th}")
    check_int("accumulation_steps", accumulation_steps, low=1)


def _start_lrs(
    optimizer: torch.optim.Optimizer, start_lr: float | Sequence[float] | None
) -> list[float]:
    groups = optimizer.param_groups
    if start_lr is None:
        start_lrs = [float(group["lr"]) for group in groups]
    elif isinstance(start_lr, Sequence):
        start_lrs = [float(lr) for lr in start_lr]
        if len(start_lrs) != len(groups):
            raise ValueError(
                f"start_lr has {len(start_lrs)} values but the optimizer has "
                f"{len(groups)} parameter groups"
            )
    else:
        start_lrs = [float(start_lr)] * len(groups)
    for i, lr in enumerate(start_lrs):
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(
                f"start_lr must be positive, got {lr} for parameter group {i}"
            )
    return start_lrs


@contextmanager
def _restored(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    generators: list[torch.Generator],
) -> Iterator[None]:
    """Put back, on leaving,
    everything a training run changes (modes: see model_mode).
    """
    # The copies live on the CPU, leaving the accelerator's memory to the test.
    model_state = copy_state(model.state_dict())
    optimizer_state = copy_state(optimizer.state_dict())
    # Gradients are set aside, not copied: the test starts from None, so
    # backward() allocates new tensors and never writes into these.
    grads = [parameter.grad for parameter in model.parameters()]
    for parameter in model.parameters():
        parameter.grad = None
    rng_state = capture_rng_state(
        generators
    )  # PyTorch's, NumPy's, Python's, the loaders'
    try:
        yield
    finally:
        model.load_state_dict(model_state)
        # Also rebuilds param_groups from the saved copy,
        # so no key added during the test stays.
        optimizer.load_state_dict(optimizer_state)
        for parameter, grad in zip(model.parameters(), grads):
            parameter.grad = grad
        restore_rng_state(rng_state, generators)


def _cycle(loader: Iterable) -> Iterator[Any]:
    """Yield the loader's batches forever, starting it again when it runs out."""
    one_shot = is_one_shot(loader)
    used = 0
    while True:
        empty = True
        for batch in loader:
            empty = False
            used += 1
            yield batch
        if one_shot and used:
            raise ValueError(
                f"train_loader is an iterator ({type(loader).__name__}) and ran out "
                f"after {used} batch(es), before the test's end: an iterator yields "
                "its batches only once and cannot be started again. Pass a DataLoader "
                "or a list of batches, or fewer num_iter"
            )
        if empty:
            if one_shot:
                raise ValueError(
                    f"train_loader is an iterator ({type(loader).__name__}) that "
                    "yielded no batch: it was already used up (an iterator can be gone "
                    "over only once) or is empty. Pass a DataLoader or a list of "
                    "batches"
                )
            raise ValueError("the loader is empty: it yielded no batch")


def _train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: Callable[[Any, Any], torch.Tensor],
    batches: Iterator[Any],
    accumulation_steps: int,
    device: torch.device,
) -> float:
    """One optimizer step over ``accumulation_steps`` mini-batches;
    returns their mean loss.
    """
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for _ in range(accumulation_steps):
        inputs, targets = split_batch(next(batches), device)
        loss = compute_loss(criterion, model(inputs), targets) / accumulation_steps
        loss.backward()  # gradients add up over the mini-batches
        total += loss.item()
    optimizer.step()
    return total


def _validation_loss(
    model: nn.Module, criterion: Callable[[Any, Any], torch.Tensor], loader: Iterable
) -> float:
    """The mean loss per sample over ``loader``,
    in eval mode, summed in double precision.
    """
    total, count = 0.0, 0
    for loss, samples in batch_losses(model, loader, criterion):
        total += loss.item() * samples
        count += samples
    if count == 0:
        raise ValueError("the validation loader is empty: it yielded no sample")
    return total / count
