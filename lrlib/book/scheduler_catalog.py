"""Every learning-rate scheduler PyTorch ships, described in one place.

Chapter 6 of the book opens with all of PyTorch's schedulers at a glance and
teaches six of them; its reference page, "Every scheduler, exactly", takes
every one in turn. This module is the list both walk through: one
:class:`SchedulerEntry` per scheduler, with what the scheduler steps on, its
formula, a one-line description and a demonstration configuration that
:func:`lrlib.schedulers.trace` can run.

Each entry also names the settings (:class:`Knob`) that the chapter's
interactive explorer lets a reader move, and :meth:`SchedulerEntry.explore`
builds the scheduler for any values of them. A knob's ``site`` values are the
ones the website, which has no Python behind it, precomputes pictures for;
:func:`scheduler_explorer` builds the explorer.

The list is checked against the installed PyTorch: :func:`discover_schedulers`
finds the scheduler classes PyTorch exposes, and :func:`check_coverage`
compares them with :data:`CATALOG`. The test suite fails when a new PyTorch
release adds a scheduler the book does not show, or drops one it does.

Notation used in the formulas: :math:`t` counts ``scheduler.step()`` calls
(0 before the first call), :math:`\\bar\\eta` is a parameter group's base
rate: its learning rate when the scheduler was created, which the scheduler
stores as the group's ``initial_lr`` (unless one is there already) and copies
into its ``base_lrs``; and :math:`\\eta_t` is the
learning rate after :math:`t` calls. :math:`\\eta_0`, the rate the scheduler
leaves when it is created, equals :math:`\\bar\\eta` except for the
schedulers that act at creation: ``ConstantLR``, ``LinearLR``, ``LambdaLR``
with :math:`\\lambda(0) \\ne 1`, ``CyclicLR`` and ``OneCycleLR``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from torch.optim import Optimizer, lr_scheduler, swa_utils

from lrlib._validation import check_int
from lrlib.schedulers import STEP_KINDS, learning_rates

__all__ = [
    "CATALOG",
    "Coverage",
    "EXPLORE_STEPS",
    "Knob",
    "SCHEDULER_MODULES",
    "STEPS_ON",
    "SchedulerEntry",
    "StepsOn",
    "check_coverage",
    "discover_schedulers",
    "find_entry",
    "scheduler_explorer",
]

SCHEDULER_MODULES: tuple[ModuleType, ...] = (lr_scheduler, swa_utils)
"""The modules searched by :func:`discover_schedulers`."""

StepsOn = Literal["epoch", "batch", "metric"]
STEPS_ON: tuple[str, ...] = STEP_KINDS
"""What a scheduler's ``step()`` is called after: an epoch, a mini-batch, or a
new value of a monitored metric (which ``step(metric)`` receives).

