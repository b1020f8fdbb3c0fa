"""Tests for lrlib.distributed: real torchrun launches, two gloo ranks on the CPU.

One launch (a module-scoped fixture) trains a tiny run on two processes and is
checked from several sides: the DDP gradient against the single-process
gradient of the whole batch, the learning rates of both ranks, the checkpoint
(written by rank 0 only, resumed in this process). A second launch has one of
its ranks killed and must end, with an error, within a bounded time. The
command-line errors (no launcher, a batch the world size does not divide) are
checked in this process, with the launcher's variables faked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data.distributed import DistributedSampler

from lrlib import distributed as ddp
from lrlib._digest import state_sha256
from lrlib.accumulation import batch_gradients, max_difference
from lrlib.distributed import (
    CHECKPOINT_FORMAT,
    RunConfig,
    RunResult,
    Splits,
    _launch_environment,
    _load_run_checkpoint,
    _NotLaunchedError,
    _per_rank_batch,
    _run_torchrun,
    _torchrun_command,
    build_replica,
    launch_torchrun,
    run_forked,
    sampler_seed,
    torchrun_command,
    train,
    train_epoch,
)
from lrlib.models import TwoBlockCNN

CONFIG = RunConfig(batch_size=16, lr=0.05, epochs=3, warmup_epochs=1, seed=3)
STOP_AFTER = 2
TRAIN, VAL = 64, 18  # 4 steps per epoch; the validation set splits 9 + 9


def tiny_splits(seed: int = 0) -> Splits:
    g = torch.Generator().manual_seed(seed)
    return Splits(
        train_images=torch.randn(TRAIN, 3, 28, 28, generator=g),
        train_targets=torch.randint(0, 3, (TRAIN,), generator=g),
        val_images=torch.randn(VAL, 3, 28, 28, generator=g),
        val_targets=torch.randint(0, 3, (VAL,), generator=g),
    )


def child_env() -> dict[str, str]:
    """This environment, with the repository importable and one thread per rank."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


@pytest.fixture(scope="module")
def two_rank_run(tmp_path_factory):
    """One torchrun launch with 2 ranks:
    stops after 2 of 3 epochs, with the gradient probe.
    """
    folder = tmp_path_factory.mktemp("ddp")
    splits = tiny_splits()
    splits.save(folder / "splits.pt")
    completed = _run_torchrun(
        [
            "--data",
            "splits.pt",
            "--out",
            "run",
            "--backend",
            "gloo",
            "--timeout-s",
            "60",
            "--gradient-probe",
            "--stop-after",
            str(STOP_AFTER),
            *CONFIG.to_args(),
        ],
        cwd=folder,
        env=child_env(),
        timeout_s=180,
    )
    return (
        folder / "run",
        splits,
        completed,
        RunResult.load(folder / "run" / "result.json"),
    )


# -- the launch -------------------------------------------------------------------


def test_two_ranks_trained_and_only_rank_0_logged(two_rank_run):
    _, _, completed, result = two_rank_run
    assert result.world_size == 2
    assert result.steps_per_epoch == TRAIN // CONFIG.batch_size
    lines = completed.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"epoch {e}/3" for e in (1, 2)]


def test_ddp_gradient_equals_single_process_gradient_of_the_whole_batch(two_rank_run):
    out, splits, _, _ = two_rank_run
    probe = torch.load(out / "gradient_probe.pt", weights_only=True)
    indices = probe["indices"]
    assert probe["world_size"] == 2 and len(indices) == CONFIG.batch_size
    assert len(set(indices.tolist())) == CONFIG.batch_size
    # The two shares make up the first batch a single process would read.
    sampler = DistributedSampler(
        range(TRAIN), num_replicas=1, rank=0, shuffle=True, seed=CONFIG.seed
    )
    assert sorted(indices.tolist()) == sorted(list(sampler)[: CONFIG.batch_size])

    model = TwoBlockCNN(n_filters=CONFIG.n_filters)
    model.load_state_dict(probe["initial_state"])
    whole = batch_gradients(
        model,
        nn.CrossEntropyLoss(),
        splits.train_images[indices],
        splits.train_targets[indices],
    )
    assert max_difference(whole, probe["gradients"]) < 1e-6


def test_learning_rates_are_identical_on_every_rank(two_rank_run):
    _, _, _, result = two_rank_run
    first, second = result.lr_by_rank
    assert first == second == result.lr
    assert len(first) == STOP_AFTER * result.steps_per_epoch
    assert first[0] == pytest.approx(CONFIG.lr * CONFIG.warmup_start_factor)
    assert max(first) == pytest.approx(CONFIG.lr)


