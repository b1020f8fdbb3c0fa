"""Changing the learning rate during training: by hand, and with PyTorch's schedulers.

Chapter 6 starts with a step decay written by hand (:func:`manual_step_decay`
here), which edits the optimizer's parameter groups directly, then shows the
built-in schedulers by *tracing* them (its reference page, "Every scheduler,
exactly", traces every one): :func:`trace` steps a scheduler on a throwaway
optimizer, without any model or data, and records the learning rate (and the
momentum, where the scheduler cycles it) at each step. :func:`plot_trace` and
:func:`gallery` draw the result; they compute nothing. :func:`cycle_from_loader`
sizes a ``CyclicLR`` cycle from the loader length.

Where ``scheduler.step()`` goes in a training loop is one rule, kept here and
used by every loop of lrlib (the trainer, :func:`lrlib.linreg.record_path`,
:mod:`lrlib.distributed`): :func:`scheduler_step_kind` reads it from
:data:`STEP_TABLE`, a small table of the schedulers that do not step once per
epoch, unless the scheduler carries its own ``interval`` (as
:func:`lrlib.scaling.warmup_cosine`'s does, being counted in optimizer steps).
Like Lightning's ``interval`` setting, it is one word: ``"epoch"``,
``"batch"`` or ``"metric"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import torch
from torch.optim import Optimizer, lr_scheduler
from torch.optim.lr_scheduler import LRScheduler

from lrlib._validation import check_int

if TYPE_CHECKING:  # matplotlib is imported by the two plotting functions only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "CYCLE_EPOCHS",
    "cycle_from_loader",
    "gallery",
    "learning_rates",
    "manual_step_decay",
    "plot_trace",
    "scheduler_step_kind",
    "trace",
]

StepKind = Literal["epoch", "batch", "metric"]
STEP_KINDS: tuple[str, ...] = ("epoch", "batch", "metric")
"""Where ``scheduler.step()`` goes in a training loop: after every epoch, after
every optimizer step (a mini-batch), or after every epoch with a measured
metric, ``scheduler.step(val_loss)``."""

STEP_TABLE: dict[type, StepKind] = {
    lr_scheduler.OneCycleLR: "batch",
    lr_scheduler.CyclicLR: "batch",
    lr_scheduler.CosineAnnealingWarmRestarts: "batch",
    lr_scheduler.ReduceLROnPlateau: "metric",
}
"""The schedulers that do not step once per epoch, and where they step.

