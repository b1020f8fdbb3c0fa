"""Tests for lrlib.checkpoint: a run saved after 4 epochs and resumed in fresh
objects for 4 more must equal an uninterrupted 8-epoch run, bit for bit."""

from __future__ import annotations

import copy
import io
import os
import random
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler
from torch.utils.data import DataLoader, TensorDataset

from lrlib._digest import state_sha256
from lrlib._states import (
    capture_rng_state,
    copy_state,
    loader_generators,
    restore_rng_state,
)
from lrlib.checkpoint import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from lrlib.training import Trainer
from tests._compare import assert_same_history, assert_same_parameters

BATCHES = 6

SCHEDULERS = {
    "step": lambda opt: lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
    "plateau": lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0),
    "one-cycle": lambda opt: lr_scheduler.OneCycleLR(
        opt, max_lr=0.05, total_steps=8 * BATCHES
    ),
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
    model = nn.Sequential(
        nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    shuffle = (
        {"generator": torch.Generator().manual_seed(seed)} if loader_generator else {}
    )
    return Trainer(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        DataLoader(train, batch_size=8, shuffle=True, **shuffle),
        DataLoader(val, batch_size=10),
        scheduler=SCHEDULERS[scheduler](optimizer),
        progress=False,
    )


@pytest.mark.gpu
@pytest.mark.parametrize(
    "loader_generator", [True, False], ids=["loader-generator", "global-rng"]
)
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
    assert_same_history(
        resumed.history, uninterrupted.history
    )  # losses, learning rates
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


# ---------------------------------------------------------------------------
# Format and checksum: a damaged or foreign file is never loaded silently
# ---------------------------------------------------------------------------


def test_a_checkpoint_carries_its_format_and_the_sha256_of_its_state(tmp_path):
    trainer = build(0, "step")
    trainer.fit(1)
    path = save_checkpoint(trainer, tmp_path / "c.pt")
    saved = torch.load(path, weights_only=True)
    assert saved["format"] == CHECKPOINT_FORMAT == 2
    state = {k: v for k, v in saved.items() if k not in ("format", "sha256")}
    assert saved["sha256"] == state_sha256(state)
    assert saved["sha256"] == state_sha256(trainer.state_dict())


def flip_one_bit_inside(path: Path, tensor: torch.Tensor) -> None:
    """Flip one bit of ``tensor``'s bytes where ``torch.save`` stored them."""
    raw = path.read_bytes()
    data = tensor.detach().contiguous().view(torch.uint8).numpy().tobytes()
    start = raw.find(data)
    assert start >= 0 and raw.count(data) == 1
    at = start + len(data) // 2
    path.write_bytes(raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1 :])


def test_a_flipped_bit_in_a_tensor_is_an_error_and_changes_nothing(tmp_path):
    trainer = build(0, "step")
    trainer.fit(1)
    path = save_checkpoint(trainer, tmp_path / "c.pt")
    flip_one_bit_inside(path, trainer.model[0].weight)
    damaged = torch.load(path, weights_only=True)  # torch.load notices nothing
    assert not torch.equal(damaged["model"]["0.weight"], trainer.model[0].weight)
    fresh = build(5, "step")
    before = everything(fresh)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(fresh, path)
    message = str(info.value)
    assert str(path) in message
    assert "does not match the SHA-256 recorded when it was saved" in message
    assert "Nothing was loaded" in message
    assert_same(before, everything(fresh))


