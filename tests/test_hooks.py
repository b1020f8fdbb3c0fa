"""Tests for lrlib.hooks: recorded gradients are compared with torch.autograd.grad,
recorded parameters with the model after training, and every test checks that
no hook is left behind (also when the code inside the ``with`` block fails)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lrlib.device import get_device
from lrlib.hooks import layer_parameters, record_gradients, record_parameters
from lrlib.training import Trainer


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def make_model() -> Net:
    torch.manual_seed(0)
    return Net().to(get_device())


def make_loaders() -> tuple[DataLoader, DataLoader]:
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(40, 4, generator=g), torch.randint(0, 3, (40,), generator=g)
    data = TensorDataset(x, y)
    train_loader = DataLoader(data, batch_size=8, shuffle=True, generator=g)
    return train_loader, DataLoader(data, batch_size=10)


def no_hooks_left(
    model: nn.Module, optimizer: torch.optim.Optimizer | None = None
) -> bool:
    tensor_hooks = any(p._backward_hooks for p in model.parameters())
    step_hooks = optimizer is not None and bool(optimizer._optimizer_step_post_hooks)
    return not tensor_hooks and not step_hooks


@pytest.mark.gpu
def test_recorded_gradients_equal_autograd_and_leave_grad_unchanged():
    model = make_model()
    x = torch.randn(5, 4, device=get_device())
    y = torch.tensor([0, 1, 2, 0, 1], device=get_device())
    loss = nn.functional.cross_entropy(model(x), y)
    expected = torch.autograd.grad(loss, list(model.head.parameters()))

    with record_gradients(model, "head") as grads:
        nn.functional.cross_entropy(model(x), y).backward()

    assert list(grads) == ["head.weight", "head.bias"]
    for name, want in zip(grads, expected):
        [recorded] = grads[name]
        assert torch.allclose(recorded, want, atol=1e-7)
    # the hook returned None, so .grad is autograd's gradient, untouched
    assert torch.allclose(model.head.weight.grad, expected[0], atol=1e-7)
    assert no_hooks_left(model)


@pytest.mark.gpu
def test_recording_during_fit_once_per_batch_and_not_during_validation():
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train_loader, val_loader = make_loaders()
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        train_loader,
        val_loader,
        progress=False,
    )

    with (
        record_gradients(model, ["body.0", "head"]) as grads,
        record_parameters(model, optimizer, "head") as params,
    ):
        trainer.fit(2)

    batches = 2 * len(train_loader)  # 10 optimizer steps; validation adds none
    assert sorted(grads) == ["body.0.bias", "body.0.weight", "head.bias", "head.weight"]
    assert all(len(g) == batches for g in grads.values())
    assert list(params) == ["head.weight", "head.bias"]
    assert all(len(p) == batches for p in params.values())
    # The last snapshot is the trained parameter, and snapshots are copies.
    assert torch.equal(params["head.weight"][-1], model.head.weight.detach())
    assert params["head.weight"][-1].data_ptr() != model.head.weight.data_ptr()
    assert not torch.equal(params["head.weight"][0], params["head.weight"][-1])
    assert not params["head.weight"][0].requires_grad
    # With plain SGD each update is -lr * gradient.
    step = params["head.bias"][-1] - params["head.bias"][-2]
    assert torch.allclose(step, -0.1 * grads["head.bias"][-1], atol=1e-6)
    assert no_hooks_left(model, optimizer)


def test_hooks_are_removed_when_training_fails():
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(8, 4)
    bad = DataLoader(TensorDataset(x, torch.rand(8)), batch_size=4)  # float targets
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, bad, progress=False)

    with pytest.raises(ValueError, match="CrossEntropyLoss"):
        with (
            record_gradients(model, "head") as grads,
            record_parameters(model, optimizer, "head") as params,
        ):
            trainer.fit(1)

    assert no_hooks_left(model, optimizer)
    # Training after the block records nothing more.
    model(x.to(get_device())).sum().backward()
    optimizer.step()
    assert grads == {"head.weight": [], "head.bias": []}
    assert params == {"head.weight": [], "head.bias": []}


def test_layer_names_are_checked():
    model = make_model()
    with pytest.raises(ValueError, match=r"no layer 'tail'.*'body', 'body.0'"):
        layer_parameters(model, "tail")
    with pytest.raises(ValueError, match=r"'body.1' \(ReLU\) has no parameters"):
        layer_parameters(model, ["body.1"])
    with pytest.raises(TypeError, match="layer name"):
        layer_parameters(model, [])
    assert list(layer_parameters(model, "body")) == ["body.0.weight", "body.0.bias"]


def test_frozen_parameters_are_refused_without_leaving_hooks():
    model = make_model()
    model.head.bias.requires_grad_(False)
    with pytest.raises(ValueError, match=r"\['head.bias'\] are frozen"):
        with record_gradients(model, "head"):
            pass
    assert no_hooks_left(model)
