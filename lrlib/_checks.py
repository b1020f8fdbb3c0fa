"""The checks a :class:`lrlib.training.Trainer` runs on its arguments (private).

Every argument is checked when the trainer is created, with a message that
says what was expected and what came, so that a mistake surfaces at once and
not in the middle of an epoch. The trainer's loop
(:mod:`lrlib.training`) reads without them.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from lrlib._batches import is_one_shot
from lrlib.schedulers import StepKind, resolve_step_kind, takes_fractional_epochs

__all__ = [
    "MONITORS",
    "check_fractional_epochs",
    "check_loader",
    "check_monitor",
    "check_optimizer_owns",
    "check_type",
    "resolve_scheduler_step",
    "same_device",
]

MONITORS = ("val_loss", "val_accuracy", "train_loss")
"""The history entries a metric-driven scheduler can be stepped with."""

Scheduler = LRScheduler | ReduceLROnPlateau


def check_loader(loader: object, name: str) -> None:
    if loader is None:
        raise ValueError(f"{name} is required, got None")
    if is_one_shot(loader):
        raise TypeError(
            f"{name} is an iterator ({type(loader).__name__}), which yields its "
            "batches only once, but the trainer goes over its loaders every epoch (and "
            "again after an interrupted epoch): pass a DataLoader, a list of batches, "
            "or another object that can be iterated again"
        )
    try:
        size = len(loader)  # type: ignore[arg-type]
    except TypeError:
        return  # an iterable-style loader: its length is unknown until it runs
    if size == 0:
        raise ValueError(
            f"{name} is empty (len(loader) == 0): it has no batches to use"
        )


def check_type(name: str, value: object, expected: type) -> None:
    if not isinstance(value, expected):
        raise TypeError(
            f"{name} must be a {expected.__name__}, got {type(value).__name__}"
        )


def check_optimizer_owns(model: nn.Module, optimizer: Optimizer) -> None:
    in_model = {id(p) for p in model.parameters()}
    held = [p for group in optimizer.param_groups for p in group["params"]]
    foreign = [p for p in held if id(p) not in in_model]
    if foreign:
        raise ValueError(
            f"the optimizer holds {len(foreign)} tensor(s) that are not parameters of "
            "the model, so training would not change the model: was the optimizer "
            "created for another model (for example, before the model was re-created)?"
        )


def resolve_scheduler_step(
    scheduler: Scheduler | None, scheduler_step: str | None, optimizer: Optimizer
) -> StepKind | None:
    if scheduler is None:
        if scheduler_step is not None:
            raise ValueError(
                f"scheduler_step={scheduler_step!r} was given, but no scheduler"
            )
        return None
    if not isinstance(scheduler, (LRScheduler, ReduceLROnPlateau)):
        raise TypeError(
            "scheduler must be a torch.optim.lr_scheduler scheduler, "
            f"got {type(scheduler).__name__}"
        )
    if getattr(scheduler, "optimizer", optimizer) is not optimizer:
        raise ValueError(
            f"the scheduler {type(scheduler).__name__} was built on another optimizer "
            "than the trainer's: it would change learning rates the trainer never "
            "uses. Build it on the same optimizer object, e.g. StepLR(optimizer, ...)"
        )
    return resolve_step_kind(scheduler, scheduler_step, "scheduler_step")


def check_monitor(
    monitor: str,
    track_accuracy: bool,
    val_loader: object,
    metric_scheduler: Scheduler | None,
) -> None:
    if monitor not in MONITORS:
        raise ValueError(f"monitor must be one of {list(MONITORS)}, got {monitor!r}")
    if track_accuracy and val_loader is None:
        raise ValueError(
            "track_accuracy=True needs a val_loader to measure the accuracy on"
        )
    if metric_scheduler is None:
        return
    name = type(metric_scheduler).__name__
    if monitor.startswith("val_") and val_loader is None:
        raise ValueError(
            f"the scheduler {name} is stepped with {monitor!r}, which needs a "
            "val_loader; pass one, or use monitor='train_loss'"
        )
    mode = getattr(metric_scheduler, "mode", None)
    wanted = "max" if monitor == "val_accuracy" else "min"
    if mode is not None and mode != wanted:
        raise ValueError(
            f"monitor={monitor!r} should go {'up' if wanted == 'max' else 'down'}, so "
            f"the scheduler {name} needs mode={wanted!r}, got mode={mode!r}"
        )


def check_fractional_epochs(
    scheduler: Scheduler | None,
    scheduler_step: StepKind | None,
    train_loader: object,
) -> None:
    if scheduler_step != "batch" or not takes_fractional_epochs(scheduler):
        return
    try:
        len(train_loader)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(
            f"{type(scheduler).__name__} stepped after every batch is given fractional "
            "epochs, epoch + (i + 1) / len(train_loader), so the train_loader needs a "
            f"length, but {type(train_loader).__name__} has none; pass a loader with a "
            "length, or scheduler_step='epoch'"
        ) from None


def same_device(a: torch.device, b: torch.device) -> bool:
    """``cuda`` and ``cuda:0`` are the same device
    (index ``None`` means the current one).
    """
    return a.type == b.type and (a.index or 0) == (b.index or 0)
