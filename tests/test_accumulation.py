"""Tests for lrlib.accumulation:
accumulated micro-batch gradients against one whole batch.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lrlib.accumulation import accumulated_gradients, batch_gradients, max_difference
from lrlib.models import TwoBlockCNN


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(40, 3, 28, 28, generator=g), torch.randint(
        0, 3, (40,), generator=g
    )


@pytest.fixture
def model():
    torch.manual_seed(1)
    return TwoBlockCNN(n_filters=4)


@pytest.mark.parametrize(
    "micro", [8, 10, 40, 16, 7]
)  # even splits, one micro-batch, uneven splits
def test_size_weighting_gives_the_whole_batch_gradient(model, batch, micro):
    loss_fn = nn.CrossEntropyLoss()
    whole = batch_gradients(model, loss_fn, *batch)
    parts = accumulated_gradients(model, loss_fn, *batch, micro_batch_size=micro)
    assert max_difference(whole, parts) < 1e-6


def test_dividing_by_k_is_right_only_for_equal_micro_batches(model, batch):
    loss_fn = nn.CrossEntropyLoss()
    whole = batch_gradients(model, loss_fn, *batch)
    equal = accumulated_gradients(
        model, loss_fn, *batch, micro_batch_size=10, weighting="count"
    )
    uneven = accumulated_gradients(
        model, loss_fn, *batch, micro_batch_size=16, weighting="count"
    )
    assert max_difference(whole, equal) < 1e-6
    assert max_difference(whole, uneven) > 1e-4


def test_without_weighting_a_mean_loss_gives_k_times_the_gradient(model, batch):
    loss_fn = nn.CrossEntropyLoss()
    whole = batch_gradients(model, loss_fn, *batch)
    raw = accumulated_gradients(
        model, loss_fn, *batch, micro_batch_size=10, weighting="none"
    )
    assert max_difference({k: 4 * v for k, v in whole.items()}, raw) < 1e-5


def test_a_sum_loss_needs_no_weighting(model, batch):
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    whole = batch_gradients(model, loss_fn, *batch)
    parts = accumulated_gradients(
        model, loss_fn, *batch, micro_batch_size=16, weighting="none"
    )
    assert max_difference(whole, parts) < 1e-4 * max(
        v.abs().max().item() for v in whole.values()
    )


def test_dropout_draws_break_the_equality_in_training_mode_only(batch):
    torch.manual_seed(2)
    model = TwoBlockCNN(n_filters=4, p=0.5)
    loss_fn = nn.CrossEntropyLoss()
    torch.manual_seed(3)
    whole = batch_gradients(model, loss_fn, *batch)
    torch.manual_seed(3)
    parts = accumulated_gradients(model, loss_fn, *batch, micro_batch_size=10)
    assert max_difference(whole, parts) > 1e-4
    model.eval()
    assert (
        max_difference(
            batch_gradients(model, loss_fn, *batch),
            accumulated_gradients(model, loss_fn, *batch, micro_batch_size=10),
        )
        < 1e-6
    )


def test_batchnorm_statistics_break_the_equality(batch):
    torch.manual_seed(4)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )
    loss_fn = nn.CrossEntropyLoss()
    assert (
        max_difference(
            batch_gradients(model, loss_fn, *batch),
            accumulated_gradients(model, loss_fn, *batch, micro_batch_size=10),
        )
        > 1e-4
    )


def test_gradients_already_there_are_put_back(model, batch):
    for p in model.parameters():
        p.grad = torch.full_like(p, 7.0)
    batch_gradients(model, nn.CrossEntropyLoss(), *batch)
    accumulated_gradients(model, nn.CrossEntropyLoss(), *batch, micro_batch_size=8)
    assert all(torch.equal(p.grad, torch.full_like(p, 7.0)) for p in model.parameters())


def test_gradients_are_put_back_when_the_loss_fails(model, batch):
    def broken(outputs, targets):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        accumulated_gradients(model, broken, *batch, micro_batch_size=8)
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"micro_batch_size": 0}, ValueError),
        ({"micro_batch_size": 2.0}, ValueError),
        ({"micro_batch_size": 4, "weighting": "mean"}, ValueError),
    ],
)
def test_accumulated_gradients_validates(model, batch, kwargs, error):
    with pytest.raises(error):
        accumulated_gradients(model, nn.CrossEntropyLoss(), *batch, **kwargs)


def test_batch_validation(model):
    with pytest.raises(ValueError, match="same positive number"):
        batch_gradients(
            model,
            nn.CrossEntropyLoss(),
            torch.zeros(3, 3, 28, 28),
            torch.zeros(2, dtype=torch.long),
        )
    with pytest.raises(TypeError):
        batch_gradients(
            model, nn.CrossEntropyLoss(), [1, 2], torch.zeros(2, dtype=torch.long)
        )
    with pytest.raises(TypeError):
        batch_gradients(
            "model", nn.CrossEntropyLoss(), torch.zeros(2, 3), torch.zeros(2)
        )
    frozen = nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        batch_gradients(frozen, nn.MSELoss(), torch.zeros(2, 2), torch.zeros(2, 2))


def test_max_difference_checks_names_and_shapes():
    a = {"w": torch.zeros(2)}
    assert max_difference(a, {"w": torch.tensor([0.0, -0.25])}) == 0.25
    with pytest.raises(ValueError, match="different parameters"):
        max_difference(a, {"v": torch.zeros(2)})
    with pytest.raises(ValueError, match="shapes differ"):
        max_difference(a, {"w": torch.zeros(3)})