Every other scheduler steps once per epoch. ``CosineAnnealingWarmRestarts``
steps after every batch with the fractional epoch reached
(:data:`FRACTIONAL_EPOCHS`, :func:`fractional_epoch`), so that its periods
still count epochs. The book's catalog of schedulers records the same kinds
(its tests check that the two agree)."""

FRACTIONAL_EPOCHS: tuple[type, ...] = (lr_scheduler.CosineAnnealingWarmRestarts,)
"""Schedulers whose ``step()`` is given the epoch reached, a float."""


def scheduler_step_kind(scheduler: object) -> StepKind:
    """Where ``scheduler.step()`` belongs in a training loop.

    Shown in chapters 6 and 7.

    * ``"metric"``: :class:`~torch.optim.lr_scheduler.ReduceLROnPlateau`, stepped
      once per epoch with a measured quantity (``scheduler.step(val_loss)``);
    * ``"batch"``: :class:`~torch.optim.lr_scheduler.CyclicLR`,
      :class:`~torch.optim.lr_scheduler.OneCycleLR` and
      :class:`~torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`, stepped after
      every optimizer step (the last one with the fractional epoch reached, see
      :func:`fractional_epoch`, so that its periods still count epochs);
    * ``"epoch"``: every other scheduler, stepped once per epoch.

    The kinds come from :data:`STEP_TABLE` (a subclass gets the kind of its
    nearest base class there), except for a scheduler that carries its own
    ``interval`` attribute: a schedule counted in optimizer steps, such as
    :func:`lrlib.scaling.warmup_cosine`'s, says ``interval = "batch"``
    whatever classes it is made of.

    Args:
        scheduler: a learning-rate scheduler (or its class).

    Returns:
        ``"epoch"``, ``"batch"`` or ``"metric"``.

    Raises:
        ValueError: the scheduler's ``interval`` is not one of these.

    Example:
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        >>> scheduler_step_kind(lr_scheduler.StepLR(opt, step_size=10))
        'epoch'
        >>> scheduler_step_kind(lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2))
        'batch'
    """
    marked = getattr(scheduler, "interval", None)
    if marked is not None:
        if marked not in STEP_KINDS:
            raise ValueError(
                f"the scheduler's interval must be one of {list(STEP_KINDS)}, got "
                f"{marked!r}"
            )
        return marked
    cls = scheduler if isinstance(scheduler, type) else type(scheduler)
    for base in cls.__mro__:
        if base in STEP_TABLE:
            return STEP_TABLE[base]
    return "epoch"


def resolve_step_kind(
    scheduler: object, kind: str | None, name: str = "scheduler_step"
) -> StepKind:
    """``kind`` checked against ``scheduler``, or the scheduler's own when ``None``.

    The one check every loop of lrlib runs on a requested kind.

    Raises:
        ValueError: ``kind`` is not ``"epoch"``, ``"batch"`` or ``"metric"``,
            or not ``"metric"`` for a ``ReduceLROnPlateau`` (``name`` is the
            argument's name in the messages).
    """
    if kind is None:
        return scheduler_step_kind(scheduler)
    if kind not in STEP_KINDS:
        raise ValueError(f"{name} must be 'epoch', 'batch' or 'metric', got {kind!r}")
    if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau) and kind != "metric":
        raise ValueError(
            f"ReduceLROnPlateau is stepped with a measured metric, so {name} must be "
            f"'metric', got {kind!r}"
        )
    return kind  # type: ignore[return-value]


def takes_fractional_epochs(scheduler: object) -> bool:
    """Whether ``scheduler`` (or its class) is stepped with the fractional epoch.

    Example:
        >>> takes_fractional_epochs(lr_scheduler.CosineAnnealingWarmRestarts)
        True
        >>> takes_fractional_epochs(lr_scheduler.OneCycleLR)
        False
    """
    cls = scheduler if isinstance(scheduler, type) else type(scheduler)
    return issubclass(cls, FRACTIONAL_EPOCHS)


def fractional_epoch(epoch: int, batch: int, batches_per_epoch: int) -> float:
    """The epoch reached after batch ``batch`` (from 0) of epoch ``epoch`` (from 0).

    ``epoch + (batch + 1) / batches_per_epoch``: after the last batch of an
    epoch it is the next whole epoch, so the rate of the next batch is the
    schedule's value there and restarts come on time. (PyTorch's documentation
    passes ``epoch + batch / batches_per_epoch``, one batch behind.) The
    trainer and :func:`trace` both use this function, so they step a scheduler
    with the same floating-point epochs, bit for bit.

    Args:
        epoch: the epoch, counted from 0.
        batch: the batch of that epoch, counted from 0.
        batches_per_epoch: batches per epoch, ``len(train_loader)``.

    Returns:
        The fractional epoch.

    Example:
        >>> fractional_epoch(0, 0, 4), fractional_epoch(1, 3, 4)
        (0.25, 2.0)
    """
    return epoch + (batch + 1) / batches_per_epoch


def learning_rates(optimizer: Optimizer) -> list[float]:
    """Return the current learning rate of every parameter group, in order.

    Example:
        >>> w = torch.zeros(1, requires_grad=True)
        >>> learning_rates(torch.optim.SGD([{"params": [w], "lr": 0.5}], lr=0.1))
        [0.5]
    """
    return [float(group["lr"]) for group in optimizer.param_groups]


TRACE_OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
"""Optimizers :func:`trace` can build: SGD with momentum 0.9, or Adam."""

SchedulerFactory = Callable[[Optimizer], LRScheduler]
"""A function that builds a scheduler on the optimizer it is given."""


class DescribedScheduler(Protocol):
    """A scheduler described with a demonstration setup, which :func:`trace` builds.

    The book's catalog of schedulers (:mod:`lrlib.book.scheduler_catalog`)
    is a list of such descriptions. ``steps_on`` says what a traced step
    stands for (``"epoch"``, ``"batch"`` or ``"metric"``), ``demo_metrics``
    gives a made-up metric for a scheduler that steps on one (else ``None``),
    and ``fractional_epochs`` marks a scheduler stepped with fractional epochs.
    """

    steps_on: str
    fractional_epochs: bool
    demo_metrics: Callable[[int], Sequence[float]] | None

    def build(self, optimizer: Optimizer, steps: int) -> LRScheduler: ...

    def explore(
        self, optimizer: Optimizer, steps: int, **settings: Any
    ) -> LRScheduler: ...


def manual_step_decay(
    optimizer: Optimizer, epoch: int, *, every: int, gamma: float = 0.1
) -> list[float]:
    """Decay the learning rate of every parameter group
    by ``gamma`` every ``every`` epochs.

    Shown in chapter 6.

    This is the learning-rate schedule written by hand: a parameter group is a
    plain dict, and its ``"lr"`` entry is read afresh by each
    ``optimizer.step()``. Call this function at the start of each epoch, with
    the epoch's 0-based number. It multiplies every group's learning rate by
    ``gamma`` when ``epoch`` is a positive multiple of ``every``, so during
    epoch :math:`e` a group trains at :math:`\\eta_0 \\gamma^{\\lfloor e / k
    \\rfloor}`, exactly like :class:`~torch.optim.lr_scheduler.StepLR` stepped
    at the end of each epoch. Call it once per epoch: each call at a multiple
    of ``every`` decays again.

    Args:
        optimizer: the optimizer whose parameter groups are changed in place.
        epoch: the number of the epoch about to start, counting from 0.
        every: the number of epochs between two decays.
        gamma: the factor applied at each decay (0.1 divides the learning
            rate by ten).

    Returns:
        The learning rate of each parameter group for this epoch.

    Raises:
        TypeError: ``optimizer`` is not a :class:`torch.optim.Optimizer`.
        ValueError: ``epoch`` is negative, ``every`` is not a positive
            integer, or ``gamma`` is not positive.

    Example:
        >>> model = torch.nn.Linear(2, 1)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> [
        ...     manual_step_decay(optimizer, epoch, every=2, gamma=0.5)[0]
        ...     for epoch in range(5)
        ... ]
        [0.1, 0.1, 0.05, 0.05, 0.025]
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    check_int("epoch", epoch, low=0)
    check_int("every", every, low=1)
    if not gamma > 0:
        raise ValueError(f"gamma must be positive, got {gamma!r}")

    if epoch > 0 and epoch % every == 0:
        for group in optimizer.param_groups:
            group["lr"] *= gamma
    return [group["lr"] for group in optimizer.param_groups]