The rule itself is :func:`lrlib.schedulers.scheduler_step_kind` (its table,
:data:`lrlib.schedulers.STEP_TABLE`), which every training loop of lrlib
follows; each entry's ``steps_on`` states it for the chapter, and the tests
check that the two agree."""

_BASE_CLASSES = frozenset({"LRScheduler", "_LRScheduler"})

EXPLORE_STEPS: tuple[int, int] = (20, 300)
"""The run lengths, in steps, for which the knobs' ranges are chosen: every
setting of every knob gives a valid scheduler for runs this long."""


Number = int | float


@dataclass(frozen=True)
class Knob:
    """One setting of a scheduler that the chapter's explorer lets the reader move.

    A knob is either numeric, with a range and a resolution (drawn as a
    slider), or a choice among a few ``options`` (drawn as a drop-down list).

    Attributes:
        name: the keyword under which the value reaches the entry's
            ``explore_kwargs``; usually the scheduler argument of that name.
        default: the value the explorer starts from.
        low: the smallest value of a numeric knob.
        high: the largest value of a numeric knob.
        step: the resolution of a numeric knob. When ``default``, ``low``,
            ``high`` and ``step`` are all ints, the knob takes ints only.
        options: the values of a choice knob; empty for a numeric knob.
        site: the values the website's explorer precomputes a picture for,
            the default among them, numbers in increasing order; empty for a
            knob that only a live kernel moves (the website draws it at its
            default and does not show it).

    Raises:
        ValueError: a numeric knob without ``low < high`` and a positive
            ``step``, a default outside the range or the options, or
            ``site`` values the knob cannot take, repeated, out of order or
            without the default.

    Example:
        >>> Knob("gamma", 0.5, low=0.05, high=1.0, step=0.05).check(0.25)
        0.25
        >>> Knob("step_size", 25, low=1, high=100, step=1).integer
        True
        >>> Knob("gamma", 0.5, low=0.05, high=1.0, step=0.05, site=(0.1, 0.5)).site
        (0.1, 0.5)
    """

    name: str
    default: Any
    low: Number | None = None
    high: Number | None = None
    step: Number | None = None
    options: tuple[Any, ...] = ()
    site: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.options:
            if self.default not in self.options:
                raise ValueError(
                    f"knob {self.name!r}: "
                    f"default {self.default!r} is not one of {self.options}"
                )
            self._check_site()
            return
        numbers = (self.default, self.low, self.high, self.step)
        if not all(_is_number(value) for value in numbers):
            raise ValueError(
                f"knob {self.name!r}: a numeric knob needs numbers default, low, high "
                f"and step; got {numbers}"
            )
        if not (
            self.low < self.high
            and self.step > 0
            and self.low <= self.default <= self.high
        ):
            raise ValueError(
                f"knob {self.name!r}: expected low < high, step > 0 and low <= default "
                f"<= high; got low={self.low}, high={self.high}, step={self.step}, "
                f"default={self.default}"
            )
        self._check_site()

    def _check_site(self) -> None:
        if not self.site:
            return
        values = [self.check(value) for value in self.site]
        ordered = self.options or sorted(values)
        in_order = [value for value in ordered if value in values]
        if (
            len(set(map(repr, values))) != len(values)
            or values != in_order
            or self.default not in values
        ):
            raise ValueError(
                f"knob {self.name!r}: site values must be distinct, in the order of "
                f"the knob's values, and hold the default {self.default!r}; got "
                f"{self.site}"
            )

    @property
    def integer(self) -> bool:
        """True for a numeric knob that takes ints only."""
        numbers = (self.default, self.low, self.high, self.step)
        return not self.options and all(isinstance(value, int) for value in numbers)

    def check(self, value: Any) -> Any:
        """Return ``value`` if this knob can take it (an int for an integer knob).

        Raises:
            ValueError: ``value`` is not one of the options, not a number, out
                of range, or not a whole number for an integer knob.
        """
        if self.options:
            if value not in self.options:
                raise ValueError(
                    f"{self.name} must be one of {self.options}, got {value!r}"
                )
            return value
        if not _is_number(value) or not self.low <= value <= self.high:
            raise ValueError(
                f"{self.name} must be a number in [{self.low}, {self.high}], "
                f"got {value!r}"
            )
        if self.integer:
            if value != int(value):
                raise ValueError(f"{self.name} must be a whole number, got {value!r}")
            return int(value)
        return float(value)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


@dataclass(frozen=True)
class SchedulerEntry:
    """One learning-rate scheduler, as the book presents it.

    Attributes:
        cls: the scheduler class, e.g. :class:`torch.optim.lr_scheduler.StepLR`.
        steps_on: ``"epoch"``, ``"batch"`` or ``"metric"``: what each
            ``step()`` call should follow in a training loop.
        fractional_epochs: ``step()`` is given the epoch reached, a fraction
            (see :func:`lrlib.schedulers.fractional_epoch`), so that the periods of a
            scheduler stepped after every batch still count epochs
            (``CosineAnnealingWarmRestarts``). Only with ``steps_on="batch"``.
        demo_kwargs: ``demo_kwargs(optimizer, steps)`` returns the keyword
            arguments of a demonstration scheduler for ``optimizer`` that is
            meant to be stepped ``steps`` times. It is a function rather than a
            dict because some arguments need the optimizer (sub-schedulers of
            :class:`~torch.optim.lr_scheduler.SequentialLR`, per-group
            learning rates) or the length of the run (``total_steps`` of
            :class:`~torch.optim.lr_scheduler.OneCycleLR`). No demo goes above
            the optimizer's own learning rate, and most reach it.
        description: one line saying what the scheduler does.
        formula: the learning rate as a LaTeX formula (math mode, without the
            surrounding ``$``), in the notation of this module's docstring.
        cycles_momentum: whether the demo configuration also changes the
            optimizer's momentum (SGD) or first beta (Adam).
        demo_metrics: for ``steps_on == "metric"`` only: ``demo_metrics(steps)``
            returns a made-up validation loss, one value per step, to feed
            ``step(metric)`` when tracing the demo (or the explorer's
            configuration).
        knobs: the settings the explorer lets a reader move.
        explore_kwargs: ``explore_kwargs(optimizer, steps, **settings)``
            returns the keyword arguments of the scheduler for one value of
            each knob (passed by the knob's name).

    Raises:
        ValueError: ``steps_on`` is not one of :data:`STEPS_ON`;
            ``demo_metrics`` is given for a scheduler that does not step on a
            metric (or missing for one that does); ``knobs`` are given without
            ``explore_kwargs`` (or the reverse), or two knobs share a name;
            ``fractional_epochs`` without ``steps_on="batch"``.
    """

    cls: type
    steps_on: StepsOn
    demo_kwargs: Callable[[Optimizer, int], dict[str, Any]]
    description: str
    formula: str
    cycles_momentum: bool = False
    demo_metrics: Callable[[int], Sequence[float]] | None = None
    knobs: tuple[Knob, ...] = ()
    explore_kwargs: Callable[..., dict[str, Any]] | None = None
    fractional_epochs: bool = False

    def __post_init__(self) -> None:
        if self.steps_on not in STEPS_ON:
            raise ValueError(
                f"{self.name}: steps_on must be one of {STEPS_ON}, "
                f"got {self.steps_on!r}"
            )
        if self.fractional_epochs and self.steps_on != "batch":
            raise ValueError(
                f"{self.name}: fractional_epochs needs steps_on='batch' (a fraction of "
                f"an epoch is reached after a batch), got steps_on={self.steps_on!r}"
            )
        if (self.steps_on == "metric") != (self.demo_metrics is not None):
            raise ValueError(
                f"{self.name}: demo_metrics must be given exactly when steps_on is "
                f"'metric'; got steps_on={self.steps_on!r} and "
                f"demo_metrics={self.demo_metrics!r}"
            )
        if bool(self.knobs) != (self.explore_kwargs is not None):
            raise ValueError(
                f"{self.name}: knobs and explore_kwargs go together; got "
                f"{len(self.knobs)} knob(s) and explore_kwargs={self.explore_kwargs!r}"
            )
        names = [knob.name for knob in self.knobs]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: knob names must differ, got {names}")

    @property
    def name(self) -> str:
        """The class name, e.g. ``"StepLR"``."""
        return self.cls.__name__

    @property
    def qualified_name(self) -> str:
        """The public import path, e.g. ``"torch.optim.lr_scheduler.StepLR"``."""
        for module in SCHEDULER_MODULES:
            if getattr(module, self.name, None) is self.cls:
                return f"{module.__name__}.{self.name}"
        return f"{self.cls.__module__}.{self.cls.__qualname__}"

    def build(self, optimizer: Optimizer, steps: int) -> lr_scheduler.LRScheduler:
        """Create the demonstration scheduler for ``optimizer``.

        Args:
            optimizer: the optimizer to schedule; it is modified the way any
                scheduler modifies it (its learning rates, maybe its momentum).
            steps: how many times the scheduler will be stepped.

        Returns:
            A new scheduler instance.

        Raises:
            ValueError: ``steps`` is not a positive integer.
        """
        check_int("steps", steps, low=1)
        # By keyword: ChainedScheduler takes the schedulers first and the
        # optimizer second, every other scheduler takes the optimizer first.
        return self.cls(optimizer=optimizer, **self.demo_kwargs(optimizer, steps))

    def explore(
        self, optimizer: Optimizer, steps: int, **settings: Any
    ) -> lr_scheduler.LRScheduler:
        """Create the scheduler the explorer shows for the given knob values.

        Args:
            optimizer: the optimizer to schedule, modified as by any scheduler.
            steps: how many times the scheduler will be stepped.
            **settings: a value for some of the :attr:`knobs`, by name; the
                others keep their default.

        Returns:
            A new scheduler instance.

        Raises:
            ValueError: ``steps`` outside :data:`EXPLORE_STEPS`, a name that
                is not a knob of this entry, or a value the knob cannot take.

        Example:
            >>> import torch
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
            >>> find_entry("StepLR").explore(opt, 100, gamma=0.25).gamma
            0.25
        """
        check_int("steps", steps, low=EXPLORE_STEPS[0], high=EXPLORE_STEPS[1])
        if self.explore_kwargs is None:
            raise ValueError(f"{self.name} has no knobs to explore")
        unknown = sorted(set(settings) - {knob.name for knob in self.knobs})
        if unknown:
            raise ValueError(
                f"{self.name} has no knob(s) {unknown}; its knobs are "
                f"{[knob.name for knob in self.knobs]}"
            )
        values = {
            knob.name: knob.check(settings.get(knob.name, knob.default))
            for knob in self.knobs
        }
        return self.cls(
            optimizer=optimizer, **self.explore_kwargs(optimizer, steps, **values)
        )


def _part(steps: int, fraction: float) -> int:
    """``fraction`` of ``steps``, rounded down but at least 1."""
    return max(1, int(steps * fraction))


# ---------------------------------------------------------------------------
# Demonstration configurations. Each takes (optimizer, steps) and scales its
# periods with `steps`, so a demo looks the same traced over 50 or 5,000 steps.
# ---------------------------------------------------------------------------


def _lambda_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    # Linear warmup to the full LR, then inverse-square-root decay.
    warmup = _part(steps, 0.1)
    return {"lr_lambda": lambda t: min((t + 1) / warmup, math.sqrt(warmup / (t + 1)))}


def _multiplicative_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    # Factors (c + t - 1) / (c + t) multiply up to c / (c + t): a 1/t decay.
    c = _part(steps, 0.1)
    return {"lr_lambda": lambda t: (c + t - 1) / (c + t)}


def _step_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    return {"step_size": _part(steps, 0.25), "gamma": 0.5}


def _multistep_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    return {"milestones": [_part(steps, 0.5), _part(steps, 0.75)], "gamma": 0.1}


def _constant_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    # Explicit total_iters: the default (5) is over before most plots begin.
    return {"factor": 0.5, "total_iters": _part(steps, 0.3)}


def _linear_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    return {"start_factor": 0.1, "end_factor": 1.0, "total_iters": _part(steps, 0.2)}


def _exponential_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    return {"gamma": 0.01 ** (1 / steps)}  # down to 1% of the initial LR


def _polynomial_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    return {"total_iters": steps, "power": 2.0}


def _cosine_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    return {"T_max": steps, "eta_min": 0.0}


def _chained_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    warmup = lr_scheduler.LinearLR(
        optimizer, start_factor=0.1, total_iters=_part(steps, 0.1)
    )
    decay = lr_scheduler.ExponentialLR(optimizer, gamma=0.05 ** (1 / steps))
    return {"schedulers": [warmup, decay]}


def _sequential_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    warmup_steps = _part(steps, 0.1)
    warmup = lr_scheduler.LinearLR(
        optimizer, start_factor=0.1, total_iters=warmup_steps
    )
    cosine = lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(1, steps - warmup_steps)
    )
    return {"schedulers": [warmup, cosine], "milestones": [warmup_steps]}


def _plateau_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    return {
        "mode": "min",
        "factor": 0.5,
        "patience": _part(steps, 0.1),
        "min_lr": [lr / 100 for lr in learning_rates(optimizer)],
    }


def _plateau_demo_metrics(steps: int) -> list[float]:
    """A validation loss that falls like 1/t for a quarter of the run, then stalls.

    Each fall is a relative improvement of 1/(t + 1), above the scheduler's
    default threshold (1e-4) as long as ``steps`` stays below 40,000.
    """
    stall = _part(steps, 0.25)
    return [1.0 / (1 + min(t, stall)) for t in range(steps)]


def _cyclic_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    lrs = learning_rates(optimizer)
    return {
        "base_lr": [lr / 10 for lr in lrs],
        "max_lr": lrs,
        "step_size_up": _part(steps, 0.125),  # four cycles
        "mode": "triangular",
        "cycle_momentum": True,  # needs an optimizer with momentum (or betas)
        "base_momentum": 0.8,
        "max_momentum": 0.9,
    }


def _one_cycle_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    # total_steps must match the number of steps taken: one more raises.
    return {"max_lr": learning_rates(optimizer), "total_steps": steps, "pct_start": 0.3}


def _warm_restarts_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    # Periods T_0, 2 T_0, 4 T_0: three cycles fill the run.
    return {"T_0": max(1, math.ceil(steps / 7)), "T_mult": 2, "eta_min": 0.0}


def _swa_demo(optimizer: Optimizer, steps: int) -> dict[str, Any]:
    return {
        "swa_lr": [lr / 4 for lr in learning_rates(optimizer)],
        "anneal_epochs": _part(steps, 0.25),
        "anneal_strategy": "cos",
    }


# ---------------------------------------------------------------------------
# Explorer configurations: (optimizer, steps, **knob values) -> keyword
# arguments. Where the knobs are the scheduler's own arguments, they are
# passed on as they are; the others say what each knob means.
# ---------------------------------------------------------------------------


def _as_given(optimizer: Optimizer, steps: int, **settings: Any) -> dict[str, Any]:
    """The knobs are the scheduler's own arguments."""
    return settings


def _lambda_explore(
    optimizer: Optimizer, steps: int, *, warmup: int, power: float
) -> dict[str, Any]:
    # Linear warmup over `warmup` steps, then a decay like 1 / t**power.
    return {"lr_lambda": lambda t: min((t + 1) / warmup, (warmup / (t + 1)) ** power)}


def _multiplicative_explore(
    optimizer: Optimizer, steps: int, *, factor: float, every: int
) -> dict[str, Any]:
    # Multiply by `factor` at every `every`-th step, by 1 otherwise.
    return {"lr_lambda": lambda t: factor if t % every == 0 else 1.0}


def _multistep_explore(
    optimizer: Optimizer, steps: int, *, first: int, second: int, gamma: float
) -> dict[str, Any]:
    return {"milestones": sorted([first, second]), "gamma": gamma}


def _chained_explore(
    optimizer: Optimizer, steps: int, *, warmup: int, gamma: float
) -> dict[str, Any]:
    linear = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup)
    return {"schedulers": [linear, lr_scheduler.ExponentialLR(optimizer, gamma=gamma)]}


