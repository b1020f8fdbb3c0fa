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
"""

from __future__ import annotations

import random
from pathlib import Path
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from lrlib.training import Trainer

__all__ = [
    "capture_rng_state",
    "load_checkpoint",
    "loader_generators",
    "restore_rng_state",
    "save_checkpoint",
]


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
        ValueError: the number of generators differs from the number captured.
    """
    saved = state["generators"]
    if len(saved) != len(generators):
        raise ValueError(
            f"the saved state has {len(saved)} data-loader generator(s), but "
            f"{len(generators)} were given: build the data loaders the same way as for the "
            "saved run (with or without DataLoader(generator=...))"
        )
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


def save_checkpoint(trainer: Trainer, path: str | Path) -> Path:
    """Save everything needed to resume ``trainer`` to ``path``.

    Args:
        trainer: the trainer; see :meth:`lrlib.training.Trainer.state_dict`.
        path: the file to write; missing parent folders are created.

    Returns:
        The path written, as a :class:`~pathlib.Path`.

    Example:
        >>> save_checkpoint(trainer, "checkpoints/epoch4.pt")  # doctest: +SKIP
        PosixPath('checkpoints/epoch4.pt')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(trainer.state_dict(), path)
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

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the checkpoint does not fit the trainer (another kind of
            scheduler, another number of data-loader generators).

    Example:
        >>> load_checkpoint(fresh_trainer, "checkpoints/epoch4.pt")  # doctest: +SKIP
        >>> fresh_trainer.fit(4)  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {str(path)!r}")
    trainer.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
