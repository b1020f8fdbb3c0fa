"""lrlib.book: the book's own machinery, beside the reader's toolbox.

What the chapters use to *publish* rather than to train: :func:`glue` puts a
computed number into the prose, :func:`claim` checks a sentence, :class:`Table`
prints one, :func:`responsive` makes a wide figure readable on a phone,
:class:`FigureExplorer` draws an interactive figure that the static website
can still show, the ``plot_*`` and ``draw_*`` helpers draw the chapters'
figures, :data:`CATALOG` describes every scheduler PyTorch ships for
chapter 6 and its reference page, and :func:`scheduler_explorer` lets a reader
move their settings. :mod:`lrlib.book.robustness` shifts the book's seeds for the
robustness benchmark.

A chapter imports all of it in one line: ``from lrlib.book import glue, claim,
responsive``. The names are imported on first use, as in :mod:`lrlib`. The
toolbox (:mod:`lrlib` outside this package) never imports from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lrlib._lazy import lazy_exports as _lazy_exports

# name -> module that defines it, grouped as the chapters meet them
_EXPORTS = {
    "glue": "lrlib.book.prose",
    "ClaimFailed": "lrlib.book.claims",
    "claim": "lrlib.book.claims",
    "remember_book_run": "lrlib.book.claims",
    "Table": "lrlib.book.tables",
    "PHONE_WIDTH": "lrlib.book.responsive_figures",
    "responsive": "lrlib.book.responsive_figures",
    "ExplorerChooser": "lrlib.book.explorer",
    "FigureExplorer": "lrlib.book.explorer",
    "draw_conv_volumes": "lrlib.book.figures_data",
    "plot_channel_histograms": "lrlib.book.figures_data",
    "plot_image_grid": "lrlib.book.figures_data",
    "animate_paths": "lrlib.book.figures_optim",
    "animation_html": "lrlib.book.figures_optim",
    "plot_adam_gradients": "lrlib.book.figures_optim",
    "plot_adam_scaling": "lrlib.book.figures_optim",
    "plot_lag_weights": "lrlib.book.figures_optim",
    "plot_loss_curves": "lrlib.book.figures_optim",
    "plot_loss_surface": "lrlib.book.figures_optim",
    "plot_moving_averages": "lrlib.book.figures_optim",
    "plot_update_terms": "lrlib.book.figures_optim",
    "CATALOG": "lrlib.book.scheduler_catalog",
    "EXPLORE_STEPS": "lrlib.book.scheduler_catalog",
    "Knob": "lrlib.book.scheduler_catalog",
    "SchedulerEntry": "lrlib.book.scheduler_catalog",
    "check_coverage": "lrlib.book.scheduler_catalog",
    "discover_schedulers": "lrlib.book.scheduler_catalog",
    "find_entry": "lrlib.book.scheduler_catalog",
    "scheduler_explorer": "lrlib.book.scheduler_catalog",
    "install_seed_shift": "lrlib.book.robustness",
}

__all__ = [  # literal, so that linters see it; a test checks it matches _EXPORTS
    "CATALOG",
    "ClaimFailed",
    "EXPLORE_STEPS",
    "ExplorerChooser",
    "FigureExplorer",
    "Knob",
    "PHONE_WIDTH",
    "SchedulerEntry",
    "Table",
    "animate_paths",
    "animation_html",
    "check_coverage",
    "claim",
    "discover_schedulers",
    "draw_conv_volumes",
    "find_entry",
    "glue",
    "install_seed_shift",
    "plot_adam_gradients",
    "plot_adam_scaling",
    "plot_channel_histograms",
    "plot_image_grid",
    "plot_lag_weights",
    "plot_loss_curves",
    "plot_loss_surface",
    "plot_moving_averages",
    "plot_update_terms",
    "remember_book_run",
    "responsive",
    "scheduler_explorer",
]


__getattr__, __dir__ = _lazy_exports("lrlib.book", _EXPORTS, globals())


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from lrlib.book.claims import ClaimFailed, claim, remember_book_run
    from lrlib.book.explorer import ExplorerChooser, FigureExplorer
    from lrlib.book.figures_data import (
        draw_conv_volumes,
        plot_channel_histograms,
        plot_image_grid,
    )
    from lrlib.book.figures_optim import (
        animate_paths,
        animation_html,
        plot_adam_gradients,
        plot_adam_scaling,
        plot_lag_weights,
        plot_loss_curves,
        plot_loss_surface,
        plot_moving_averages,
        plot_update_terms,
    )
    from lrlib.book.prose import glue
    from lrlib.book.responsive_figures import PHONE_WIDTH, responsive
    from lrlib.book.robustness import install_seed_shift
    from lrlib.book.scheduler_catalog import (
        CATALOG,
        EXPLORE_STEPS,
        Knob,
        SchedulerEntry,
        check_coverage,
        discover_schedulers,
        find_entry,
        scheduler_explorer,
    )
    from lrlib.book.tables import Table