def _sequential_explore(
    optimizer: Optimizer, steps: int, *, warmup: int, start_factor: float
) -> dict[str, Any]:
    linear = lr_scheduler.LinearLR(
        optimizer, start_factor=start_factor, total_iters=warmup
    )
    cosine = lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, steps - warmup))
    return {"schedulers": [linear, cosine], "milestones": [warmup]}


def _cyclic_explore(
    optimizer: Optimizer,
    steps: int,
    *,
    mode: str,
    step_size_up: int,
    base_lr: float,
    gamma: float,
) -> dict[str, Any]:
    # The optimizer's learning rate is the top of the cycle.
    return {
        "base_lr": base_lr,
        "max_lr": learning_rates(optimizer),
        "step_size_up": step_size_up,
        "mode": mode,
        "gamma": gamma,
    }


def _one_cycle_explore(
    optimizer: Optimizer, steps: int, **settings: Any
) -> dict[str, Any]:
    # The optimizer's learning rate is max_lr; the cycle fills the run.
    return {"max_lr": learning_rates(optimizer), "total_steps": steps, **settings}


# The catalog, in the order chapter 6 presents the schedulers.
CATALOG: tuple[SchedulerEntry, ...] = (
    SchedulerEntry(
        cls=lr_scheduler.LambdaLR,
        steps_on="epoch",
        demo_kwargs=_lambda_demo,
        description="The initial learning rate times any function of t you supply.",
        formula=r"\eta_t = \bar\eta \, \lambda(t)",
        knobs=(
            Knob("warmup", 10, low=1, high=100, step=1),
            Knob("power", 0.5, low=0.0, high=2.0, step=0.1),
        ),
        explore_kwargs=_lambda_explore,
    ),
    SchedulerEntry(
        cls=lr_scheduler.MultiplicativeLR,
        steps_on="epoch",
        demo_kwargs=_multiplicative_demo,
        description=(
            "Multiplies the current rate by whatever your function returns at t."
        ),
        formula=(
            r"\eta_t = \eta_{t-1} \, \lambda(t) "
            r"= \bar\eta \prod_{s=1}^{t} \lambda(s)"
        ),
        knobs=(
            Knob("factor", 0.8, low=0.5, high=1.0, step=0.01),
            Knob("every", 10, low=1, high=50, step=1),
        ),
        explore_kwargs=_multiplicative_explore,
    ),
    SchedulerEntry(
        cls=lr_scheduler.StepLR,
        steps_on="epoch",
        demo_kwargs=_step_demo,
        description="A staircase: multiplies the rate by gamma every step_size epochs.",
        formula=r"\eta_t = \bar\eta \, \gamma^{\lfloor t / s \rfloor}",
        knobs=(
            Knob("step_size", 25, low=1, high=100, step=1),
            Knob(
                "gamma",
                0.5,
                low=0.05,
                high=1.0,
                step=0.05,
                site=(0.1, 0.25, 0.5, 0.75, 0.9),
            ),
        ),
        explore_kwargs=_as_given,
    ),
    SchedulerEntry(
        cls=lr_scheduler.MultiStepLR,
        steps_on="epoch",
        demo_kwargs=_multistep_demo,
        description="Multiplies the rate by gamma at each milestone epoch of a list.",
        formula=r"\eta_t = \bar\eta \, \gamma^{\left|\{m \in M \,:\, m \le t\}\right|}",
        knobs=(
            Knob("first", 50, low=1, high=300, step=1),
            Knob("second", 75, low=1, high=300, step=1),
            Knob("gamma", 0.1, low=0.05, high=1.0, step=0.05),
        ),
        explore_kwargs=_multistep_explore,
    ),
    SchedulerEntry(
        cls=lr_scheduler.ConstantLR,
        steps_on="epoch",
        demo_kwargs=_constant_demo,
        description=(
            "Scales the rate by factor for total_iters steps, then restores it."
        ),
        formula=(
            r"\eta_t = \begin{cases} f \, \bar\eta & t < T \\ "
            r"\bar\eta & t \ge T \end{cases}"
        ),
        knobs=(
            Knob("factor", 0.5, low=0.05, high=1.0, step=0.05),
            Knob("total_iters", 30, low=1, high=300, step=1),
        ),
        explore_kwargs=_as_given,
    ),
    SchedulerEntry(
        cls=lr_scheduler.LinearLR,
        steps_on="epoch",
        demo_kwargs=_linear_demo,
        description=(
            "Moves the multiplier linearly from start_factor to end_factor (warmup)."
        ),
        formula=(
            r"\eta_t = \bar\eta \left( f_{\mathrm{start}} + "
            r"(f_{\mathrm{end}} - f_{\mathrm{start}}) \frac{\min(t, T)}{T} \right)"
        ),
        knobs=(
            Knob("start_factor", 0.1, low=0.05, high=1.0, step=0.05),
            Knob("end_factor", 1.0, low=0.0, high=1.0, step=0.05),
            Knob("total_iters", 20, low=1, high=300, step=1),
        ),
        explore_kwargs=_as_given,
    ),
    SchedulerEntry(
        cls=lr_scheduler.ExponentialLR,
        steps_on="epoch",
        demo_kwargs=_exponential_demo,
        description="Multiplies the learning rate by gamma after every epoch.",
        formula=r"\eta_t = \bar\eta \, \gamma^{t}",
        knobs=(
            Knob(
                "gamma",
                0.97,
                low=0.8,
                high=1.0,
                step=0.005,
                site=(0.9, 0.95, 0.97, 0.98, 0.99),
            ),
        ),
        explore_kwargs=_as_given,
    ),
    SchedulerEntry(
        cls=lr_scheduler.PolynomialLR,
        steps_on="epoch",
        demo_kwargs=_polynomial_demo,
        description=(
            "Decays to zero as a power of the fraction of total_iters still to go."
        ),
        formula=r"\eta_t = \bar\eta \left( 1 - \frac{\min(t, T)}{T} \right)^{p}",
        knobs=(
            Knob("total_iters", 100, low=1, high=300, step=1),
            Knob("power", 2.0, low=0.1, high=5.0, step=0.1),
        ),
        explore_kwargs=_as_given,
    ),
    SchedulerEntry(
        cls=lr_scheduler.CosineAnnealingLR,
        steps_on="epoch",
        demo_kwargs=_cosine_demo,
        description=(
            "Lowers the rate to eta_min along half a cosine wave over T_max steps."
        ),
        formula=(
            r"\eta_t = \eta_{\min} + \frac{1}{2} (\bar\eta - \eta_{\min}) "
            r"\left( 1 + \cos \frac{\pi t}{T_{\max}} \right)"
        ),
        knobs=(
            Knob("T_max", 100, low=1, high=300, step=1, site=(25, 50, 100, 200, 300)),
            Knob("eta_min", 0.0, low=0.0, high=0.05, step=0.005),
        ),
        explore_kwargs=_as_given,
    ),
    SchedulerEntry(
        cls=lr_scheduler.ChainedScheduler,
        steps_on="epoch",
        demo_kwargs=_chained_demo,
        description="Steps several schedulers at once, so that their factors multiply.",
        formula=(
            r"\eta_t = \bar\eta \prod_{k} f_k(t)"
            r"\quad (f_k \text{: the factor scheduler } k \text{ applies alone})"
        ),
        knobs=(
            Knob("warmup", 10, low=1, high=100, step=1),
            Knob("gamma", 0.98, low=0.9, high=1.0, step=0.005),
        ),
        explore_kwargs=_chained_explore,
    ),
    SchedulerEntry(
        cls=lr_scheduler.SequentialLR,
        steps_on="epoch",
        demo_kwargs=_sequential_demo,
        description=(
            "Hands over from one scheduler to the next at milestones: "
            "warmup, then decay."
        ),
        formula=(
            r"\eta_t = S_k(t - m_k) \quad \text{for } m_k \le t < m_{k+1}," r"\ m_0 = 0"
        ),
        knobs=(
            Knob("warmup", 10, low=1, high=100, step=1, site=(1, 5, 10, 20, 40)),
            Knob("start_factor", 0.1, low=0.05, high=1.0, step=0.05),
        ),
        explore_kwargs=_sequential_explore,
    ),
    SchedulerEntry(
        cls=lr_scheduler.ReduceLROnPlateau,
        steps_on="metric",
        demo_kwargs=_plateau_demo,
        demo_metrics=_plateau_demo_metrics,
        description=(
            "Multiplies the rate by factor after patience + 1 epochs in a row "
            "without improvement."
        ),
        formula=(
            r"\begin{gathered} \eta_{t+1} = \begin{cases} "
            r"\max(f \, \eta_t,\ \eta_{\min}) & \text{if } b_t > \text{patience} \\ "
            r"\eta_t & \text{otherwise} \end{cases} \\ "
            r"b_t \text{: steps since the metric last improved, or since the last cut}"
            r" \end{gathered}"
        ),
        knobs=(
            Knob("patience", 10, low=0, high=50, step=1, site=(0, 5, 10, 20, 40)),
            Knob("factor", 0.5, low=0.05, high=0.95, step=0.05),
            Knob("cooldown", 0, low=0, high=50, step=1),
        ),
        explore_kwargs=_as_given,
    ),
    SchedulerEntry(
        cls=lr_scheduler.CyclicLR,
        steps_on="batch",
        demo_kwargs=_cyclic_demo,
        cycles_momentum=True,
        description=(
            "Sweeps the rate from base_lr to max_lr and back; "
            "momentum goes the other way."
        ),
        formula=(
            r"\begin{gathered} \eta_t = \eta_{\mathrm{base}} "
            r"+ (\eta_{\max} - \eta_{\mathrm{base}}) "
            r"\max(0, 1 - x) \, g \\ "
            r"c = \left\lfloor 1 + \frac{t}{2s} \right\rfloor,\quad "
            r"x = \left| \frac{t}{s} - 2c + 1 \right|,\quad "
            r"g \in \{1,\ 2^{1-c},\ \gamma^{t}\} \end{gathered}"
        ),
        knobs=(
            Knob(
                "mode", "triangular", options=("triangular", "triangular2", "exp_range")
            ),
            Knob("step_size_up", 12, low=1, high=100, step=1),
            Knob("base_lr", 0.01, low=0.0, high=0.1, step=0.005),
            Knob("gamma", 0.99, low=0.9, high=1.0, step=0.001),
        ),
        explore_kwargs=_cyclic_explore,
    ),
    SchedulerEntry(
        cls=lr_scheduler.OneCycleLR,
        steps_on="batch",
        demo_kwargs=_one_cycle_demo,
        cycles_momentum=True,
        description=(
            "A climb to max_lr, then a long fall far below the start; "
            "momentum mirrors it."
        ),
        formula=(
            r"\begin{gathered} \eta_t = \begin{cases} "
            r"A\left(\frac{\eta_{\max}}{d},\ \eta_{\max},\ \frac{t}{T_1}\right)"
            r" & t \le T_1 \\ A\left(\eta_{\max},\ \frac{\eta_{\max}}{d \, d_f},\ "
            r"\frac{t - T_1}{T - 1 - T_1}\right) & t > T_1 \end{cases} \\ "
            r"T_1 = pT - 1,\quad A(a, b, u) = b + \frac{a - b}{2} (1 + \cos \pi u)"
            r" \end{gathered}"
        ),
        knobs=(
            Knob(
                "pct_start",
                0.3,
                low=0.1,
                high=0.5,
                step=0.05,
                site=(0.1, 0.2, 0.3, 0.4, 0.5),
            ),
            Knob("div_factor", 25.0, low=1.0, high=100.0, step=1.0),
            Knob("final_div_factor", 1e4, options=(1.0, 10.0, 100.0, 1e3, 1e4)),
            Knob("anneal_strategy", "cos", options=("cos", "linear")),
            Knob("three_phase", False, options=(False, True)),
        ),
        explore_kwargs=_one_cycle_explore,
    ),
    SchedulerEntry(
        cls=lr_scheduler.CosineAnnealingWarmRestarts,
        steps_on="batch",
        fractional_epochs=True,
        demo_kwargs=_warm_restarts_demo,
        description=(
            "Cosine annealing restarted from the top, "
            "each period T_mult times the last."
        ),
        formula=(
            r"\eta_t = \eta_{\min} + \frac{1}{2} (\bar\eta - \eta_{\min}) "
            r"\left( 1 + \cos \frac{\pi T_{\mathrm{cur}}}{T_i} \right),\ "
            r"T_i = T_0 \, T_{\mathrm{mult}}^{\,i}"
        ),
        knobs=(
            Knob("T_0", 15, low=1, high=100, step=1),
            Knob("T_mult", 2, low=1, high=3, step=1),
            Knob("eta_min", 0.0, low=0.0, high=0.05, step=0.005),
        ),
        explore_kwargs=_as_given,
    ),
    SchedulerEntry(
        cls=swa_utils.SWALR,
        steps_on="epoch",
        demo_kwargs=_swa_demo,
        description=(
            "Anneals each group's rate to a constant swa_lr, for weight averaging."
        ),
        formula=(
            r"\eta_t = \bar\eta + (\eta_{\mathrm{swa}} - \bar\eta) \, "
            r"\alpha\!\left(\min\left(1, \frac{t}{E}\right)\right),\ "
            r"\alpha(u) = \frac{1 - \cos \pi u}{2} \text{ or } u"
        ),
        knobs=(
            Knob("swa_lr", 0.025, low=0.005, high=0.1, step=0.005),
            Knob("anneal_epochs", 25, low=0, high=100, step=1),
            Knob("anneal_strategy", "cos", options=("cos", "linear")),
        ),
        explore_kwargs=_as_given,
    ),
)
"""Every scheduler of the installed PyTorch, in the order the book shows them."""


