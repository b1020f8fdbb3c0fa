"""Making runs repeatable."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int, *, deterministic: bool = False) -> torch.Generator:
    """Seed Python's, NumPy's and PyTorch's random number generators.

    Args:
        seed: a non-negative integer below 2**32 (NumPy's limit).
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
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds CUDA and MPS generators too
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
