"""The reference arithmetic against PyTorch's own optimizers, step by step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from lrlib.device import get_device
from lrlib.linreg import (
    make_linreg_data,
    make_linreg_loader,
    make_linreg_model,
    record_path,
)
from lrlib.moving_averages import ewma_beta
from lrlib.optim_math import adam_reference, param_trajectory, sgd_reference

STEPS = 25
SHAPE = (3, 2)
TOL = {"atol": 1e-6, "rtol": 1e-5}


def make_grads(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Random gradients whose size shrinks,
    so that Adam's v_t falls and amsgrad matters.
    """
    generator = torch.Generator().manual_seed(7)
    scale = torch.exp(-torch.arange(STEPS, dtype=torch.float64) / 6).reshape(-1, 1, 1)
    return (
        torch.randn(STEPS, *SHAPE, generator=generator, dtype=torch.float64) * scale
    ).to(dtype)


def make_start(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    generator = torch.Generator().manual_seed(8)
    return torch.randn(*SHAPE, generator=generator, dtype=torch.float64).to(dtype)


@dataclass
class TorchRun:
    params_before: torch.Tensor  # (steps, *shape): what a forward hook would see
    params_after: torch.Tensor  # (steps, *shape)
    state: dict[str, torch.Tensor]  # state key -> (steps, *shape)


def run_torch_optimizer(optimizer_class, kwargs, grads, start) -> TorchRun:
    """Feed the given gradients to a real PyTorch optimizer
    and record its state after each step.
    """
    param = torch.nn.Parameter(start.clone())
    optimizer = optimizer_class([param], **kwargs)
    before, after, states = [], [], []
    for grad in grads:
        before.append(param.detach().clone())
        param.grad = grad.clone()
        optimizer.step()
        after.append(param.detach().clone())
        states.append(
            {k: v.clone() for k, v in optimizer.state[param].items() if k != "step"}
        )
    keys = states[0].keys()
    return TorchRun(
        params_before=torch.stack(before),
        params_after=torch.stack(after),
        state={k: torch.stack([s[k] for s in states]) for k in keys},
    )


# ----------------------------------------------------------------------------- Adam

ADAM_CASES = [
    {},
    {"lr": 0.05, "betas": (0.5, 0.7), "eps": 1e-3},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.01, "amsgrad": True},
    {"lr": 0.02, "betas": (0.8, 0.9), "weight_decay": 0.05, "amsgrad": True},
    {"lr": 0.01, "betas": (0.0, 0.0)},
]


@pytest.mark.parametrize(
    "kwargs",
    ADAM_CASES,
    ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults",
)
def test_adam_state_and_path_equal_pytorchs(kwargs):
    grads, start = make_grads(), make_start()
    run = run_torch_optimizer(torch.optim.Adam, kwargs, grads, start)
    trace = adam_reference(grads, params=run.params_before, **kwargs)

    torch.testing.assert_close(trace.exp_avg, run.state["exp_avg"], **TOL)
    torch.testing.assert_close(trace.exp_avg_sq, run.state["exp_avg_sq"], **TOL)
    if kwargs.get("amsgrad"):
        torch.testing.assert_close(
            trace.max_exp_avg_sq, run.state["max_exp_avg_sq"], **TOL
        )
    path = param_trajectory(start, trace.update)
    torch.testing.assert_close(path[0], start)
    torch.testing.assert_close(path[1:], run.params_after, **TOL)


def test_adam_in_float64_agrees_to_rounding():
    kwargs = {"lr": 0.03, "betas": (0.8, 0.95), "weight_decay": 0.01, "amsgrad": True}
    grads, start = make_grads(torch.float64), make_start(torch.float64)
    run = run_torch_optimizer(torch.optim.Adam, kwargs, grads, start)
    trace = adam_reference(grads, params=run.params_before, **kwargs)
    tight = {"atol": 1e-13, "rtol": 1e-12}
    torch.testing.assert_close(trace.exp_avg, run.state["exp_avg"], **tight)
    torch.testing.assert_close(trace.exp_avg_sq, run.state["exp_avg_sq"], **tight)
    torch.testing.assert_close(
        param_trajectory(start, trace.update)[1:], run.params_after, **tight
    )


def test_amsgrad_really_uses_the_running_maximum():
    grads = make_grads()
    trace = adam_reference(grads, amsgrad=True)
    assert not torch.allclose(trace.max_exp_avg_sq, trace.exp_avg_sq)  # v_t did fall
    expected = torch.cummax(trace.exp_avg_sq, dim=0).values
    torch.testing.assert_close(trace.max_exp_avg_sq, expected)
    plain = adam_reference(grads, amsgrad=False)
    assert not torch.allclose(trace.update, plain.update)


