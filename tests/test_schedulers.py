"""Tests for lrlib.schedulers and lrlib.book.scheduler_catalog.

Expected learning rates are computed here from each scheduler's closed form
(with ``math``), or taken from PyTorch itself in a real training loop; never
from the code under test.
"""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import math
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from packaging.version import Version  # noqa: E402
from torch.optim import lr_scheduler as L  # noqa: E402
from torch.optim import swa_utils  # noqa: E402

import lrlib.book.scheduler_catalog as catalog_module  # noqa: E402
import lrlib.schedulers as schedulers_module  # noqa: E402
from lrlib.book.scheduler_catalog import (  # noqa: E402
    CATALOG,
    EXPLORE_STEPS,
    TAUGHT,
    Knob,
    check_coverage,
    discover_schedulers,
    find_entry,
    scheduler_explorer,
)
from lrlib.schedulers import (  # noqa: E402
    CYCLE_EPOCHS,
    FRACTIONAL_EPOCHS,
    STEP_TABLE,
    CycleLength,
    ScheduleTrace,
    cycle_from_loader,
    gallery,
    manual_step_decay,
    plot_trace,
    scheduler_step_kind,
    takes_fractional_epochs,
    trace,
)

LR0 = 0.2
RTOL = 1e-12


def lrs_of(factory, steps, **kwargs):
    """The first group's learning rates traced from ``factory``."""
    return trace(factory, steps, lr=kwargs.pop("lr", LR0), **kwargs).lr[:, 0]


def assert_close(actual, expected, rtol=RTOL, atol=1e-15):
    np.testing.assert_allclose(
        np.asarray(actual), np.asarray(expected, dtype=float), rtol=rtol, atol=atol
    )


