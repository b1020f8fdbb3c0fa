"""lrlib: the tested helper package behind the *lrbook* tutorial.

Importing ``lrlib`` has no side effects: it does not seed anything, pick a
device, or touch matplotlib's style. Each helper lives in a small module named
after the concept it holds (``lrlib.stats``, ``lrlib.training``, ...); the most
used ones are re-exported here and imported on first use, so that
``import lrlib`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS = {
    "DEVICE_ENV": "lrlib.device",
    "REQUIRE_CUDA_ENV": "lrlib.device",
    "get_device": "lrlib.device",
    "seed_everything": "lrlib.seeding",
    "glue": "lrlib.prose",
    "TwoBlockCNN": "lrlib.models",
    "count_parameters": "lrlib.models",
    "Preloaded": "lrlib.preload",
    "ChannelStats": "lrlib.stats",
    "batch_stats": "lrlib.stats",
    "denormalize": "lrlib.stats",
    "fit_normalizer": "lrlib.stats",
    "loader_stats": "lrlib.stats",
    "to_displayable": "lrlib.stats",
}

__all__ = [  # literal, so that linters see it; a test checks it matches _EXPORTS
    "__version__",
    "ChannelStats",
    "DEVICE_ENV",
    "Preloaded",
    "REQUIRE_CUDA_ENV",
    "TwoBlockCNN",
    "batch_stats",
    "count_parameters",
    "denormalize",
    "fit_normalizer",
    "get_device",
    "glue",
    "loader_stats",
    "seed_everything",
    "to_displayable",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lrlib' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from lrlib.device import DEVICE_ENV, REQUIRE_CUDA_ENV, get_device
    from lrlib.models import TwoBlockCNN, count_parameters
    from lrlib.preload import Preloaded
    from lrlib.prose import glue
    from lrlib.seeding import seed_everything
    from lrlib.stats import (
        ChannelStats,
        batch_stats,
        denormalize,
        fit_normalizer,
        loader_stats,
        to_displayable,
    )
