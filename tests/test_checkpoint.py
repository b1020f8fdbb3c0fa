"""Tests for lrlib.checkpoint: a run saved after 4 epochs and resumed in fresh
objects for 4 more must equal an uninterrupted 8-epoch run, bit for bit."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler
from torch.utils.data import DataLoader, TensorDataset

from lrlib.checkpoint import (
    capture_rng_state,
    load_checkpoint,
    loader_generators,
    restore_rng_state,
    save_checkpoint,
)
from lrlib.device import get_device
from lrlib.training import Trainer
from tests._compare import assert_same_history, assert_same_parameters



BATCHES = 6

SCHEDULERS = {
    "step": lambda opt: lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
    "plateau": lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0),
    "one-cycle": lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=8 * BATCHES),
    "cosine-restarts": lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3),
}


def build(seed: int, scheduler: str, *, loader_generator: bool = True) -> Trainer:
    """A fresh trainer; ``seed`` sets the initial weights and the shuffling."""
    g = torch.Generator().manual_seed(1234)
    x = torch.randn(BATCHES * 8 + 20, 4, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    train, val = TensorDataset(x[:48], y[:48]), TensorDataset(x[48:], y[48:])
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    shuffle = {"generator": torch.Generator().manual_seed(seed)} if loader_generator else {}
    return Trainer(
        model, nn.CrossEntropyLoss(), optimizer,
        DataLoader(train, batch_size=8, shuffle=True, **shuffle),
        DataLoader(val, batch_size=10),
        scheduler=SCHEDULERS[scheduler](optimizer), progress=False,
    )




@pytest.mark.gpu
@pytest.mark.parametrize("loader_generator", [True, False], ids=["loader-generator", "global-rng"])
@pytest.mark.parametrize("scheduler", list(SCHEDULERS))
def test_resumed_run_equals_uninterrupted_run(tmp_path, scheduler, loader_generator):
    uninterrupted = build(0, scheduler, loader_generator=loader_generator)
    uninterrupted.fit(8)

    first = build(0, scheduler, loader_generator=loader_generator)
    first.fit(4)
    path = save_checkpoint(first, tmp_path / "run" / "epoch4.pt")
    del first
    torch.rand(100)  # disturb the global generators: loading must put them back
    if torch.cuda.is_available():
        torch.rand(100, device="cuda")

    # other initial weights, another shuffle: loading must replace them all
    resumed = build(42, scheduler, loader_generator=loader_generator)
    load_checkpoint(resumed, path)
    assert resumed.epoch == 4
    resumed.fit(4)

    assert resumed.epoch == 8
    assert_same_history(resumed.history, uninterrupted.history)  # losses, learning rates
    assert_same_parameters(resumed.model, uninterrupted.model)
    if scheduler != "plateau":  # the schedule really moved during the resumed half
        assert len({tuple(lrs) for lrs in resumed.history["lr"][4:]}) > 1


def test_checkpoint_loads_with_weights_only(tmp_path):
    trainer = build(0, "one-cycle")
    trainer.fit(1)
    path = save_checkpoint(trainer, tmp_path / "c.pt")
    state = torch.load(path, weights_only=True)
    assert set(state) >= {"model", "optimizer", "scheduler", "epoch", "history", "rng"}
    assert state["epoch"] == 1
    assert state["history"]["train_loss"] == trainer.history["train_loss"]


def test_rng_state_round_trip_covers_torch_numpy_python_and_generators():
    g = torch.Generator().manual_seed(5)
    state = capture_rng_state([g])
    first = (torch.rand(3), np.random.rand(3), random.random(), torch.rand(3, generator=g))
    restore_rng_state(state, [g])
    second = (torch.rand(3), np.random.rand(3), random.random(), torch.rand(3, generator=g))
    assert torch.equal(first[0], second[0])
    assert np.array_equal(first[1], second[1])
    assert first[2] == second[2]
    assert torch.equal(first[3], second[3])


def test_loader_generators_finds_each_generator_once():
    g = torch.Generator()
    data = TensorDataset(torch.zeros(4, 1))
    assert loader_generators(DataLoader(data, shuffle=True, generator=g), None) == [g]
    assert loader_generators(DataLoader(data, shuffle=True)) == []


def test_mismatched_trainer_is_refused(tmp_path):
    trainer = build(0, "step")
    path = save_checkpoint(trainer, tmp_path / "c.pt")
    with pytest.raises(ValueError, match="scheduler StepLR, but this trainer has OneCycleLR"):
        load_checkpoint(build(0, "one-cycle"), path)
    with pytest.raises(ValueError, match="1 data-loader generator"):
        load_checkpoint(build(0, "step", loader_generator=False), path)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(trainer, tmp_path / "missing.pt")