def discover_schedulers(
    modules: Iterable[ModuleType] = SCHEDULER_MODULES,
) -> tuple[type, ...]:
    """Find the learning-rate scheduler classes that PyTorch exposes.

    A scheduler is a public class of one of ``modules`` that subclasses
    :class:`~torch.optim.lr_scheduler.LRScheduler`, other than the base classes
    ``LRScheduler`` and ``_LRScheduler``. ``ReduceLROnPlateau`` is included
    explicitly, because older PyTorch releases did not derive it from
    ``LRScheduler``.

    Args:
        modules: the modules to search; by default
            ``torch.optim.lr_scheduler`` and ``torch.optim.swa_utils``.

    Returns:
        The scheduler classes, each once, sorted by name.

    Example:
        >>> names = [cls.__name__ for cls in discover_schedulers()]
        >>> "StepLR" in names and "SWALR" in names and "LRScheduler" not in names
        True
    """
    found: set[type] = set()
    for module in modules:
        for name, obj in vars(module).items():
            if (
                name.startswith("_")
                or name in _BASE_CLASSES
                or not inspect.isclass(obj)
            ):
                continue
            if issubclass(obj, lr_scheduler.LRScheduler) or name == "ReduceLROnPlateau":
                found.add(obj)
    return tuple(sorted(found, key=lambda cls: cls.__name__))


