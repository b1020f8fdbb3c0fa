"""Publishing numbers from a notebook into the book's prose (``glue``).

The module is called ``prose`` so that ``lrlib.glue`` always means the function.

The book never types a number that a notebook computed: the notebook *glues*
the value under a name (myst-nb's ``glue``) and the Markdown quotes it with
``{glue:text}`name:.3f```. On the website the value is pasted in at build
time. In Colab or a bare Jupyter, where myst-nb may be missing, :func:`glue`
still returns the value, so the same notebook runs everywhere.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def glue(name: str, value: T, *, display: bool = False) -> T:
    """Record ``value`` under ``name`` for the book's prose and return it.

    Args:
        name: the key the Markdown refers to; letters, digits, ``_`` and ``-``.
        value: any displayable object (a number, a string, a figure, a DataFrame).
        display: also show the value in the cell's output.

    Returns:
        ``value`` unchanged, so that ``x = glue("x", compute())`` reads naturally.

    Raises:
        ValueError: ``name`` is empty or has characters MyST cannot reference.

    Example:
        >>> best = glue("best_lr", 3e-4)
        >>> best
        0.0003
    """
    if not name or not all(ch.isalnum() or ch in "_-" for ch in name):
        raise ValueError(f"glue name must be letters, digits, '_' or '-', got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # Colab or plain Jupyter: nothing to paste into
        return value
    myst_glue(name, value, display=display)
    return value
