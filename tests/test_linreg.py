"""The linear-regression playground: data, closed-form loss surface, recorded paths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lrlib.device import get_device
from lrlib.linreg import (
    least_squares,
    linreg_mse,
    loss_surface,
    make_linreg_data,
    make_linreg_loader,
    make_linreg_model,
    record_path,
)

# ----------------------------------------------------------------------------- data


def test_data_shapes_split_and_dtype():
    data = make_linreg_data(100, seed=0, val_fraction=0.2)
    assert data.x_train.shape == data.y_train.shape == (80, 1)
    assert data.x_val.shape == data.y_val.shape == (20, 1)
    assert data.x_train.dtype == torch.float32
    x = torch.cat([data.x_train, data.x_val]).flatten()
    assert x.min() >= 0 and x.max() < 1
    assert len(torch.unique(x)) == 100  # a split, not a resampling


def test_data_follow_the_line_with_the_requested_noise():
    data = make_linreg_data(2000, seed=5, noise_std=0.1)
    residuals = data.y_train - (1.0 + 2.0 * data.x_train)
    assert residuals.std().item() == pytest.approx(0.1, rel=0.1)
    assert abs(residuals.mean().item()) < 0.01
    exact = make_linreg_data(10, seed=5, noise_std=0.0, true_bias=-1.0, true_weight=3.0)
    assert torch.allclose(exact.y_train, -1.0 + 3.0 * exact.x_train)


def test_data_depend_on_the_seed_only():
    torch.manual_seed(0)
    a = make_linreg_data(seed=11)
    state = torch.random.get_rng_state()
    torch.manual_seed(99)
    b = make_linreg_data(seed=11)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)
    assert not torch.equal(a.x_train, make_linreg_data(seed=12).x_train)
    torch.manual_seed(0)
    make_linreg_data(seed=11)
    assert torch.equal(
        torch.random.get_rng_state(), state
    )  # global generator untouched


def test_data_validation():
    with pytest.raises(ValueError, match="n must be an int >= 2"):
        make_linreg_data(1)
    with pytest.raises(ValueError, match="val_fraction"):
        make_linreg_data(val_fraction=1.0)
    with pytest.raises(ValueError, match="noise_std"):
        make_linreg_data(noise_std=-0.1)


# --------------------------------------------------------------------- model and loader


def test_model_starts_where_asked_and_computes_b_plus_w_x():
    model = make_linreg_model(bias=0.25, weight=-1.5)
    x = torch.tensor([[0.0], [2.0]])
    assert torch.equal(model(x).detach(), torch.tensor([[0.25], [-2.75]]))


def test_loader_order_depends_on_its_seed_only():
    data = make_linreg_data(seed=0)

    def first_epoch(seed: int) -> torch.Tensor:
        loader = make_linreg_loader(
            data.x_train, data.y_train, batch_size=16, seed=seed
        )
        return torch.cat([x for x, _ in loader])

    torch.manual_seed(1)
    a = first_epoch(4)
    torch.manual_seed(2)
    b = first_epoch(4)
    assert torch.equal(a, b)
    assert not torch.equal(a, first_epoch(5))
    assert torch.equal(
        torch.sort(a.flatten()).values, torch.sort(data.x_train.flatten()).values
    )
    assert len(make_linreg_loader(data.x_train, data.y_train, batch_size=30)) == 3


def test_loader_validation():
    with pytest.raises(ValueError, match="same length"):
        make_linreg_loader(torch.zeros(3, 1), torch.zeros(4, 1))
    with pytest.raises(ValueError, match="batch_size"):
        make_linreg_loader(torch.zeros(3, 1), torch.zeros(3, 1), batch_size=0)


# ------------------------------------------------------------------------- loss surface


def test_mse_equals_pytorchs_loss():
    data = make_linreg_data(seed=1)
    for bias, weight in [(0.0, 0.0), (1.0, 2.0), (-3.0, 4.5)]:
        model = make_linreg_model(bias, weight)
        expected = torch.nn.functional.mse_loss(
            model(data.x_train), data.y_train
        ).item()
        assert linreg_mse(data.x_train, data.y_train, bias, weight) == pytest.approx(
            expected, rel=1e-5
        )


def test_surface_equals_a_brute_force_double_loop():
    data = make_linreg_data(seed=2)
    x, y = data.x_train.double().numpy().ravel(), data.y_train.double().numpy().ravel()
    biases = np.linspace(-1, 3, 7)
    weights = np.linspace(-1, 5, 5)  # a different length, to catch a transposed grid
    surface = loss_surface(data.x_train, data.y_train, biases, weights)
    assert surface.losses.shape == (5, 7)
    for i, w in enumerate(weights):
        for j, b in enumerate(biases):
            assert surface.losses[i, j] == pytest.approx(
                np.mean((y - b - w * x) ** 2), rel=1e-10, abs=1e-12
            )


def test_surface_minimum_is_the_least_squares_solution():
    data = make_linreg_data(seed=3)
    surface = loss_surface(
        data.x_train, data.y_train, np.linspace(0, 2, 41), np.linspace(1, 3, 41)
    )
    x = data.x_train.double()
    design = torch.cat([torch.ones_like(x), x], dim=1)
    solution = torch.linalg.lstsq(design, data.y_train.double()).solution.flatten()
    assert surface.best_bias == pytest.approx(solution[0].item(), abs=1e-9)
    assert surface.best_weight == pytest.approx(solution[1].item(), abs=1e-9)
    assert surface.best_loss <= surface.losses.min()
    assert abs(surface.best_bias - 1.0) < 0.15 and abs(surface.best_weight - 2.0) < 0.3
    assert surface.best_loss == pytest.approx(0.01, rel=0.5)  # about the noise variance


def test_surface_validation():
    with pytest.raises(ValueError, match="same size"):
        linreg_mse([0.0, 1.0], [1.0], 0.0, 0.0)
    with pytest.raises(ValueError, match="all x are equal"):
        least_squares([1.0, 1.0], [0.0, 2.0])
    with pytest.raises(ValueError, match="biases must be a non-empty 1-D array"):
        loss_surface([0.0, 1.0], [0.0, 1.0], np.zeros((2, 2)), [1.0])


# ----------------------------------------------------------------------- recorded paths


def test_full_batch_sgd_path_is_gradient_descent_by_hand():
    data = make_linreg_data(seed=4)
    x, y = data.x_train.double().numpy().ravel(), data.y_train.double().numpy().ravel()
    model = make_linreg_model(bias=-1.0, weight=-1.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    loader = make_linreg_loader(
        data.x_train, data.y_train, batch_size=len(x), shuffle=False
    )
    path = record_path(model, optimizer, loader, epochs=12)

    b, w = -1.0, -1.0
    expected_b, expected_w, expected_loss = [b], [w], []
    for _ in range(12):
        residual = y - b - w * x
        expected_loss.append(np.mean(residual**2))
        b, w = b + 0.2 * 2 * residual.mean(), w + 0.2 * 2 * (residual * x).mean()
        expected_b.append(b)
        expected_w.append(w)
    np.testing.assert_allclose(path.biases, expected_b, atol=1e-5)
    np.testing.assert_allclose(path.weights, expected_w, atol=1e-5)
    np.testing.assert_allclose(path.batch_losses, expected_loss, rtol=1e-5)
    np.testing.assert_allclose(path.epoch_losses, expected_loss, rtol=1e-5)
    assert path.n_steps == 12 and path.lrs.shape == (12, 1)


def test_mini_batch_counts_and_epoch_losses():
    data = make_linreg_data(seed=4)
    model = make_linreg_model(bias=0.0, weight=0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    loader = make_linreg_loader(
        data.x_train, data.y_train, batch_size=30
    )  # 30 + 30 + 20
    path = record_path(model, optimizer, loader, epochs=4)
    assert path.n_steps == 12 and path.biases.shape == path.weights.shape == (13,)
    first_epoch = path.batch_losses[:3]
    assert path.epoch_losses[0] == pytest.approx(
        (30 * first_epoch[0] + 30 * first_epoch[1] + 20 * first_epoch[2]) / 80
    )
    assert path.biases[-1] == pytest.approx(model.bias.item())
    assert path.weights[-1] == pytest.approx(model.weight.item())


def test_same_seeds_give_the_same_path():
    data = make_linreg_data(seed=6)

    def run() -> np.ndarray:
        model = make_linreg_model(bias=0.0, weight=0.0)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        loader = make_linreg_loader(data.x_train, data.y_train, batch_size=8, seed=3)
        return record_path(model, optimizer, loader, epochs=2).weights

    torch.manual_seed(0)
    first = run()
    torch.manual_seed(1)
    np.testing.assert_array_equal(first, run())


@pytest.mark.gpu
def test_path_on_the_chosen_device_matches_the_cpu_path():
    data = make_linreg_data(seed=10)

    def run(device: torch.device) -> np.ndarray:
        model = make_linreg_model(bias=0.0, weight=0.0).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
        loader = make_linreg_loader(data.x_train, data.y_train, batch_size=16, seed=2)
        path = record_path(model, optimizer, loader, epochs=2)
        return np.stack([path.biases, path.weights])

    np.testing.assert_allclose(run(get_device()), run(torch.device("cpu")), atol=1e-5)


def test_scheduler_stepping_per_epoch_and_per_batch():
    data = make_linreg_data(seed=7)
    loader = make_linreg_loader(data.x_train, data.y_train, batch_size=40)  # 2 batches

    def lrs(interval: str) -> np.ndarray:
        model = make_linreg_model(bias=0.0, weight=0.0)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        return record_path(
            model, optimizer, loader, 3, scheduler, scheduler_step=interval
        ).lrs[:, 0]

    np.testing.assert_allclose(lrs("epoch"), [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    np.testing.assert_allclose(lrs("batch"), 0.1 * 0.5 ** np.arange(6))


def test_without_an_interval_the_scheduler_steps_where_the_trainer_steps_it():
    data = make_linreg_data(seed=7)
    loader = make_linreg_loader(data.x_train, data.y_train, batch_size=40)  # 2 batches

    def lrs(make, **kwargs) -> list[float]:
        model = make_linreg_model(bias=0.0, weight=0.0)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scheduler = make(optimizer)
        path = record_path(model, optimizer, loader, 3, scheduler, **kwargs)
        return path.lrs[:, 0].tolist()

    L = torch.optim.lr_scheduler
    cyclic = lambda opt: L.CyclicLR(opt, 0.01, 0.1, step_size_up=2)  # noqa: E731
    assert lrs(cyclic) == lrs(cyclic, scheduler_step="batch")
    step = lambda opt: L.StepLR(opt, step_size=1, gamma=0.5)  # noqa: E731
    assert lrs(step) == lrs(step, scheduler_step="epoch")
    # Warm restarts step after every batch with the fractional epoch reached, as
    # in the trainer: restarts every epoch (T_0=1) come at every epoch's start.
    restarts = lambda opt: L.CosineAnnealingWarmRestarts(opt, T_0=1)  # noqa: E731
    np.testing.assert_allclose(lrs(restarts), [0.1, 0.05] * 3, atol=1e-12)


def test_reduce_on_plateau_watches_the_epoch_loss():
    data = make_linreg_data(seed=8)
    loader = make_linreg_loader(data.x_train, data.y_train, batch_size=80)
    model = make_linreg_model(bias=0.0, weight=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    # mode="max": a falling loss counts as "no improvement", so the LR drops at once.
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=0.5, patience=0
    )
    path = record_path(model, optimizer, loader, 4, scheduler)
    assert np.all(np.diff(path.epoch_losses) < 0)
    # Epoch 1 sets the best value;
    # each later epoch is "worse" and halves the LR after it.
    np.testing.assert_allclose(path.lrs[:, 0], [0.1, 0.1, 0.05, 0.025])


def test_several_parameter_groups_have_their_own_lrs():
    data = make_linreg_data(seed=9)
    model = make_linreg_model(bias=0.0, weight=0.0)
    optimizer = torch.optim.SGD(
        [{"params": [model.bias], "lr": 0.01}, {"params": [model.weight]}], lr=0.2
    )
    path = record_path(
        model, optimizer, make_linreg_loader(data.x_train, data.y_train), 1
    )
    np.testing.assert_allclose(path.lrs, np.tile([0.01, 0.2], (path.n_steps, 1)))


def test_mode_is_restored_even_when_training_fails():
    data = make_linreg_data(seed=0)
    loader = make_linreg_loader(data.x_train, data.y_train)
    model = make_linreg_model(bias=0.0, weight=0.0).eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    record_path(model, optimizer, loader, 1)
    assert not model.training

    def broken_loss(prediction, target):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        record_path(model, optimizer, loader, 1, loss_fn=broken_loss)
    assert not model.training


def test_record_path_validation():
    data = make_linreg_data(seed=0)
    loader = make_linreg_loader(data.x_train, data.y_train)
    model = make_linreg_model(bias=0.0, weight=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"nn.Linear\(1, 1\)"):
        record_path(torch.nn.Linear(2, 1), optimizer, loader, 1)
    with pytest.raises(ValueError, match="optimizer must hold"):
        other = torch.optim.SGD(make_linreg_model(0.0, 0.0).parameters(), lr=0.1)
        record_path(model, other, loader, 1)
    with pytest.raises(ValueError, match="epochs"):
        record_path(model, optimizer, loader, 0)
    step = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)
    with pytest.raises(ValueError, match="scheduler_step must be 'epoch'"):
        record_path(model, optimizer, loader, 1, step, scheduler_step="step")
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
    with pytest.raises(ValueError, match="so scheduler_step must be 'metric'"):
        record_path(model, optimizer, loader, 1, plateau, scheduler_step="epoch")


def test_the_step_setting_is_the_trainer_s_and_checked_as_it_is():
    data = make_linreg_data(seed=7)
    loader = make_linreg_loader(data.x_train, data.y_train, batch_size=40)
    model = make_linreg_model(bias=0.0, weight=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="scheduler_step='batch' was given, but no"):
        record_path(model, optimizer, loader, 1, scheduler_step="batch")
    other = torch.optim.SGD(make_linreg_model(0.0, 0.0).parameters(), lr=0.1)
    foreign = torch.optim.lr_scheduler.StepLR(other, step_size=1)
    with pytest.raises(ValueError, match="built on another optimizer"):
        record_path(model, optimizer, loader, 1, foreign)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
    with pytest.raises(ValueError, match="scheduler_step"):
        record_path(model, optimizer, loader, 1, plateau, scheduler_step="epoch")
