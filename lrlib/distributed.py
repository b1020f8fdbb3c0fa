r"""Data-parallel training with ``torch.distributed``, DDP and ``torchrun``.

Run this module under the launcher, one process per GPU (or a few on a CPU)::

    torchrun --nproc-per-node=2 -m lrlib.distributed \
        --out runs/ddp --batch-size 64 --lr 0.04

``torchrun`` starts the processes (the *ranks*) and tells each one who it is
through environment variables: ``RANK`` (0 to ``WORLD_SIZE - 1`` over all
machines), ``LOCAL_RANK`` (its number on this machine, which picks its GPU),
``WORLD_SIZE``, and ``MASTER_ADDR``/``MASTER_PORT`` (where the ranks meet).
Each rank then runs :func:`main`, which

1. joins the process group (``gloo`` on CPUs, ``nccl`` on GPUs), with a
   timeout of two minutes instead of PyTorch's default (10 or 30 minutes,
   depending on the release and backend), so that a collective that can never
   complete, because a rank hangs, fails soon (a rank that *exits* is
   handled by ``torchrun``, which then stops the others);
2. builds the model from the same seed and wraps it in
   :class:`~torch.nn.parallel.DistributedDataParallel` (DDP), which also
   copies rank 0's weights to every rank;
3. reads its own share of each epoch through a
   :class:`~torch.utils.data.distributed.DistributedSampler`; ``set_epoch``
   changes the shuffle every epoch, the same way on every rank;
4. lets DDP average the gradients of all ranks during ``backward()``, so
   every rank takes the same optimizer step and steps the same scheduler
   the same way; with gradient accumulation (``--accumulation-steps k``) the
   first ``k - 1`` micro-batches run forward *and* backward inside
   ``no_sync()``, so that the gradients are averaged once per optimizer step;
5. evaluates its share of the validation set and adds up the counts of all
   ranks with ``all_reduce``;
6. prints, writes the checkpoint and writes the results from rank 0 only;
   the other ranks wait at a barrier until the checkpoint is complete.

Steps 2 to 6 are :func:`train`, which also runs in a single process without
any process group (world size 1): the single-process runs the book compares
with are the same code.

The batch size given is the *effective* batch, split evenly over the ranks
(and over the micro-batches of each rank, with accumulation).
With ``N`` training samples divisible by the world size, the global batch of
step ``i`` is the same set of samples whatever the number of ranks (the
sampler deals its permutation out in turn), so a run on two processes and a
run on one differ only by rounding.

The training is deliberately small: the book's ``TwoBlockCNN`` without
dropout, SGD with momentum (or Adam), and :func:`lrlib.scaling.warmup_cosine`
stepped after every optimizer step. (When ``N`` is not divisible by the world
size, ``DistributedSampler`` repeats a few samples so that every rank gets as
many; a single process would not.) Without dropout nothing random happens after the
weights are drawn, so no random number generator needs to be checkpointed.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from lrlib._digest import state_sha256
from lrlib._validation import check_int, check_number
from lrlib.models import TwoBlockCNN
from lrlib.numerics import reproducible_adam
from lrlib.scaling import steps_from_epochs, warmup_cosine
from lrlib.schedulers import scheduler_step_kind
from lrlib.seeding import seed_everything

if TYPE_CHECKING:
    from lrlib.data.pipeline import RPSData

__all__ = [
    "RunConfig",
    "RunResult",
    "Splits",
    "build_replica",
    "launch_torchrun",
    "run_forked",
    "sampler_seed",
    "torchrun_command",
    "train",
    "train_epoch",
]

LAUNCHER_VARIABLES: tuple[str, ...] = (
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
)
"""The environment variables ``torchrun`` sets for every process it starts."""

BACKENDS: tuple[str, ...] = ("auto", "gloo", "nccl")
"""``auto`` means ``nccl`` when CUDA is available, else ``gloo``."""

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
"""The optimizers a :class:`RunConfig` can ask for."""

CHECKPOINT_FORMAT = 2
"""Bumped whenever the checkpoint's layout changes (2: with a SHA-256 of the rest)."""

HISTORY_KEYS = ("lr", "train_loss", "val_loss", "val_accuracy")
"""The per-step and per-epoch lists a checkpoint carries over."""

RESULT_FILE = "result.json"
CHECKPOINT_FILE = "checkpoint.pt"
PROBE_FILE = "gradient_probe.pt"


class _NotLaunchedError(RuntimeError):
    """The script was started without ``torchrun``
    (no ``RANK``, ``WORLD_SIZE``, ...).
    """