@dataclass(frozen=True)
class Coverage:
    """How a catalog compares with the schedulers PyTorch exposes.

    Attributes:
        missing: names of schedulers PyTorch has and the catalog lacks.
        unknown: names of catalog entries PyTorch does not expose (any more).
        duplicated: names listed more than once in the catalog.
    """

    missing: tuple[str, ...]
    unknown: tuple[str, ...]
    duplicated: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """True when the catalog lists every scheduler exactly once and nothing else."""
        return not (self.missing or self.unknown or self.duplicated)


def check_coverage(
    catalog: Sequence[SchedulerEntry] = CATALOG,
    discovered: Sequence[type] | None = None,
) -> Coverage:
    """Compare a catalog with the schedulers found in PyTorch.

    Args:
        catalog: the entries to check; :data:`CATALOG` by default.
        discovered: the scheduler classes to compare with; by default
            :func:`discover_schedulers` of the installed PyTorch.

    Returns:
        A :class:`Coverage` naming what is missing, unknown or duplicated.

    Example:
        >>> check_coverage().complete
        True
    """
    if discovered is None:
        discovered = discover_schedulers()
    listed = [entry.cls for entry in catalog]
    missing = sorted(cls.__name__ for cls in discovered if cls not in listed)
    unknown = sorted(cls.__name__ for cls in listed if cls not in discovered)
    duplicated = sorted({cls.__name__ for cls in listed if listed.count(cls) > 1})
    return Coverage(tuple(missing), tuple(unknown), tuple(duplicated))