def test_checkpoint_is_written_by_rank_0_only(two_rank_run):
    out, _, _, result = two_rank_run
    assert result.checkpoint_writes == [STOP_AFTER, 0]
    assert sorted(p.name for p in out.iterdir()) == [
        "checkpoint.pt",
        "gradient_probe.pt",
        "result.json",
    ]
    state = _load_run_checkpoint(out / "checkpoint.pt")
    assert state["epoch"] == STOP_AFTER and state["world_size"] == 2
    assert not any(key.startswith("module.") for key in state["model"])


def test_checkpoint_resumes_in_a_single_process(two_rank_run):
    out, splits, _, ddp_result = two_rank_run
    resumed = train(CONFIG, splits, resume=out / "checkpoint.pt")
    uninterrupted = train(CONFIG, splits)
    assert resumed.world_size == 1
    assert resumed.lr[: len(ddp_result.lr)] == ddp_result.lr
    assert resumed.lr == uninterrupted.lr  # the schedule continues exactly
    assert resumed.val_loss[:STOP_AFTER] == ddp_result.val_loss
    # Two processes and one add the same numbers in another order: rounding only.
    torch.testing.assert_close(
        torch.tensor(resumed.val_loss),
        torch.tensor(uninterrupted.val_loss),
        rtol=1e-4,
        atol=1e-5,
    )
    torch.testing.assert_close(
        torch.tensor(resumed.train_loss),
        torch.tensor(uninterrupted.train_loss),
        rtol=1e-4,
        atol=1e-5,
    )


def test_resume_refuses_a_checkpoint_of_other_settings(two_rank_run):
    out, splits, _, _ = two_rank_run
    with pytest.raises(ValueError, match="other settings"):
        train(replace(CONFIG, lr=0.1), splits, resume=out / "checkpoint.pt")


# -- a rank that dies --------------------------------------------------------------


def worker_pids(launcher_pid: int) -> dict[int, int]:
    """rank -> pid of the launcher's worker processes
    (Linux: reads /proc through psutil).
    """
    psutil = pytest.importorskip("psutil")
    found = {}
    for child in psutil.Process(launcher_pid).children(recursive=True):
        try:
            if "lrlib.distributed" in " ".join(child.cmdline()):
                found[int(child.environ()["RANK"])] = child.pid
        except (psutil.Error, KeyError, ValueError):
            continue
    return found


def test_a_killed_rank_ends_the_whole_run_with_an_error_quickly(tmp_path):
    pytest.importorskip("psutil")
    tiny_splits().save(tmp_path / "splits.pt")
    long_run = replace(CONFIG, epochs=2000, warmup_epochs=0)
    job = launch_torchrun(
        [
            "--data",
            "splits.pt",
            "--out",
            "run",
            "--backend",
            "gloo",
            "--timeout-s",
            "20",
            *long_run.to_args(),
        ],
        cwd=tmp_path,
        env=child_env(),
    )
    try:
        deadline = time.monotonic() + 120
        # Wait until training is under way: rank 0 has written a checkpoint.
        while not (tmp_path / "run" / "checkpoint.pt").exists():
            assert job.running(), "the run ended before it could be interrupted"
            assert time.monotonic() < deadline, "the run did not start within 120 s"
            time.sleep(0.2)
        pids = worker_pids(job.process.pid)
        assert sorted(pids) == [0, 1]
        os.kill(pids[1], signal.SIGKILL)
        killed = time.monotonic()
        with pytest.raises(subprocess.CalledProcessError) as failure:
            job.wait(timeout_s=60)
        assert time.monotonic() - killed < 30
        assert failure.value.returncode != 0
    finally:
        if job.running():
            job.kill()


# -- the command line, in this process ----------------------------------------------

LAUNCHED = {
    "RANK": "0",
    "LOCAL_RANK": "0",
    "WORLD_SIZE": "2",
    "MASTER_ADDR": "127.0.0.1",
    "MASTER_PORT": "29500",
}


def test_without_the_launcher_main_says_to_use_torchrun(monkeypatch, capsys, tmp_path):
    for name in ddp.LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert ddp.main(["--out", str(tmp_path / "run")]) == 2
    message = capsys.readouterr().err
    assert "must be started by torchrun" in message and "RANK" in message
    assert not (tmp_path / "run").exists()
    with pytest.raises(_NotLaunchedError, match="torchrun --nproc-per-node"):
        _launch_environment({})


