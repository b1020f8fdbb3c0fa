"""lrlib: the tested helper package behind the *lrbook* tutorial.

``lrlib`` is the reader's toolbox: everything the chapters call to train a
network is one import away, ``from lrlib import Trainer, range_test, trace``.
Each name lives in a small module named after the concept it holds
(``lrlib.training``, ``lrlib.lr_range_test``, ``lrlib.schedulers``, the data in
``lrlib.data``, ...); the flat namespace below re-exports the public names of
those modules that the chapters use (all but :data:`MODULE_ONLY`, which stay
one module away, e.g. ``from lrlib.distributed import sampler_seed``), and
imports each on first use, so that ``import lrlib`` stays cheap. Importing
``lrlib`` has no side effects: it does not seed anything, pick a device, or
touch matplotlib's style.

The book's own machinery (glue for the prose, checked claims, tables,
responsive figures, the interactive explorers, the figure helpers and the
scheduler catalog) lives apart, in :mod:`lrlib.book`, which no module of the
toolbox imports. Modules whose names start with ``_`` are private plumbing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lrlib._lazy import lazy_exports as _lazy_exports

__version__ = "0.1.0"

# name -> module that defines it, grouped as the chapters meet them
_EXPORTS = {
    "get_device": "lrlib.device",
    "seed_everything": "lrlib.seeding",
    "RPSFolders": "lrlib.data.rps",
    "get_rps": "lrlib.data.rps",
    "validate_image_folder": "lrlib.data.rps",
    "Preloaded": "lrlib.data.preload",
    "RPSData": "lrlib.data.pipeline",
    "load_rps_data": "lrlib.data.pipeline",
    "load_classic": "lrlib.data.classic",
    "ChannelStats": "lrlib.stats",
    "batch_stats": "lrlib.stats",
    "denormalize": "lrlib.stats",
    "loader_stats": "lrlib.stats",
    "to_displayable": "lrlib.stats",
    "TwoBlockCNN": "lrlib.models",
    "count_parameters": "lrlib.models",
    "NonFiniteLossError": "lrlib.training",
    "PROGRESS_FORMAT": "lrlib.training",
    "Trainer": "lrlib.training",
    "accuracy": "lrlib.training",
    "evaluate": "lrlib.training",
    "predict": "lrlib.training",
    "predict_classes": "lrlib.training",
    "CheckpointError": "lrlib.checkpoint",
    "load_checkpoint": "lrlib.checkpoint",
    "save_checkpoint": "lrlib.checkpoint",
    "lr_factor": "lrlib.lr_range_test",
    "plot_range_test": "lrlib.lr_range_test",
    "range_test": "lrlib.lr_range_test",
    "suggest_all": "lrlib.suggestions",
    "valley": "lrlib.suggestions",
    "alpha_from_periods": "lrlib.moving_averages",
    "ewma": "lrlib.moving_averages",
    "ewma_average_age": "lrlib.moving_averages",
    "ewma_beta": "lrlib.moving_averages",
    "ewma_bias_corrected": "lrlib.moving_averages",
    "ewma_lag_weights": "lrlib.moving_averages",
    "periods_from_beta": "lrlib.moving_averages",
    "sma": "lrlib.moving_averages",
    "sma_average_age": "lrlib.moving_averages",
    "sma_lag_weights": "lrlib.moving_averages",
    "adam_reference": "lrlib.optim_math",
    "param_trajectory": "lrlib.optim_math",
    "sgd_reference": "lrlib.optim_math",
    "PathResult": "lrlib.linreg",
    "least_squares": "lrlib.linreg",
    "linreg_mse": "lrlib.linreg",
    "loss_surface": "lrlib.linreg",
    "make_linreg_data": "lrlib.linreg",
    "make_linreg_loader": "lrlib.linreg",
    "make_linreg_model": "lrlib.linreg",
    "record_path": "lrlib.linreg",
    "CYCLE_EPOCHS": "lrlib.schedulers",
    "cycle_from_loader": "lrlib.schedulers",
    "gallery": "lrlib.schedulers",
    "manual_step_decay": "lrlib.schedulers",
    "plot_trace": "lrlib.schedulers",
    "scheduler_step_kind": "lrlib.schedulers",
    "trace": "lrlib.schedulers",
    "scaled_lr": "lrlib.scaling",
    "steps_from_epochs": "lrlib.scaling",
    "warmup_cosine": "lrlib.scaling",
    "accumulated_gradients": "lrlib.accumulation",
    "batch_gradients": "lrlib.accumulation",
    "max_difference": "lrlib.accumulation",
    "RunConfig": "lrlib.distributed",
    "RunResult": "lrlib.distributed",
    "Splits": "lrlib.distributed",
    "build_replica": "lrlib.distributed",
    "run_forked": "lrlib.distributed",
    "torchrun_command": "lrlib.distributed",
    "train": "lrlib.distributed",
    "train_epoch": "lrlib.distributed",
    "numerics_report": "lrlib.numerics",
    "reproducible": "lrlib.numerics",
    "reproducible_adam": "lrlib.numerics",
}

# Public names of the toolbox's modules that no chapter calls: they keep their
# module's documentation and tests, and stay out of the reader's namespace.
MODULE_ONLY = (
    "lrlib.data.pipeline.split_loaders",
    "lrlib.distributed.launch_torchrun",
    "lrlib.distributed.sampler_seed",
    "lrlib.moving_averages.average_age",
    "lrlib.moving_averages.periods_from_alpha",
    "lrlib.numerics.PINNED_ENV",
    "lrlib.schedulers.learning_rates",
    "lrlib.stats.fit_normalizer",
)

__all__ = [  # literal, so that linters see it; a test checks it matches _EXPORTS
    "__version__",
    "CYCLE_EPOCHS",
    "ChannelStats",
    "CheckpointError",
    "NonFiniteLossError",
    "PROGRESS_FORMAT",
    "PathResult",
    "Preloaded",
    "RPSData",
    "RPSFolders",
    "RunConfig",
    "RunResult",
    "Splits",
    "Trainer",
    "TwoBlockCNN",
    "accumulated_gradients",
    "accuracy",
    "adam_reference",
    "alpha_from_periods",
    "batch_gradients",
    "batch_stats",
    "build_replica",
    "count_parameters",
    "cycle_from_loader",
    "denormalize",
    "evaluate",
    "ewma",
    "ewma_average_age",
    "ewma_beta",
    "ewma_bias_corrected",
    "ewma_lag_weights",
    "gallery",
    "get_device",
    "get_rps",
    "least_squares",
    "linreg_mse",
    "load_checkpoint",
    "load_classic",
    "load_rps_data",
    "loader_stats",
    "loss_surface",
    "lr_factor",
    "make_linreg_data",
    "make_linreg_loader",
    "make_linreg_model",
    "manual_step_decay",
    "max_difference",
    "numerics_report",
    "param_trajectory",
    "periods_from_beta",
    "plot_range_test",
    "plot_trace",
    "predict",
    "predict_classes",
    "range_test",
    "record_path",
    "reproducible",
    "reproducible_adam",
    "run_forked",
    "save_checkpoint",
    "scaled_lr",
    "scheduler_step_kind",
    "seed_everything",
    "sgd_reference",
    "sma",
    "sma_average_age",
    "sma_lag_weights",
    "steps_from_epochs",
    "suggest_all",
    "to_displayable",
    "torchrun_command",
    "trace",
    "train",
    "train_epoch",
    "validate_image_folder",
    "valley",
    "warmup_cosine",
]


__getattr__, __dir__ = _lazy_exports("lrlib", _EXPORTS, globals())


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from lrlib.accumulation import (
        accumulated_gradients,
        batch_gradients,
        max_difference,
    )
    from lrlib.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
    from lrlib.data.classic import load_classic
    from lrlib.data.pipeline import RPSData, load_rps_data
    from lrlib.data.preload import Preloaded
    from lrlib.data.rps import RPSFolders, get_rps, validate_image_folder
    from lrlib.device import get_device
    from lrlib.distributed import (
        RunConfig,
        RunResult,
        Splits,
        build_replica,
        run_forked,
        torchrun_command,
        train,
        train_epoch,
    )
    from lrlib.linreg import (
        PathResult,
        least_squares,
        linreg_mse,
        loss_surface,
        make_linreg_data,
        make_linreg_loader,
        make_linreg_model,
        record_path,
    )
    from lrlib.lr_range_test import lr_factor, plot_range_test, range_test
    from lrlib.models import TwoBlockCNN, count_parameters
    from lrlib.moving_averages import (
        alpha_from_periods,
        ewma,
        ewma_average_age,
        ewma_beta,
        ewma_bias_corrected,
        ewma_lag_weights,
        periods_from_beta,
        sma,
        sma_average_age,
        sma_lag_weights,
    )
    from lrlib.numerics import (
        numerics_report,
        reproducible,
        reproducible_adam,
    )
    from lrlib.optim_math import adam_reference, param_trajectory, sgd_reference
    from lrlib.scaling import scaled_lr, steps_from_epochs, warmup_cosine
    from lrlib.schedulers import (
        CYCLE_EPOCHS,
        cycle_from_loader,
        gallery,
        manual_step_decay,
        plot_trace,
        scheduler_step_kind,
        trace,
    )
    from lrlib.seeding import seed_everything
    from lrlib.stats import (
        ChannelStats,
        batch_stats,
        denormalize,
        loader_stats,
        to_displayable,
    )
    from lrlib.suggestions import suggest_all, valley
    from lrlib.training import (
        PROGRESS_FORMAT,
        NonFiniteLossError,
        Trainer,
        accuracy,
        evaluate,
        predict,
        predict_classes,
    )
