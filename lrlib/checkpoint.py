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
import random
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from lrlib.training import Trainer

__all__ = [
    "CheckpointError",
    "capture_rng_state",
    "check_rng_state",
    "copy_state",
    "load_checkpoint",
    "loader_generators",
    "restore_rng_state",
    "save_checkpoint",
]

_RNG_KEYS = ("torch", "cuda", "mps", "numpy", "python", "generators")


class CheckpointError(ValueError):
    """A checkpoint (a file or a state dict) that cannot be loaded into a trainer.

    The message says what is wrong: a file that cannot be read (empty,
    truncated, not written by ``torch.save``), a file that is not a trainer
    checkpoint, or each way in which the checkpoint does not fit the trainer.
    """


def copy_state(state: Any, device: torch.device | str = "cpu") -> Any:
    """Return a deep copy of a (nested) state dict, its tensors detached and moved to ``device``.

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
        copied = type(state)((key, copy_state(value, device)) for key, value in state.items())
        if hasattr(state, "_metadata"):  # module state dicts carry their format versions here
            copied._metadata = copy.deepcopy(state._metadata)
        return copied
    if isinstance(state, (list, tuple)):
        return type(state)(copy_state(value, device) for value in state)
    return copy.deepcopy(state)


def loader_generators(*loaders: Any) -> list[torch.Generator]:
    """Return the random number generators the given data loaders shuffle with.

    A :class:`~torch.utils.data.DataLoader` made with ``generator=g`` (and any
    sampler made with one) draws its random numbers from ``g`` instead of from
    PyTorch's global generator, so ``g``'s state must be saved as well.

    Args:
        *loaders: data loaders; ``None`` and objects without generators are skipped.

    Returns:
        The distinct generators found, in a fixed order.
    """
    found: list[torch.Generator] = []
    for loader in loaders:
        for owner in (loader, getattr(loader, "sampler", None)):
            generator = getattr(owner, "generator", None)
            if isinstance(generator, torch.Generator) and not any(generator is g for g in found):
                found.append(generator)
    return found


def capture_rng_state(generators: Sequence[torch.Generator] = ()) -> dict[str, Any]:
    """Return the state of every random number generator training may use.

    Args:
        generators: extra generators to include, e.g. :func:`loader_generators`.

    Returns:
        A dict of tensors and plain values: PyTorch's CPU generator, the CUDA and
        MPS generators when those devices exist, NumPy's and Python's global
        generators, and ``generators`` in order.

    Example:
        >>> state = capture_rng_state()
        >>> a = torch.rand(3)
        >>> restore_rng_state(state)
        >>> torch.equal(a, torch.rand(3))
        True
    """
    name, keys, position, has_gauss, cached_gauss = np.random.get_state(legacy=True)
    numpy_state = (name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached_gauss)
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "mps": torch.mps.get_rng_state() if _mps_available() else None,
        "numpy": numpy_state,
        "python": random.getstate(),
        "generators": [g.get_state() for g in generators],
    }


def restore_rng_state(state: dict[str, Any], generators: Sequence[torch.Generator] = ()) -> None:
    """Put back the generator states returned by :func:`capture_rng_state`.

    Args:
        state: a dict from :func:`capture_rng_state`.
        generators: the generators to restore, in the same order as when captured.

    Raises:
        ValueError: ``state`` is not such a dict, or the number of generators
            differs from the number captured (see :func:`check_rng_state`);
            nothing is changed then.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> state = capture_rng_state([g])
        >>> first = torch.rand(2, generator=g)
        >>> restore_rng_state(state, [g])
        >>> torch.equal(first, torch.rand(2, generator=g))
        True
    """
    check_rng_state(state, generators)
    saved = state["generators"]
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if state["mps"] is not None and _mps_available():
        torch.mps.set_rng_state(state["mps"])
    name, keys, position, has_gauss, cached_gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached_gauss))
    random.setstate(state["python"])
    for generator, generator_state in zip(generators, saved):
        generator.set_state(generator_state)


def check_rng_state(state: Any, generators: Sequence[torch.Generator] = ()) -> None:
    """Check that ``state`` can be restored with ``generators``, without changing anything.

    Args:
        state: a dict from :func:`capture_rng_state`.
        generators: the generators it is to be restored into.

    Raises:
        ValueError: ``state`` is not a dict with the entries
            :func:`capture_rng_state` makes, or it holds another number of
            data-loader generator states than ``len(generators)``.

    Example:
        >>> check_rng_state(capture_rng_state())
        >>> check_rng_state(capture_rng_state(), [torch.Generator()])
        Traceback (most recent call last):
        ...
        ValueError: the saved state has 0 data-loader generator(s), but 1 were given: ...
    """
    if not isinstance(state, dict) or any(key not in state for key in _RNG_KEYS):
        found = sorted(map(str, state)) if isinstance(state, dict) else type(state).__name__
        raise ValueError(
            f"the random number generator state must be a dict with the entries "
            f"{list(_RNG_KEYS)} (as capture_rng_state makes), got {found}"
        )
    saved = state["generators"]
    if len(saved) != len(generators):
        raise ValueError(
            f"the saved state has {len(saved)} data-loader generator(s), but "
            f"{len(generators)} were given: build the data loaders the same way as for the "
            "saved run (with or without DataLoader(generator=...))"
        )


def save_checkpoint(trainer: Trainer, path: str | Path) -> Path:
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
        >>> save_checkpoint(trainer, "checkpoints/epoch4.pt")  # doctest: +SKIP
        PosixPath('checkpoints/epoch4.pt')
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"cannot save a checkpoint to {str(path)!r}: it is a directory. Give a file "
            f"path, e.g. {str(path / 'checkpoint.pt')!r}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    _save_atomically(trainer.state_dict(), path)
    return path


def load_checkpoint(trainer: Trainer, path: str | Path) -> None:
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
        >>> load_checkpoint(fresh_trainer, "checkpoints/epoch4.pt")  # doctest: +SKIP
        >>> fresh_trainer.fit(4)  # doctest: +SKIP
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{str(path)!r} is a directory, not a checkpoint file: give the path of a file "
            "written by save_checkpoint"
        )
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {str(path)!r}")
    state = _read_checkpoint(path)
    try:
        trainer.load_state_dict(state)
    except CheckpointError as exc:
        raise CheckpointError(f"checkpoint {str(path)!r} cannot be loaded: {exc}") from exc


def _save_atomically(state: Any, path: Path) -> None:
    """``torch.save(state, path)`` through a temporary file renamed over ``path`` when complete."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary, flags, 0o666)  # 0o666 minus the umask, like open(..., "w")
    try:
        with os.fdopen(descriptor, "wb") as file:
            torch.save(state, file)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the name points to them
        if path.exists():
            os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))  # keep the old permissions
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _sync_directory(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened."""
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
            f"checkpoint {str(path)!r} is empty (0 bytes): whatever wrote it stopped before "
            "writing anything, or it is not a checkpoint"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        said = (str(exc).strip().splitlines() or [""])[0]
        raise CheckpointError(
            f"checkpoint {str(path)!r} ({size} bytes) cannot be read: it is truncated or "
            "corrupted (e.g. a save that was interrupted), was not written by torch.save, or "
            "holds objects that torch.load(weights_only=True) refuses. "
            f"torch.load said: {type(exc).__name__}: {said}"
        ) from exc


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
