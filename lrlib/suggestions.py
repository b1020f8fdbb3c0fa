"""Rules that read a learning rate off an LR range test curve.

An LR range test is one short training run whose learning rate grows at
every step, and it gives a curve: the loss recorded at each rate. The test
trains cumulatively, so the loss at rate ``r_i`` is that of mini-batch ``i``
at the weights all the earlier steps (at smaller rates) left, measured before
the step at ``r_i`` is taken; it is not what one step at ``r_i`` would do to
the untrained model. The curve is usually flat at first, then falls, and
shoots up once the rates are too large: a lopsided U. Each rule below turns
that curve into one suggested learning rate. They are pure functions of two
arrays, so they work on any curve: ours (:func:`lrlib.range_test`),
torch-lr-finder's ``history``, or one typed in by hand.

None of them is an oracle: compare them on the same curve, then train with the
candidates (the book does both).

Every rule needs a curve that goes down somewhere. On one that never gets below
its first point (a test that started too high, or a model that cannot learn),
each rule still returns a number, but the :class:`Suggestion` says that it is
not usable (``usable=False``) and why (``note``): see :func:`_has_descent`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "suggest_all",
    "valley",
]

NO_DESCENT_NOTE = (
    "the loss never falls below its first value, so the curve has no descent to read a "
    "learning rate from; start the test at a lower learning rate (or check that the "
    "model can learn at all)"
)
"""The :attr:`Suggestion.note` of a suggestion made on a curve without a descent."""


@dataclass(frozen=True, repr=False)
class Suggestion:
    """A learning rate suggested by a rule.

    Attributes:
        rule: the name of the rule (``"steepest"``, ``"minimum/10"``, ``"valley"``).
        lr: the suggested learning rate.
        index: the position on the curve the rule picked (for ``minimum/10``,
            the minimum itself, whose learning rate is then divided by 10).
        usable: ``False`` when the curve the rule searched has no descent (see
            :func:`_has_descent`): ``lr`` is then what the rule computes, but it
            means nothing. Default: ``True``.
        note: why the suggestion is not usable; empty when it is.

    Example:
        >>> Suggestion("valley", 0.01, 3)
        Suggestion(rule='valley', lr=0.01, index=3)
    """

    rule: str
    lr: float
    index: int
    usable: bool = True
    note: str = ""

    def __repr__(self) -> str:
        text = f"Suggestion(rule={self.rule!r}, lr={self.lr!r}, index={self.index!r}"
        if not self.usable or self.note:
            text += f", usable={self.usable!r}, note={self.note!r}"
        return text + ")"


def _has_descent(losses: ArrayLike) -> bool:
    """Whether a curve goes below its first point anywhere.

    A range test's curve should start on a plateau and then fall. If no loss
    is lower than the first one, the test never found a learning rate at which
    the model learns faster than at the start: the rules have nothing to read,
    and their results are flagged as not usable.

    Args:
        losses: the (smoothed) losses, at least one, finite.

    Returns:
        ``True`` when some loss is strictly lower than the first.

    Example:
        >>> _has_descent([2.0, 1.5, 3.0]), _has_descent([1.0, 1.0, 2.0, 3.0])
        (True, False)
    """
    losses = np.asarray(losses, dtype=float)
    return bool(losses.size and np.min(losses) < losses[0])


def _suggestion(rule: str, lr: float, index: int, searched: np.ndarray) -> Suggestion:
    if _has_descent(searched):
        return Suggestion(rule, lr, index)
    return Suggestion(rule, lr, index, usable=False, note=NO_DESCENT_NOTE)


def _steepest_descent(
    lrs: ArrayLike, losses: ArrayLike, *, skip_start: int = 0, skip_end: int = 0
) -> Suggestion:
    """Suggest the learning rate where the loss falls fastest.

    The slope is taken with respect to ``log10(lr)`` (one unit = a factor of
    10 in the learning rate), by central differences (``np.gradient``). The
    first and last points are the noisiest, so they can be left out of the
    search: ``skip_start`` and ``skip_end`` points are dropped from the curve
    before differentiating.

    Args:
        lrs: the learning rates, positive and strictly increasing.
        losses: the (preferably smoothed) loss at each learning rate.
        skip_start: number of points to drop at the start.
        skip_end: number of points to drop at the end.

    Returns:
        A :class:`Suggestion` whose ``index`` refers to the full curve; not
        usable when the points searched (after skipping) have no descent.

    Raises:
        ValueError: the curve is invalid (see :func:`_minimum_over_ten`), fewer
            than 3 points remain after skipping, or a remaining learning rate
            is not positive (its logarithm does not exist).

    Example:
        >>> lrs = np.logspace(-4, 0, 5)
        >>> _steepest_descent(lrs, [2.3, 2.2, 1.2, 0.9, 3.0])
        Suggestion(rule='steepest', lr=0.01, index=2)
    """
    lrs, losses = _checked_curve(lrs, losses)
    if skip_start < 0 or skip_end < 0:
        raise ValueError(
            f"skip_start and skip_end must be >= 0, got {skip_start} and {skip_end}"
        )
    stop = len(lrs) - skip_end
    if stop - skip_start < 3:
        raise ValueError(
            f"need at least 3 points after skipping {skip_start} at the start and "
            f"{skip_end} at the end of a curve of {len(lrs)} points"
        )
    lrs, losses = lrs[skip_start:stop], losses[skip_start:stop]
    if lrs[0] <= 0:
        raise ValueError(
            "steepest descent needs positive learning rates "
            f"(it uses log10), got {lrs[0]}"
        )
    slopes = np.gradient(losses, np.log10(lrs))
    index = int(np.argmin(slopes))
    return _suggestion("steepest", float(lrs[index]), skip_start + index, losses)


def _minimum_over_ten(lrs: ArrayLike, losses: ArrayLike) -> Suggestion:
    """Suggest a tenth of the learning rate at which the loss is lowest.

    A rule of thumb: at the minimum the learning rate is about to become too
    large, and one order of magnitude below it is meant to leave a margin
    while still training fast. Check it by training (chapter 3 does).

    Args:
        lrs: the learning rates, non-negative and strictly increasing.
        losses: the (preferably smoothed) loss at each learning rate.

    Returns:
        A :class:`Suggestion`; its ``index`` is the minimum's position. Not
        usable when the minimum is the first point (no descent).

    Raises:
        ValueError: the arrays are not 1-D, differ in length, have fewer than
            3 points, hold NaN or infinite values, or the learning rates are
            negative or not strictly increasing.

    Example:
        >>> _minimum_over_ten([0.001, 0.01, 0.1, 1.0], [2.0, 1.5, 1.0, 4.0])
        Suggestion(rule='minimum/10', lr=0.01, index=2)
    """
    lrs, losses = _checked_curve(lrs, losses)
    index = int(np.argmin(losses))
    return _suggestion("minimum/10", float(lrs[index] / 10), index, losses)


def valley(lrs: ArrayLike, losses: ArrayLike) -> Suggestion:
    """Suggest a point two thirds of the way down the longest descent.

    Shown in chapter 3.

    The idea (popularised by fastai): the best learning rates lie where the
    loss keeps going down for a long time, not at a single steep but noisy
    spot. Our formulation:

    1. Find the longest stretch of consecutive points in which every step
       lowers the loss (the earliest one if several are equally long).
    2. Go two thirds of the way along it, counted in points (in an
       exponential test, equal steps in ``log10(lr)``).

    Far enough down to be fast, well before the bottom where the loss starts
    to blow up. Use it on a smoothed curve: noise breaks descents into pieces.
    A curve that never descends has no valley: the rule then returns the
    first point, flagged as not usable, a sign that the test should start
    lower. So is any valley on a curve that never gets below its first point.

    Args:
        lrs: the learning rates, non-negative and strictly increasing.
        losses: the smoothed loss at each learning rate.

    Returns:
        A :class:`Suggestion`.

    Raises:
        ValueError: the curve is invalid (see :func:`_minimum_over_ten`).

    Example:
        >>> lrs = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
        >>> valley(lrs, [2.0, 2.1, 1.9, 1.5, 1.0, 3.0])
        Suggestion(rule='valley', lr=0.1, index=3)
        >>> valley(lrs, [1.0, 1.2, 1.5, 2.0, 3.0, 5.0]).usable
        False
    """
    lrs, losses = _checked_curve(lrs, losses)
    descends = (
        np.diff(losses) < 0
    )  # descends[k]: the step from point k to k+1 goes down
    best_start, best_steps = 0, 0
    run_start = 0
    for k, down in enumerate(descends):
        if not down:
            run_start = k + 1  # a rise ends the stretch; the next one may start here
        elif k + 1 - run_start > best_steps:
            best_start, best_steps = run_start, k + 1 - run_start
    index = best_start + (2 * best_steps) // 3
    return _suggestion("valley", float(lrs[index]), index, losses)


def suggest_all(lrs: ArrayLike, losses: ArrayLike) -> dict[str, Suggestion]:
    """Apply every rule, with its default settings, to the same curve.

    Args:
        lrs: the learning rates, positive and strictly increasing.
        losses: the smoothed loss at each learning rate.

    Returns:
        ``{rule name: Suggestion}`` for ``"steepest"``, ``"minimum/10"`` and
        ``"valley"``; all of them not usable when the curve has no descent.

    Raises:
        ValueError: the curve is invalid (see :func:`_steepest_descent`).

    Example:
        >>> lrs = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
        >>> losses = [2.0, 1.9, 1.5, 1.0, 0.9, 3.0]
        >>> {rule: s.lr for rule, s in suggest_all(lrs, losses).items()}
        {'steepest': 0.01, 'minimum/10': 0.1, 'valley': 0.01}
    """
    suggestions = (
        _steepest_descent(lrs, losses),
        _minimum_over_ten(lrs, losses),
        valley(lrs, losses),
    )
    return {s.rule: s for s in suggestions}


def _checked_curve(lrs: ArrayLike, losses: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    lrs = np.asarray(lrs, dtype=float)
    losses = np.asarray(losses, dtype=float)
    if lrs.ndim != 1 or losses.ndim != 1:
        raise ValueError(
            f"lrs and losses must be 1-D, got shapes {lrs.shape} and {losses.shape}"
        )
    if len(lrs) != len(losses):
        raise ValueError(
            "lrs and losses must have the same length, "
            f"got {len(lrs)} and {len(losses)}"
        )
    if len(lrs) < 3:
        raise ValueError(f"a curve needs at least 3 points, got {len(lrs)}")
    for name, values in (("lrs", lrs), ("losses", losses)):
        if not np.all(np.isfinite(values)):
            bad = values[~np.isfinite(values)][0]
            raise ValueError(f"{name} must be finite, found {bad}")
    if lrs[0] < 0 or np.any(np.diff(lrs) <= 0):
        raise ValueError(
            "lrs must be non-negative and strictly increasing, got "
            f"{np.array2string(lrs, precision=3, threshold=8)}"
        )
    return lrs, losses