def find_entry(
    name: str, catalog: Sequence[SchedulerEntry] = CATALOG
) -> SchedulerEntry:
    """Return the catalog entry of the scheduler called ``name``.

    Args:
        name: a class name such as ``"OneCycleLR"`` (case-sensitive).
        catalog: the entries to search; :data:`CATALOG` by default.

    Returns:
        The matching :class:`SchedulerEntry`.

    Raises:
        KeyError: no entry has that name; the message lists the names there are.

    Example:
        >>> find_entry("StepLR").steps_on
        'epoch'
    """
    for entry in catalog:
        if entry.name == name:
            return entry
    raise KeyError(
        f"no scheduler named {name!r}; expected one of {[e.name for e in catalog]}"
    )


TAUGHT: tuple[str, ...] = (
    "StepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "SequentialLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
)
"""The schedulers chapter 6 teaches in depth, the ones its explorer offers."""

_X_LABELS = {"epoch": "epoch", "batch": "batch", "metric": "epoch (one metric each)"}


def _knob_widget(knob: Knob) -> Any:
    """A drop-down list for a choice knob, a slider for a numeric one."""
    import ipywidgets as widgets

    style = {"description_width": "9em"}
    if knob.options:
        return widgets.Dropdown(
            options=knob.options, value=knob.default, description=knob.name, style=style
        )
    slider = widgets.IntSlider if knob.integer else widgets.FloatSlider
    extra = {} if knob.integer else {"readout_format": ".3f"}
    return slider(
        value=knob.default,
        min=knob.low,
        max=knob.high,
        step=knob.step,
        description=knob.name,
        continuous_update=False,
        style=style,
        **extra,
    )


