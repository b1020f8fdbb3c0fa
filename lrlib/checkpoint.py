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

Nothing is silently wrong either. ``torch.load`` verifies no checksum: a bit
flipped on disk inside a tensor would load as another number. So a checkpoint
also records its format (:data:`CHECKPOINT_FORMAT`) and the SHA-256 of its
contents, and :func:`load_checkpoint` refuses a file whose contents no longer
match, or that a newer lrlib wrote in a format this one does not know.
Checkpoints of the first format, written before the checksum existed, still
load, with a warning that their damage cannot be detected.
"""

from __future__ import annotations

import os
import secrets
import stat
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import torch

from lrlib._digest import state_sha256

__all__ = [
    "CheckpointError",
    "load_checkpoint",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = 2
"""The layout :func:`save_checkpoint` writes: the trainer's state plus the
entries ``"format"`` (this number) and ``"sha256"`` (of the state).
Format 1, the trainer's state alone, had neither."""

_SEAL_KEYS = ("format", "sha256")


class _Resumable(Protocol):
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


def save_checkpoint(trainer: _Resumable, path: str | Path) -> Path:
    """Save everything needed to resume ``trainer`` to ``path``, atomically.

    Shown in chapter 7.

    The checkpoint is written to a temporary file in the same folder, flushed
    and synced to disk, then renamed over ``path`` (:func:`os.replace`, atomic
    on one file system). At every moment ``path`` holds either the previous
    checkpoint or the new one, whole: a crash or a kill during the save cannot
    leave a truncated file in its place. (After a crash, a hidden ``.tmp``
    file may remain beside it; it can be deleted.)

    Args:
        trainer: the trainer; see :meth:`lrlib.training.Trainer.state_dict`.
        path: the file to write; missing parent folders are created.

    The file holds the trainer's state (:meth:`lrlib.training.Trainer.state_dict`)
    and two more entries: ``"format"``, :data:`CHECKPOINT_FORMAT`, and
    ``"sha256"``, the SHA-256 of the state, which :func:`load_checkpoint`
    checks.

    Returns:
        The path written, as a :class:`~pathlib.Path`.

    Raises:
        IsADirectoryError: ``path`` is a directory.
        ValueError: the state already holds an entry ``"format"`` or
            ``"sha256"``.
        TypeError: the state holds an object that is not a tensor, a plain
            value, or a dict, list or tuple of them.

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
    sealed = _sealed(trainer.state_dict())
    path.parent.mkdir(parents=True, exist_ok=True)
    _save_atomically(sealed, path)
    return path


def load_checkpoint(trainer: _Resumable, path: str | Path) -> None:
    """Restore ``trainer`` from a file written by :func:`save_checkpoint`.

    Shown in chapter 7.

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
    First of all, its contents must match the SHA-256 recorded when it was
    saved, and its format must be one this lrlib reads.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IsADirectoryError: ``path`` is a directory.
        CheckpointError: (a ``ValueError``) the file cannot be read (empty,
            truncated, not written by ``torch.save``); its contents do not
            match their SHA-256 (the file was damaged after it was saved); it
            was written in a newer format (the message names both formats);
            it is not a trainer checkpoint (e.g. a model's bare
            ``state_dict``), holds entries no trainer state has, or does not
            fit the trainer; the message names the file and every mismatch
            (model parameters and shapes, optimizer class and parameter
            groups, scheduler class, trainer settings, data-loader generators).

    Warns:
        UserWarning: the checkpoint is of format 1 (saved by an older lrlib,
            without a checksum): it is loaded, but damage to it would go
            unnoticed. Saving it again adds the checksum.

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
    state, checked = _opened(_read_checkpoint(path), path)
    try:
        trainer.load_state_dict(state)
    except CheckpointError as exc:
        raise CheckpointError(
            f"checkpoint {str(path)!r} cannot be loaded: {exc}"
        ) from exc
    if not checked:
        warnings.warn(
            f"checkpoint {str(path)!r} has no checksum (format 1, saved by an older "
            "lrlib): it was loaded, but damage to it cannot be detected. Save it again "
            "to add one.",
            UserWarning,
            stacklevel=2,
        )


def _sealed(state: Any) -> dict[str, Any]:
    """``state`` with its format and its SHA-256 added.

    Example:
        >>> sealed = _sealed({"epoch": 3, "weights": torch.ones(2)})
        >>> sorted(sealed), sealed["format"], len(sealed["sha256"])
        (['epoch', 'format', 'sha256', 'weights'], 2, 64)
        >>> _opened(sealed, Path("c.pt"))[1]  # the checksum vouches for it
        True
        >>> sealed["weights"][0] = 1.0000001
        >>> _opened(sealed, Path("c.pt"))
        Traceback (most recent call last):
        ...
        lrlib.checkpoint.CheckpointError: checkpoint 'c.pt' does not match the SHA-256
        recorded when it was saved: ...
    """
    if not isinstance(state, Mapping):
        raise TypeError(
            f"state_dict() must return a dict to be saved, got {type(state).__name__}"
        )
    clash = [key for key in _SEAL_KEYS if key in state]
    if clash:
        raise ValueError(
            f"the state already holds the entries {clash}, which a checkpoint file "
            "uses for its format and checksum"
        )
    return {**state, "format": CHECKPOINT_FORMAT, "sha256": state_sha256(state)}


def _opened(saved: Any, path: Path) -> tuple[Any, bool]:
    """The state inside a checkpoint file, and whether a checksum vouched for it.

    Raises:
        CheckpointError: a format this lrlib does not read, or contents that
            do not match their SHA-256.
    """
    if not isinstance(saved, Mapping) or "format" not in saved:
        return saved, False  # format 1 (or no checkpoint: the trainer says which)
    where = f"checkpoint {str(path)!r}"
    found = saved["format"]
    if found != CHECKPOINT_FORMAT:
        newer = (
            isinstance(found, int)
            and not isinstance(found, bool)
            and found > CHECKPOINT_FORMAT
        )
        raise CheckpointError(
            f"{where} is of format {found!r}, written by a newer lrlib; this lrlib "
            f"reads formats 1 to {CHECKPOINT_FORMAT}. Update lrlib to load it."
            if newer
            else f"{where} has format {found!r}, which no lrlib writes (this one "
            f"reads formats 1 to {CHECKPOINT_FORMAT})"
        )
    state = {key: value for key, value in saved.items() if key not in _SEAL_KEYS}
    try:
        digest = state_sha256(state)
    except TypeError as exc:
        raise CheckpointError(f"{where} cannot be checked: {exc}") from exc
    if digest != saved.get("sha256"):
        raise CheckpointError(
            f"{where} does not match the SHA-256 recorded when it was saved: the file "
            "was changed or damaged since (a flipped bit on disk, a faulty copy or "
            "transfer), so its numbers cannot be trusted. Nothing was loaded; resume "
            "from another checkpoint."
        )
    return state, True


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
