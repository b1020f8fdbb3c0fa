"""Making runs repeatable: seeding the random number generators,
and saving their states.

:func:`seed_everything` starts Python's, NumPy's and PyTorch's generators from
one seed. :func:`capture_rng_state` and :func:`restore_rng_state` save and put
back the state of every generator training may draw from, data-loader
generators included (:func:`loader_generators`): the trainer rolls an
interrupted epoch back with them, a checkpoint stores them, and the range test
leaves them as it found them.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lrlib.device import mps_available
from lrlib.validation import check_int, describe_int_range

__all__ = [
    "SEED_SHIFT_ENV",
    "capture_rng_state",
    "check_rng_state",
    "loader_generators",
    "restore_rng_state",
    "seed_everything",
    "seed_shift",
]

_RNG_KEYS = ("torch", "cuda", "mps", "numpy", "python", "generators")

SEED_SHIFT_ENV = "LRBOOK_SEED_SHIFT"
"""When set to an integer k, :func:`seed_everything` uses ``seed + k``.

The robustness benchmark re-runs the whole book with k = 1, 2, ... so that a
claim is tested on other training runs, not on the one the page shows. Unset
(the default everywhere else), seeds are used as given.
"""


def seed_shift() -> int:
    """The shift :envvar:`LRBOOK_SEED_SHIFT` asks for (0 when unset)."""
    raw = os.environ.get(SEED_SHIFT_ENV, "").strip()
    if not raw:
        return 0
    try:
        shift = int(raw)
    except ValueError:
        shift = -1
    if shift < 0:
        raise ValueError(
            f"{SEED_SHIFT_ENV} must be {describe_int_range(0)}, got {raw!r}"
        )
    return shift


def seed_everything(seed: int, *, deterministic: bool = False) -> torch.Generator:
    """Seed Python's, NumPy's and PyTorch's random number generators.

    Args:
        seed: a non-negative integer below 2**32 (NumPy's limit).
            ``LRBOOK_SEED_SHIFT`` (see :data:`SEED_SHIFT_ENV`) adds to it.
        deterministic: also ask PyTorch for deterministic algorithms
            (``torch.use_deterministic_algorithms(True, warn_only=True)``),
            which matters on GPUs. It is a process-wide setting, so it is off
            unless asked for.

    Returns:
        A fresh CPU :class:`torch.Generator` seeded with ``seed``, handy for a
        ``DataLoader(generator=...)`` whose shuffling should not depend on how
        many random numbers other code drew before it.

    Raises:
        TypeError: ``seed`` is not an integer.
        ValueError: ``seed`` is out of range.

    Example:
        >>> g = seed_everything(42)
        >>> a = torch.rand(2)
        >>> _ = seed_everything(42)
        >>> torch.equal(a, torch.rand(2))
        True
    """
    seed = check_int("seed", seed, low=0, high=2**32 - 1)
    seed = (seed + seed_shift()) % 2**32
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds CUDA and MPS generators too
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


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
            if isinstance(generator, torch.Generator) and not any(
                generator is g for g in found
            ):
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
    numpy_state = (
        name,
        torch.from_numpy(keys.astype(np.int64)),
        position,
        has_gauss,
        cached_gauss,
    )
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "mps": torch.mps.get_rng_state() if mps_available() else None,
        "numpy": numpy_state,
        "python": random.getstate(),
        "generators": [g.get_state() for g in generators],
    }


def restore_rng_state(
    state: dict[str, Any], generators: Sequence[torch.Generator] = ()
) -> None:
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
    if state["mps"] is not None and mps_available():
        torch.mps.set_rng_state(state["mps"])
    name, keys, position, has_gauss, cached_gauss = state["numpy"]
    np.random.set_state(
        (name, keys.numpy().astype(np.uint32), position, has_gauss, cached_gauss)
    )
    random.setstate(state["python"])
    for generator, generator_state in zip(generators, saved):
        generator.set_state(generator_state)


def check_rng_state(state: Any, generators: Sequence[torch.Generator] = ()) -> None:
    """Check that ``state`` can be restored with ``generators``,
    without changing anything.

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
        ValueError: the saved state has 0 data-loader generator(s), but 1 were
        given: ...
    """
    if not isinstance(state, dict) or any(key not in state for key in _RNG_KEYS):
        found = (
            sorted(map(str, state)) if isinstance(state, dict) else type(state).__name__
        )
        raise ValueError(
            f"the random number generator state must be a dict with the entries "
            f"{list(_RNG_KEYS)} (as capture_rng_state makes), got {found}"
        )
    saved = state["generators"]
    if len(saved) != len(generators):
        raise ValueError(
            f"the saved state has {len(saved)} data-loader generator(s), but "
            f"{len(generators)} were given: build the data loaders the same way as for "
            "the saved run (with or without DataLoader(generator=...))"
        )