def test_amsgrad_steps_grow_again_after_the_gradients_shrink():
    # PyTorch divides the running maximum by the *current* bias correction, which
    # keeps growing towards 1: the denominator falls although the maximum stands still.
    grads = torch.cat([torch.ones(10), torch.full((1190,), 0.01)]).reshape(-1, 1)
    trace = adam_reference(grads, lr=1.0, amsgrad=True)
    steps = trace.update.abs().flatten()
    assert torch.equal(trace.max_exp_avg_sq[-1], trace.max_exp_avg_sq[9])
    assert steps[1199] > 2 * steps[99]
    assert steps[99].item() == pytest.approx(0.031, abs=5e-4)
    assert steps[1199].item() == pytest.approx(0.084, abs=5e-4)
    # What amsgrad does promise:
    # never a larger step than plain Adam on the same gradients.
    assert (steps <= adam_reference(grads, lr=1.0).update.abs().flatten()).all()
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([param], lr=1.0, amsgrad=True)
    for grad in grads:
        param.grad = grad.clone()
        optimizer.step()
    torch.testing.assert_close(
        param.detach(), param_trajectory(torch.zeros(1), trace.update)[-1]
    )


def test_adam_moments_are_the_ewmas_of_gradients_and_squares():
    grads = make_grads(torch.float64)
    trace = adam_reference(grads, betas=(0.9, 0.99))
    g = grads[:, 1, 0].numpy()
    np.testing.assert_allclose(
        trace.exp_avg[:, 1, 0].numpy(), ewma_beta(g, 0.9), atol=1e-14
    )
    np.testing.assert_allclose(
        trace.exp_avg_sq[:, 1, 0].numpy(), ewma_beta(g**2, 0.99), atol=1e-14
    )


def test_adam_with_a_constant_gradient():
    grads = torch.full((10,), 0.3, dtype=torch.float64)
    trace = adam_reference(grads, lr=0.1, eps=1e-8)
    torch.testing.assert_close(
        trace.m_hat, grads
    )  # bias correction removes the zero start
    torch.testing.assert_close(trace.v_hat, grads**2)
    torch.testing.assert_close(
        trace.update, torch.full((10,), 0.1 * 0.3 / (0.3 + 1e-8), dtype=torch.float64)
    )
    torch.testing.assert_close(trace.scaling, 1 / (grads + 1e-8))
    assert trace.steps.tolist() == list(range(1, 11))


def test_adam_from_gradients_captured_by_a_tensor_hook():
    """The book's workflow:
    capture with register_hook while training, then recompute.
    """
    data = make_linreg_data(seed=3)
    model = make_linreg_model(bias=-0.5, weight=0.5)
    captured = []
    handle = model.weight.register_hook(
        lambda grad: captured.append(grad.detach().clone())
    )
    try:
        optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
        loader = make_linreg_loader(data.x_train, data.y_train, batch_size=16, seed=1)
        path = record_path(model, optimizer, loader, epochs=3)
    finally:
        handle.remove()

    assert len(captured) == path.n_steps == 15
    trace = adam_reference(captured, lr=0.1)
    state = optimizer.state[model.weight]
    torch.testing.assert_close(trace.exp_avg[-1], state["exp_avg"], **TOL)
    torch.testing.assert_close(trace.exp_avg_sq[-1], state["exp_avg_sq"], **TOL)
    weights = param_trajectory(torch.tensor([[0.5]]), trace.update).flatten().numpy()
    np.testing.assert_allclose(weights, path.weights, atol=1e-6)


# ----------------------------------------------------------------------------- SGD

SGD_CASES = [
    {"lr": 0.1},
    {"lr": 0.1, "dampening": 0.5},  # no momentum: dampening has no effect
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.1, "momentum": 0.9, "dampening": 0.9},
    {"lr": 0.05, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1},
    {"lr": 0.1, "momentum": 0.9, "nesterov": True},
    {"lr": 0.1, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01},
    {"lr": 0.1, "weight_decay": 0.2},
]


@pytest.mark.parametrize(
    "kwargs", SGD_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items())
)
def test_sgd_state_and_path_equal_pytorchs(kwargs):
    grads, start = make_grads(), make_start()
    run = run_torch_optimizer(torch.optim.SGD, kwargs, grads, start)
    trace = sgd_reference(grads, params=run.params_before, **kwargs)

    if kwargs.get("momentum", 0) != 0:
        torch.testing.assert_close(
            trace.momentum_buffer, run.state["momentum_buffer"], **TOL
        )
    else:
        assert (
            "momentum_buffer" not in run.state
        )  # PyTorch keeps no buffer without momentum
        torch.testing.assert_close(trace.update_term, trace.grad)
    torch.testing.assert_close(
        param_trajectory(start, trace.update)[1:], run.params_after, **TOL
    )


def test_momentum_without_dampening_is_a_discounted_sum():
    grads = make_grads(torch.float64)[:, 0, 0]
    buffer = sgd_reference(grads, momentum=0.9).momentum_buffer
    for t in range(1, len(grads) + 1):
        expected = sum(0.9 ** (t - k) * grads[k - 1] for k in range(1, t + 1))
        assert buffer[t - 1].item() == pytest.approx(expected.item(), abs=1e-12)