def test_a_checkpoint_of_a_newer_format_is_refused_naming_both(tmp_path):
    trainer = build(0, "step")
    path = save_checkpoint(trainer, tmp_path / "c.pt")
    saved = torch.load(path, weights_only=True)
    saved["format"] = CHECKPOINT_FORMAT + 1
    torch.save(saved, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(build(1, "step"), path)
    message = str(info.value)
    assert f"of format {CHECKPOINT_FORMAT + 1}, written by a newer lrlib" in message
    assert f"reads formats 1 to {CHECKPOINT_FORMAT}" in message


@pytest.mark.parametrize("found", ["2", 0, None])
def test_a_format_no_lrlib_writes_is_refused(tmp_path, found):
    trainer = build(0, "step")
    path = save_checkpoint(trainer, tmp_path / "c.pt")
    saved = torch.load(path, weights_only=True)
    saved["format"] = found
    torch.save(saved, path)
    with pytest.raises(CheckpointError, match="which no lrlib writes"):
        load_checkpoint(build(1, "step"), path)


def test_a_checkpoint_of_the_first_format_loads_with_a_warning(tmp_path):
    source = build(0, "step")
    source.fit(2)
    path = tmp_path / "old.pt"
    torch.save(source.state_dict(), path)  # format 1: the state alone
    resumed = build(3, "step")
    with pytest.warns(UserWarning, match="has no checksum .format 1"):
        load_checkpoint(resumed, path)
    assert resumed.epoch == 2
    assert_same_parameters(resumed.model, source.model)


def test_an_entry_no_trainer_state_has_is_refused(tmp_path):
    trainer = build(0, "step")
    trainer.fit(1)
    state = copy.deepcopy(trainer.state_dict())
    state["ema_model"] = {"weight": torch.zeros(2)}
    fresh = build(1, "step")
    before = everything(fresh)
    with pytest.raises(
        CheckpointError, match="entries no trainer state has: ema_model"
    ):
        fresh.load_state_dict(state)
    assert_same(before, everything(fresh))


def test_a_state_using_the_seal_entries_cannot_be_saved(tmp_path):
    class Holder:
        def state_dict(self):
            return {"weights": torch.ones(2), "format": 7}

    with pytest.raises(ValueError, match=r"already holds the entries \['format'\]"):
        save_checkpoint(Holder(), tmp_path / "c.pt")


def test_every_scheduler_of_the_catalog_saves_and_loads_checked(tmp_path):
    from lrlib.book import CATALOG

    for entry in CATALOG:
        optimizer = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
        scheduler = entry.build(optimizer, 20)
        state = {"scheduler": scheduler.state_dict(), "epoch": 0}
        path = tmp_path / f"{entry.name}.pt"
        torch.save({**state, "sha256": state_sha256(state)}, path)
        loaded = torch.load(path, weights_only=True)
        assert loaded.pop("sha256") == state_sha256(loaded), entry.name


def test_rng_state_round_trip_covers_torch_numpy_python_and_generators():
    g = torch.Generator().manual_seed(5)
    state = capture_rng_state([g])
    first = (
        torch.rand(3),
        np.random.rand(3),
        random.random(),
        torch.rand(3, generator=g),
    )
    restore_rng_state(state, [g])
    second = (
        torch.rand(3),
        np.random.rand(3),
        random.random(),
        torch.rand(3, generator=g),
    )
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
    with pytest.raises(
        ValueError, match="scheduler StepLR, but this trainer has OneCycleLR"
    ):
        load_checkpoint(build(0, "one-cycle"), path)
    with pytest.raises(ValueError, match="1 data-loader generator"):
        load_checkpoint(build(0, "step", loader_generator=False), path)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(trainer, tmp_path / "missing.pt")


# ---------------------------------------------------------------------------
# Saving: a crash during a save never costs the previous checkpoint
# ---------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]

# A writer process. It saves a good checkpoint, then saves again with torch.save
# replaced by one that writes the first half of the bytes, says so, and hangs:
# the parent kills it right in the middle of the second save.
HALF_WRITTEN_SAVE = """
import io, os, sys, time
import torch
from lrlib.checkpoint import save_checkpoint

class Holder:  # save_checkpoint needs only state_dict()
    def __init__(self, value):
        self.value = value
    def state_dict(self):
        return {"weights": torch.full((200_000,), float(self.value))}

path = sys.argv[1]
save_checkpoint(Holder(1), path)
real_save = torch.save

def half_then_hang(obj, f, *args, **kwargs):
    buffer = io.BytesIO()
    real_save(obj, buffer, *args, **kwargs)
    data = buffer.getvalue()
    if isinstance(f, (str, os.PathLike)):
        f = open(f, "wb")
    f.write(data[: len(data) // 2])
    f.flush()
    os.fsync(f.fileno())
    print("half written", flush=True)
    time.sleep(120)

torch.save = half_then_hang
save_checkpoint(Holder(2), path)
"""

# A writer process that overwrites one checkpoint again and again, each time
# with a large state of another value, until it is killed.
REPEATED_SAVES = """
import sys
import torch
from lrlib.checkpoint import save_checkpoint

class Holder:
    def __init__(self, value):
        self.value = value
    def state_dict(self):
        return {"weights": torch.full((3_000_000,), float(self.value))}

path = sys.argv[1]
save_checkpoint(Holder(0), path)
print("first save done", flush=True)
k = 1
while True:
    save_checkpoint(Holder(k), path)
    k += 1
"""


def start_writer(script: str, path: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for_line(process: subprocess.Popen, expected: str) -> None:
    line = process.stdout.readline()
    if line.strip() != expected:
        process.kill()
        process.wait()
        raise AssertionError(f"the writer process said {line!r}, expected {expected!r}")


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    process.stdout.close()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_save_killed_midway_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "run" / "last.pt"
    writer = start_writer(HALF_WRITTEN_SAVE, path)
    wait_for_line(writer, "half written")
    kill(writer)

    state = torch.load(path, weights_only=True)  # the first save, whole
    assert torch.equal(state["weights"], torch.full((200_000,), 1.0))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_writer_killed_at_any_moment_leaves_a_whole_checkpoint(tmp_path):
    path = tmp_path / "last.pt"
    for delay in (0.1, 0.3):
        writer = start_writer(REPEATED_SAVES, path)
        wait_for_line(writer, "first save done")
        time.sleep(delay)  # most of the time is spent inside a save
        kill(writer)
        weights = torch.load(path, weights_only=True)["weights"]
        assert weights.shape == (3_000_000,)
        assert torch.all(weights == weights[0])  # one complete state, not a mixture


def test_a_failed_save_keeps_the_old_checkpoint_and_leaves_no_temporary_file(
    tmp_path, monkeypatch
):
    class Unpicklable:
        def state_dict(self):
            return {"weights": torch.ones(1000), "hook": lambda: None}

    trainer = build(0, "step")
    path = save_checkpoint(trainer, tmp_path / "c.pt")
    before = path.read_bytes()
    # A function is refused before anything is written: no checksum covers it.
    with pytest.raises(TypeError, match=r"state\['hook'\] is a function"):
        save_checkpoint(Unpicklable(), path)
    assert path.read_bytes() == before

    def fail_midway(obj, f, *args, **kwargs):
        f.write(b"the first bytes of a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", fail_midway)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(trainer, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


def test_save_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    trainer = build(0, "step")
    path = save_checkpoint(trainer, tmp_path / "c.pt")
    path.chmod(0o640)
    save_checkpoint(trainer, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


# ---------------------------------------------------------------------------
# Loading: everything is checked before anything changes
# ---------------------------------------------------------------------------


def everything(trainer: Trainer) -> dict:
    """A deep copy of all a load may change:
    model, optimizer, scheduler, RNGs, counters.
    """
    return copy.deepcopy(
        {
            "model": trainer.model.state_dict(),
            "optimizer": trainer.optimizer.state_dict(),
            "scheduler": trainer.scheduler.state_dict(),
            "epoch": trainer.epoch,
            "history": trainer.history,
            "rng": capture_rng_state(
                loader_generators(trainer.train_loader, trainer.val_loader)
            ),
        }
    )


def assert_same(a, b, where="state"):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def build_with(
    seed: int,
    *,
    hidden: int = 16,
    optimizer: str = "adam",
    groups: int = 1,
    scheduler: str = "step",
    **trainer_kwargs,
) -> Trainer:
    """Like build(), with the model width, optimizer and parameter groups to choose."""
    g = torch.Generator().manual_seed(1234)
    x = torch.randn(68, 4, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(4, hidden), nn.ReLU(), nn.Dropout(0.3), nn.Linear(hidden, 3)
    )
    params = (
        model.parameters()
        if groups == 1
        else [{"params": model[0].parameters()}, {"params": model[3].parameters()}]
    )
    make = {
        "adam": torch.optim.Adam,
        "sgd": lambda p, lr: torch.optim.SGD(p, lr, momentum=0.9),
    }
    opt = make[optimizer](params, lr=0.01)
    return Trainer(
        model,
        nn.CrossEntropyLoss(),
        opt,
        DataLoader(
            TensorDataset(x[:48], y[:48]),
            batch_size=8,
            shuffle=True,
            generator=torch.Generator().manual_seed(seed),
        ),
        DataLoader(TensorDataset(x[48:], y[48:]), batch_size=10),
        scheduler=SCHEDULERS[scheduler](opt),
        progress=False,
        **trainer_kwargs,
    )


@pytest.mark.parametrize(
    ("saved", "loading", "expected"),
    [
        (
            {"hidden": 16},
            {"hidden": 32},
            [
                (
                    r"model entry '0\.weight' has shape \(16, 4\) in it, "
                    r"but \(32, 4\) in this model"
                ),
                r"'3\.weight' has shape \(3, 16\) in it, but \(3, 32\)",
            ],
        ),
        (
            {"optimizer": "adam"},
            {"optimizer": "sgd"},
            ["saved with optimizer Adam, but this trainer has SGD"],
        ),
        (
            {"groups": 1},
            {"groups": 2},
            [r"optimizer has 1 parameter group\(s\), this one 2"],
        ),
        (
            {"scheduler": "step", "hidden": 16},
            {"scheduler": "one-cycle", "hidden": 8},
            [
                "scheduler StepLR, but this trainer has OneCycleLR",
                r"\(16, 4\) in it, but \(8, 4\)",
            ],
        ),
        (
            {"scheduler": "cosine-restarts"},
            {"scheduler": "cosine-restarts", "scheduler_step": "epoch"},
            ["scheduler_step='batch', but this one has scheduler_step='epoch'"],
        ),
        (
            {},
            {"track_accuracy": True},
            ["track_accuracy=False, but this one has track_accuracy=True"],
        ),
    ],
    ids=[
        "model-shapes",
        "optimizer-class",
        "param-groups",
        "several",
        "scheduler-step",
        "track-accuracy",
    ],
)
def test_a_checkpoint_that_does_not_fit_changes_nothing(
    tmp_path, saved, loading, expected
):
    source = build_with(0, **saved)
    source.fit(2)
    path = save_checkpoint(source, tmp_path / "source.pt")

    trainer = build_with(7, **loading)
    trainer.fit(1)
    before = everything(trainer)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(trainer, path)
    message = str(info.value)
    assert str(path) in message
    for pattern in expected:  # every mismatch is named, not just the first
        assert re.search(pattern, message), (pattern, message)
    assert_same(
        before, everything(trainer)
    )  # nothing was applied, not even the RNG state
    trainer.fit(1)  # and the trainer still works


def test_an_adam_checkpoint_no_longer_loads_silently_into_sgd(tmp_path):
    source = build_with(0, optimizer="adam")
    source.fit(1)
    path = save_checkpoint(source, tmp_path / "adam.pt")
    trainer = build_with(0, optimizer="sgd")
    with pytest.raises(ValueError, match="optimizer Adam, but this trainer has SGD"):
        load_checkpoint(trainer, path)
    trainer.fit(1)  # used to fail here with KeyError: 'momentum'


def test_optimizer_state_of_other_shapes_is_refused_before_loading():
    source = build_with(0)
    source.fit(1)
    state = copy.deepcopy(source.state_dict())
    state["optimizer"]["state"][0]["exp_avg"] = torch.zeros(
        5, 5
    )  # not parameter 0's shape
    trainer = build_with(3)
    before = everything(trainer)
    with pytest.raises(
        CheckpointError, match=r"'exp_avg' of parameter 0 has shape \(5, 5\)"
    ):
        trainer.load_state_dict(state)
    assert_same(before, everything(trainer))


def test_a_failure_while_applying_is_undone(monkeypatch):
    source = build_with(0)
    source.fit(2)
    state = copy.deepcopy(source.state_dict())
    trainer = build_with(5)
    trainer.fit(1)
    before = everything(trainer)

    real_load, calls = trainer.scheduler.load_state_dict, []

    def fails_once(scheduler_state):  # after the model and the optimizer were loaded
        calls.append(scheduler_state)
        if len(calls) == 1:
            raise RuntimeError("disk on fire")
        real_load(scheduler_state)  # the roll-back's own call

    monkeypatch.setattr(trainer.scheduler, "load_state_dict", fails_once)
    with pytest.raises(CheckpointError, match="left as it was: disk on fire"):
        trainer.load_state_dict(state)
    monkeypatch.undo()
    assert len(calls) == 2
    assert_same(before, everything(trainer))


def test_load_state_dict_restores_the_scheduler_and_every_generator():
    source = build(0, "one-cycle")
    source.fit(2)
    buffer = io.BytesIO()
    torch.save(source.state_dict(), buffer)  # the state, as a file would give it back
    [source_generator] = loader_generators(source.train_loader, source.val_loader)
    # What the generators give next, from the state that was saved:
    expected_draws = (
        torch.rand(4),
        np.random.rand(4),
        random.random(),
        torch.rand(4, generator=source_generator),
    )
    expected_scheduler = copy.deepcopy(source.scheduler.state_dict())

    trainer = build(42, "one-cycle")
    [generator] = loader_generators(trainer.train_loader, trainer.val_loader)
    (
        torch.rand(100),
        np.random.rand(100),
        random.random(),
        torch.rand(9, generator=generator),
    )
    buffer.seek(0)
    trainer.load_state_dict(torch.load(buffer, weights_only=True))

    assert_same(trainer.scheduler.state_dict(), expected_scheduler)
    assert trainer.scheduler.last_epoch == 2 * BATCHES
    assert trainer.scheduler.get_last_lr() == source.scheduler.get_last_lr()
    assert [
        g["lr"] for g in trainer.optimizer.param_groups
    ] == source.scheduler.get_last_lr()
    draws = (
        torch.rand(4),
        np.random.rand(4),
        random.random(),
        torch.rand(4, generator=generator),
    )
    assert torch.equal(draws[0], expected_draws[0])  # PyTorch's global generator
    assert np.array_equal(draws[1], expected_draws[1])  # NumPy's
    assert draws[2] == expected_draws[2]  # Python's
    assert torch.equal(draws[3], expected_draws[3])  # the data loader's


def test_older_states_without_the_new_entries_still_load():
    source = build(0, "step")
    source.fit(2)
    state = copy.deepcopy(source.state_dict())
    for key in ("optimizer_class", "trainer"):
        del state[key]
    del state["history"]["skipped_batches"]
    trainer = build(3, "step")
    trainer.load_state_dict(state)
    assert trainer.history["skipped_batches"] == [0, 0]
    trainer.fit(1)
    assert trainer.epoch == 3


# ---------------------------------------------------------------------------
# Files that are not checkpoints: clear errors that name the path
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "keep", [0, 10, 0.5, -5], ids=["empty", "10-bytes", "half", "all-but-5"]
)
def test_an_empty_or_truncated_file_is_named_and_explained(tmp_path, keep):
    trainer = build(0, "step")
    path = save_checkpoint(trainer, tmp_path / "c.pt")
    data = path.read_bytes()
    end = int(len(data) * keep) if isinstance(keep, float) else keep
    path.write_bytes(data[:end] if end >= 0 else data[:end])
    before = everything(trainer)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(trainer, path)
    message = str(info.value)
    assert str(path) in message
    assert ("empty (0 bytes)" if end == 0 else "truncated or corrupted") in message
    assert_same(before, everything(trainer))


def test_a_model_state_dict_is_not_taken_for_a_checkpoint(tmp_path):
    trainer = build(0, "step")
    path = tmp_path / "weights.pt"
    torch.save(trainer.model.state_dict(), path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(trainer, path)
    message = str(info.value)
    assert str(path) in message
    assert "a model's state_dict, not a trainer checkpoint" in message
    assert "model.load_state_dict" in message


def test_other_payloads_are_not_taken_for_a_checkpoint(tmp_path):
    trainer = build(0, "step")
    for payload, expected in [
        (torch.zeros(3), "holds a Tensor, not a trainer state"),
        ({"epoch": 3, "notes": "hi"}, r"lacks the entries \['model', 'optimizer'"),
    ]:
        path = tmp_path / "other.pt"
        torch.save(payload, path)
        with pytest.raises(CheckpointError, match=expected):
            load_checkpoint(trainer, path)


def test_a_directory_is_not_a_checkpoint_file(tmp_path):
    trainer = build(0, "step")
    with pytest.raises(
        IsADirectoryError, match=re.escape(str(tmp_path)) + ".*is a directory"
    ):
        load_checkpoint(trainer, tmp_path)
    with pytest.raises(IsADirectoryError, match="is a directory. Give a file path"):
        save_checkpoint(trainer, tmp_path)


def test_copy_state_is_independent_of_the_live_tensors():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    saved = copy_state(model.state_dict())
    with torch.no_grad():
        model[0].weight.add_(1.0)
    assert not torch.equal(saved["0.weight"], model[0].weight)
    assert saved._metadata == model.state_dict()._metadata  # format versions kept
    model.load_state_dict(saved)
    assert torch.equal(saved["0.weight"], model[0].weight)


def test_docstring_examples():
    import doctest

    import lrlib.checkpoint as module

    outcome = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert outcome.attempted > 0 and outcome.failed == 0
