"""Making runs repeatable: seeding the random number generators.

:func:`seed_everything` starts Python's, NumPy's and PyTorch's generators from
one seed, and returns a fresh generator for a data loader's shuffling. (Saving
and restoring the generators' states, which the trainer's rollback, a
checkpoint and the range test need, is done by the private
:mod:`lrlib._states`.)
"""

from __future__ import annotations

import random

import numpy as np
import torch

from lrlib._validation import check_int

__all__ = [
    "seed_everything",
]


def seed_everything(seed: int, *, deterministic: bool = False) -> torch.Generator:
    """Seed Python's, NumPy's and PyTorch's random number generators.

    Shown in chapters 0, 1, 2, 3, 4, 5, 6, 7, 8 and 9.

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
    seed = check_int("seed", seed, low=0, high=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds CUDA and MPS generators too
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