CYCLE_EPOCHS: tuple[int, int] = (2, 10)
"""The book's rule of thumb for a :class:`~torch.optim.lr_scheduler.CyclicLR`
cycle: from two to ten epochs, rising for half of it and falling for the other
half. (Smith's rule is stated for the half cycle, see :func:`cycle_from_loader`.)

Explained on the reference page "Every scheduler, exactly".
"""


@dataclass(frozen=True)
class CycleLength:
    """A :class:`~torch.optim.lr_scheduler.CyclicLR` cycle, counted in mini-batches.

    Attributes:
        step_size_up: batches during which the learning rate rises (half a cycle).
        step_size_down: batches during which it falls back (the other half).
    """

    step_size_up: int
    step_size_down: int

    @property
    def batches(self) -> int:
        """The length of a whole cycle, in batches."""
        return self.step_size_up + self.step_size_down

    def kwargs(self) -> dict[str, int]:
        """``step_size_up`` and ``step_size_down``, to pass on to ``CyclicLR``."""
        return {
            "step_size_up": self.step_size_up,
            "step_size_down": self.step_size_down,
        }


def cycle_from_loader(
    batches_per_epoch: int, epochs_per_cycle: float = 2
) -> CycleLength:
    """Size a CyclicLR cycle in batches from the length of the training loader.

    Shown in chapters 7, 8 and 9. Explained on the reference page "Every
    scheduler, exactly".

    ``CyclicLR`` counts ``scheduler.step()`` calls, one per mini-batch, and
    its ``step_size_up`` is *half* a cycle: the learning rate rises for
    ``step_size_up`` batches and falls for ``step_size_down`` more (by
    default as many). A cycle of ``epochs_per_cycle`` epochs is therefore
    ``batches_per_epoch * epochs_per_cycle`` batches, split into two halves;
    when that number is odd, the falling half gets the extra batch, so that
    every cycle ends exactly on the epoch it should.

    Smith (2017, "Cyclical Learning Rates for Training Neural Networks")
    calls the half cycle the *stepsize* and found a stepsize of two to ten
    epochs' worth of iterations to work well, that is cycles of four to twenty
    epochs. The book's short runs use shorter cycles, two to ten epochs
    (:data:`CYCLE_EPOCHS`), and this function accepts only those.

    Args:
        batches_per_epoch: mini-batches per epoch, ``len(train_loader)``.
        epochs_per_cycle: epochs in one whole cycle (up and down), from
            ``CYCLE_EPOCHS[0]`` to ``CYCLE_EPOCHS[1]``; fractions are allowed.

    Returns:
        A :class:`CycleLength`; ``CyclicLR(optimizer, base_lr, max_lr,
        **cycle.kwargs())`` uses it.

    Raises:
        ValueError: ``batches_per_epoch`` is not a positive int, or
            ``epochs_per_cycle`` is not a number from two to ten.

    Example:
        >>> cycle = cycle_from_loader(batches_per_epoch=158, epochs_per_cycle=2)
        >>> cycle.step_size_up, cycle.step_size_down, cycle.batches
        (158, 158, 316)
        >>> cycle_from_loader(15, 3).kwargs()
        {'step_size_up': 22, 'step_size_down': 23}
    """
    check_int("batches_per_epoch", batches_per_epoch, low=1)
    low, high = CYCLE_EPOCHS
    if (
        isinstance(epochs_per_cycle, bool)
        or not isinstance(epochs_per_cycle, (int, float))
        or not low <= epochs_per_cycle <= high
    ):
        # Worded for the reader (chapter 6 shows this message), not by _validation.
        raise ValueError(
            f"epochs_per_cycle must be a number from {low} to {high} (a whole cycle, "
            f"up and down), got {epochs_per_cycle!r}"
        )
    batches = round(batches_per_epoch * epochs_per_cycle)
    up = batches // 2
    return CycleLength(step_size_up=up, step_size_down=batches - up)


