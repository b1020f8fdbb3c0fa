"""Training a model: the loop every chapter uses.

A training loop does the same few things in the same order, epoch after epoch::

    for each epoch:
        record the learning rates of the optimizer's parameter groups
        for each mini-batch of the training set:
            forward, loss (stop if it is NaN or infinite), zero the gradients,
            backward, optimizer step
            (a mini-batch scheduler steps here, after the optimizer)
        measure the loss on the validation set, without gradients
        (an epoch scheduler steps here; ReduceLROnPlateau with the validation loss)

:class:`Trainer` runs exactly that and keeps a ``history``: a plain dictionary
of lists, ready to plot and to save in a checkpoint. The helpers it uses to
evaluate a model, :func:`evaluate`, :func:`accuracy` and :func:`predict`, work
on their own with any model and loader; they switch the model to evaluation
mode and put back the mode it was in. Batches are unpacked by
one rule everywhere in lrlib: ``(inputs, targets, ...)`` tuples or lists, or
mappings such as ``{"inputs": ..., "targets": ...}``.

An epoch of :meth:`Trainer.fit` happens completely or not at all: when it
fails or is interrupted (Ctrl-C), the trainer is rolled back to the state it
had when the epoch started, so calling ``fit`` again continues exactly as an
uninterrupted run would.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from lrlib._batches import (
    batch_inputs,
    check_loss_shapes,
    check_materialized,
    split_batch,
)
from lrlib._checks import (
    check_fractional_epochs,
    check_loader,
    check_monitor,
    check_optimizer_owns,
    check_type,
    resolve_scheduler_step,
    same_device,
)
from lrlib._states import (
    capture_rng_state,
    copy_state,
    loader_generators,
    restore_rng_state,
    trainer_state_problems,
)
from lrlib._validation import check_int
from lrlib.checkpoint import CheckpointError
from lrlib.device import get_device, model_device
from lrlib.schedulers import (
    StepKind,
    fractional_epoch,
    learning_rates,
    takes_fractional_epochs,
)

PROGRESS_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt}{postfix}"
"""The trainer's tqdm ``bar_format``: epochs done and the latest losses, without
the elapsed time and speed, which depend on the machine (the book's pages would
show this machine's).

Shown in chapter 0.
"""

__all__ = [
    "NonFiniteLossError",
    "PROGRESS_FORMAT",
    "Trainer",
    "accuracy",
    "evaluate",
    "predict",
    "predict_classes",
]

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Scheduler = LRScheduler | ReduceLROnPlateau

HISTORY_KEYS = (
    "train_loss",
    "val_loss",
    "val_accuracy",
    "lr",
    "batch_lr",
    "skipped_batches",
)
"""The lists in :attr:`Trainer.history`."""

_FIT_GUARD = threading.Lock()

NON_FINITE_POLICIES = ("raise", "skip")
"""What :class:`Trainer` does with a NaN
or infinite training loss (``on_nonfinite``).
"""

# --------------------------------------------------------------------------
# Small building blocks
# --------------------------------------------------------------------------


@contextmanager
def model_mode(model: nn.Module, *, training: bool) -> Iterator[nn.Module]:
    """Put ``model`` in training or evaluation mode for a ``with`` block.

    On leaving the block, even through an exception, every submodule gets back
    the mode it had before, so a model that was in evaluation mode (or had a
    frozen, evaluating part) is left exactly as it was found.

    Args:
        model: the model.
        training: ``True`` for ``model.train()``, ``False`` for ``model.eval()``.

    Example:
        >>> model = nn.Sequential(nn.Dropout(0.5))
        >>> with model_mode(model, training=False):
        ...     model.training
        False
        >>> model.training
        True
    """
    saved = [(module, module.training) for module in model.modules()]
    model.train(training)
    try:
        yield model
    finally:
        for module, was_training in saved:
            module.training = was_training


def _name(function: Callable) -> str:
    return getattr(function, "__name__", type(function).__name__)


def compute_loss(
    loss_fn: LossFunction, outputs: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Return ``loss_fn(outputs, targets)``,
    with an error that shows both shapes when they do not fit.

    Used by every loop of lrlib (the trainer, :func:`evaluate`, the range test).

    Args:
        loss_fn: a loss with ``reduction='mean'``, e.g. ``nn.CrossEntropyLoss()``.
        outputs: the model's outputs.
        targets: the batch's targets.

    Returns:
        The loss, a 0-d tensor.

    Raises:
        ValueError: the shapes broadcast to a shape other than the outputs'
            (:func:`lrlib._batches.check_loss_shapes`), ``loss_fn`` rejects them
            (the message shows both shapes and dtypes), or the loss is not a
            single number.

    Example:
        >>> compute_loss(nn.MSELoss(), torch.ones(4, 1), torch.zeros(4, 1))
        tensor(1.)
        >>> compute_loss(nn.CrossEntropyLoss(), torch.zeros(4, 3), torch.zeros(4))
        Traceback (most recent call last):
        ...
        ValueError: the loss function CrossEntropyLoss does not accept these model
        outputs ...
    """
    check_loss_shapes(
        outputs, targets
    )  # (N, 1) against (N,) would silently give (N, N)
    try:
        loss = loss_fn(outputs, targets)
    except (RuntimeError, ValueError, IndexError) as exc:
        raise ValueError(
            f"the loss function {_name(loss_fn)} does not accept these model outputs "
            f"and targets: outputs have shape {tuple(outputs.shape)} "
            f"({outputs.dtype}), targets have shape {tuple(targets.shape)} "
            f"({targets.dtype}). (CrossEntropyLoss, for example, expects logits (N, C) "
            f"and int64 class ids (N,).) The loss function said: {exc}"
        ) from exc
    if loss.ndim != 0:
        raise ValueError(
            f"the loss function {_name(loss_fn)} must return a single number (a 0-d "
            f"tensor, e.g. with reduction='mean'), got shape {tuple(loss.shape)}"
        )
    return loss


# --------------------------------------------------------------------------
# Evaluating a model
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Accuracy:
    """Correct predictions counted per true class.

    Attributes:
        correct: ``(C,)`` int64 tensor, the correctly predicted samples of each class.
        total: ``(C,)`` int64 tensor, the samples of each class.
    """

    correct: torch.Tensor
    total: torch.Tensor

    @property
    def overall(self) -> float:
        """The fraction of all samples predicted correctly."""
        return self.correct.sum().item() / self.total.sum().item()

    @property
    def per_class(self) -> torch.Tensor:
        """The fraction of each class predicted correctly
        (NaN for a class with no samples).
        """
        return self.correct / self.total


def _evaluated_batches(
    model: nn.Module, loader: Any
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(outputs, targets)`` of every batch, in evaluation mode without gradients.

    The one evaluation pass behind :func:`batch_losses` and :func:`accuracy`:
    the batch moves to the model's device, and the model's mode is restored
    when the pass ends.
    """
    check_materialized(model)
    device = model_device(model)
    with model_mode(model, training=False), torch.no_grad():
        for batch in loader:
            inputs, targets = split_batch(batch, device)
            yield model(inputs), targets


def batch_losses(
    model: nn.Module, loader: Any, loss_fn: LossFunction
) -> list[tuple[torch.Tensor, int]]:
    """Return the loss of ``model`` on every batch of ``loader``, with the batch's size.

    Runs in evaluation mode (dropout off) under :func:`torch.no_grad`, on the
    device of the model's parameters, and restores the model's modes
    afterwards. :func:`evaluate` and the range test's validation loss average
    these, each its own way.

    Args:
        model: the model.
        loader: yields ``(inputs, targets)`` batches (see
            :func:`lrlib._batches.split_batch`).
        loss_fn: a loss with ``reduction='mean'``.

    Returns:
        ``(loss, samples)`` per batch: the loss a 0-d tensor on the model's
        device, ``samples`` the number of targets.

    Raises:
        ValueError: as :func:`evaluate`.
        TypeError: as :func:`evaluate`.

    Example:
        >>> data = [
        ...     (torch.zeros(4, 2), torch.zeros(4, 1)),
        ...     (torch.zeros(2, 2), torch.ones(2, 1)),
        ... ]
        >>> model = nn.Linear(2, 1)
        >>> _ = nn.init.zeros_(model.bias)
        >>> [(loss.item(), n) for loss, n in batch_losses(model, data, nn.MSELoss())]
        [(0.0, 4), (1.0, 2)]
    """
    losses = [
        (compute_loss(loss_fn, outputs, targets), len(targets))
        for outputs, targets in _evaluated_batches(model, loader)
    ]
    if not losses:
        raise ValueError(
            "the loader is empty: it yielded no batches, so there is no loss to report"
        )
    return losses


def evaluate(model: nn.Module, loader: Any, loss_fn: LossFunction) -> float:
    """Return the mean loss per sample of ``model`` over ``loader``.

    Runs in evaluation mode (dropout off) under :func:`torch.no_grad`, on the
    device of the model's parameters, and restores the model's mode afterwards.

    Args:
        model: the model.
        loader: yields ``(inputs, targets)`` batches (see
            :func:`lrlib._batches.split_batch`).
        loss_fn: a loss with ``reduction='mean'``, e.g. ``nn.CrossEntropyLoss()``.

    Returns:
        The loss averaged over all samples (each batch weighted by its size).

    Raises:
        ValueError: the loader yields no batches, ``loss_fn`` rejects the
            model's outputs and the targets, their shapes broadcast to a shape
            other than the outputs' (see :func:`lrlib._batches.check_loss_shapes`),
            or the model is on the meta device.
        TypeError: a batch is not ``(inputs, targets, ...)`` or a mapping with
            known keys.

    Example:
        >>> model = nn.Linear(2, 3)
        >>> _ = nn.init.zeros_(model.weight), nn.init.zeros_(model.bias)
        >>> data = [(torch.randn(4, 2), torch.tensor([0, 1, 2, 2]))]
        >>> # log 3: equal logits
        >>> round(evaluate(model, data, nn.CrossEntropyLoss()), 4)
        1.0986
    """
    losses = batch_losses(model, loader, loss_fn)
    total_loss, count = torch.zeros((), device=model_device(model)), 0
    for loss, samples in losses:  # summed on the device, read once
        total_loss += loss * samples
        count += samples
    if count == 0:
        raise ValueError("the loader yielded no samples, so there is no loss to report")
    return total_loss.item() / count


def accuracy(model: nn.Module, loader: Any) -> Accuracy:
    """Count the correct predictions of a classifier over ``loader``, per class.

    Shown in chapters 2, 3 and 8.

    The predicted class is the index of the largest output (logit). Runs like
    :func:`evaluate`: evaluation mode, no gradients, mode restored.

    Args:
        model: a classifier returning ``(N, C)`` logits.
        loader: yields ``(inputs, targets)`` batches with integer class ids in
            ``[0, C)``.

    Returns:
        An :class:`Accuracy` with the counts per class; ``.overall`` and
        ``.per_class`` give the fractions.

    Raises:
        ValueError: the outputs are not ``(N, C)``, the targets are not integer
            class ids below ``C``, the loader yields no batches, or the model is
            on the meta device.
        TypeError: a batch is not ``(inputs, targets, ...)`` or a mapping with
            known keys.

    Example:
        >>> model = nn.Linear(2, 3)
        >>> data = [(torch.zeros(4, 2), torch.tensor([0, 1, 2, 2]))]
        >>> acc = accuracy(model, data)
        >>> acc.total.tolist()
        [1, 1, 2]
    """
    per_batch = [
        _class_counts(outputs, targets)
        for outputs, targets in _evaluated_batches(model, loader)
    ]
    if not per_batch:
        raise ValueError(
            "the loader yielded no batches, so there is no accuracy to report"
        )
    correct, total = torch.stack(per_batch).sum(dim=0).cpu()
    return Accuracy(correct=correct, total=total)


def _class_counts(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Stack of two ``(C,)`` counts: correct predictions and samples, per true class."""
    if outputs.ndim != 2 or targets.ndim != 1 or targets.dtype.is_floating_point:
        raise ValueError(
            "accuracy needs logits of shape (N, C) and integer class ids of shape "
            f"(N,), got outputs of shape {tuple(outputs.shape)} and targets of shape "
            f"{tuple(targets.shape)} ({targets.dtype})"
        )
    n_classes = outputs.shape[1]
    total = torch.bincount(targets, minlength=n_classes)
    if len(total) != n_classes:
        raise ValueError(
            f"a target class id is {len(total) - 1}, but the model has only "
            f"{n_classes} outputs (class ids 0 to {n_classes - 1})"
        )
    hits = targets[outputs.argmax(dim=1) == targets]
    return torch.stack([torch.bincount(hits, minlength=n_classes), total])


def predict(model: nn.Module, loader: Any) -> torch.Tensor:
    """Return the model's outputs (e.g. logits) for every sample of ``loader``.

    Runs like :func:`evaluate`: evaluation mode, no gradients, mode restored.

    Args:
        model: the model.
        loader: yields batches that are input tensors, ``(inputs, ...)`` tuples
            or mappings (targets, if present, are ignored; see
            :func:`lrlib._batches.batch_inputs`).

    Returns:
        The outputs of all batches concatenated along the first dimension, on the CPU.

    Raises:
        ValueError: the loader yields no batches, or the model is on the meta device.
        TypeError: a batch holds no input tensor.

    Example:
        >>> model = nn.Linear(2, 3)
        >>> batches = [torch.zeros(4, 2), (torch.zeros(1, 2), torch.tensor([1]))]
        >>> predict(model, batches).shape
        torch.Size([5, 3])
    """
    check_materialized(model)
    device = model_device(model)
    outputs = []
    with model_mode(model, training=False), torch.no_grad():
        for batch in loader:
            outputs.append(model(batch_inputs(batch, device)).cpu())
    if not outputs:
        raise ValueError(
            "the loader yielded no batches, so there is nothing to predict"
        )
    return torch.cat(outputs)


def predict_classes(model: nn.Module, loader: Any) -> torch.Tensor:
    """Return the predicted class id (the index of the largest logit) of every sample.

    Shown in chapter 3.

    Returns:
        An int64 tensor of shape ``(N,)``, on the CPU.

    Raises:
        ValueError: as :func:`predict`.

    Example:
        >>> model = nn.Linear(2, 3)
        >>> predict_classes(model, [torch.zeros(4, 2)]).shape
        torch.Size([4])
    """
    return predict(model, loader).argmax(dim=1)


# --------------------------------------------------------------------------
# The trainer
# --------------------------------------------------------------------------


class NonFiniteLossError(FloatingPointError):
    """A training loss was NaN or infinite.

    Attributes:
        epoch: the epoch in which it happened, counted from 0 (``Trainer.epoch``).
        batch: the batch of that epoch, counted from 0.
        loss: the loss value (``nan``, ``inf`` or ``-inf``).
    """

    def __init__(self, message: str, *, epoch: int, batch: int, loss: float) -> None:
        super().__init__(message)
        self.epoch, self.batch, self.loss = epoch, batch, loss


class Trainer:
    """Train a model on mini-batches, validate it, and step a learning-rate scheduler.

    Shown in chapters 2, 3, 7 and 8.

    The model is moved to the device once, here; every batch is moved there as
    it is used. :meth:`fit` can be called again and again: epochs accumulate,
    and the result is the same as one longer call.

    Args:
        model: the model to train.
        loss_fn: a loss with ``reduction='mean'``, e.g. ``nn.CrossEntropyLoss()``.
        optimizer: an optimizer over (some of) the model's parameters.
        train_loader: yields training batches, ``(inputs, targets, ...)`` or
            mappings (see :func:`lrlib._batches.split_batch`); must not be empty,
            and must be iterable again and again (a ``DataLoader`` or a list,
            not a generator).
        val_loader: optional, yields validation batches. Default: ``None``.
        scheduler: optional learning-rate scheduler built on ``optimizer``.
        scheduler_step: where ``scheduler.step()`` goes: ``"epoch"``, ``"batch"`` or
            ``"metric"``. Default: the scheduler's own kind,
            :func:`lrlib.schedulers.scheduler_step_kind`, the rule every loop
            of lrlib follows.
        monitor: what a ``"metric"`` scheduler is stepped with: ``"val_loss"``
            (default), ``"val_accuracy"`` (needs ``mode='max'``) or ``"train_loss"``.
        track_accuracy: also record the validation accuracy every epoch. Default:
            ``False``, and ``True`` whenever ``monitor="val_accuracy"``.
        device: where to train. Default: :func:`lrlib.device.get_device`.
        progress: show a progress bar over the epochs (``tqdm.auto``: a widget in
            a notebook, text in a terminal). Default: ``True``.
        on_nonfinite: what a NaN or infinite training loss does. ``"raise"``
            (default): training stops with :class:`NonFiniteLossError`, naming
            the epoch and the batch, before the bad loss changes any weight.
            ``"skip"``: the batch is left out (no backward pass, no optimizer
            or scheduler step), and the number of batches skipped in each
            epoch is recorded in ``history["skipped_batches"]``.

    Attributes:
        history: a dict of plain lists (see :data:`HISTORY_KEYS`), one entry per epoch
            unless said otherwise:

            * ``"train_loss"``: mean training loss, measured while the weights change;
            * ``"val_loss"``, ``"val_accuracy"``: measured after the epoch (empty when
              there is no validation loader, or accuracy is not tracked);
            * ``"lr"``: the learning rate of every parameter group at the start of
              the epoch, a list per epoch (the rates used during the epoch, unless a
              mini-batch scheduler changes them);
            * ``"batch_lr"``: the learning rate of every parameter group used by
              each optimizer step, a list per step;
            * ``"skipped_batches"``: the number of batches left out because their
              loss was not finite (always 0 with ``on_nonfinite="raise"``).
        epoch: the number of epochs trained so far.

    Raises:
        TypeError: an argument has the wrong type, or a loader is an iterator
            that can be gone over only once.
        ValueError: the training loader is missing or empty; the model is on the
            meta device; the optimizer holds tensors that are not parameters of
            the model; the scheduler was built on another optimizer;
            ``scheduler_step``, ``monitor`` or ``on_nonfinite`` is unknown; a
            metric scheduler has no metric to use (no validation loader) or its
            ``mode`` contradicts the monitored quantity; a
            ``CosineAnnealingWarmRestarts`` stepped per batch has a training
            loader without a length.

    Example:
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> data = TensorDataset(torch.randn(64, 4), torch.randint(0, 3, (64,)))
        >>> model = nn.Linear(4, 3)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> trainer = Trainer(
        ...     model,
        ...     nn.CrossEntropyLoss(),
        ...     optimizer,
        ...     DataLoader(data, batch_size=16, shuffle=True),
        ...     val_loader=DataLoader(data, batch_size=32),
        ...     scheduler=torch.optim.lr_scheduler.StepLR(optimizer, 2, 0.1),
        ...     progress=False,
        ... )
        >>> history = trainer.fit(3)
        >>> [round(lr, 3) for [lr] in history["lr"]]
        [0.1, 0.1, 0.01]
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFunction,
        optimizer: Optimizer,
        train_loader: DataLoader | Any,
        val_loader: DataLoader | Any | None = None,
        *,
        scheduler: Scheduler | None = None,
        scheduler_step: StepKind | None = None,
        monitor: str = "val_loss",
        track_accuracy: bool = False,
        device: str | torch.device | None = None,
        progress: bool = True,
        on_nonfinite: Literal["raise", "skip"] = "raise",
    ) -> None:
        check_type("model", model, nn.Module)
        check_type("optimizer", optimizer, Optimizer)
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        check_loader(train_loader, "train_loader")
        if val_loader is not None:
            check_loader(val_loader, "val_loader")
        check_materialized(model)
        check_optimizer_owns(model, optimizer)
        if on_nonfinite not in NON_FINITE_POLICIES:
            raise ValueError(
                f"on_nonfinite must be one of {list(NON_FINITE_POLICIES)}, "
                f"got {on_nonfinite!r}"
            )

        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.scheduler = scheduler
        self.scheduler_step = resolve_scheduler_step(
            scheduler, scheduler_step, optimizer
        )
        self.monitor = monitor
        self.track_accuracy = track_accuracy or monitor == "val_accuracy"
        self.progress = progress
        self.on_nonfinite = on_nonfinite
        metric_scheduler = scheduler if self.scheduler_step == "metric" else None
        check_monitor(monitor, self.track_accuracy, val_loader, metric_scheduler)
        check_fractional_epochs(scheduler, self.scheduler_step, train_loader)

        self.device = get_device(device)
        self.model.to(self.device)
        self.epoch = 0
        self.history: dict[str, list] = {key: [] for key in HISTORY_KEYS}
        self._skipped = 0  # batches left out of the current epoch (on_nonfinite="skip")
        self._fitting = False  # set while fit runs (see _fitting_alone)

    # -- the loop ----------------------------------------------------------

    def fit(self, epochs: int) -> dict[str, list]:
        """Train for ``epochs`` more epochs, validating and scheduling after each.

        Each epoch records the learning rates, runs :meth:`train_one_epoch`,
        then :meth:`validate` (when there is a validation loader), then steps an
        epoch or metric scheduler. A mini-batch scheduler is stepped inside
        :meth:`train_one_epoch`, after every optimizer step.

        An epoch happens completely or not at all. If anything stops it (an
        error, a NaN loss, Ctrl-C), the model, optimizer, scheduler, random
        number generators, :attr:`epoch` and :attr:`history` are rolled back to
        what they were when the epoch started, and the exception is raised
        again. Calling ``fit`` again then redoes that epoch from its start: an
        interrupted and resumed run equals an uninterrupted one, bit for bit on
        the CPU. (The epoch's batches are drawn again too, from the restored
        generators; side effects outside the trainer, such as printed output,
        are not undone.)

        Args:
            epochs: the number of epochs to add, a positive integer.

        Returns:
            :attr:`history`, the same dict object, with the new epochs appended.

        Raises:
            ValueError: ``epochs`` is not a positive integer, or a batch fails
                (see :meth:`train_one_epoch`).
            NonFiniteLossError: a training loss was NaN or infinite (with
                ``on_nonfinite="raise"``).
            RuntimeError: the model was moved off the trainer's device, or
                this trainer is already fitting (``fit`` was called from
                another thread): two fits of one trainer would interleave
                their epochs.

        Example:
            >>> # needs a trainer
            >>> history = trainer.fit(10)  # doctest: +SKIP
            >>> history["train_loss"][-1], history["val_loss"][-1]  # doctest: +SKIP
        """
        check_int("epochs", epochs, low=1)
        self._check_model_on_device()
        with self._fitting_alone():  # a second fit of this trainer is refused meanwhile
            bar = tqdm(
                range(epochs),
                desc="epochs",
                unit="epoch",
                disable=not self.progress,
                bar_format=PROGRESS_FORMAT,
            )
            for _ in bar:
                with self._rolled_back_on_failure():  # an interrupted epoch: no trace
                    lrs = learning_rates(
                        self.optimizer
                    )  # the rates the epoch starts at
                    train_loss = self.train_one_epoch()
                    metrics = self.validate() if self.val_loader is not None else {}
                    self._record(
                        lr=lrs,
                        train_loss=train_loss,
                        skipped_batches=self._skipped,
                        **metrics,
                    )
                    self._step_scheduler_after_epoch()
                    self.epoch += 1
                bar.set_postfix(self._last_losses(), refresh=False)
        return self.history

    def train_one_epoch(self) -> float:
        """Make one pass over the training loader, updating the model after every batch.

        Per batch: forward, loss, ``zero_grad``, backward, optimizer step, then a
        mini-batch scheduler's step. Before the backward pass the loss is
        checked: a NaN or infinite loss raises :class:`NonFiniteLossError`, or
        skips the batch (see ``on_nonfinite``). That check reads one value per
        batch from the device; the loss itself is summed on the device and read
        once, at the end.

        :meth:`fit` calls this; called directly, it trains one epoch but does not
        count it, record its learning rate, step an epoch scheduler, or roll
        back when it fails.

        Returns:
            The mean training loss per sample over the epoch (over the batches
            not skipped).

        Raises:
            ValueError: the loss function rejects the outputs and targets (the
                message shows their shapes and dtypes), their shapes broadcast
                to a shape other than the outputs', or the loader yields no
                batches (or only skipped ones).
            TypeError: a batch is neither ``(inputs, targets, ...)`` nor a
                mapping with known keys.
            NonFiniteLossError: a loss was NaN or infinite (``on_nonfinite="raise"``).
            RuntimeError: the model is no longer on the trainer's device.

        Example:
            >>> # needs a trainer
            >>> # one more pass, outside the history
            >>> trainer.train_one_epoch()  # doctest: +SKIP
            0.8421
        """
        self._check_model_on_device()
        total_loss, count, self._skipped = torch.zeros((), device=self.device), 0, 0
        with model_mode(self.model, training=True):
            for i, batch in enumerate(self.train_loader):
                inputs, targets = split_batch(batch, self.device)
                loss = compute_loss(self.loss_fn, self.model(inputs), targets)
                if not self._is_finite(loss, i):  # raises, or skips the batch
                    continue
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                self.history["batch_lr"].append(learning_rates(self.optimizer))
                if self.scheduler_step == "batch":
                    self._step_batch_scheduler(i)
                total_loss += loss.detach() * len(targets)
                count += len(targets)
        if count == 0:
            raise ValueError(self._nothing_trained())
        return total_loss.item() / count

    def validate(self) -> dict[str, float]:
        """Measure the model on the validation loader.

        The loss comes from :func:`evaluate`; the accuracy, when tracked, from
        :func:`accuracy`, in a second pass over the loader.

        Returns:
            ``{"val_loss": ...}``, plus ``"val_accuracy"`` when accuracy is tracked.

        Raises:
            ValueError: the trainer has no validation loader.

        Example:
            >>> # needs a trainer
            >>> trainer.validate()  # doctest: +SKIP
            {'val_loss': 0.6931, 'val_accuracy': 0.75}
        """
        if self.val_loader is None:
            raise ValueError("this Trainer has no val_loader to validate on")
        metrics = {"val_loss": evaluate(self.model, self.val_loader, self.loss_fn)}
        if self.track_accuracy:
            metrics["val_accuracy"] = accuracy(self.model, self.val_loader).overall
        return metrics

    def _is_finite(self, loss: torch.Tensor, batch: int) -> bool:
        """``True`` for a finite loss; otherwise raise,
        or count the batch as skipped.
        """
        if torch.isfinite(loss.detach()):
            return True
        if self.on_nonfinite == "skip":
            self._skipped += 1
            return False
        value = loss.item()
        lrs = ", ".join(f"{lr:.3g}" for lr in learning_rates(self.optimizer))
        raise NonFiniteLossError(
            f"the training loss is {value} in epoch {self.epoch}, batch {batch} (both "
            f"counted from 0), at learning rate(s) {lrs}: training stopped before this "
            "loss changed the weights. Usual causes: a learning rate too large, or NaN "
            "or infinite values in the data. (Trainer(on_nonfinite='skip') leaves such "
            "batches out instead.)",
            epoch=self.epoch,
            batch=batch,
            loss=value,
        )

    def _nothing_trained(self) -> str:
        if self._skipped:
            return (
                f"every batch of epoch {self.epoch} ({self._skipped}) had a NaN or "
                "infinite loss and was skipped: there is nothing left to train on. "
                "Lower the learning rate, or look for NaN or infinite values in the "
                "data."
            )
        return "train_loader yielded no batches: there is nothing to train on"

    def _step_batch_scheduler(self, i: int) -> None:
        if takes_fractional_epochs(self.scheduler):  # CosineAnnealingWarmRestarts
            # After batch i (from 0), the epoch reached is epoch + (i + 1) / n: the
            # rate of the next batch is the schedule's value there, and restarts come
            # on time. (PyTorch's docs pass epoch + i / n, one batch behind.)
            n = len(self.train_loader)
            self.scheduler.step(fractional_epoch(self.epoch, i, n))
        else:
            self.scheduler.step()

    def _step_scheduler_after_epoch(self) -> None:
        if self.scheduler_step == "epoch":
            self.scheduler.step()
        elif self.scheduler_step == "metric":
            self.scheduler.step(self.history[self.monitor][-1])

    def _check_model_on_device(self) -> None:
        found = model_device(self.model)
        if not same_device(found, self.device):
            raise RuntimeError(
                f"the model is on {str(found)!r}, but the trainer sends every batch to "
                f"{str(self.device)!r}: the model was moved after the Trainer was "
                f"created. Move it back with model.to({str(self.device)!r}), or create "
                "a new Trainer with the device you want."
            )

    def _record(self, **entries: Any) -> None:
        for key, value in entries.items():
            self.history[key].append(value)

    def _last_losses(self) -> dict[str, float]:
        losses = ("train_loss", "val_loss")
        return {key: self.history[key][-1] for key in losses if self.history[key]}

    # -- one fit at a time ---------------------------------------------------

    @contextmanager
    def _fitting_alone(self) -> Iterator[None]:
        """Mark the trainer as fitting for the block; refuse if it already is."""
        with _FIT_GUARD:  # test and set in one step, even between threads
            if self._fitting:
                raise RuntimeError(
                    "this trainer is already fitting: fit was called again while "
                    "another call (from another thread) is still running. Two fits of "
                    "one trainer would interleave their epochs and mix up its model, "
                    "optimizer and history; wait for the first fit to return, or give "
                    "each thread a trainer of its own."
                )
            self._fitting = True
        try:
            yield
        finally:
            self._fitting = False

    # -- rolling back an epoch ----------------------------------------------

    @contextmanager
    def _rolled_back_on_failure(self) -> Iterator[None]:
        """On any exception in the block,
        put the trainer back as it was, then re-raise.
        """
        snapshot = self._snapshot()
        try:
            yield
        except BaseException:
            self._restore(snapshot)
            raise

    def _snapshot(self) -> dict[str, Any]:
        """Copies (on the CPU) of everything an epoch changes;
        history by length only.
        """
        return {
            "model": copy_state(self.model.state_dict()),
            "optimizer": copy_state(self.optimizer.state_dict()),
            "scheduler": (
                None
                if self.scheduler is None
                else copy_state(self.scheduler.state_dict())
            ),
            "rng": capture_rng_state(self._generators()),
            "epoch": self.epoch,
            "history": {key: len(values) for key, values in self.history.items()},
        }

    def _restore(self, snapshot: dict[str, Any]) -> None:
        self.model.load_state_dict(snapshot["model"])
        self.optimizer.load_state_dict(snapshot["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(snapshot["scheduler"])
        restore_rng_state(snapshot["rng"], self._generators())
        self.epoch = snapshot["epoch"]
        for key, length in snapshot["history"].items():
            del self.history[key][length:]

    # -- saving and resuming -------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume training exactly where it stopped.

        The model, optimizer and scheduler states (with the optimizer's and the
        scheduler's class names), the epoch counter, a copy of the history, the
        trainer's settings that shape the run (``scheduler_step``, ``monitor``,
        ``track_accuracy``), and the state of every random number generator
        (PyTorch's, NumPy's, Python's, and the generators of the trainer's data
        loaders). It holds only tensors, numbers, strings and plain containers,
        so ``torch.load(..., weights_only=True)`` reads it back.

        Like :meth:`torch.nn.Module.state_dict`, the tensors are the live ones,
        not copies: save the result (:func:`lrlib.checkpoint.save_checkpoint`)
        before training on.

        Returns:
            A dict with the entries ``"model"``, ``"optimizer"``,
            ``"optimizer_class"``, ``"scheduler"``, ``"scheduler_class"``,
            ``"epoch"``, ``"history"``, ``"trainer"`` and ``"rng"``.

        Example:
            >>> # needs a trainer
            >>> state = trainer.state_dict()  # doctest: +SKIP
            >>> (state["epoch"], state["optimizer_class"],  # doctest: +SKIP
            ...  state["scheduler_class"])
            (3, 'SGD', 'StepLR')
        """
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "optimizer_class": type(self.optimizer).__name__,
            "scheduler": None
            if self.scheduler is None
            else self.scheduler.state_dict(),
            "scheduler_class": None
            if self.scheduler is None
            else type(self.scheduler).__name__,
            "epoch": self.epoch,
            "history": copy.deepcopy(self.history),
            "trainer": self._settings(),
            "rng": capture_rng_state(self._generators()),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state made by :meth:`state_dict`,
        random number generators included.

        Build the trainer the same way as the one that was saved (same model,
        optimizer, scheduler type, loaders), then load: training continues as if
        it had never stopped.

        All or nothing: the whole state is checked against this trainer first,
        and nothing changes unless it fits. Checked: its entries (one that no
        trainer state has is refused); the model's parameter and buffer names
        and shapes; the optimizer's class, its number of parameter
        groups and of parameters in each, and the shapes of its per-parameter
        state; the scheduler's class; the trainer's settings
        (``scheduler_step``, ``monitor`` of a metric scheduler,
        ``track_accuracy``); the epoch and the history; the number of
        data-loader generators. (States saved before the optimizer class and
        the settings were recorded are checked without them.)

        Args:
            state: a dict from :meth:`state_dict` (possibly saved and loaded).

        Raises:
            lrlib.checkpoint.CheckpointError: (a ``ValueError``) the state is not
                a trainer state, or does not fit this trainer; the message lists
                every mismatch.
            RuntimeError: the trainer is fitting (in another thread).

        Example:
            >>> # needs a trainer
            >>> state = copy.deepcopy(trainer.state_dict())  # doctest: +SKIP
            >>> trainer.fit(2)  # doctest: +SKIP
            >>> # back, generators included
            >>> trainer.load_state_dict(state)  # doctest: +SKIP
        """
        if self._fitting:
            raise RuntimeError(
                "this trainer is fitting (in another thread): load a state before or "
                "after fit, not while it runs"
            )
        problems = self._state_problems(state)
        if problems:
            raise CheckpointError(
                "it does not fit this trainer "
                "(build the trainer as for the saved run):\n"
                + "\n".join(f"  - {problem}" for problem in problems)
            )
        snapshot = self._snapshot()
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None:
                self.scheduler.load_state_dict(state["scheduler"])
            restore_rng_state(state["rng"], self._generators())
        except Exception as exc:  # not foreseen by the checks: undo what was done
            self._restore(snapshot)
            raise CheckpointError(
                f"loading failed, and the trainer was left as it was: {exc}"
            ) from exc
        except BaseException:
            self._restore(snapshot)
            raise
        history = {
            key: list(values) for key, values in copy.deepcopy(state["history"]).items()
        }
        history.setdefault("skipped_batches", [0] * len(history["lr"]))  # older states
        self.epoch = state["epoch"]
        self.history = history

    def _settings(self) -> dict[str, Any]:
        return {
            "scheduler_step": self.scheduler_step,
            "monitor": self.monitor,
            "track_accuracy": self.track_accuracy,
        }

    def _state_problems(self, state: Any) -> list[str]:
        """Every way in which ``state`` does not fit this trainer (empty: it fits)."""
        return trainer_state_problems(
            state,
            model=self.model,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            settings=self._settings(),
            generators=self._generators(),
            history_keys=HISTORY_KEYS,
        )

    def _generators(self) -> list[torch.Generator]:
        return loader_generators(self.train_loader, self.val_loader)
