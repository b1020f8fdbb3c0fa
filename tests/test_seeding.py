from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from lrlib.seeding import seed_everything


def draw() -> tuple[float, float, torch.Tensor]:
    return random.random(), float(np.random.rand()), torch.rand(3)


def test_same_seed_repeats_every_generator():
    seed_everything(7)
    first = draw()
    seed_everything(7)
    second = draw()
    assert first[:2] == second[:2]
    assert torch.equal(first[2], second[2])


def test_different_seeds_differ():
    seed_everything(1)
    a = draw()
    seed_everything(2)
    b = draw()
    assert a[0] != b[0] and a[1] != b[1] and not torch.equal(a[2], b[2])


def test_returned_generator_is_independent_of_global_draws():
    g1 = seed_everything(3)
    torch.rand(100)  # global draws must not shift the returned generator
    x1 = torch.rand(4, generator=g1)
    g2 = seed_everything(3)
    x2 = torch.rand(4, generator=g2)
    assert torch.equal(x1, x2)


@pytest.mark.parametrize("bad", [-1, 2**32])
def test_out_of_range_seed(bad):
    with pytest.raises(ValueError, match=str(bad)):
        seed_everything(bad)


@pytest.mark.parametrize("bad", [1.5, "3", True, None])
def test_non_integer_seed(bad):
    with pytest.raises(TypeError, match="seed must be an int"):
        seed_everything(bad)


def test_numpy_integer_is_accepted():
    g = seed_everything(np.int64(5))
    assert g.initial_seed() == 5


def test_deterministic_flag_is_opt_in():
    before = torch.are_deterministic_algorithms_enabled()
    try:
        seed_everything(0)
        assert torch.are_deterministic_algorithms_enabled() == before
        seed_everything(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(before)


def test_the_seed_shift_variable_is_not_read_by_seed_everything(monkeypatch):
    # The robustness benchmark shifts seeds from outside (lrlib.book.robustness);
    # the teaching function uses the seed it is given, whatever the environment.
    seed_everything(42)
    plain = torch.rand(3)
    monkeypatch.setenv("LRBOOK_SEED_SHIFT", "3")
    seed_everything(42)
    assert torch.equal(plain, torch.rand(3))
