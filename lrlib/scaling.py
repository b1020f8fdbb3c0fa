"""Scaling the learning rate with the batch size, and warming it up.

A mini-batch gradient is an average over ``B`` samples. Multiply ``B`` by
``k`` and one step sees ``k`` times as much data, but an epoch has ``k``
times fewer steps. Two rules say how to change the learning rate to make up
for it (:func:`scaled_lr`):

* the **linear** rule (Goyal et al., 2017, for SGD): multiply the rate by
  ``k``, so that one large step moves about as far as the ``k`` small steps it
  replaces;
* the **square-root** rule (used with Adam and other adaptive optimizers):
  multiply it by ``sqrt(k)``, which keeps the *noise* of the update, rather
  than its mean, at the same level.

Both are approximations that hold only while the rate stays below the
largest stable one; a large rate applied to a freshly initialized network is
what warmup is for. :func:`warmup_cosine` builds the book's schedule: a
:class:`~torch.optim.lr_scheduler.LinearLR` warmup followed by a
:class:`~torch.optim.lr_scheduler.CosineAnnealingLR` decay, joined with
:class:`~torch.optim.lr_scheduler.SequentialLR`, counted in optimizer steps
(see :func:`steps_from_epochs`: the same number of epochs is a different
number of steps at every batch size).
"""

from __future__ import annotations

import math
from typing import Literal

from torch.optim import Optimizer
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    LinearLR,
    LRScheduler,
    SequentialLR,
)

from lrlib._validation import check_int, check_number

__all__ = [
    "scaled_lr",
    "steps_from_epochs",
    "warmup_cosine",
]

ScalingRule = Literal["linear", "sqrt", "none"]
"""How the learning rate follows the batch size (see :func:`scaled_lr`)."""

SCALING_RULES: tuple[str, ...] = ("linear", "sqrt", "none")
"""The rules :func:`scaled_lr` knows."""


def _positive_int(name: str, value: object) -> int:
    return check_int(name, value, low=1)


def scaled_lr(
    base_lr: float, base_batch: int, batch: int, rule: ScalingRule = "linear"
) -> float:
    """The learning rate for ``batch`` when ``base_lr`` suits ``base_batch``.

    Shown in chapter 9.

    With ``k = batch / base_batch``:

    * ``"linear"``: ``base_lr * k`` (Goyal et al., 2017; for SGD);
    * ``"sqrt"``: ``base_lr * sqrt(k)`` (the rule often used with Adam);
    * ``"none"``: ``base_lr``, the rate left as it was.

    Args:
        base_lr: a learning rate known to work at ``base_batch`` (positive).
        base_batch: the batch size ``base_lr`` was tuned for (a positive integer).
        batch: the new batch size (a positive integer).
        rule: ``"linear"``, ``"sqrt"`` or ``"none"``.

    Returns:
        The scaled learning rate.

    Raises:
        ValueError: a batch size is not a positive integer, ``base_lr`` is not
            a positive finite number, or ``rule`` is unknown.

    Example:
        >>> scaled_lr(0.01, 16, 256)
        0.16
        >>> scaled_lr(1e-3, 16, 256, rule="sqrt")
        0.004
    """
    _positive_int("base_batch", base_batch)
    _positive_int("batch", batch)
    check_number("base_lr", base_lr, low=0, include_low=False)
    factor = batch / base_batch
    if rule == "linear":
        return base_lr * factor
    if rule == "sqrt":
        return base_lr * math.sqrt(factor)
    if rule == "none":
        return float(base_lr)
    raise ValueError(f"rule must be one of {list(SCALING_RULES)}, got {rule!r}")