def scheduler_explorer(
    names: Sequence[str] = TAUGHT,
    *,
    first: str | None = None,
    steps: int = 100,
    figsize: tuple[float, float] = (6.0, 2.6),
    dpi: int = 72,
) -> Any:
    """An explorer of schedulers: pick one, move its knobs, see its learning rate.

    In a kernel every knob of the chosen scheduler, and the number of steps,
    is a live control, drawn exactly for any value. On the website, which has
    no Python behind it, the pictures are drawn in advance over ``steps``
    steps for the :attr:`Knob.site` values of each knob that has them; the
    other knobs (and ``steps``) stay at their defaults and are not shown
    there, since they could not change the picture
    (:class:`~lrlib.book.explorer.FigureExplorer`'s one-value grids). The
    learning-rate axis runs from 0 to just above the optimizer's rate (0.1),
    which no explored configuration exceeds, so pictures compare at a glance.

    Args:
        names: the schedulers to offer, by class name, in order.
        first: the one shown first (default: the first of ``names``).
        steps: the number of steps the pictures are drawn over, and the
            live ``steps`` slider's start, within :data:`EXPLORE_STEPS`.
        figsize: the pictures' size in inches (at most the phone's width).
        dpi: the pictures' resolution.

    Returns:
        An :class:`~lrlib.book.explorer.ExplorerChooser`.

    Raises:
        KeyError: a name that is no scheduler of :data:`CATALOG`.
        ValueError: ``steps`` outside :data:`EXPLORE_STEPS`, or ``first`` not
            among ``names``.

    Example:
        >>> chooser = scheduler_explorer(["StepLR"], steps=40)
        >>> explorer = chooser.chosen()
        >>> explorer.fixed, explorer.grid["gamma"]
        (('steps', 'step_size'), (0.1, 0.25, 0.5, 0.75, 0.9))
        >>> explorer.picture().tooltip
        'scheduler = StepLR: gamma = 0.500'
    """
    import ipywidgets as widgets

    from lrlib.book.explorer import ExplorerChooser, FigureExplorer
    from lrlib.schedulers import trace

    low, high = EXPLORE_STEPS
    steps = check_int("steps", steps, low=low, high=high)
    entries = [find_entry(name) for name in names]

    def explorer(entry: SchedulerEntry) -> FigureExplorer:
        def draw(ax: Any, steps: int, **settings: Any) -> None:
            result = trace(entry, steps, settings=settings)
            ax.plot(result.x, result.lr[:, 0], color="tab:blue")
            ax.set(
                xlim=(0, steps),
                ylim=(0, 0.105),
                xlabel=_X_LABELS[entry.steps_on],
                ylabel="learning rate",
            )
            # The labels never change size: one layout fits every picture.
            ax.figure.subplots_adjust(left=0.13, right=0.97, bottom=0.19, top=0.96)

        controls = {
            "steps": widgets.IntSlider(
                value=steps,
                min=low,
                max=high,
                step=10,
                description="steps",
                continuous_update=False,
                style={"description_width": "9em"},
            ),
            **{knob.name: _knob_widget(knob) for knob in entry.knobs},
        }
        grid = {"steps": [steps]}
        grid.update({knob.name: knob.site or [knob.default] for knob in entry.knobs})
        return FigureExplorer(
            draw,
            controls,
            figsize=figsize,
            dpi=dpi,
            grid=grid,
            max_pictures=64,
            tight_layout=False,
        )

    choices = {entry.name: explorer(entry) for entry in entries}
    if first is not None and first not in choices:
        raise ValueError(f"first must be one of {list(choices)}, got {first!r}")
    return ExplorerChooser(
        choices,
        description="scheduler",
        value=first,
        style={"description_width": "9em"},
    )