# --------------------------------------------------------------------------
# What the run needs: its settings, its data, its place among the ranks
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class RunConfig:
    """The settings of one training run (the same on every rank).

    Shown in chapter 9.

    Attributes:
        batch_size: the effective batch: samples per optimizer step, over all ranks.
        lr: the peak learning rate.
        epochs: passes over the training set.
        warmup_epochs: length of the linear warmup, in epochs (0: none); turned
            into steps with :func:`lrlib.scaling.steps_from_epochs`.
        warmup_start_factor: the warmup's first rate, as a fraction of ``lr``.
        optimizer: ``"sgd"`` (with ``momentum``) or ``"adam"`` (the fused kernel of
            :func:`lrlib.numerics.reproducible_adam`).
        momentum: SGD's momentum (ignored by Adam).
        n_filters: filters per convolution of the ``TwoBlockCNN``.
        seed: seeds the initial weights (:func:`lrlib.seed_everything`) and the
            samplers' shuffles (:func:`sampler_seed`).
        accumulation_steps: micro-batches per optimizer step on each rank
            (gradient accumulation); 1: none. The effective batch stays
            ``batch_size`` whatever its value.

    Raises:
        ValueError: a setting is out of range.

    Example:
        >>> RunConfig(batch_size=64, lr=0.04).epochs
        2
    """

    batch_size: int = 64
    lr: float = 0.04
    epochs: int = 2
    warmup_epochs: float = 0.0
    warmup_start_factor: float = 0.1
    optimizer: str = "sgd"
    momentum: float = 0.9
    n_filters: int = 5
    seed: int = 42
    accumulation_steps: int = 1

    def to_args(self) -> list[str]:
        """The command-line flags of :func:`main` that ask for these settings.

        Example:
            >>> RunConfig(batch_size=32, lr=0.02).to_args()[:4]
            ['--batch-size', '32', '--lr', '0.02']
        """
        return [
            item
            for name, value in asdict(self).items()
            for item in (f"--{name.replace('_', '-')}", str(value))
        ]

    def __post_init__(self) -> None:
        for name in ("batch_size", "epochs", "n_filters", "accumulation_steps"):
            check_int(name, getattr(self, name), low=1)
        check_int("seed", self.seed, low=0, high=2**31 - 1)
        check_number("lr", self.lr, low=0, include_low=False)
        check_number(
            "warmup_epochs",
            self.warmup_epochs,
            low=0,
            high=self.epochs,
            include_high=False,
        )
        check_number(
            "warmup_start_factor",
            self.warmup_start_factor,
            low=0,
            high=1,
            include_low=False,
        )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {list(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        check_number("momentum", self.momentum, low=0, high=1, include_high=False)


@dataclass(frozen=True)
class Splits:
    """Standardized training and validation tensors, as the ranks read them.

    Shown in chapter 9.

    Saving them once (:meth:`save`) and loading them in every rank
    (:meth:`load`) is quicker than decoding the images in each process, and
    guarantees that every rank trains on the same data.

    Attributes:
        train_images: ``(N, C, H, W)`` float tensor.
        train_targets: ``(N,)`` int64 class ids.
        val_images: ``(M, C, H, W)`` float tensor.
        val_targets: ``(M,)`` int64 class ids.

    Raises:
        ValueError: the shapes do not fit together.
    """

    train_images: torch.Tensor
    train_targets: torch.Tensor
    val_images: torch.Tensor
    val_targets: torch.Tensor

    def __post_init__(self) -> None:
        for split in ("train", "val"):
            images, targets = (
                getattr(self, f"{split}_images"),
                getattr(self, f"{split}_targets"),
            )
            if images.ndim != 4 or targets.shape != (len(images),) or len(images) == 0:
                raise ValueError(
                    f"{split}: expected images (N, C, H, W) and targets (N,) with N >= "
                    f"1, got {tuple(images.shape)} and {tuple(targets.shape)}"
                )

    @classmethod
    def from_rps(cls, data: RPSData) -> Splits:
        """The standardized tensors of :func:`lrlib.load_rps_data`'s result.

        Both splits are standardized with the normalizer learned on the
        training split, as the book's loaders do item by item.
        """
        return cls(
            train_images=data.normalizer(data.train.images),
            train_targets=data.train.targets,
            val_images=data.normalizer(data.val.images),
            val_targets=data.val.targets,
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the four tensors to ``path`` (read back with :meth:`load`).

        Args:
            path: the file to write; missing folders are created.

        Returns:
            ``path``, as a :class:`~pathlib.Path`.

        Example:
            >>> # needs data, files or a second process
            >>> Splits.from_rps(load_rps_data()).save("splits.pt")  # doctest: +SKIP
            PosixPath('splits.pt')
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(asdict(self), path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Splits:
        """Read tensors written by :meth:`save` (with ``weights_only=True``).

        Raises:
            FileNotFoundError: there is no file at ``path``.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"no data file at {str(path)!r} (write one with Splits.save)"
            )
        return cls(**torch.load(path, weights_only=True))


@dataclass(frozen=True)
class _LaunchEnvironment:
    """Who this process is, as ``torchrun`` told it.

    Attributes:
        rank: the process's number among all processes, from 0.
        local_rank: its number on this machine (the GPU it should use).
        world_size: the number of processes over all machines.
        master_addr: the host where the processes meet.
        master_port: the port there.
    """

    rank: int
    local_rank: int
    world_size: int
    master_addr: str
    master_port: int


def _launch_environment(environ: dict[str, str] | None = None) -> _LaunchEnvironment:
    """Read the variables ``torchrun`` sets; fail clearly when they are missing.

    Args:
        environ: the environment to read; default ``os.environ``.

    Returns:
        A :class:`_LaunchEnvironment`.

    Raises:
        _NotLaunchedError: a variable is missing, i.e. the module was started
            with ``python`` instead of ``torchrun``.
        ValueError: a variable is not a number, or the ranks are inconsistent.

    Example:
        >>> env = {"RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "2",
        ...        "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}
        >>> _launch_environment(env).rank
        1
        >>> _launch_environment({})
        Traceback (most recent call last):
        ...
        lrlib.distributed._NotLaunchedError: ...
    """
    env = os.environ if environ is None else environ
    missing = [name for name in LAUNCHER_VARIABLES if name not in env]
    if missing:
        raise _NotLaunchedError(
            "this script runs one process per rank and must be started by torchrun, "
            f"which sets {', '.join(LAUNCHER_VARIABLES)} for each process (missing: "
            f"{', '.join(missing)}). Run for example: torchrun --nproc-per-node=2 -m "
            "lrlib.distributed --out runs/ddp"
        )
    try:
        numbers = {
            name: int(env[name])
            for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_PORT")
        }
    except ValueError:
        shown = {
            name: env[name]
            for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_PORT")
        }
        raise ValueError(
            f"the launcher's variables must be integers, got {shown}"
        ) from None
    if not 0 <= numbers["RANK"] < numbers["WORLD_SIZE"] or numbers["LOCAL_RANK"] < 0:
        raise ValueError(
            f"inconsistent launcher variables: RANK={numbers['RANK']}, "
            f"LOCAL_RANK={numbers['LOCAL_RANK']}, WORLD_SIZE={numbers['WORLD_SIZE']}"
        )
    return _LaunchEnvironment(
        rank=numbers["RANK"],
        local_rank=numbers["LOCAL_RANK"],
        world_size=numbers["WORLD_SIZE"],
        master_addr=env["MASTER_ADDR"],
        master_port=numbers["MASTER_PORT"],
    )


def _per_rank_batch(
    batch_size: int, world_size: int, accumulation_steps: int = 1
) -> int:
    """The micro-batch each rank reads so that together they make ``batch_size``.

    Args:
        batch_size: the effective batch (a positive integer).
        world_size: the number of ranks (a positive integer).
        accumulation_steps: micro-batches per optimizer step on each rank.

    Returns:
        ``batch_size // (world_size * accumulation_steps)``.

    Raises:
        ValueError: ``world_size * accumulation_steps`` does not divide
            ``batch_size`` (the ranks would read batches of different sizes,
            and the average of their mean gradients would weight samples
            unequally).

    Example:
        >>> _per_rank_batch(64, 2)
        32
        >>> _per_rank_batch(64, 2, accumulation_steps=2)
        16
        >>> _per_rank_batch(63, 2)
        Traceback (most recent call last):
        ...
        ValueError: the batch of 63 samples cannot be split evenly over 2 processes:
        use a multiple of 2, such as 62 or 64
    """
    batch_size = check_int("batch_size", batch_size, low=1)
    world_size = check_int("world_size", world_size, low=1)
    accumulation_steps = check_int("accumulation_steps", accumulation_steps, low=1)
    parts = world_size * accumulation_steps
    if batch_size % parts:
        below = batch_size - batch_size % parts
        suggestions = [n for n in (below, below + parts) if n > 0]
        what = f"{world_size} processes" + (
            f" x {accumulation_steps} micro-batches" if accumulation_steps > 1 else ""
        )
        raise ValueError(
            f"the batch of {batch_size} samples cannot be split evenly over "
            f"{what}: use a multiple of {parts}, such as "
            + " or ".join(str(n) for n in suggestions)
        )
    return batch_size // parts


# --------------------------------------------------------------------------
# The results
# --------------------------------------------------------------------------


@dataclass
class RunResult:
    """What a run measured; rank 0 writes it as JSON (:meth:`save`).

    Shown in chapter 9.

    Attributes:
        config: the run's settings.
        world_size: the number of processes that trained.
        steps_per_epoch: optimizer steps per epoch.
        lr: the learning rate of every optimizer step (rank 0's).
        lr_by_rank: every rank's list of learning rates (all equal in a correct run).
        train_loss: the loss of every optimizer step, over the whole effective batch.
        val_loss: validation loss after each epoch.
        val_accuracy: validation accuracy after each epoch.
        checkpoint_writes: how many checkpoints each rank wrote.
    """

    config: RunConfig
    world_size: int
    steps_per_epoch: int
    lr: list[float] = field(default_factory=list)
    lr_by_rank: list[list[float]] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    checkpoint_writes: list[int] = field(default_factory=list)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the result as JSON,
        through a temporary file (NaN is written as ``NaN``).

        Args:
            path: the file to write; missing folders are created.

        Returns:
            ``path``, as a :class:`~pathlib.Path`.

        Example:
            >>> # needs data, files or a second process
            >>> result = RunResult(RunConfig(), world_size=1, steps_per_epoch=40)
            >>> result.save("run/result.json")  # doctest: +SKIP
            PosixPath('run/result.json')
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = asdict(self)
        _atomic_write(
            path,
            lambda partial: Path(partial).write_text(
                json.dumps(payload), encoding="utf-8"
            ),
        )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RunResult:
        """Read a result written by :meth:`save`.

        Raises:
            FileNotFoundError: there is no file at ``path``.
            TypeError: the file holds other fields than a :class:`RunResult`.
        """
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        payload["config"] = RunConfig(**payload["config"])
        return cls(**payload)


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


def _process_group() -> tuple[int, int]:
    """``(rank, world_size)`` of the current process group, ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _sum_over_ranks(
    values: list[float], device: torch.device, world_size: int
) -> list[float]:
    """Add ``values`` element-wise over all ranks (float64);
    unchanged for one process.
    """
    if world_size == 1:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def _gather(value: Any, world_size: int) -> list[Any]:
    """Every rank's ``value``, in rank order (``[value]`` for one process)."""
    if world_size == 1:
        return [value]
    gathered: list[Any] = [None] * world_size
    dist.all_gather_object(gathered, value)
    return gathered


def _evaluate_share(
    model: nn.Module, splits: Splits, rank: int, world_size: int, device: torch.device
) -> tuple[float, float]:
    """Validation loss and accuracy:
    each rank takes every ``world_size``-th sample, sums are added.
    """
    images = splits.val_images[rank::world_size].to(device)
    targets = splits.val_targets[rank::world_size].to(device)
    model.eval()
    with torch.no_grad():
        logits = model(images)
        loss_sum = nn.functional.cross_entropy(logits, targets, reduction="sum").item()
        correct = (logits.argmax(dim=1) == targets).sum().item()
    model.train()
    loss_sum, correct, count = _sum_over_ranks(
        [loss_sum, float(correct), float(len(images))], device, world_size
    )
    return loss_sum / count, correct / count


def _atomic_write(path: Path, write: Callable[[str], Any]) -> None:
    """Write through a temporary file in the same folder, then rename it into place."""
    handle, partial = tempfile.mkstemp(
        dir=path.parent, prefix=path.name, suffix=".partial"
    )
    os.close(handle)
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _load_run_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`train` (``weights_only=True``, onto the CPU).

    It holds ``"config"`` (a dict of :class:`RunConfig`'s fields), ``"epoch"``
    (epochs done), ``"model"`` (the state dict of the plain ``TwoBlockCNN``, without
    DDP's ``module.`` prefix), ``"optimizer"``, ``"scheduler"``, ``"history"``
    and ``"world_size"`` (of the run that wrote it), and ``"format"`` and
    ``"sha256"``, the SHA-256 of everything else, checked here.

    Raises:
        FileNotFoundError: there is no file at ``path``.
        ValueError: the file is not a checkpoint of this module, was written
            in a newer format (the message names both), or does not match its
            SHA-256 (it was damaged after it was written).

    Warns:
        UserWarning: the checkpoint is of format 1, written before the
            checksum existed: it is loaded unchecked.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {str(path)!r}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    found = state.get("format") if isinstance(state, dict) else None
    if found == 1:
        warnings.warn(
            f"{str(path)!r} is an lrlib.distributed checkpoint of format 1, which has "
            "no checksum: it is loaded, but damage to it cannot be detected",
            UserWarning,
            stacklevel=2,
        )
        return state
    if isinstance(found, int) and found > CHECKPOINT_FORMAT:
        raise ValueError(
            f"{str(path)!r} is an lrlib.distributed checkpoint of format {found}, "
            f"written by a newer lrlib; this one reads formats 1 to "
            f"{CHECKPOINT_FORMAT}. Update lrlib to load it."
        )
    if found != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{str(path)!r} is not an lrlib.distributed checkpoint (format "
            f"{CHECKPOINT_FORMAT})"
        )
    recorded = state.pop("sha256", None)
    if recorded != state_sha256(state):
        raise ValueError(
            f"{str(path)!r} does not match the SHA-256 recorded when it was written: "
            "the file was changed or damaged since, so its numbers cannot be trusted"
        )
    return state


def train(
    config: RunConfig,
    splits: Splits,
    *,
    device: str | torch.device = "cpu",
    checkpoint: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
    gradient_probe: str | os.PathLike[str] | None = None,
    stop_after: int | None = None,
    log: Callable[[str], Any] | None = None,
) -> RunResult:
    """Train the ``TwoBlockCNN`` on ``splits``:
    on every rank of a process group, or alone.

    Shown in chapter 9.

    Inside a process group (``torch.distributed`` initialized, as :func:`main`
    does) the model is wrapped in DDP and each rank reads its share of every
    batch; otherwise the same loop runs in this process with world size 1.
    Each epoch: ``sampler.set_epoch(epoch)``, then per batch forward, loss,
    ``zero_grad``, ``backward`` (DDP averages the gradients here), optimizer
    step, scheduler step; then a validation pass shared by the ranks. Only
    rank 0 logs and writes files.

    Args:
        config: the run's settings.
        splits: the data (the same on every rank).
        device: where this rank computes (``cuda:LOCAL_RANK`` with nccl).
        checkpoint: rank 0 writes the state here after every epoch.
        resume: continue from this checkpoint (written by any number of ranks:
            the effective batch, and hence the schedule, does not depend on it).
        gradient_probe: before training, rank 0 writes here the initial
            weights, the indices of the first effective batch, and the gradient
            DDP computed for it, for comparison with a single-process gradient.
        stop_after: stop once this many epochs are done (the schedule is
            still the one planned for ``config.epochs``), e.g. to be resumed later.
        log: called with one line per epoch on rank 0 (e.g. ``print``).

    Returns:
        A :class:`RunResult` (on every rank; rank 0's is the one to keep).

    Raises:
        ValueError: the world size does not divide the batch, ``resume``
            was written with other settings, or ``stop_after`` is not an
            epoch count from 1 to ``config.epochs``.

    Example:
        >>> splits = Splits(torch.randn(32, 3, 28, 28), torch.randint(0, 3, (32,)),
        ...                 torch.randn(8, 3, 28, 28), torch.randint(0, 3, (8,)))
        >>> result = train(RunConfig(batch_size=16, lr=0.01, epochs=2), splits)
        >>> result.steps_per_epoch, len(result.lr), len(result.val_accuracy)
        (2, 4, 2)
    """
    rank, world_size = _process_group()
    end_epoch = config.epochs if stop_after is None else stop_after
    end_epoch = check_int("stop_after", end_epoch, low=1, high=config.epochs)
    device = torch.device(device)
    say = log if (log is not None and rank == 0) else (lambda line: None)
    replica = build_replica(config, splits, rank, world_size, device)
    result = RunResult(
        config=config, world_size=world_size, steps_per_epoch=replica.steps_per_epoch
    )

    start_epoch = 0
    if resume is not None:
        state = _load_run_checkpoint(resume)
        # Like the number of ranks, accumulation leaves the effective batch as it was.
        if _without_accumulation(state["config"]) != _without_accumulation(
            asdict(config)
        ):
            raise ValueError(
                f"the checkpoint {str(resume)!r} was written with other settings: "
                f"{state['config']} instead of {asdict(config)}"
            )
        replica.model.load_state_dict(state["model"])
        replica.optimizer.load_state_dict(state["optimizer"])
        replica.scheduler.load_state_dict(state["scheduler"])
        start_epoch = state["epoch"]
        for key in HISTORY_KEYS:
            setattr(result, key, list(state["history"][key]))

    if gradient_probe is not None:
        _write_gradient_probe(Path(gradient_probe), replica, rank, world_size, device)

    writes = 0
    for epoch in range(start_epoch, end_epoch):
        lrs, losses = train_epoch(replica, epoch, device)
        result.lr += lrs
        result.train_loss += losses
        val_loss, val_accuracy = _evaluate_share(
            replica.model, splits, rank, world_size, device
        )
        result.val_loss.append(val_loss)
        result.val_accuracy.append(val_accuracy)
        kind = scheduler_step_kind(replica.scheduler)  # "batch" steps in train_epoch
        if kind == "epoch":
            replica.scheduler.step()
        elif kind == "metric":
            replica.scheduler.step(val_loss)
        say(
            f"epoch {epoch + 1}/{config.epochs}: val loss {val_loss:.4f}, "
            f"val accuracy {val_accuracy:.1%}, last lr {result.lr[-1]:.4g}"
        )
        if checkpoint is not None:
            if rank == 0:  # one writer, or the ranks would collide
                _save_checkpoint(
                    Path(checkpoint), config, epoch + 1, replica, result, world_size
                )
                writes += 1
            if world_size > 1:
                dist.barrier()  # no rank goes on while the checkpoint is half written

    result.lr_by_rank = _gather(result.lr, world_size)
    result.checkpoint_writes = _gather(writes, world_size)
    return result


def _without_accumulation(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "accumulation_steps"}


def sampler_seed(seed: int) -> int:
    """The seed the training samplers shuffle with, for a run seeded with ``seed``.

    It is the run's seed itself (below 2**31, as a :class:`RunConfig` checks):
    one number fixes both the initial weights and the order of the batches.
    A notebook that rebuilds a rank's sampler calls this function to get the
    same order.

    Example:
        >>> sampler_seed(42)
        42
    """
    return check_int("seed", seed, low=0, high=2**31 - 1)


@dataclass
class Replica:
    """What one rank trains with (see :func:`build_replica`).

    Attributes:
        model: the plain ``TwoBlockCNN`` (its ``state_dict`` has no DDP prefix).
        net: what the rank calls: ``model`` wrapped in DDP, or ``model`` itself
            in a single process.
        optimizer: SGD or Adam over ``model``'s parameters.
        scheduler: the warmup and cosine schedule, stepped once per optimizer step.
        sampler: the rank's :class:`~torch.utils.data.distributed.DistributedSampler`.
        loader: reads the rank's micro-batches (its share of each effective
            batch, split into ``accumulation_steps`` micro-batches).
        loss_fn: cross-entropy, averaged over a micro-batch.
        world_size: the number of ranks.
        accumulation_steps: micro-batches per optimizer step.
    """

    model: nn.Module
    net: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    sampler: DistributedSampler
    loader: DataLoader
    loss_fn: nn.Module
    world_size: int
    accumulation_steps: int = 1

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps per epoch: one per ``accumulation_steps`` micro-batches,
        and one for those left at the end of the epoch."""
        return -(-len(self.loader) // self.accumulation_steps)


def build_replica(
    config: RunConfig, splits: Splits, rank: int, world_size: int, device: torch.device
) -> Replica:
    """Build one rank's model, optimizer, schedule and data loader.

    Shown in chapter 9.

    Every rank seeds the same way, so all replicas start from the same weights
    (DDP would copy rank 0's anyway) and every sampler draws the same
    permutation, of which each rank takes every ``world_size``-th sample.

    Args:
        config: the run's settings.
        splits: the data.
        rank: this process's rank.
        world_size: the number of ranks (1 without a process group).
        device: where this rank computes.

    Returns:
        A :class:`Replica`.

    Raises:
        ValueError: ``world_size`` does not divide ``config.batch_size``.
    """
    micro_batch = _per_rank_batch(
        config.batch_size, world_size, config.accumulation_steps
    )
    seed_everything(config.seed)
    model = TwoBlockCNN(n_filters=config.n_filters).to(device)
    net = model
    if world_size > 1:
        net = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    optimizer = _optimizer(config, model)
    train_set = TensorDataset(splits.train_images, splits.train_targets)
    sampler = DistributedSampler(
        train_set,
        num_replicas=world_size,
        rank=rank,
        shuffle=True,
        seed=sampler_seed(config.seed),
    )
    loader = DataLoader(train_set, batch_size=micro_batch, sampler=sampler)
    # the same on every rank, for any number of ranks and micro-batches
    steps_per_epoch = -(-len(loader) // config.accumulation_steps)
    scheduler = warmup_cosine(
        optimizer,
        total_steps=config.epochs * steps_per_epoch,
        warmup_steps=steps_from_epochs(config.warmup_epochs, steps_per_epoch),
        start_factor=config.warmup_start_factor,
    )
    return Replica(
        model,
        net,
        optimizer,
        scheduler,
        sampler,
        loader,
        nn.CrossEntropyLoss(),
        world_size,
        config.accumulation_steps,
    )


def train_epoch(
    replica: Replica, epoch: int, device: torch.device
) -> tuple[list[float], list[float]]:
    """One pass over the rank's share of the training set.

    Shown in chapter 9.

    Each optimizer step takes the next ``k = replica.accumulation_steps``
    micro-batches (fewer at the end of the epoch), weights each micro-batch's
    mean loss by its share of their samples, and back-propagates them one by
    one. Under DDP the first ``k - 1`` run forward and backward inside
    ``no_sync()``: DDP decides in ``forward()`` whether the next ``backward()``
    averages the gradients over the ranks, so only the last micro-batch's
    backward does.

    Args:
        replica: from :func:`build_replica`.
        epoch: the epoch's number, from 0: it seeds this epoch's shuffle.
        device: where the rank computes.

    Returns:
        The learning rate of every step, and the loss of every step over the
        whole effective batch (added up over the ranks).
    """
    replica.sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
    replica.model.train()
    micro_batches = iter(replica.loader)
    lrs, losses = [], []
    while group := list(itertools.islice(micro_batches, replica.accumulation_steps)):
        total = sum(len(targets) for _, targets in group)  # this rank's samples
        lrs.append(replica.optimizer.param_groups[0]["lr"])
        replica.optimizer.zero_grad(set_to_none=True)
        loss_sum = 0.0
        for i, (images, targets) in enumerate(group):
            last = i == len(group) - 1
            # DDP averages over the ranks in the backward of a forward run outside
            # no_sync(): the last micro-batch's only.
            syncing = last or replica.world_size == 1
            with contextlib.nullcontext() if syncing else replica.net.no_sync():
                loss = replica.loss_fn(
                    replica.net(images.to(device)), targets.to(device)
                )
                (loss * (len(targets) / total)).backward()  # adds to .grad
            loss_sum += loss.item() * len(targets)
        replica.optimizer.step()
        if scheduler_step_kind(replica.scheduler) == "batch":  # warmup_cosine's kind
            replica.scheduler.step()  # each rank steps its own scheduler, identically
        loss_sum, count = _sum_over_ranks(
            [loss_sum, float(total)], device, replica.world_size
        )
        losses.append(loss_sum / count)
    return lrs, losses


def _optimizer(config: RunConfig, model: nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return reproducible_adam(model.parameters(), lr=config.lr)
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)


def _save_checkpoint(
    path: Path,
    config: RunConfig,
    epoch: int,
    replica: Replica,
    result: RunResult,
    world_size: int,
) -> None:
    state = {
        "format": CHECKPOINT_FORMAT,
        "config": asdict(config),
        "epoch": epoch,
        # the plain module: no DDP "module." prefix
        "model": replica.model.state_dict(),
        "optimizer": replica.optimizer.state_dict(),
        "scheduler": replica.scheduler.state_dict(),
        "history": {key: list(getattr(result, key)) for key in HISTORY_KEYS},
        "world_size": world_size,
    }
    state["sha256"] = state_sha256(state)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, lambda partial: torch.save(state, partial))


def _write_gradient_probe(
    path: Path, replica: Replica, rank: int, world_size: int, device: torch.device
) -> None:
    """Backward on the first batch of epoch 0 (through DDP when there is one);
    rank 0 saves it.
    """
    model = replica.model
    initial = {
        name: tensor.detach().cpu().clone()
        for name, tensor in model.state_dict().items()
    }
    replica.sampler.set_epoch(0)
    indices = list(replica.sampler)[
        : replica.loader.batch_size * replica.accumulation_steps
    ]
    images, targets = replica.loader.dataset[indices]
    replica.loss_fn(replica.net(images.to(device)), targets.to(device)).backward()
    every_rank = _gather(indices, world_size)
    if rank == 0:
        probe = {
            "initial_state": initial,
            "indices": torch.tensor([i for share in every_rank for i in share]),
            "gradients": {
                name: p.grad.detach().cpu().clone()
                for name, p in model.named_parameters()
            },
            "world_size": world_size,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, lambda partial: torch.save(probe, partial))
    replica.optimizer.zero_grad(set_to_none=True)


# --------------------------------------------------------------------------
# The command line, run by torchrun
# --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    defaults = RunConfig()
    parser = argparse.ArgumentParser(
        prog="torchrun --nproc-per-node=N -m lrlib.distributed",
        description=(
            "Train the book's CNN with DistributedDataParallel (one process per rank)."
        ),
    )
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        help=f"folder for {RESULT_FILE} and {CHECKPOINT_FILE} (written by rank 0)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="tensors written by Splits.save (default: load the RPS images)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        help="effective batch, split over the ranks",
    )
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--warmup-epochs", type=float, default=defaults.warmup_epochs)
    parser.add_argument(
        "--warmup-start-factor", type=float, default=defaults.warmup_start_factor
    )
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer)
    parser.add_argument("--momentum", type=float, default=defaults.momentum)
    parser.add_argument("--n-filters", type=int, default=defaults.n_filters)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--accumulation-steps",
        type=int,
        default=defaults.accumulation_steps,
        help="micro-batches per optimizer step on each rank (gradient accumulation)",
    )
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument(
        "--timeout-s",
        type=float,
        default=120.0,
        help="how long a collective may wait for the other ranks",
    )
    parser.add_argument(
        "--resume", type=Path, default=None, help="continue from this checkpoint"
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        default=None,
        help="stop after this many epochs (to resume later)",
    )
    parser.add_argument(
        "--gradient-probe",
        action="store_true",
        help=f"also write {PROBE_FILE}: the DDP gradient of the first batch",
    )
    return parser


def _backend(choice: str) -> str:
    if choice == "auto":
        return "nccl" if torch.cuda.is_available() else "gloo"
    return choice


def main(argv: Sequence[str] | None = None) -> int:
    """Run one rank of a data-parallel training:
    what ``torchrun -m lrlib.distributed`` calls.

    Args:
        argv: the command-line arguments (default ``sys.argv[1:]``); ``--help``
            lists them.

    Returns:
        0 on success; 2 when the script was not started by ``torchrun`` or the
        settings are invalid (the reason is printed on stderr).

    Raises:
        RuntimeError: a collective timed out or another rank failed (from
            ``torch.distributed``); the launcher then stops every rank.

    Example:
        >>> # needs data, files or a second process
        >>> main(["--out", "runs/x"])  # doctest: +SKIP
        lrlib.distributed: error: this script runs one process per rank and must be
        started by torchrun, ...
        2
    """
    args = _parser().parse_args(argv)
    try:
        env = _launch_environment()
        config = RunConfig(
            batch_size=args.batch_size,
            lr=args.lr,
            epochs=args.epochs,
            warmup_epochs=args.warmup_epochs,
            warmup_start_factor=args.warmup_start_factor,
            optimizer=args.optimizer,
            momentum=args.momentum,
            n_filters=args.n_filters,
            seed=args.seed,
            accumulation_steps=args.accumulation_steps,
        )
        _per_rank_batch(config.batch_size, env.world_size, config.accumulation_steps)
        check_number("--timeout-s", args.timeout_s, low=0, include_low=False)
        if args.stop_after is not None:
            check_int("--stop-after", args.stop_after, low=1, high=config.epochs)
    except (_NotLaunchedError, ValueError) as exc:
        print(f"lrlib.distributed: error: {exc}", file=sys.stderr)
        return 2

    backend = _backend(args.backend)
    if backend == "nccl":
        device = torch.device("cuda", env.local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    dist.init_process_group(backend, timeout=timedelta(seconds=args.timeout_s))
    try:
        if args.data is not None:
            splits = Splits.load(args.data)
        else:
            # Rank 0 first: it may decode the images
            # and write the cache the others read.
            if env.rank == 0:
                splits = _load_rps_splits()
            dist.barrier()
            if env.rank != 0:
                splits = _load_rps_splits()
        args.out.mkdir(parents=True, exist_ok=True)
        result = train(
            config,
            splits,
            device=device,
            checkpoint=args.out / CHECKPOINT_FILE,
            resume=args.resume,
            gradient_probe=args.out / PROBE_FILE if args.gradient_probe else None,
            stop_after=args.stop_after,
            log=lambda line: print(line, flush=True),
        )
        if env.rank == 0:
            result.save(args.out / RESULT_FILE)
    finally:
        dist.destroy_process_group()
    return 0


def _load_rps_splits() -> Splits:
    from lrlib.data.pipeline import (
        load_rps_data,  # torchvision: imported only when needed
    )

    return Splits.from_rps(load_rps_data())


# --------------------------------------------------------------------------
# Launching torchrun from Python (the notebook, the tests)
# --------------------------------------------------------------------------


def torchrun_command(
    script_args: Sequence[str], *, nproc_per_node: int = 2
) -> list[str]:
    """The ``torchrun`` command line that runs this module on ``nproc_per_node`` ranks.

    Shown in chapter 9.

    The rendezvous is on ``127.0.0.1`` at a port the operating system picks
    (``:0``): only this machine, never a fixed port that another run could
    hold.

    Args:
        script_args: the arguments for :func:`main`, e.g. ``["--out", "run"]``.
        nproc_per_node: processes to start (a positive integer).

    Returns:
        The command as a list, starting with ``"torchrun"``.

    Raises:
        ValueError: ``nproc_per_node`` is not a positive integer.

    Example:
        >>> torchrun_command(["--out", "run"])
        ['torchrun', '--nproc-per-node=2', '--rdzv-backend=c10d',
         '--rdzv-endpoint=127.0.0.1:0', '-m', 'lrlib.distributed', '--out', 'run']
    """
    check_int("nproc_per_node", nproc_per_node, low=1)
    return [
        "torchrun",
        f"--nproc-per-node={nproc_per_node}",
        "--rdzv-backend=c10d",
        "--rdzv-endpoint=127.0.0.1:0",
        "-m",
        "lrlib.distributed",
        *map(str, script_args),
    ]


def _torchrun_command(
    script_args: Sequence[str], *, nproc_per_node: int = 2, python: str | None = None
) -> list[str]:
    """:func:`torchrun_command` run as ``python -m torch.distributed.run``.

    The ``torchrun`` command is that module; starting it with an explicit
    interpreter (default ``sys.executable``) makes sure the ranks use the same.

    Example:
        >>> _torchrun_command(["--out", "run"], python="python")[3:]
        ['--nproc-per-node=2', '--rdzv-backend=c10d', '--rdzv-endpoint=127.0.0.1:0',
         '-m', 'lrlib.distributed', '--out', 'run']
    """
    command = torchrun_command(script_args, nproc_per_node=nproc_per_node)
    return [python or sys.executable, "-m", "torch.distributed.run", *command[1:]]


def _forked_rank(cwd: str, log_dir: str, script_args: list[str]) -> int:
    """One rank of :func:`run_forked`, in a process forked from the caller."""
    rank = os.environ["RANK"]
    # Below Python: the file descriptors, for whatever C++ prints too.
    for fd, suffix in ((1, "out"), (2, "err")):
        with open(Path(log_dir) / f"rank{rank}.{suffix}", "w") as stream:
            os.dup2(stream.fileno(), fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    torch.set_num_threads(1)  # what torchrun does for several ranks per machine
    os.chdir(cwd)
    try:
        return main(script_args)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def run_forked(
    script_args: Sequence[str],
    *,
    nproc_per_node: int = 2,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run :func:`torchrun_command`'s launch with ranks forked from this process.

    Shown in chapter 9.

    ``torchrun`` is a command-line front end to PyTorch's elastic launcher
    (:func:`torch.distributed.launcher.api.elastic_launch`). This function
    calls that launcher directly, with the rendezvous of
    :func:`torchrun_command`, and lets it *fork* the ranks from this process
    instead of starting fresh interpreters: they inherit the PyTorch this
    process has already imported, which saves seconds per rank. Each rank
    runs :func:`main` with ``script_args``, on one thread (as ``torchrun``
    sets for several ranks per machine), in ``cwd``, and writes what it
    prints to ``rank<N>.out`` and ``rank<N>.err`` in ``cwd/logs``. The call
    returns when every rank has finished. Forking is for CPU ranks
    (``--backend gloo``): a process that has used CUDA cannot be forked into
    ranks that use it.

    Args:
        script_args: the arguments for :func:`main`.
        nproc_per_node: processes to start (a positive integer).
        cwd: the ranks' working folder (default: this process's).

    Returns:
        A completed process whose ``args`` are the equivalent ``torchrun``
        command, ``stdout`` rank 0's output (the log) and ``stderr`` that of
        every rank.

    Raises:
        RuntimeError: a rank failed; the message holds what the ranks wrote
            on stderr (the traceback).

    Example:
        >>> # needs data, files or a second process
        >>> run = run_forked(["--out", "run", "--data", "splits.pt"])  # doctest: +SKIP
        >>> print(run.stdout)  # doctest: +SKIP
        epoch 1/2: val loss 0.5438, val accuracy 86.6%, last lr 0.02079
        ...
    """
    from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    command = torchrun_command(script_args, nproc_per_node=nproc_per_node)
    cwd = Path.cwd() if cwd is None else Path(cwd).resolve()
    log_dir = cwd / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc_per_node,
        run_id=uuid.uuid4().hex,
        rdzv_backend="c10d",
        rdzv_endpoint="127.0.0.1:0",
        max_restarts=0,
        start_method="fork",
        logs_specs=DefaultLogsSpecs(log_dir=str(log_dir / "launcher")),
    )
    # The launcher installs its own signal handlers; put this process's back.
    signals = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT]
    handlers = {sig: signal.getsignal(sig) for sig in signals}

    def read(suffix: str, ranks: Sequence[int]) -> str:
        return "".join(
            (log_dir / f"rank{r}.{suffix}").read_text(encoding="utf-8")
            for r in ranks
            if (log_dir / f"rank{r}.{suffix}").is_file()
        )

    try:
        launch = elastic_launch(config, _forked_rank)
        codes = launch(str(cwd), str(log_dir), [str(a) for a in script_args])
    except Exception as exc:
        errors = read("err", range(nproc_per_node))
        raise RuntimeError(
            f"a rank of {' '.join(command)} failed: {exc}\n{errors}"
        ) from exc
    finally:
        for sig, handler in handlers.items():
            if handler is not None:
                signal.signal(sig, handler)
    if any(code != 0 for code in codes.values()):
        errors = read("err", range(nproc_per_node))
        raise RuntimeError(
            f"{' '.join(command)} ended with exit codes {codes}:\n{errors}"
        )
    return subprocess.CompletedProcess(
        command, 0, read("out", [0]), read("err", range(nproc_per_node))
    )


class TorchrunJob:
    """A ``torchrun`` launch running in the background (see :func:`launch_torchrun`).

    Attributes:
        command: the command that was started.
        process: the launcher's :class:`subprocess.Popen`.
    """

    def __init__(
        self, command: list[str], process: subprocess.Popen, stdout: Any, stderr: Any
    ) -> None:
        self.command = command
        self.process = process
        self._stdout = stdout
        self._stderr = stderr

    def running(self) -> bool:
        """Whether the launcher has not exited yet."""
        return self.process.poll() is None

    def kill(self) -> None:
        """Kill the launcher and every rank it started (its whole process group)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def wait(self, timeout_s: float = 300.0) -> subprocess.CompletedProcess[str]:
        """Wait for the launcher to exit and return what it printed.

        Args:
            timeout_s: how long to wait; then every process of the run is killed.

        Returns:
            The completed process, with ``stdout`` (rank 0's log) and ``stderr``
            (the launcher's messages and any warnings) as text.

        Raises:
            subprocess.CalledProcessError: the launcher exited with an error
                (its ``stderr`` holds the failing rank's traceback).
            subprocess.TimeoutExpired: it ran longer than ``timeout_s``.
        """
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        stdout, stderr = (self._read(stream) for stream in (self._stdout, self._stderr))
        if self.process.returncode != 0:
            raise subprocess.CalledProcessError(
                self.process.returncode, self.command, stdout, stderr
            )
        return subprocess.CompletedProcess(
            self.command, self.process.returncode, stdout, stderr
        )

    @staticmethod
    def _read(stream: Any) -> str:
        stream.seek(0)
        text = stream.read().decode("utf-8", errors="replace")
        stream.close()
        return text


def launch_torchrun(
    script_args: Sequence[str],
    *,
    nproc_per_node: int = 2,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
) -> TorchrunJob:
    """Start :func:`_torchrun_command` in the background and return at once.

    The launcher and its ranks get a session (process group) of their own, so
    that :meth:`TorchrunJob.kill` and a timeout in :meth:`TorchrunJob.wait`
    stop all of them; their output goes to temporary files, which never fill
    up and block them the way an unread pipe can.

    Args:
        script_args: the arguments for :func:`main`.
        nproc_per_node: processes to start.
        cwd: the working folder (relative paths in ``script_args`` start there).
        env: the environment; default: this process's (with ``PYTHONPATH``,
            the pinned numerics and the seed shift it holds).

    Returns:
        A :class:`TorchrunJob`; call its ``wait()`` for the result.

    Example:
        >>> # needs data, files or a second process
        >>> args = ["--out", "run", "--data", "splits.pt"]
        >>> job = launch_torchrun(args)  # doctest: +SKIP
        >>> print(job.wait(timeout_s=120).stdout)  # doctest: +SKIP
        epoch 1/2: val loss 0.5438, val accuracy 86.6%, last lr 0.02079
        ...
    """
    command = _torchrun_command(script_args, nproc_per_node=nproc_per_node)
    stdout, stderr = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
    )
    return TorchrunJob(command, process, stdout, stderr)


def _run_torchrun(
    script_args: Sequence[str],
    *,
    nproc_per_node: int = 2,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 300.0,
) -> subprocess.CompletedProcess[str]:
    """Run :func:`_torchrun_command` to completion:
    :func:`launch_torchrun`, then ``wait``.

    Raises:
        subprocess.CalledProcessError: the launcher exited with an error.
        subprocess.TimeoutExpired: it ran longer than ``timeout_s`` (every
            process of the run is killed first).
    """
    job = launch_torchrun(script_args, nproc_per_node=nproc_per_node, cwd=cwd, env=env)
    return job.wait(timeout_s)


if __name__ == "__main__":
    sys.exit(main())
