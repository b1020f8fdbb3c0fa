"""Making runs repeatable."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["SEED_SHIFT_ENV", "seed_everything", "seed_shift"]

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
        raise ValueError(f"{SEED_SHIFT_ENV} must be a non-negative integer, got {raw!r}") from None
    if shift < 0:
        raise ValueError(f"{SEED_SHIFT_ENV} must be a non-negative integer, got {raw!r}")
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
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    seed = (seed + seed_shift()) % 2**32
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds CUDA and MPS generators too
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