def test_dampening_equal_to_momentum_makes_an_ewma_started_at_the_first_gradient():
    grads = make_grads(torch.float64)[:, 2, 1]
    buffer = sgd_reference(grads, momentum=0.8, dampening=0.8).momentum_buffer
    np.testing.assert_allclose(
        buffer.numpy(), ewma_beta(grads.numpy(), 0.8, initial=None), atol=1e-14
    )


def test_the_three_update_terms():
    grads = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64)
    plain = sgd_reference(grads, lr=0.1)
    heavy_ball = sgd_reference(grads, lr=0.1, momentum=0.5)
    nesterov = sgd_reference(grads, lr=0.1, momentum=0.5, nesterov=True)
    assert plain.update_term.tolist() == [1.0, 1.0, 1.0]
    assert heavy_ball.update_term.tolist() == [1.0, 1.5, 1.75]
    assert nesterov.update_term.tolist() == [1.5, 1.75, 1.875]  # g + 0.5 * buffer
    torch.testing.assert_close(nesterov.update, 0.1 * nesterov.update_term)


@pytest.mark.gpu
def test_reference_runs_on_the_gradients_device():
    device = get_device()
    grads, start = make_grads().to(device), make_start().to(device)
    adam_kwargs = {"lr": 0.02, "weight_decay": 0.05, "amsgrad": True}
    run = run_torch_optimizer(torch.optim.Adam, adam_kwargs, grads, start)
    adam = adam_reference(grads, params=run.params_before, **adam_kwargs)
    assert adam.update.device.type == device.type
    torch.testing.assert_close(adam.exp_avg_sq, run.state["exp_avg_sq"], **TOL)
    torch.testing.assert_close(
        param_trajectory(start, adam.update)[1:], run.params_after, **TOL
    )

    sgd_kwargs = {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}
    run = run_torch_optimizer(torch.optim.SGD, sgd_kwargs, grads, start)
    sgd = sgd_reference(grads, params=run.params_before, **sgd_kwargs)
    torch.testing.assert_close(sgd.momentum_buffer, run.state["momentum_buffer"], **TOL)
    torch.testing.assert_close(
        param_trajectory(start, sgd.update)[1:], run.params_after, **TOL
    )


# --------------------------------------------------------------------------- validation


def test_weight_decay_needs_params():
    with pytest.raises(ValueError, match="pass params"):
        adam_reference(make_grads(), weight_decay=0.1)
    with pytest.raises(ValueError, match="pass params"):
        sgd_reference(make_grads(), weight_decay=0.1)
    with pytest.raises(ValueError, match="params must match grads"):
        sgd_reference(make_grads(), weight_decay=0.1, params=make_grads()[:-1])


def test_nesterov_needs_momentum_and_no_dampening_like_pytorch():
    param = [torch.nn.Parameter(torch.zeros(1))]
    for kwargs in ({"momentum": 0.0}, {"momentum": 0.9, "dampening": 0.1}):
        with pytest.raises(ValueError):
            torch.optim.SGD(param, lr=0.1, nesterov=True, **kwargs)
        with pytest.raises(ValueError, match="Nesterov momentum needs"):
            sgd_reference(make_grads(), nesterov=True, **kwargs)


def test_bad_hyperparameters_and_gradients():
    grads = make_grads()
    with pytest.raises(
        ValueError, match=r"^betas\[1\] must be a finite number in \[0, 1\), got 1.0$"
    ):
        adam_reference(grads, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="betas must be a pair"):
        adam_reference(grads, betas=(0.9,))
    with pytest.raises(ValueError, match="^lr must be a finite number >= 0, got -1.0$"):
        sgd_reference(grads, lr=-1.0)
    with pytest.raises(
        TypeError, match=r"^momentum must be a finite number in \[0, 1\), got '0.9'$"
    ):
        sgd_reference(grads, momentum="0.9")
    with pytest.raises(ValueError, match="same shape"):
        adam_reference([torch.zeros(2), torch.zeros(3)])
    with pytest.raises(ValueError, match="at least one step"):
        adam_reference([])
    with pytest.raises(TypeError, match="floating point"):
        sgd_reference(torch.ones(3, dtype=torch.long))
    with pytest.raises(ValueError, match="shape of one update"):
        param_trajectory(torch.zeros(2), torch.zeros(4, 3))


def test_inputs_are_not_modified():
    grads = make_grads()
    params = make_grads()
    grads_copy, params_copy = grads.clone(), params.clone()
    adam_reference(grads, weight_decay=0.1, params=params)
    sgd_reference(grads, momentum=0.9, weight_decay=0.1, params=params)
    assert torch.equal(grads, grads_copy) and torch.equal(params, params_copy)