@dataclass(frozen=True, eq=False)
class ScheduleTrace:
    """The learning rates (and momenta) a scheduler produces, step by step.

    Row ``t`` of :attr:`lr` is the learning rate used by the ``t``-th
    ``optimizer.step()``: row 0 holds the learning rate right after the
    scheduler was created, *before* any ``scheduler.step()``; row ``t`` holds
    it after ``t`` calls of ``scheduler.step()``.

    Attributes:
        name: the scheduler's class name.
        lr: array of shape ``(steps, groups)``, one column per parameter group.
        momentum: array of the same shape with the optimizer's momentum (SGD)
            or first beta (Adam) at each step, when the scheduler cycles it;
            otherwise ``None``.
        momentum_name: ``"momentum"``, ``"beta1"``, or ``None`` with
            :attr:`momentum`.
        steps_on: ``"epoch"``, ``"batch"`` or ``"metric"`` when traced from a
            :class:`DescribedScheduler` (a catalog entry), what each traced
            step stands for: the entry's ``steps_on``, except ``"epoch"`` for
            a scheduler that takes fractional epochs traced without
            ``steps_per_epoch`` (each
            ``step()`` is then a whole epoch); ``None`` when traced from a
            bare factory.
        steps_per_epoch: the number of steps per epoch when the scheduler was
            stepped with fractional epochs, else ``None``.
    """

    name: str
    lr: np.ndarray
    momentum: np.ndarray | None = None
    momentum_name: str | None = None
    steps_on: str | None = None
    steps_per_epoch: int | None = None

    @property
    def steps(self) -> int:
        """The number of steps traced."""
        return self.lr.shape[0]

    @property
    def groups(self) -> int:
        """The number of parameter groups traced."""
        return self.lr.shape[1]

    @property
    def x(self) -> np.ndarray:
        """The step numbers ``0, 1, ...``, or the epochs ``t / steps_per_epoch``."""
        t = np.arange(self.steps, dtype=float)
        return t if self.steps_per_epoch is None else t / self.steps_per_epoch


