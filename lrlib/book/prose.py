"""Publishing numbers from a notebook into the book's prose (``glue``).

The module is called ``prose`` so that ``lrlib.book.glue`` always means the function.

The book never types a number that a notebook computed: the notebook *glues*
the value under a name (myst-nb's ``glue``) and the Markdown quotes it with
``{glue:text}`name:.3f```. On the website the value is pasted in at build
time. In Colab or a bare Jupyter, where myst-nb may be missing, :func:`glue`
still returns the value, so the same notebook runs everywhere.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = [
    "glue",
]

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
    myst_glue(name, _for_prose(value), display=display)
    return value


class _Verbatim:
    """Text that myst-nb pastes as it is (its ``repr`` is the text, without quotes)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _for_prose(value: Any) -> Any:
    """What myst-nb should record for ``value`` so that the prose reads naturally.

    A string would be recorded by its ``repr``, quotes included; NumPy scalars
    and 0-d tensors as ``np.float64(0.5)`` or ``tensor(0.5)``, which a format
    spec such as ``:.2f`` cannot format. Both become plain values; anything
    else passes through.
    """
    if isinstance(value, str):
        return _Verbatim(value)
    kind = type(value).__module__.split(".")[0]
    if (
        kind in ("numpy", "torch")
        and getattr(value, "ndim", None) == 0
        and hasattr(value, "item")
    ):
        return value.item()
    return value
