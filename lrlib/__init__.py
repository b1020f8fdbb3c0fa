"""lrlib: the tested helper package behind the *lrbook* tutorial.

Importing ``lrlib`` has no side effects: it does not seed anything, pick a
device, or touch matplotlib's style. Each helper lives in a small module named
after the concept it holds; the most used ones are re-exported here.
"""

from lrlib.device import DEVICE_ENV, REQUIRE_CUDA_ENV, get_device
from lrlib.glue import glue
from lrlib.models import TwoBlockCNN, count_parameters
from lrlib.preload import Preloaded
from lrlib.stats import (
    ChannelStats,
    batch_stats,
    denormalize,
    fit_normalizer,
    loader_stats,
    to_displayable,
)
from lrlib.seeding import seed_everything

__version__ = "0.1.0"

__all__ = [
    "DEVICE_ENV",
    "REQUIRE_CUDA_ENV",
    "ChannelStats",
    "Preloaded",
    "TwoBlockCNN",
    "__version__",
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
