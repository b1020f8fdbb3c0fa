"""Saving training to a file and resuming it exactly.

Resuming *exactly* takes more than the model's weights. A checkpoint also holds
the optimizer's state (Adam's moving averages, SGD's momentum buffers), the
scheduler's position in its schedule, the epoch counter and history, and the
state of every random number generator: the one that shuffles the data, the
one that draws dropout masks. Restore all of them and the resumed run draws the
same batches and the same masks as an uninterrupted one, so its losses and
learning rates continue bit for bit.

A checkpoint holds only tensors, numbers, strings and plain lists, tuples and
dicts, so it loads with ``torch.load(path, weights_only=True)``, which refuses
to run code hidden in a file.

Nothing is lost and nothing is half-done: :func:`save_checkpoint` writes a
temporary file and renames it over the old checkpoint only once it is complete
on disk, so a crash during a save leaves the previous checkpoint intact; and
:func:`load_checkpoint` checks that the whole checkpoint fits the trainer
before it changes anything.
"""

from __future__ import annotations

import copy
import os
import secrets
import stat
from pathlib import Path
from typing import Any, Protocol

import torch

__all__ = [
    "CheckpointError",
    "Resumable",
    "copy_state",
    "load_checkpoint",
    "save_checkpoint",
]


class Resumable(Protocol):
    """What :func:`save_checkpoint` and :func:`load_checkpoint` need: a
    :class:`lrlib.training.Trainer`, or anything else with these two methods."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class CheckpointError(ValueError):
    """A checkpoint (a file or a state dict) that cannot be loaded into a trainer.

    The message says what is wrong: a file that cannot be read (empty,
    truncated, not written by ``torch.save``), a file that is not a trainer
    checkpoint, or each way in which the checkpoint does not fit the trainer.
    """


def copy_state(state: Any, device: torch.device | str = "cpu") -> Any:
    """Return a deep copy of a (nested) state dict,
    its tensors detached and moved to ``device``.

    ``module.state_dict()`` and ``optimizer.state_dict()`` hold the live
    tensors, which the next training step changes in place; this copy does not
    change with them. Dicts, lists and tuples are copied level by level; other
    values are copied with :func:`copy.deepcopy`.

    Args:
        state: a tensor, or dicts, lists and tuples holding tensors and plain values.
        device: where the copied tensors go. Default: the CPU, which leaves the
            accelerator's memory free.

    Returns:
        The copy.

    Example:
        >>> model = torch.nn.Linear(2, 1)
        >>> saved = copy_state(model.state_dict())
        >>> _ = torch.nn.init.zeros_(model.bias)
        >>> saved["bias"].data_ptr() != model.bias.data_ptr()
        True
    """
    if isinstance(state, torch.Tensor):
        return state.detach().to(device, copy=True)
    if isinstance(state, dict):
        copied = type(state)(
            (key, copy_state(value, device)) for key, value in state.items()
        )
        if hasattr(
            state, "_metadata"
        ):  # module state dicts carry their format versions here
            copied._metadata = copy.deepcopy(state._metadata)
        return copied
    if isinstance(state, (list, tuple)):
        return type(state)(copy_state(value, device) for value in state)
    return copy.deepcopy(state)


def save_checkpoint(trainer: Resumable, path: str | Path) -> Path:
    """Save everything needed to resume ``trainer`` to ``path``, atomically.

    The checkpoint is written to a temporary file in the same folder, flushed
    and synced to disk, then renamed over ``path`` (:func:`os.replace`, atomic
    on one file system). At every moment ``path`` holds either the previous
    checkpoint or the new one, whole: a crash or a kill during the save cannot
    leave a truncated file in its place. (After a crash, a hidden ``.tmp``
    file may remain beside it; it can be deleted.)

    Args:
        trainer: the trainer; see :meth:`lrlib.training.Trainer.state_dict`.
        path: the file to write; missing parent folders are created.

    Returns:
        The path written, as a :class:`~pathlib.Path`.

    Raises:
        IsADirectoryError: ``path`` is a directory.

    Example:
        >>> # needs a trainer
        >>> save_checkpoint(trainer, "checkpoints/epoch4.pt")  # doctest: +SKIP
        PosixPath('checkpoints/epoch4.pt')
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"cannot save a checkpoint to {str(path)!r}: it is a directory. Give a "
            f"file path, e.g. {str(path / 'checkpoint.pt')!r}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    _save_atomically(trainer.state_dict(), path)
    return path


def load_checkpoint(trainer: Resumable, path: str | Path) -> None:
    """Restore ``trainer`` from a file written by :func:`save_checkpoint`.

    Build the trainer exactly as for the saved run (a fresh model, optimizer,
    scheduler and data loaders of the same kinds), load, and call ``fit``: the
    run continues as if it had never stopped. The random number generators are
    restored too. The file is read with ``weights_only=True``.

    Args:
        trainer: a trainer built like the saved one.
        path: the checkpoint file.

    Everything is checked before anything changes (see
    :meth:`lrlib.training.Trainer.load_state_dict`): a checkpoint that does not
    fit leaves the trainer, and the random number generators, as they were.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IsADirectoryError: ``path`` is a directory.
        CheckpointError: (a ``ValueError``) the file cannot be read (empty,
            truncated, not written by ``torch.save``), is not a trainer
            checkpoint (e.g. a model's bare ``state_dict``), or does not fit
            the trainer; the message names the file and every mismatch
            (model parameters and shapes, optimizer class and parameter
            groups, scheduler class, trainer settings, data-loader generators).

    Example:
        >>> # needs a trainer
        >>> load_checkpoint(fresh_trainer, "checkpoints/epoch4.pt")  # doctest: +SKIP
        >>> fresh_trainer.fit(4)  # doctest: +SKIP
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{str(path)!r} is a directory, not a checkpoint file: give the path of a "
            "file written by save_checkpoint"
        )
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {str(path)!r}")
    state = _read_checkpoint(path)
    try:
        trainer.load_state_dict(state)
    except CheckpointError as exc:
        raise CheckpointError(
            f"checkpoint {str(path)!r} cannot be loaded: {exc}"
        ) from exc


def _save_atomically(state: Any, path: Path) -> None:
    """``torch.save(state, path)`` through a temporary file renamed
    over ``path`` when complete.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(
        temporary, flags, 0o666
    )  # 0o666 minus the umask, like open(..., "w")
    try:
        with os.fdopen(descriptor, "wb") as file:
            torch.save(state, file)
            file.flush()
            os.fsync(
                file.fileno()
            )  # the bytes are on disk before the name points to them
        if path.exists():
            os.chmod(
                temporary, stat.S_IMODE(path.stat().st_mode)
            )  # keep the old permissions
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _sync_directory(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX);
    a no-op where folders cannot be opened.
    """
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _read_checkpoint(path: Path) -> Any:
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is empty (0 bytes): whatever wrote it stopped "
            "before writing anything, or it is not a checkpoint"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        said = (str(exc).strip().splitlines() or [""])[0]
        raise CheckpointError(
            f"checkpoint {str(path)!r} ({size} bytes) cannot be read: it is truncated "
            "or corrupted (e.g. a save that was interrupted), was not written by "
            "torch.save, or holds objects that torch.load(weights_only=True) refuses. "
            f"torch.load said: {type(exc).__name__}: {said}"
        ) from exc