def trace(
    source: DescribedScheduler | SchedulerFactory,
    steps: int,
    *,
    lr: float | Sequence[float] = 0.1,
    optimizer: Literal["sgd", "adam"] = "sgd",
    metrics: Sequence[float] | None = None,
    steps_per_epoch: int | None = None,
    settings: Mapping[str, Any] | None = None,
) -> ScheduleTrace:
    """Record the learning rate a scheduler sets over ``steps`` steps, without training.

    Shown in chapters 6 and 7.

    The scheduler runs on a throwaway optimizer holding one dummy parameter per
    parameter group. The parameters have no gradient, so ``optimizer.step()``
    changes nothing; it is called once, before the first ``scheduler.step()``,
    which is the call PyTorch checks when it warns about stepping the scheduler
    before the optimizer. (Calling it at every step would change no number
    and make tracing about three times slower.) No warning is silenced: a correct
    scheduler traces without any.

    Each step records the learning rate in effect, then advances the scheduler
    by one of:

    * ``scheduler.step(metrics[t])`` for a scheduler that steps on a metric
      (:class:`~torch.optim.lr_scheduler.ReduceLROnPlateau`);
    * ``scheduler.step(fractional_epoch(epoch, batch, steps_per_epoch))``, with
      ``epoch, batch = divmod(t, steps_per_epoch)``, when ``steps_per_epoch``
      is given (fractional epochs, for the schedulers of
      :data:`FRACTIONAL_EPOCHS`:
      :class:`~torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`), so that
      the learning rate of step ``t`` is the schedule at epoch
      ``t / steps_per_epoch``. The trainer steps such a scheduler with the same
      :func:`fractional_epoch`, bit for bit.
    * ``scheduler.step()`` otherwise.

    Args:
        source: a function that builds a scheduler on the optimizer it
            receives, e.g. ``lambda opt: StepLR(opt, step_size=10)``, or a
            :class:`DescribedScheduler` (an entry of the book's catalog),
            whose demo configuration is built for ``steps`` steps.
        steps: the number of steps to record.
        lr: the optimizer's learning rate; a sequence makes one parameter
            group per value.
        optimizer: ``"sgd"`` (SGD with momentum 0.9) or ``"adam"``, to see a
            scheduler cycle Adam's first beta instead of SGD's momentum.
        metrics: one metric value per step, for a scheduler that steps on a
            metric. An entry's demo metric is used when this is ``None``.
        steps_per_epoch: step with fractional epochs, this many steps per
            epoch (only CosineAnnealingWarmRestarts accepts them).
        settings: knob values for an entry: build the scheduler with its
            ``explore`` method (the explorer's configuration) instead of the
            entry's demo; ``{}`` means every knob at its default.

    Returns:
        A :class:`ScheduleTrace` with ``steps`` rows; row 0 is the learning
        rate before any ``scheduler.step()``, row ``t`` the one after ``t``.

    Raises:
        TypeError: ``source`` is neither an entry nor callable.
        ValueError: a bad ``steps``, ``lr``, ``optimizer``,
            ``steps_per_epoch`` or ``settings``; ``metrics`` missing for a
            metric-driven scheduler, given for another one, or of the wrong
            length; a factory that builds its scheduler on another optimizer;
            ``settings`` given with a factory.

    Example:
        >>> from torch.optim.lr_scheduler import StepLR
        >>> def step_lr(opt):
        ...     return StepLR(opt, step_size=2, gamma=0.5)
        >>> result = trace(step_lr, steps=5, lr=1.0)
        >>> result.lr[:, 0].tolist()
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    check_int("steps", steps, low=1)
    if steps_per_epoch is not None:
        check_int("steps_per_epoch", steps_per_epoch, low=1)
    opt = _throwaway_optimizer(optimizer, lr)
    scheduler = _build_scheduler(source, opt, steps, settings)
    name = type(scheduler).__name__
    steps_on = None if callable(source) else source.steps_on
    if steps_on == "batch" and steps_per_epoch is None and source.fractional_epochs:
        steps_on = "epoch"  # stepped without an epoch, each step() is a whole epoch
    if metrics is None and not callable(source) and source.demo_metrics is not None:
        metrics = source.demo_metrics(steps)
    needs_metric = scheduler_step_kind(scheduler) == "metric"
    metrics = _check_metrics(name, needs_metric, metrics, steps)
    if steps_per_epoch is not None and not takes_fractional_epochs(scheduler):
        fractional = [cls.__name__ for cls in FRACTIONAL_EPOCHS]
        raise ValueError(
            "steps_per_epoch (fractional epochs) needs a scheduler whose step() takes "
            f"a float epoch ({', '.join(fractional)}); got {name}"
        )

    momentum_name = None
    if getattr(scheduler, "cycle_momentum", False):
        momentum_name = "beta1" if "betas" in opt.defaults else "momentum"

    groups = opt.param_groups
    lrs = np.empty((steps, len(groups)))
    momenta = np.empty((steps, len(groups))) if momentum_name else None
    opt.step()  # a no-op update that marks the optimizer as stepped first
    for t in range(steps):
        for g, group in enumerate(groups):
            lrs[t, g] = group["lr"]
            if momenta is not None:
                momenta[t, g] = (
                    group["betas"][0] if momentum_name == "beta1" else group["momentum"]
                )
        if metrics is not None:
            scheduler.step(metrics[t])
        elif steps_per_epoch is not None:
            epoch, batch = divmod(t, steps_per_epoch)
            scheduler.step(fractional_epoch(epoch, batch, steps_per_epoch))
        else:
            scheduler.step()

    return ScheduleTrace(
        name=name,
        lr=lrs,
        momentum=momenta,
        momentum_name=momentum_name,
        steps_on=steps_on,
        steps_per_epoch=steps_per_epoch,
    )


def _build_scheduler(
    source: DescribedScheduler | SchedulerFactory,
    opt: Optimizer,
    steps: int,
    settings: Mapping[str, Any] | None,
) -> LRScheduler:
    """Build the entry's demo (or explored) scheduler,
    or call the factory, on ``opt``.
    """
    if not callable(source) and hasattr(source, "build"):  # a described scheduler
        if settings is None:
            return source.build(opt, steps)
        return source.explore(opt, steps, **settings)
    if settings is not None:
        raise ValueError(
            "settings are knob values of a SchedulerEntry; a factory takes none"
        )
    if not callable(source):
        raise TypeError(
            f"source must be a SchedulerEntry or a function optimizer -> scheduler, "
            f"got {type(source).__name__}"
        )
    scheduler = source(opt)
    if getattr(scheduler, "optimizer", None) is not opt:
        raise ValueError(
            "the factory must build its scheduler on the optimizer it receives; it "
            f"returned {type(scheduler).__name__} on "
            f"{getattr(scheduler, 'optimizer', None)!r}"
        )
    return scheduler


def _throwaway_optimizer(kind: str, lr: float | Sequence[float]) -> Optimizer:
    """An optimizer over dummy parameters, one parameter group per learning rate."""
    lrs = [lr] if isinstance(lr, (int, float)) else list(lr)
    if not lrs or not all(
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value > 0
        and math.isfinite(value)
        for value in lrs
    ):
        raise ValueError(
            f"lr must be a positive number or a non-empty sequence of them, got {lr!r}"
        )
    groups = [
        {"params": [torch.zeros(1, requires_grad=True)], "lr": float(value)}
        for value in lrs
    ]
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lrs[0], betas=(0.9, 0.999))
    raise ValueError(f"optimizer must be one of {TRACE_OPTIMIZERS}, got {kind!r}")


def _check_metrics(
    name: str, needs_metric: bool, metrics: Sequence[float] | None, steps: int
) -> Sequence[float] | None:
    if needs_metric and metrics is None:
        raise ValueError(f"{name} steps on a metric: pass metrics=, one value per step")
    if not needs_metric and metrics is not None:
        raise ValueError(f"{name} does not step on a metric, but metrics were given")
    if metrics is not None and len(metrics) != steps:
        raise ValueError(
            f"metrics must hold one value per step ({steps}), got {len(metrics)}"
        )
    return metrics


_X_LABELS = {
    "epoch": "epoch",
    "batch": "batch (iteration)",
    "metric": "epoch (one metric value each)",
    None: "scheduler step",
}


def plot_trace(
    result: ScheduleTrace,
    ax: Axes | None = None,
    *,
    log_lr: bool = False,
    title: str | None = None,
    xlabel: str | None = None,
) -> Axes:
    """Plot a traced learning rate, with the momentum on a twin axis when it cycles.

    Shown in chapter 6.

    Args:
        result: what :func:`trace` returned.
        ax: the axes to draw on; a new figure's axes when ``None``.
        log_lr: use a logarithmic learning-rate axis.
        title: the axes title; the scheduler's name when ``None``.
        xlabel: the x-axis label; by default it says what the scheduler steps
            on (an entry's ``steps_on``), or ``"epoch"`` for fractional epochs.

    Returns:
        The axes holding the learning rate. The momentum, when there is one,
        goes on a twin made by ``ax.twinx()``, sharing the x axis.

    Example:
        >>> from lrlib.book import find_entry
        >>> # draws a figure
        >>> result = trace(find_entry("OneCycleLR"), steps=100)
        >>> ax = plot_trace(result)  # doctest: +SKIP
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    x = result.x
    lr_color = "tab:blue"
    many = result.groups > 1
    lines = []
    for g in range(result.groups):
        label = f"lr (group {g})" if many else "lr"
        lines += ax.plot(
            x,
            result.lr[:, g],
            color=lr_color,
            alpha=1.0 - 0.5 * g / result.groups,
            label=label,
        )
    if xlabel is None:
        xlabel = (
            "epoch"
            if result.steps_per_epoch
            else _X_LABELS.get(result.steps_on, "step")
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("learning rate", color=lr_color)
    if log_lr:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)  # so that a halving looks like one
    ax.set_title(result.name if title is None else title)

    if result.momentum is not None:
        twin = ax.twinx()
        for g in range(result.groups):
            label = (
                f"{result.momentum_name} (group {g})" if many else result.momentum_name
            )
            lines += twin.plot(
                x,
                result.momentum[:, g],
                color="tab:orange",
                linestyle="--",
                label=label,
            )
        twin.set_ylabel(result.momentum_name, color="tab:orange")
    if many:  # with one group, the coloured axis labels say which line is which
        ax.legend(
            lines, [line.get_label() for line in lines], loc="best", fontsize="small"
        )
    return ax


def gallery(
    results: Sequence[ScheduleTrace],
    *,
    ncols: int = 4,
    log_lr: bool = False,
    panel_size: tuple[float, float] = (3.2, 2.4),
) -> Figure:
    """Draw several traces side by side, one panel each.

    Shown in chapter 6.

    The website shows this figure where the notebook has its interactive
    scheduler explorer.

    Args:
        results: the traces to draw, e.g.
            ``[trace(entry, steps=200) for entry in CATALOG]``.
        ncols: panels per row.
        log_lr: use logarithmic learning-rate axes.
        panel_size: width and height of one panel, in inches.

    Returns:
        A new :class:`~matplotlib.figure.Figure`.

    Raises:
        ValueError: ``results`` is empty or ``ncols`` is not a positive int.
    """
    if not results:
        raise ValueError("results must hold at least one ScheduleTrace, got none")
    check_int("ncols", ncols, low=1)
    import matplotlib.pyplot as plt

    ncols = min(ncols, len(results))
    nrows = math.ceil(len(results) / ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
        squeeze=False,
        layout="constrained",
    )
    for ax, result in zip(axes.flat, results):
        plot_trace(result, ax, log_lr=log_lr)
    for ax in axes.flat[len(results) :]:
        ax.set_visible(False)
    return fig