def test_a_batch_the_world_size_does_not_divide_is_refused_before_joining(
    monkeypatch, capsys, tmp_path
):
    monkeypatch.setattr(
        ddp.dist, "init_process_group", lambda *a, **k: pytest.fail("joined the group")
    )
    for name, value in LAUNCHED.items():
        monkeypatch.setenv(name, value)
    assert ddp.main(["--out", str(tmp_path / "run"), "--batch-size", "15"]) == 2
    assert "cannot be split evenly over 2 processes" in capsys.readouterr().err


def test_other_invalid_settings_are_refused_before_joining(
    monkeypatch, capsys, tmp_path
):
    monkeypatch.setattr(
        ddp.dist, "init_process_group", lambda *a, **k: pytest.fail("joined the group")
    )
    for name, value in LAUNCHED.items():
        monkeypatch.setenv(name, value)
    for args, message in [
        (["--lr", "-1"], "lr must be a finite number > 0, got -1.0"),
        (["--timeout-s", "0"], "--timeout-s must be a finite number > 0, got 0.0"),
        (
            ["--epochs", "2", "--stop-after", "3"],
            "--stop-after must be an int from 1 to 2, got 3",
        ),
        (["--epochs", "2", "--warmup-epochs", "2"], "warmup_epochs must be"),
    ]:
        assert ddp.main(["--out", str(tmp_path), *args]) == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "environ, error",
    [
        ({**LAUNCHED, "RANK": "x"}, ValueError),
        ({**LAUNCHED, "RANK": "2"}, ValueError),
        ({k: v for k, v in LAUNCHED.items() if k != "MASTER_PORT"}, _NotLaunchedError),
    ],
)
def test_launch_environment_rejects_bad_variables(environ, error):
    with pytest.raises(error):
        _launch_environment(environ)


def test_launch_environment_reads_the_variables():
    env = _launch_environment({**LAUNCHED, "RANK": "1", "LOCAL_RANK": "1"})
    assert (env.rank, env.local_rank, env.world_size, env.master_port) == (
        1,
        1,
        2,
        29500,
    )


# -- small pieces --------------------------------------------------------------------


def test_config_flags_round_trip_through_the_parser():
    config = RunConfig(
        batch_size=32,
        lr=0.02,
        epochs=3,
        warmup_epochs=0.5,
        optimizer="adam",
        seed=7,
        accumulation_steps=2,
    )
    args = ddp._parser().parse_args(["--out", "x", *config.to_args()])
    fields = {name: getattr(args, name) for name in RunConfig.__dataclass_fields__}
    assert RunConfig(**fields) == config


def test_per_rank_batch():
    assert _per_rank_batch(64, 2) == 32
    assert _per_rank_batch(7, 1) == 7
    assert _per_rank_batch(64, 2, 4) == 8
    with pytest.raises(ValueError, match="2 processes x 3 micro-batches"):
        _per_rank_batch(64, 2, 3)
    with pytest.raises(ValueError, match="such as 62 or 64"):
        _per_rank_batch(63, 2)
    with pytest.raises(ValueError, match="such as 3"):
        _per_rank_batch(1, 3)
    for bad in (0, -2, 2.0, True):
        with pytest.raises(ValueError):
            _per_rank_batch(bad, 2)


def test_torchrun_command_uses_a_free_local_port():
    shown = torchrun_command(["--out", "x"], nproc_per_node=3)
    command = _torchrun_command(["--out", "x"], nproc_per_node=3, python="py")
    assert command[:3] == ["py", "-m", "torch.distributed.run"]
    assert shown == ["torchrun", *command[3:]]
    assert "--nproc-per-node=3" in command and "--rdzv-endpoint=127.0.0.1:0" in command
    assert command[-4:] == ["-m", "lrlib.distributed", "--out", "x"]
    with pytest.raises(ValueError):
        _torchrun_command([], nproc_per_node=0)


@pytest.mark.parametrize(
    "changes",
    [
        {"batch_size": 0},
        {"lr": 0.0},
        {"lr": float("nan")},
        {"epochs": 0},
        {"warmup_epochs": -1},
        {"warmup_epochs": 2.0, "epochs": 2},
        {"momentum": 1.0},
        {"optimizer": "rmsprop"},
        {"seed": -1},
        {"warmup_start_factor": 0.0},
        {"accumulation_steps": 0},
    ],
)
def test_run_config_validates(changes):
    with pytest.raises(ValueError):
        RunConfig(**changes)