def steps_from_epochs(epochs: float, steps_per_epoch: int) -> int:
    """Turn a length in epochs (warmup, a cycle) into optimizer steps.

    Shown in chapter 9.

    Schedulers count ``step()`` calls. A warmup "of one epoch" is 158 steps
    with mini-batches of 16 and the book's 2,520 training images, but only
    10 steps with mini-batches of 256: a schedule written in steps must be
    recomputed whenever the batch size changes.

    Args:
        epochs: a non-negative length in epochs (may be fractional).
        steps_per_epoch: optimizer steps per epoch, ``len(train_loader)``.

    Returns:
        ``round(epochs * steps_per_epoch)``.

    Raises:
        ValueError: ``epochs`` is negative or not finite, or
            ``steps_per_epoch`` is not a positive integer.

    Example:
        >>> (steps_from_epochs(1, 158), steps_from_epochs(1, 10),
        ...  steps_from_epochs(0.5, 10))
        (158, 10, 5)
    """
    _positive_int("steps_per_epoch", steps_per_epoch)
    check_number("epochs", epochs, low=0)
    return round(epochs * steps_per_epoch)


def warmup_cosine(
    optimizer: Optimizer,
    *,
    total_steps: int,
    warmup_steps: int = 0,
    start_factor: float = 0.1,
    eta_min: float = 0.0,
) -> LRScheduler:
    """A linear warmup, then a cosine decay to ``eta_min``,
    stepped once per optimizer step.

    Shown in chapter 9.

    The rate of each parameter group starts at ``start_factor`` times its
    ``lr``, rises linearly to ``lr`` over ``warmup_steps`` steps
    (:class:`~torch.optim.lr_scheduler.LinearLR`), then follows half a cosine
    down to ``eta_min`` over the remaining steps
    (:class:`~torch.optim.lr_scheduler.CosineAnnealingLR`). The two are joined
    by :class:`~torch.optim.lr_scheduler.SequentialLR` at the milestone
    ``warmup_steps``. With ``warmup_steps=0`` the cosine alone is returned.

    Args:
        optimizer: the optimizer whose rates the schedule sets; its groups'
            ``lr`` is the peak.
        total_steps: optimizer steps in the whole run (positive).
        warmup_steps: steps of warmup, from 0 to ``total_steps - 1``.
        start_factor: the first rate of the warmup as a fraction of the peak,
            in (0, 1].
        eta_min: the rate the cosine ends at (non-negative).

    Returns:
        The scheduler; call its ``step()`` after every ``optimizer.step()``. It
        says so itself: its ``interval`` attribute is ``"batch"``, which
        :func:`lrlib.schedulers.scheduler_step_kind` (and so the trainer)
        reads, whatever classes the schedule is made of.

    Raises:
        ValueError: a length or factor is out of range.

    Example:
        >>> import torch
        >>> w = torch.nn.Parameter(torch.zeros(1))
        >>> opt = torch.optim.SGD([w], lr=1.0)
        >>> sched = warmup_cosine(opt, total_steps=6, warmup_steps=2, start_factor=0.5)
        >>> rates = []
        >>> for _ in range(6):
        ...     rates.append(round(sched.get_last_lr()[0], 3))
        ...     opt.step()
        ...     sched.step()
        >>> rates
        [0.5, 0.75, 1.0, 0.854, 0.5, 0.146]
    """
    _positive_int("total_steps", total_steps)
    check_int("warmup_steps", warmup_steps, low=0, high=total_steps - 1)
    check_number("start_factor", start_factor, low=0, high=1, include_low=False)
    check_number("eta_min", eta_min, low=0)
    if warmup_steps == 0:
        scheduler = CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=eta_min)
    else:
        warmup = LinearLR(
            optimizer,
            start_factor=start_factor,
            end_factor=1.0,
            total_iters=warmup_steps,
        )
        decay = CosineAnnealingLR(
            optimizer, T_max=total_steps - warmup_steps, eta_min=eta_min
        )
        scheduler = SequentialLR(optimizer, [warmup, decay], milestones=[warmup_steps])
    scheduler.interval = "batch"  # counted in optimizer steps, not epochs
    return scheduler
