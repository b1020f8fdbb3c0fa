"""Tests for lrlib.scaling: the scaling rules and the warmup-then-cosine schedule."""

from __future__ import annotations

import math

import pytest
import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, SequentialLR

from lrlib.scaling import SCALING_RULES, scaled_lr, steps_from_epochs, warmup_cosine
from lrlib.schedulers import scheduler_step_kind


def test_linear_and_square_root_rules():
    assert scaled_lr(0.01, 16, 64) == pytest.approx(0.04)
    assert scaled_lr(0.01, 16, 256) == pytest.approx(0.16)
    assert scaled_lr(1e-3, 16, 64, rule="sqrt") == pytest.approx(2e-3)
    assert scaled_lr(1e-3, 64, 16, rule="sqrt") == pytest.approx(
        5e-4
    )  # smaller batches too
    assert scaled_lr(0.3, 16, 1024, rule="none") == 0.3
    for rule in SCALING_RULES:
        assert scaled_lr(0.05, 32, 32, rule=rule) == pytest.approx(0.05)


@pytest.mark.parametrize(
    "args",
    [
        (0.0, 16, 64),
        (-0.1, 16, 64),
        (float("inf"), 16, 64),
        (0.1, 0, 64),
        (0.1, 16, 6.5),
        (0.1, True, 4),
    ],
)
def test_scaled_lr_rejects_bad_arguments(args):
    with pytest.raises(ValueError):
        scaled_lr(*args)


def test_scaled_lr_rejects_an_unknown_rule():
    with pytest.raises(ValueError, match="linear"):
        scaled_lr(0.1, 16, 64, rule="cubic")


def test_steps_from_epochs():
    assert steps_from_epochs(1, 158) == 158
    assert steps_from_epochs(0.5, 40) == 20
    assert steps_from_epochs(0, 10) == 0
    for bad in [(-1, 10), (float("nan"), 10), (1, 0), (1, 2.5)]:
        with pytest.raises(ValueError):
            steps_from_epochs(*bad)


def trace(scheduler, optimizer, steps):
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def expected(t, *, peak, total, warmup, start):
    if t < warmup:
        return peak * (start + (1 - start) * t / warmup)
    return peak * (1 + math.cos(math.pi * (t - warmup) / (total - warmup))) / 2


@pytest.mark.parametrize("warmup, start", [(0, 0.1), (1, 0.5), (5, 0.0625), (20, 0.25)])
def test_warmup_cosine_follows_its_formula(warmup, start):
    total, peak = 40, 0.16
    w = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([w], lr=peak, momentum=0.9)
    scheduler = warmup_cosine(
        optimizer, total_steps=total, warmup_steps=warmup, start_factor=start
    )
    assert isinstance(scheduler, SequentialLR if warmup else CosineAnnealingLR)
    rates = trace(scheduler, optimizer, total)
    want = [
        expected(t, peak=peak, total=total, warmup=warmup, start=start)
        for t in range(total)
    ]
    assert rates == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert max(rates) == pytest.approx(peak)


def test_warmup_cosine_state_dict_resumes_the_trajectory():
    def fresh():
        w = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.SGD([w], lr=1.0)
        return optimizer, warmup_cosine(optimizer, total_steps=12, warmup_steps=4)

    optimizer, scheduler = fresh()
    whole = trace(scheduler, optimizer, 12)
    optimizer, scheduler = fresh()
    first = trace(scheduler, optimizer, 5)
    state = (optimizer.state_dict(), scheduler.state_dict())
    optimizer, scheduler = fresh()
    optimizer.load_state_dict(state[0])
    scheduler.load_state_dict(state[1])
    assert first + trace(scheduler, optimizer, 7) == whole


@pytest.mark.parametrize("warmup", [0, 3])
def test_warmup_cosine_says_it_steps_after_every_batch(warmup):
    w = torch.nn.Parameter(torch.zeros(1))
    scheduler = warmup_cosine(
        torch.optim.SGD([w], lr=0.1), total_steps=10, warmup_steps=warmup
    )
    # A SequentialLR or a CosineAnnealingLR: the class table would say "epoch".
    assert scheduler_step_kind(type(scheduler)) == "epoch"
    assert scheduler.interval == "batch"
    assert scheduler_step_kind(scheduler) == "batch"
    # The mark survives a save and a load of the scheduler's state.
    other = warmup_cosine(
        torch.optim.SGD([w], lr=0.1), total_steps=10, warmup_steps=warmup
    )
    other.load_state_dict(scheduler.state_dict())
    assert scheduler_step_kind(other) == "batch"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"total_steps": 0},
        {"total_steps": 10, "warmup_steps": 10},
        {"total_steps": 10, "warmup_steps": -1},
        {"total_steps": 10, "warmup_steps": 2, "start_factor": 0.0},
        {"total_steps": 10, "warmup_steps": 2, "start_factor": 1.5},
        {"total_steps": 10, "eta_min": -1.0},
    ],
)
def test_warmup_cosine_rejects_bad_lengths(kwargs):
    w = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(ValueError):
        warmup_cosine(torch.optim.SGD([w], lr=0.1), **kwargs)