def test_single_process_train_is_repeatable_and_saves_its_result(tmp_path):
    splits = tiny_splits(1)
    config = replace(CONFIG, epochs=2, optimizer="adam", lr=1e-3)
    first = train(config, splits)
    second = train(config, splits, checkpoint=tmp_path / "ckpt.pt")
    assert first.train_loss == second.train_loss and first.val_loss == second.val_loss
    assert second.checkpoint_writes == [2]
    path = second.save(tmp_path / "result.json")
    assert RunResult.load(path) == second
    with pytest.raises(ValueError, match="stop_after"):
        train(config, splits, stop_after=3)


def test_splits_round_trip_and_validation(tmp_path):
    splits = tiny_splits()
    loaded = Splits.load(splits.save(tmp_path / "s.pt"))
    assert torch.equal(loaded.train_images, splits.train_images)
    with pytest.raises(FileNotFoundError):
        Splits.load(tmp_path / "missing.pt")
    with pytest.raises(ValueError):
        Splits(
            torch.zeros(2, 3, 4, 4),
            torch.zeros(3, dtype=torch.long),
            torch.zeros(1, 3, 4, 4),
            torch.zeros(1, dtype=torch.long),
        )


def test_load_run_checkpoint_rejects_other_files(tmp_path):
    torch.save({"model": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an lrlib.distributed checkpoint"):
        _load_run_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        _load_run_checkpoint(tmp_path / "missing.pt")


def _one_epoch_checkpoint(tmp_path):
    splits = tiny_splits(1)
    config = replace(CONFIG, epochs=2)
    path = tmp_path / "ckpt.pt"
    train(config, splits, checkpoint=path, stop_after=1)
    return config, splits, path


def test_a_run_checkpoint_carries_the_sha256_of_its_contents(tmp_path):
    _, _, path = _one_epoch_checkpoint(tmp_path)
    saved = torch.load(path, weights_only=True)
    assert saved["format"] == CHECKPOINT_FORMAT == 2
    recorded = saved.pop("sha256")
    assert recorded == state_sha256(saved)
    assert "sha256" not in _load_run_checkpoint(path)


def test_a_flipped_bit_in_a_run_checkpoint_is_refused(tmp_path):
    config, splits, path = _one_epoch_checkpoint(tmp_path)
    saved = torch.load(path, weights_only=True)
    weight = next(iter(saved["model"].values()))
    raw = path.read_bytes()
    data = weight.contiguous().view(torch.uint8).numpy().tobytes()
    at = raw.find(data) + len(data) // 2
    path.write_bytes(raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1 :])
    with pytest.raises(ValueError, match="does not match the SHA-256"):
        _load_run_checkpoint(path)
    with pytest.raises(ValueError, match="does not match the SHA-256"):
        train(config, splits, resume=path)


def test_a_run_checkpoint_of_a_newer_format_is_refused_naming_both(tmp_path):
    _, _, path = _one_epoch_checkpoint(tmp_path)
    saved = torch.load(path, weights_only=True)
    saved["format"] = CHECKPOINT_FORMAT + 1
    torch.save(saved, path)
    with pytest.raises(ValueError) as info:
        _load_run_checkpoint(path)
    message = str(info.value)
    assert f"format {CHECKPOINT_FORMAT + 1}, written by a newer lrlib" in message
    assert f"reads formats 1 to {CHECKPOINT_FORMAT}" in message


def test_a_run_checkpoint_of_the_first_format_loads_with_a_warning(tmp_path):
    config, splits, path = _one_epoch_checkpoint(tmp_path)
    saved = torch.load(path, weights_only=True)
    del saved["sha256"]
    saved["format"] = 1
    torch.save(saved, path)
    with pytest.warns(UserWarning, match="format 1, which has no checksum"):
        resumed = train(config, splits, resume=path)
    assert resumed.lr == train(config, splits).lr


def test_sampler_seed_is_the_run_seed_and_reads_no_environment(monkeypatch):
    monkeypatch.setenv("LRBOOK_SEED_SHIFT", "3")
    assert sampler_seed(42) == 42
    with pytest.raises(ValueError, match="seed must be"):
        sampler_seed(2**31)


def test_train_steps_an_epoch_scheduler_once_per_epoch(tmp_path, monkeypatch):
    # Every loop of lrlib steps a scheduler where scheduler_step_kind says; a
    # replica built with a per-epoch schedule steps it after each epoch.
    import lrlib.distributed as module

    real = module.build_replica

    def with_step_lr(*args, **kwargs):
        replica = real(*args, **kwargs)
        replica.scheduler = torch.optim.lr_scheduler.StepLR(
            replica.optimizer, step_size=1, gamma=0.5
        )
        return replica

    monkeypatch.setattr(module, "build_replica", with_step_lr)
    config = replace(CONFIG, epochs=3, warmup_epochs=0)
    result = train(config, tiny_splits(1))
    per_epoch = len(result.lr) // 3
    assert result.lr == [config.lr * 0.5**e for e in range(3) for _ in range(per_epoch)]


# -- gradient accumulation -----------------------------------------------------------


def test_accumulation_leaves_the_run_as_it_was_up_to_rounding():
    # 64 samples in micro-batches of 8 with k = 3: groups of 24, 24 and 16, the
    # last step taken on what is left at the end of the epoch.
    splits = tiny_splits(2)
    config = replace(CONFIG, batch_size=24, epochs=2)
    whole = train(config, splits)
    parts = train(replace(config, accumulation_steps=3), splits)
    assert parts.steps_per_epoch == whole.steps_per_epoch == 3
    assert parts.lr == whole.lr
    torch.testing.assert_close(
        torch.tensor(parts.train_loss), torch.tensor(whole.train_loss)
    )
    torch.testing.assert_close(
        torch.tensor(parts.val_loss), torch.tensor(whole.val_loss)
    )


def test_a_checkpoint_resumes_with_another_accumulation(tmp_path):
    config, splits, path = _one_epoch_checkpoint(tmp_path)
    resumed = train(replace(config, accumulation_steps=2), splits, resume=path)
    assert resumed.lr == train(config, splits).lr


def test_run_forked_with_accumulation_matches_the_torchrun_launch(
    two_rank_run, tmp_path
):
    _, splits, _, launched = two_rank_run
    splits.save(tmp_path / "splits.pt")
    accumulating = replace(CONFIG, accumulation_steps=2)
    args = ["--data", "splits.pt", "--out", "run", "--backend", "gloo"]
    args += ["--stop-after", str(STOP_AFTER), *accumulating.to_args()]
    completed = run_forked(args, cwd=tmp_path)
    assert completed.args == torchrun_command(args)
    assert completed.stdout.splitlines()[0].startswith("epoch 1/3: val loss")
    result = RunResult.load(tmp_path / "run" / "result.json")
    assert result.world_size == 2 and result.lr == launched.lr
    torch.testing.assert_close(
        torch.tensor(result.train_loss), torch.tensor(launched.train_loss)
    )
    assert sorted(p.name for p in (tmp_path / "logs").glob("rank*")) == [
        "rank0.err",
        "rank0.out",
        "rank1.err",
        "rank1.out",
    ]


def test_run_forked_reports_a_rank_that_fails(tmp_path):
    with pytest.raises(RuntimeError, match="no data file"):
        run_forked(["--data", "missing.pt", "--out", "run"], cwd=tmp_path)


def _count_gradient_syncs(rank, store, out, forward_inside):
    """One rank: an epoch with k = 2, counting DDP's gradient all-reduces."""
    from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import (
        allreduce_hook,
    )

    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{store}", rank=rank, world_size=2
    )
    try:
        config = replace(CONFIG, accumulation_steps=2)
        replica = build_replica(config, tiny_splits(), rank, 2, torch.device("cpu"))
        calls = []

        def counting(state, bucket):
            calls.append(1)
            return allreduce_hook(None, bucket)

        replica.net.register_comm_hook(None, counting)
        if forward_inside:
            train_epoch(replica, 0, torch.device("cpu"))
        else:  # no_sync() around backward() only: too late
            for images, targets in replica.loader:
                loss = replica.loss_fn(replica.net(images), targets)
                with replica.net.no_sync():
                    loss.backward()
        Path(out, f"{rank}.txt").write_text(
            f"{len(calls)} {replica.steps_per_epoch} {len(replica.loader)}"
        )
    finally:
        torch.distributed.destroy_process_group()


@pytest.mark.parametrize("forward_inside", [True, False])
def test_no_sync_must_hold_the_forward_pass_too(tmp_path, forward_inside):
    torch.multiprocessing.start_processes(
        _count_gradient_syncs,
        args=(tmp_path / "store", tmp_path, forward_inside),
        nprocs=2,
        start_method="fork",
    )
    counts = {(tmp_path / f"{r}.txt").read_text() for r in (0, 1)}
    assert len(counts) == 1
    syncs, steps, micro_batches = map(int, counts.pop().split())
    assert (steps, micro_batches) == (4, 8)
    # One all-reduce (of the one bucket of this small model) per optimizer step,
    # or one per micro-batch when the forward ran outside no_sync().
    assert syncs == (steps if forward_inside else micro_batches)