@pytest.fixture
def no_warnings():
    """Turn every warning into an error for the duration of a test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ---------------------------------------------------------------------------
# Discovery and coverage: the book shows every scheduler PyTorch ships.
# ---------------------------------------------------------------------------


def test_catalog_covers_exactly_the_schedulers_pytorch_ships():
    coverage = check_coverage()
    assert not coverage.missing, (
        f"PyTorch {torch.__version__} has schedulers the catalog (and chapter 6) "
        f"does not show: {coverage.missing}"
    )
    assert not coverage.unknown, (
        f"the catalog lists schedulers PyTorch no longer has: {coverage.unknown}"
    )
    assert not coverage.duplicated, f"listed twice: {coverage.duplicated}"
    assert coverage.complete


def test_every_scheduler_the_syllabus_names_is_in_the_catalog():
    syllabus = {
        "LambdaLR",
        "MultiplicativeLR",
        "StepLR",
        "MultiStepLR",
        "ConstantLR",
        "LinearLR",
        "ExponentialLR",
        "PolynomialLR",
        "CosineAnnealingLR",
        "ChainedScheduler",
        "SequentialLR",
        "ReduceLROnPlateau",
        "CyclicLR",
        "OneCycleLR",
        "CosineAnnealingWarmRestarts",
        "SWALR",
    }
    assert syllabus <= {entry.name for entry in CATALOG}


def test_discovery_excludes_base_classes_and_includes_plateau_and_swalr():
    found = discover_schedulers()
    names = [cls.__name__ for cls in found]
    assert "LRScheduler" not in names and "_LRScheduler" not in names
    assert L.ReduceLROnPlateau in found and swa_utils.SWALR in found
    assert names == sorted(names) and len(set(found)) == len(found)
    # Every public scheduler class of lr_scheduler, by PyTorch's own __all__.
    public = {getattr(L, name) for name in L.__all__}
    expected = {
        cls for cls in public if isinstance(cls, type) and cls is not L.LRScheduler
    }
    assert expected <= set(found)


def test_check_coverage_reports_missing_unknown_and_duplicated_entries():
    without_step = [entry for entry in CATALOG if entry.name != "StepLR"]
    assert check_coverage(without_step).missing == ("StepLR",)

    discovered_without_swalr = [
        cls for cls in discover_schedulers() if cls is not swa_utils.SWALR
    ]
    coverage = check_coverage(CATALOG, discovered_without_swalr)
    assert coverage.unknown == ("SWALR",) and not coverage.complete

    doubled = list(CATALOG) + [find_entry("OneCycleLR")]
    assert check_coverage(doubled).duplicated == ("OneCycleLR",)


# ---------------------------------------------------------------------------
# Catalog entries.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_entry_fields_are_well_formed(entry):
    assert entry.steps_on in ("epoch", "batch", "metric")
    assert (
        entry.description
        and "\n" not in entry.description
        and len(entry.description) <= 110
    )
    formula = entry.formula
    assert formula.count("{") == formula.count("}"), formula
    assert formula.count(r"\left") == formula.count(r"\right"), formula
    assert formula.count(r"\begin") == formula.count(r"\end"), formula
    module_name, _, class_name = entry.qualified_name.rpartition(".")
    assert getattr(importlib.import_module(module_name), class_name) is entry.cls


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_each_entry_agrees_with_the_step_table_every_loop_uses(entry):
    assert entry.steps_on == scheduler_step_kind(entry.cls)
    assert entry.fractional_epochs == takes_fractional_epochs(entry.cls)


def test_the_step_table_names_only_schedulers_of_the_catalog():
    assert set(STEP_TABLE) <= {entry.cls for entry in CATALOG}
    assert set(FRACTIONAL_EPOCHS) <= {entry.cls for entry in CATALOG}


def test_steps_on_and_momentum_flags_match_the_book():
    by_name = {entry.name: entry for entry in CATALOG}
    batch = {n for n, e in by_name.items() if e.steps_on == "batch"}
    assert batch == {"CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts"}
    fractional = {n for n, e in by_name.items() if e.fractional_epochs}
    assert fractional == {"CosineAnnealingWarmRestarts"}
    assert {n for n, e in by_name.items() if e.steps_on == "metric"} == {
        "ReduceLROnPlateau"
    }
    assert {n for n, e in by_name.items() if e.cycles_momentum} == {
        "CyclicLR",
        "OneCycleLR",
    }
    assert len({e.description for e in CATALOG}) == len(CATALOG)


def test_entries_are_frozen_and_validated():
    entry = find_entry("StepLR")
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.steps_on = "batch"  # type: ignore[misc]
    with pytest.raises(ValueError, match="steps_on"):
        dataclasses.replace(entry, steps_on="iteration")
    with pytest.raises(ValueError, match="demo_metrics"):
        dataclasses.replace(entry, steps_on="metric")
    with pytest.raises(ValueError, match="fractional_epochs needs steps_on='batch'"):
        dataclasses.replace(entry, fractional_epochs=True)
    with pytest.raises(KeyError, match="StepLr"):
        find_entry("StepLr")


# torch before 2.9 (measured: 2.4 to 2.8) steps the next scheduler of a
# SequentialLR with step(0) at each milestone, and that call raises torch's own
# "epoch parameter ... is being deprecated" UserWarning; 2.9 and later do not.
SEQUENTIAL_LR_WARNS = Version(torch.__version__.split("+")[0]) < Version("2.9")


def skip_torch_own_warning(entry) -> None:
    if entry.name == "SequentialLR" and SEQUENTIAL_LR_WARNS:
        pytest.skip(
            f"torch {torch.__version__}'s SequentialLR warns by itself at a milestone "
            "(fixed in torch 2.9)"
        )


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_every_demo_traces_without_any_warning(entry, no_warnings):
    skip_torch_own_warning(entry)
    for steps in (1, 7, 300):
        result = trace(entry, steps, lr=[0.1, 0.03])
        assert result.lr.shape == (steps, 2)
        assert np.isfinite(result.lr).all() and (result.lr >= 0).all()
        # Every demo stays at or below the optimizer's learning rate.
        assert result.lr[:, 0].max() <= 0.1 * (1 + RTOL)
        assert result.lr[:, 1].max() <= 0.03 * (1 + RTOL)
        assert (result.momentum is not None) == entry.cycles_momentum
        # A fractional-epoch scheduler traced with bare step() calls steps per epoch.
        steps_on = "epoch" if entry.fractional_epochs else entry.steps_on
        assert result.name == entry.name and result.steps_on == steps_on
    built = entry.build(
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9), 10
    )
    assert type(built) is entry.cls


def test_one_cycle_demo_ends_exactly_at_its_minimum():
    # The demo's total_steps matches the number of steps traced.
    steps = 64
    result = trace(find_entry("OneCycleLR"), steps, lr=0.1)
    assert result.lr[-1, 0] == pytest.approx(0.1 / 25 / 1e4, rel=1e-9)


def test_plateau_demo_cuts_the_rate_only_after_the_metric_stalls():
    entry = find_entry("ReduceLROnPlateau")
    steps = 80
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR0)
    patience = entry.demo_kwargs(optimizer, steps)["patience"]
    metrics = entry.demo_metrics(steps)
    stall = next(t for t in range(1, steps) if metrics[t] == metrics[t - 1]) - 1
    expected = [
        max(LR0 * 0.5 ** max(0, (t - 1 - stall) // (patience + 1)), LR0 / 100)
        for t in range(steps)
    ]
    assert_close(trace(entry, steps, lr=LR0).lr[:, 0], expected)


# ---------------------------------------------------------------------------
# Every demo of the catalog against its closed form. Each expected rate is
# computed here from the formula of the configuration the entry documents,
# so changing a demo (its factor, a period, a milestone) fails this test.
# ---------------------------------------------------------------------------


def _part(steps, fraction):
    return max(1, int(steps * fraction))


def _half_cosine(start, end, fraction):
    return end + (start - end) * (1 + math.cos(math.pi * fraction)) / 2


def _one_cycle_value(t, steps, start, top, end):
    peak = 0.3 * steps - 1  # pct_start = 0.3
    if t <= peak:
        return _half_cosine(start, top, t / peak)
    return _half_cosine(top, end, (t - peak) / (steps - 1 - peak))


def _plateau_value(t, steps, lr0):
    stall, patience = _part(steps, 0.25), _part(steps, 0.1)
    return max(lr0 * 0.5 ** max(0, (t - 1 - stall) // (patience + 1)), lr0 / 100)


def _sequential_value(t, steps, lr0):
    warmup = _part(steps, 0.1)
    if t < warmup:
        return lr0 * (0.1 + 0.9 * t / warmup)
    return lr0 * (1 + math.cos(math.pi * (t - warmup) / max(1, steps - warmup))) / 2


def _cyclic_height(t, steps):
    up = _part(steps, 0.125)
    return cyclic_closed_form(t, 0.0, 1.0, up, up, lambda c, t: 1.0)


DEMO_CLOSED_FORMS = {
    "LambdaLR": lambda t, n, lr0: (
        lr0 * min((t + 1) / _part(n, 0.1), math.sqrt(_part(n, 0.1) / (t + 1)))
    ),
    "MultiplicativeLR": lambda t, n, lr0: lr0 * _part(n, 0.1) / (_part(n, 0.1) + t),
    "StepLR": lambda t, n, lr0: lr0 * 0.5 ** (t // _part(n, 0.25)),
    "MultiStepLR": lambda t, n, lr0: (
        lr0 * 0.1 ** sum(m <= t for m in (_part(n, 0.5), _part(n, 0.75)))
    ),
    "ConstantLR": lambda t, n, lr0: lr0 * (0.5 if t < _part(n, 0.3) else 1.0),
    "LinearLR": lambda t, n, lr0: (
        lr0 * (0.1 + 0.9 * min(t, _part(n, 0.2)) / _part(n, 0.2))
    ),
    "ExponentialLR": lambda t, n, lr0: lr0 * 0.01 ** (t / n),
    "PolynomialLR": lambda t, n, lr0: lr0 * (1 - min(t, n) / n) ** 2,
    "CosineAnnealingLR": lambda t, n, lr0: lr0 * (1 + math.cos(math.pi * t / n)) / 2,
    "ChainedScheduler": lambda t, n, lr0: (
        lr0 * (0.1 + 0.9 * min(t, _part(n, 0.1)) / _part(n, 0.1)) * 0.05 ** (t / n)
    ),
    "SequentialLR": _sequential_value,
    "ReduceLROnPlateau": _plateau_value,
    "CyclicLR": lambda t, n, lr0: lr0 / 10 + (lr0 - lr0 / 10) * _cyclic_height(t, n),
    "OneCycleLR": lambda t, n, lr0: _one_cycle_value(
        t, n, lr0 / 25, lr0, lr0 / 25 / 1e4
    ),
    "CosineAnnealingWarmRestarts": lambda t, n, lr0: warm_restarts_closed_form(
        t, max(1, math.ceil(n / 7)), 2, 0.0, lr0
    ),
    "SWALR": lambda t, n, lr0: (
        lr0
        + (lr0 / 4 - lr0) * (1 - math.cos(math.pi * min(1.0, t / _part(n, 0.25)))) / 2
    ),
}

DEMO_MOMENTUM_CLOSED_FORMS = {
    "CyclicLR": lambda t, n: 0.9 - 0.1 * _cyclic_height(t, n),
    "OneCycleLR": lambda t, n: _one_cycle_value(t, n, 0.95, 0.85, 0.95),
}


def test_every_catalog_entry_has_a_closed_form_here():
    assert set(DEMO_CLOSED_FORMS) == {entry.name for entry in CATALOG}
    assert set(DEMO_MOMENTUM_CLOSED_FORMS) == {
        e.name for e in CATALOG if e.cycles_momentum
    }


@pytest.mark.parametrize("steps", [12, 64, 300])
@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_every_demo_traces_its_closed_form(entry, steps):
    lrs = (0.1, 0.03)  # two groups: each follows the formula from its own rate
    result = trace(entry, steps, lr=list(lrs))
    for group, lr0 in enumerate(lrs):
        expected = [DEMO_CLOSED_FORMS[entry.name](t, steps, lr0) for t in range(steps)]
        assert_close(result.lr[:, group], expected, rtol=1e-9, atol=1e-15)
    if entry.cycles_momentum:
        expected = [
            DEMO_MOMENTUM_CLOSED_FORMS[entry.name](t, steps) for t in range(steps)
        ]
        assert_close(result.momentum[:, 0], expected, rtol=1e-9)


# ---------------------------------------------------------------------------
# Closed forms, one scheduler at a time (t counts scheduler.step() calls).
# ---------------------------------------------------------------------------


def test_lambda_lr_reproduces_step_lr():
    steps = 20
    traced = lrs_of(
        lambda opt: L.LambdaLR(opt, lr_lambda=lambda t: 0.5 ** (t // 3)), steps
    )
    assert_close(traced, [LR0 * 0.5 ** (t // 3) for t in range(steps)])
    assert_close(
        traced, lrs_of(lambda opt: L.StepLR(opt, step_size=3, gamma=0.5), steps)
    )


def test_multiplicative_lr_multiplies_the_previous_rate():
    # Factor 0.9 on odd steps, 1 on even ones: (t + 1) // 2 factors by step t.
    traced = lrs_of(
        lambda opt: L.MultiplicativeLR(opt, lr_lambda=lambda t: 0.9 if t % 2 else 1.0),
        15,
    )
    assert_close(traced, [LR0 * 0.9 ** ((t + 1) // 2) for t in range(15)])


def test_step_lr():
    traced = lrs_of(lambda opt: L.StepLR(opt, step_size=4, gamma=0.3), 17)
    assert_close(traced, [LR0 * 0.3 ** (t // 4) for t in range(17)])
    assert traced[3] == LR0 and traced[4] == pytest.approx(LR0 * 0.3)


def test_multistep_lr():
    milestones = [3, 8]
    traced = lrs_of(
        lambda opt: L.MultiStepLR(opt, milestones=milestones, gamma=0.1), 12
    )
    assert_close(
        traced, [LR0 * 0.1 ** sum(m <= t for m in milestones) for t in range(12)]
    )


def test_constant_lr_defaults_are_one_third_for_five_steps():
    traced = lrs_of(lambda opt: L.ConstantLR(opt), 9)
    assert_close(traced, [LR0 / 3] * 5 + [LR0] * 4)


def test_constant_lr():
    traced = lrs_of(lambda opt: L.ConstantLR(opt, factor=0.25, total_iters=3), 6)
    assert_close(traced, [LR0 * 0.25] * 3 + [LR0] * 3)


def test_linear_lr_and_its_defaults():
    traced = lrs_of(
        lambda opt: L.LinearLR(opt, start_factor=0.2, end_factor=0.8, total_iters=6), 10
    )
    assert_close(traced, [LR0 * (0.2 + 0.6 * min(t, 6) / 6) for t in range(10)])
    defaults = lrs_of(lambda opt: L.LinearLR(opt), 8)
    assert_close(defaults, [LR0 * (1 / 3 + (2 / 3) * min(t, 5) / 5) for t in range(8)])


def test_exponential_lr():
    traced = lrs_of(lambda opt: L.ExponentialLR(opt, gamma=0.93), 25)
    assert_close(traced, [LR0 * 0.93**t for t in range(25)], rtol=1e-12)


def test_polynomial_lr_and_its_defaults():
    traced = lrs_of(lambda opt: L.PolynomialLR(opt, total_iters=8, power=2.0), 11)
    assert_close(
        traced, [LR0 * (1 - min(t, 8) / 8) ** 2 for t in range(11)], atol=1e-16
    )
    defaults = lrs_of(lambda opt: L.PolynomialLR(opt), 7)  # total_iters=5, power=1
    assert_close(defaults, [LR0 * (1 - min(t, 5) / 5) for t in range(7)], atol=1e-16)


def test_cosine_annealing_lr_including_past_t_max():
    t_max, eta_min = 10, 0.01
    traced = lrs_of(
        lambda opt: L.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min), 31
    )
    expected = [
        eta_min + (LR0 - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2
        for t in range(31)
    ]
    assert_close(traced, expected, rtol=1e-9)
    assert traced[t_max] == pytest.approx(eta_min) and traced[
        2 * t_max
    ] == pytest.approx(LR0)


def test_chained_scheduler_multiplies_the_factors():
    def factory(opt):
        warmup = L.LinearLR(opt, start_factor=0.5, total_iters=4)
        return L.ChainedScheduler([warmup, L.ExponentialLR(opt, gamma=0.9)])

    traced = lrs_of(factory, 12)
    assert_close(
        traced, [LR0 * (0.5 + 0.5 * min(t, 4) / 4) * 0.9**t for t in range(12)]
    )


def test_sequential_lr_warmup_then_cosine():
    warmup, t_max, eta_min = 4, 10, 0.01

    def factory(opt):
        first = L.LinearLR(opt, start_factor=0.25, total_iters=warmup)
        second = L.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min)
        return L.SequentialLR(opt, schedulers=[first, second], milestones=[warmup])

    traced = lrs_of(factory, warmup + t_max + 1)
    expected = [
        LR0 * (0.25 + 0.75 * t / warmup)
        if t < warmup
        else eta_min
        + (LR0 - eta_min) * (1 + math.cos(math.pi * (t - warmup) / t_max)) / 2
        for t in range(warmup + t_max + 1)
    ]
    assert_close(traced, expected, rtol=1e-9)
    assert traced[warmup] == pytest.approx(LR0) and traced[-1] == pytest.approx(eta_min)


def test_reduce_on_plateau_flat_metric_cuts_every_patience_plus_one_steps():
    # Step 0 sets the baseline; each later flat value is one "bad" step, and
    # the rate is cut when bad steps exceed patience, so after steps
    # (patience + 1), 2 (patience + 1), ...; row t shows the cuts of steps < t.
    patience, steps = 2, 14
    traced = lrs_of(
        lambda opt: L.ReduceLROnPlateau(opt, factor=0.5, patience=patience),
        steps,
        metrics=[1.0] * steps,
    )
    assert_close(
        traced, [LR0 * 0.5 ** max(0, (t - 1) // (patience + 1)) for t in range(steps)]
    )
    # The catalog's one-line description says as much.
    assert "patience + 1" in find_entry("ReduceLROnPlateau").description


def test_reduce_on_plateau_respects_min_lr_and_ignores_improvement():
    steps = 8
    flat = lrs_of(
        lambda opt: L.ReduceLROnPlateau(opt, factor=0.5, patience=0, min_lr=LR0 / 5),
        steps,
        metrics=[3.0] * steps,
    )
    assert_close(flat, [max(LR0 * 0.5 ** max(0, t - 1), LR0 / 5) for t in range(steps)])
    improving = lrs_of(
        lambda opt: L.ReduceLROnPlateau(opt, patience=0),
        steps,
        metrics=[1 / (t + 1) for t in range(steps)],
    )
    assert_close(improving, [LR0] * steps)


def cyclic_closed_form(t, low, high, up, down, scale):
    """Triangle wave: up steps from low to high, down steps back;
    cycle c counts from 1.
    """
    period = up + down
    cycle = t // period + 1
    position = t % period
    height = position / up if position <= up else (period - position) / down
    return low + (high - low) * height * scale(cycle, t)


@pytest.mark.parametrize(
    ("mode", "gamma", "scale"),
    [
        ("triangular", 1.0, lambda c, t: 1.0),
        ("triangular2", 1.0, lambda c, t: 0.5 ** (c - 1)),
        ("exp_range", 0.95, lambda c, t: 0.95**t),
    ],
)
def test_cyclic_lr_modes_and_inverse_momentum(mode, gamma, scale):
    low, high, up, steps = 0.01, 0.1, 5, 42

    def factory(opt):
        return L.CyclicLR(
            opt,
            base_lr=low,
            max_lr=high,
            step_size_up=up,
            mode=mode,
            gamma=gamma,
            base_momentum=0.8,
            max_momentum=0.9,
        )

    result = trace(factory, steps)
    assert_close(
        result.lr[:, 0],
        [cyclic_closed_form(t, low, high, up, up, scale) for t in range(steps)],
        rtol=1e-9,
    )
    # Momentum = max_momentum - (the same scaled triangle over the momentum range).
    height = [
        (cyclic_closed_form(t, low, high, up, up, scale) - low) / (high - low)
        for t in range(steps)
    ]
    assert_close(result.momentum[:, 0], [0.9 - 0.1 * h for h in height], rtol=1e-9)
    assert result.momentum_name == "momentum"
    assert result.lr[up, 0] == pytest.approx(
        low + (high - low) * scale(1, up)
    )  # the first peak
    assert result.lr[2 * up, 0] == pytest.approx(low)


def test_cyclic_lr_with_unequal_halves_and_adam_beta1():
    low, high, up, down, steps = 0.02, 0.2, 2, 6, 30

    def factory(opt):
        return L.CyclicLR(
            opt,
            base_lr=low,
            max_lr=high,
            step_size_up=up,
            step_size_down=down,
            base_momentum=0.85,
            max_momentum=0.95,
        )

    result = trace(factory, steps, optimizer="adam")
    expected = [
        cyclic_closed_form(t, low, high, up, down, lambda c, t: 1.0)
        for t in range(steps)
    ]
    assert_close(result.lr[:, 0], expected, rtol=1e-9)
    assert result.momentum_name == "beta1"
    assert_close(
        result.momentum[:, 0],
        [0.95 - 0.1 * (lr - low) / (high - low) for lr in expected],
        rtol=1e-9,
    )


def cos_anneal(start, end, fraction):
    return end + (start - end) * (1 + math.cos(math.pi * fraction)) / 2


def test_one_cycle_lr_cosine_phases_and_momentum():
    total, pct, max_lr, div, final_div = 100, 0.3, 0.5, 25.0, 1e4
    initial, minimum = max_lr / div, max_lr / div / final_div
    peak = pct * total - 1  # the step at which max_lr is reached

    def expected_at(t, start, top, end):
        if t <= peak:
            return cos_anneal(start, top, t / peak)
        return cos_anneal(top, end, (t - peak) / (total - 1 - peak))

    result = trace(
        lambda opt: L.OneCycleLR(opt, max_lr=max_lr, total_steps=total, pct_start=pct),
        total,
    )
    assert_close(
        result.lr[:, 0],
        [expected_at(t, initial, max_lr, minimum) for t in range(total)],
        rtol=1e-9,
    )
    assert_close(
        result.momentum[:, 0],
        [expected_at(t, 0.95, 0.85, 0.95) for t in range(total)],
        rtol=1e-9,
    )
    assert result.lr[0, 0] == pytest.approx(initial)
    assert result.lr[29, 0] == pytest.approx(max_lr)
    assert result.lr[64, 0] == pytest.approx((max_lr + minimum) / 2)
    assert result.lr[99, 0] == pytest.approx(minimum)


def test_one_cycle_lr_linear_three_phases():
    total, max_lr = 40, 1.0
    initial, minimum = max_lr / 25, max_lr / 25 / 1e4
    # Phase ends (inclusive steps): 0.25 * 40 - 1 = 9, 2 * 0.25 * 40 - 2 = 18, 39.
    expected = []
    for t in range(total):
        if t <= 9:
            expected.append(initial + (max_lr - initial) * t / 9)
        elif t <= 18:
            expected.append(max_lr + (initial - max_lr) * (t - 9) / 9)
        else:
            expected.append(initial + (minimum - initial) * (t - 18) / 21)
    traced = lrs_of(
        lambda opt: L.OneCycleLR(
            opt,
            max_lr=max_lr,
            total_steps=total,
            pct_start=0.25,
            anneal_strategy="linear",
            three_phase=True,
        ),
        total,
    )
    assert_close(traced, expected, rtol=1e-9)


def test_one_cycle_lr_raises_when_stepped_past_total_steps():
    with pytest.raises(ValueError, match="total steps is 10"):
        trace(lambda opt: L.OneCycleLR(opt, max_lr=0.1, total_steps=10), 12)


def warm_restarts_closed_form(epoch, t_0, t_mult, eta_min=0.0, lr0=LR0):
    period, t_cur = t_0, epoch
    while t_cur >= period:
        t_cur -= period
        period *= t_mult
    return eta_min + (lr0 - eta_min) * (1 + math.cos(math.pi * t_cur / period)) / 2


@pytest.mark.parametrize("t_mult", [1, 2])
def test_cosine_warm_restarts_integer_epochs(t_mult):
    steps = 40
    traced = lrs_of(
        lambda opt: L.CosineAnnealingWarmRestarts(
            opt, T_0=3, T_mult=t_mult, eta_min=0.01
        ),
        steps,
    )
    assert_close(
        traced,
        [warm_restarts_closed_form(t, 3, t_mult, 0.01) for t in range(steps)],
        rtol=1e-9,
    )
    assert traced[3] == pytest.approx(LR0)  # the first restart


def test_cosine_warm_restarts_fractional_epochs():
    per_epoch, steps = 4, 60  # 15 epochs: periods 2, 4, 8 (restarts at epochs 2, 6, 14)
    result = trace(
        lambda opt: L.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2),
        steps,
        lr=LR0,
        steps_per_epoch=per_epoch,
    )
    expected = [warm_restarts_closed_form(t / per_epoch, 2, 2) for t in range(steps)]
    assert_close(result.lr[:, 0], expected, rtol=1e-9, atol=1e-15)
    assert_close(result.x, np.arange(steps) / per_epoch)
    assert result.lr[1, 0] == pytest.approx(
        LR0 * (1 + math.cos(math.pi * 0.25 / 2)) / 2
    )
    assert result.lr[6 * per_epoch, 0] == pytest.approx(LR0)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_swalr_anneals_to_swa_lr(strategy):
    anneal, swa_lr, steps = 5, 0.05, 10
    alpha = (
        (lambda u: (1 - math.cos(math.pi * u)) / 2)
        if strategy == "cos"
        else (lambda u: u)
    )
    traced = lrs_of(
        lambda opt: swa_utils.SWALR(
            opt, swa_lr=swa_lr, anneal_epochs=anneal, anneal_strategy=strategy
        ),
        steps,
    )
    assert_close(
        traced,
        [LR0 + (swa_lr - LR0) * alpha(min(1.0, t / anneal)) for t in range(steps)],
        rtol=1e-9,
    )
    assert traced[anneal:] == pytest.approx([swa_lr] * (steps - anneal))


# ---------------------------------------------------------------------------
# trace(): semantics, faithfulness to a real training loop, errors.
# ---------------------------------------------------------------------------


def test_trace_two_param_groups_follow_their_own_base_rates():
    result = trace(
        lambda opt: L.StepLR(opt, step_size=2, gamma=0.5), 7, lr=[0.1, 0.004]
    )
    assert result.groups == 2 and result.steps == 7
    for g, lr0 in enumerate([0.1, 0.004]):
        assert_close(result.lr[:, g], [lr0 * 0.5 ** (t // 2) for t in range(7)])


@pytest.mark.parametrize(
    "factory",
    [
        lambda opt: L.StepLR(opt, step_size=3, gamma=0.5),
        lambda opt: L.OneCycleLR(opt, max_lr=0.3, total_steps=12),
        lambda opt: L.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3),
    ],
    ids=["StepLR", "OneCycleLR", "CyclicLR"],
)
def test_trace_matches_a_real_training_loop(factory):
    # The learning rate (and momentum) each optimizer.step() uses in a genuine
    # loop with gradients: optimizer.step(), then scheduler.step().
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = factory(optimizer)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    seen_lr, seen_momentum = [], []
    for _ in range(12):
        seen_lr.append(optimizer.param_groups[0]["lr"])
        seen_momentum.append(optimizer.param_groups[0]["momentum"])
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        scheduler.step()

    result = trace(factory, 12, lr=0.1)
    assert result.lr[:, 0].tolist() == seen_lr
    if result.momentum is not None:
        assert result.momentum[:, 0].tolist() == seen_momentum


def test_scheduler_before_optimizer_warns_but_trace_does_not(no_warnings):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = L.StepLR(optimizer, step_size=1)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        scheduler.step()
    trace(lambda opt: L.StepLR(opt, step_size=1), 5)  # raises if any warning


def test_trace_uses_the_entrys_demo_metrics_and_accepts_others():
    entry = find_entry("ReduceLROnPlateau")
    improving = [1.0 / (t + 1) for t in range(30)]
    assert_close(trace(entry, 30, lr=LR0, metrics=improving).lr[:, 0], [LR0] * 30)
    assert trace(entry, 30, lr=LR0).lr[-1, 0] < LR0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"steps": 0}, ValueError, "steps must be a positive int"),
        ({"steps": 2.5}, ValueError, "steps must be a positive int"),
        ({"lr": -0.1}, ValueError, "lr must be a positive"),
        ({"lr": []}, ValueError, "lr must be a positive"),
        ({"optimizer": "rmsprop"}, ValueError, "optimizer must be one of"),
        ({"metrics": [1.0] * 5}, ValueError, "does not step on a metric"),
        (
            {"steps_per_epoch": 4},
            ValueError,
            r"needs a scheduler whose step\(\) takes a float epoch "
            r"\(CosineAnnealingWarmRestarts\)",
        ),
        ({"steps_per_epoch": 0}, ValueError, "steps_per_epoch must be a positive int"),
    ],
)
def test_trace_rejects_bad_arguments(kwargs, error, match):
    arguments = {"steps": 5, **kwargs}
    with pytest.raises(error, match=match):
        trace(lambda opt: L.StepLR(opt, step_size=2), **arguments)


def test_trace_rejects_bad_sources_and_metrics():
    with pytest.raises(TypeError, match="SchedulerEntry or a function"):
        trace("StepLR", 5)  # type: ignore[arg-type]
    other = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="optimizer it receives"):
        trace(lambda opt: L.StepLR(other, step_size=2), 5)
    plateau = lambda opt: L.ReduceLROnPlateau(opt)  # noqa: E731
    with pytest.raises(ValueError, match="steps on a metric"):
        trace(plateau, 5)
    with pytest.raises(ValueError, match=r"one value per step \(5\), got 4"):
        trace(plateau, 5, metrics=[1.0] * 4)


# ---------------------------------------------------------------------------
# The manual way.
# ---------------------------------------------------------------------------


def two_group_sgd(lrs):
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    groups = [{"params": layer.parameters(), "lr": lr} for layer, lr in zip(model, lrs)]
    return torch.optim.SGD(groups, lr=lrs[0])


def test_manual_step_decay_equals_step_lr_over_many_epochs_with_two_groups():
    epochs, every, gamma, lrs = 100, 7, 0.5, (0.1, 0.03)
    manual = two_group_sgd(lrs)
    builtin = two_group_sgd(lrs)
    scheduler = L.StepLR(builtin, step_size=every, gamma=gamma)
    for epoch in range(epochs):
        in_effect = manual_step_decay(manual, epoch, every=every, gamma=gamma)
        assert in_effect == [group["lr"] for group in manual.param_groups]
        assert in_effect == [group["lr"] for group in builtin.param_groups], epoch
        assert in_effect == pytest.approx(
            [lr * gamma ** (epoch // every) for lr in lrs], rel=RTOL
        )
        builtin.step()  # (no gradients: a no-op that keeps PyTorch's order check happy)
        scheduler.step()


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ({"epoch": -1}, ValueError, "epoch must be a non-negative int"),
        ({"every": 0}, ValueError, "every must be a positive int"),
        ({"every": 2.0}, ValueError, "every must be a positive int"),
        ({"gamma": 0.0}, ValueError, "gamma must be positive"),
    ],
)
def test_manual_step_decay_rejects_bad_arguments(args, error, match):
    arguments = {"epoch": 3, "every": 2, "gamma": 0.5, **args}
    optimizer = two_group_sgd((0.1, 0.01))
    with pytest.raises(error, match=match):
        manual_step_decay(optimizer, arguments.pop("epoch"), **arguments)
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.01]  # untouched
    with pytest.raises(TypeError, match="torch.optim.Optimizer"):
        manual_step_decay(torch.nn.Linear(1, 1), 0, every=2)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# The CyclicLR cycle from the loader length.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("batches", "epochs", "up", "down"),
    [
        (158, 2, 158, 158),
        (158, 10, 790, 790),
        (15, 3, 22, 23),
        (7, 2.5, 9, 9),
        (9, 2.5, 11, 11),
        (5, 3, 7, 8),
        (1, 2, 1, 1),
    ],
)
def test_cycle_from_loader_splits_a_whole_number_of_epochs_into_two_halves(
    batches, epochs, up, down
):
    cycle = cycle_from_loader(batches, epochs)
    assert (cycle.step_size_up, cycle.step_size_down) == (up, down)
    assert cycle.batches == round(batches * epochs)
    assert cycle.kwargs() == {"step_size_up": up, "step_size_down": down}


def test_cycle_from_loader_makes_cyclic_lr_cycle_once_per_cycle_of_epochs():
    batches, epochs_per_cycle, low, high = 15, 3, 0.01, 0.1
    cycle = cycle_from_loader(batches, epochs_per_cycle)
    steps = 3 * cycle.batches + 1
    result = trace(
        lambda opt: L.CyclicLR(opt, base_lr=low, max_lr=high, **cycle.kwargs()),
        steps,
        lr=high,
    )
    lrs = result.lr[:, 0]
    expected = [
        cyclic_closed_form(
            t, low, high, cycle.step_size_up, cycle.step_size_down, lambda c, t: 1.0
        )
        for t in range(steps)
    ]
    assert_close(lrs, expected, rtol=1e-9)
    # Back at base_lr exactly at the end of every cycle of 3 epochs (45 batches).
    for k in range(4):
        assert lrs[k * batches * epochs_per_cycle] == pytest.approx(low)
    assert lrs[cycle.step_size_up] == pytest.approx(high)


@pytest.mark.parametrize(
    ("batches", "epochs", "match"),
    [
        (0, 2, "batches_per_epoch must be a positive int"),
        (10.0, 2, "batches_per_epoch must be a positive int"),
        (True, 2, "batches_per_epoch must be a positive int"),
        (10, 1, "epochs_per_cycle must be a number from 2 to 10"),
        (10, 10.5, "epochs_per_cycle must be a number from 2 to 10"),
        (10, "4", "epochs_per_cycle must be a number from 2 to 10"),
    ],
)
def test_cycle_from_loader_rejects_bad_arguments(batches, epochs, match):
    with pytest.raises(ValueError, match=match):
        cycle_from_loader(batches, epochs)


def test_cycle_epochs_are_the_books_range_and_cycle_length_is_frozen():
    assert CYCLE_EPOCHS == (2, 10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        CycleLength(1, 1).step_size_up = 2  # type: ignore[misc]


# ---------------------------------------------------------------------------
# Knobs and the explorer's configurations.
# ---------------------------------------------------------------------------


def knob_extremes(entry):
    """Settings with every knob at its low end, at its high end,
    and each option alone.
    """
    low = {k.name: k.options[0] if k.options else k.low for k in entry.knobs}
    high = {k.name: k.options[-1] if k.options else k.high for k in entry.knobs}
    options = [{k.name: option} for k in entry.knobs for option in k.options]
    return [{}, low, high, *options]


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_every_knob_setting_traces_without_warning(entry, no_warnings):
    skip_torch_own_warning(entry)
    assert entry.knobs, f"{entry.name} has no knobs for the explorer"
    for steps in (EXPLORE_STEPS[0], 37, EXPLORE_STEPS[1]):
        for settings in knob_extremes(entry):
            for optimizer in ("sgd", "adam"):
                result = trace(
                    entry, steps, lr=0.1, optimizer=optimizer, settings=settings
                )
                assert result.lr.shape == (steps, 1)
                assert np.isfinite(result.lr).all() and (result.lr >= 0).all()
                assert result.lr.max() <= 0.1 * (1 + RTOL), (settings, optimizer)


def test_explored_step_lr_follows_its_knobs():
    entry = find_entry("StepLR")
    traced = trace(entry, 40, lr=LR0, settings={"step_size": 7, "gamma": 0.3}).lr[:, 0]
    assert_close(traced, [LR0 * 0.3 ** (t // 7) for t in range(40)])
    defaults = {k.name: k.default for k in entry.knobs}
    traced = trace(entry, 60, lr=LR0, settings={}).lr[:, 0]
    assert_close(
        traced,
        [LR0 * defaults["gamma"] ** (t // defaults["step_size"]) for t in range(60)],
    )


def test_explored_one_cycle_fills_the_run_and_cyclic_peaks_at_the_optimizer_lr():
    one_cycle = trace(
        find_entry("OneCycleLR"),
        50,
        lr=LR0,
        settings={"div_factor": 10.0, "final_div_factor": 100.0},
    )
    assert one_cycle.lr[0, 0] == pytest.approx(LR0 / 10)
    assert one_cycle.lr[-1, 0] == pytest.approx(LR0 / 10 / 100)
    assert one_cycle.lr[:, 0].max() == pytest.approx(LR0)
    cyclic = trace(
        find_entry("CyclicLR"),
        30,
        lr=LR0,
        settings={"step_size_up": 5, "base_lr": 0.05},
    ).lr[:, 0]
    assert cyclic[0] == pytest.approx(0.05) and cyclic[5] == pytest.approx(LR0)


def test_explore_rejects_unknown_knobs_bad_values_and_bad_steps():
    entry = find_entry("StepLR")
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match=r"no knob\(s\) \['step'\]"):
        entry.explore(optimizer, 50, step=3)
    with pytest.raises(ValueError, match=r"gamma must be a number in \[0.05, 1.0\]"):
        entry.explore(optimizer, 50, gamma=2.0)
    with pytest.raises(ValueError, match="step_size must be a whole number"):
        entry.explore(optimizer, 50, step_size=2.5)
    with pytest.raises(ValueError, match="steps must be an int from 20 to 300"):
        entry.explore(optimizer, 10)
    with pytest.raises(ValueError, match="mode must be one of"):
        find_entry("CyclicLR").explore(optimizer, 50, mode="sine")
    with pytest.raises(ValueError, match="a factory takes none"):
        trace(lambda opt: L.StepLR(opt, step_size=2), 5, settings={})
    bare = dataclasses.replace(entry, knobs=(), explore_kwargs=None)
    with pytest.raises(ValueError, match="has no knobs"):
        bare.explore(optimizer, 50)


def test_knob_validation_and_conversion():
    integer = Knob("step_size", 25, low=1, high=100, step=1)
    assert (
        integer.integer
        and integer.check(3.0) == 3
        and isinstance(integer.check(3.0), int)
    )
    real = Knob("gamma", 0.5, low=0.05, high=1.0, step=0.05)
    assert (
        not real.integer and real.check(1) == 1.0 and isinstance(real.check(1), float)
    )
    choice = Knob("mode", "a", options=("a", "b"))
    assert not choice.integer and choice.check("b") == "b"
    for bad in (True, float("nan"), "0.5", 1.5):
        with pytest.raises(ValueError, match="gamma must be a number"):
            real.check(bad)
    with pytest.raises(ValueError, match="default 'c' is not one of"):
        Knob("mode", "c", options=("a", "b"))
    with pytest.raises(ValueError, match="needs numbers"):
        Knob("gamma", 0.5)
    with pytest.raises(ValueError, match="low < high"):
        Knob("gamma", 0.5, low=1.0, high=0.1, step=0.1)
    with pytest.raises(ValueError, match="low <= default <= high"):
        Knob("gamma", 2.0, low=0.1, high=1.0, step=0.1)
    entry = find_entry("StepLR")
    with pytest.raises(ValueError, match="knobs and explore_kwargs go together"):
        dataclasses.replace(entry, explore_kwargs=None)
    with pytest.raises(ValueError, match="knob names must differ"):
        dataclasses.replace(entry, knobs=(real, real))


def test_site_values_must_be_values_of_the_knob_in_order_with_the_default():
    knob = Knob("gamma", 0.5, low=0.05, high=1.0, step=0.05, site=(0.1, 0.5, 0.9))
    assert knob.site == (0.1, 0.5, 0.9)
    choice = Knob("mode", "a", options=("a", "b", "c"), site=("a", "c"))
    assert choice.site == ("a", "c")
    for bad in [(0.1, 0.9), (0.5, 0.1), (0.1, 0.5, 0.5)]:
        with pytest.raises(ValueError, match="site values must be distinct"):
            Knob("gamma", 0.5, low=0.05, high=1.0, step=0.05, site=bad)
    with pytest.raises(ValueError, match=r"gamma must be a number in \[0.05, 1.0\]"):
        Knob("gamma", 0.5, low=0.05, high=1.0, step=0.05, site=(0.5, 2.0))
    with pytest.raises(ValueError, match="site values must be distinct"):
        Knob("mode", "a", options=("a", "b", "c"), site=("c", "a"))
    with pytest.raises(ValueError, match="mode must be one of"):
        Knob("mode", "a", options=("a", "b"), site=("a", "z"))


def test_each_taught_scheduler_has_a_knob_the_site_shows_with_a_trend_to_see():
    assert len(TAUGHT) == 6 and {find_entry(name).name for name in TAUGHT} == set(
        TAUGHT
    )
    for entry in CATALOG:
        shown = [knob for knob in entry.knobs if knob.site]
        if entry.name in TAUGHT:
            assert shown, f"{entry.name}: no knob with site values"
        # Enough values to see a trend, few enough to precompute quickly.
        assert all(5 <= len(knob.site) <= 8 for knob in shown), entry.name


def test_scheduler_explorer_precomputes_the_site_values_and_keeps_every_knob_live():
    chooser = scheduler_explorer(first="CosineAnnealingLR", steps=60)
    assert list(chooser.explorers) == list(TAUGHT)
    assert chooser.chosen() is chooser.explorers["CosineAnnealingLR"]
    for name, explorer in chooser.explorers.items():
        entry = find_entry(name)
        site = {knob.name: knob.site for knob in entry.knobs if knob.site}
        # The site shows the knobs with site values, with those values ...
        assert {n: explorer.grid[n] for n in explorer.static_controls} == site
        # ... and neither the others nor the number of steps, which stay put.
        assert set(explorer.fixed) == {"steps"} | {k.name for k in entry.knobs} - set(
            site
        )
        assert explorer.grid["steps"] == (60,)
        assert list(explorer.controls) == ["steps", *(k.name for k in entry.knobs)]
        # Every site value draws a picture of its own.
        pictures = {bytes(picture.value) for picture in explorer.pictures.values()}
        assert (
            len(pictures)
            == len(explorer.pictures)
            == math.prod(len(values) for values in site.values())
        )
    cosine = chooser.explorers["CosineAnnealingLR"]
    start = cosine.picture()
    cosine.controls["steps"].value = 200  # a live-only control: the kernel redraws
    assert cosine.image.tooltip.endswith("steps = 200, T_max = 100, eta_min = 0.000")
    assert cosine.picture() is start
    assert start.tooltip == "scheduler = CosineAnnealingLR: T_max = 100"


def test_scheduler_explorer_rejects_bad_arguments():
    with pytest.raises(KeyError, match="StepLr"):
        scheduler_explorer(["StepLr"])
    with pytest.raises(ValueError, match="steps must be an int from 20 to 300"):
        scheduler_explorer(["StepLR"], steps=10)
    with pytest.raises(ValueError, match=r"first must be one of \['StepLR'\]"):
        scheduler_explorer(["StepLR"], first="OneCycleLR")


# ---------------------------------------------------------------------------
# Plotting.
# ---------------------------------------------------------------------------


def test_plot_trace_draws_lr_and_twin_momentum_axis():
    fig, ax = plt.subplots()
    try:
        returned = plot_trace(
            trace(find_entry("OneCycleLR"), 50), ax, xlabel="mini-batch"
        )
        assert returned is ax and ax.get_xlabel() == "mini-batch"
        assert len(ax.get_lines()) == 1 and ax.get_title() == "OneCycleLR"
        assert len(fig.axes) == 2  # the momentum twin
        assert fig.axes[1].get_ylabel() == "momentum"
        np.testing.assert_array_equal(
            ax.get_lines()[0].get_ydata(), trace(find_entry("OneCycleLR"), 50).lr[:, 0]
        )
    finally:
        plt.close(fig)


def test_plot_trace_without_momentum_and_with_two_groups_on_a_new_figure():
    before = plt.get_fignums()
    result = trace(find_entry("StepLR"), 20, lr=[0.1, 0.01])
    ax = plot_trace(result, log_lr=True, title="two groups")
    other = plot_trace(result, xlabel="batch")
    assert other.get_xlabel() == "batch" and other.figure is not ax.figure
    plt.close(other.figure)
    try:
        assert ax.figure.number not in before and len(ax.figure.axes) == 1
        assert len(ax.get_lines()) == 2 and ax.get_yscale() == "log"
        assert ax.get_title() == "two groups" and ax.get_xlabel() == "epoch"
        assert [text.get_text() for text in ax.get_legend().get_texts()] == [
            "lr (group 0)",
            "lr (group 1)",
        ]
    finally:
        plt.close(ax.figure)


def test_gallery_one_panel_per_trace():
    results = [trace(entry, 30) for entry in CATALOG]
    fig = gallery(results, ncols=5)
    try:
        visible = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
        assert [ax.get_title() for ax in visible] == [entry.name for entry in CATALOG]
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="at least one"):
        gallery([])
    with pytest.raises(ValueError, match="ncols"):
        gallery(results, ncols=0)


def test_schedule_trace_properties():
    result = ScheduleTrace(name="x", lr=np.zeros((6, 2)), steps_per_epoch=3)
    assert (result.steps, result.groups) == (6, 2)
    assert_close(result.x, [0, 1 / 3, 2 / 3, 1, 4 / 3, 5 / 3])


@pytest.mark.parametrize(
    "module", [schedulers_module, catalog_module], ids=lambda m: m.__name__
)
def test_docstring_examples(module):
    outcome = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert outcome.failed == 0
