"""Checking arguments, with one wording for every module.

lrlib checks its arguments where they come in and says what was expected and
what came: ``steps must be a positive int, got 2.5``. The checks live here so
that the same mistake gets the same message everywhere.

A value of the wrong type raises :class:`ArgumentTypeError`, which is a
``TypeError`` and also a ``ValueError``: some lrlib functions raised
``ValueError`` for a wrong type before the checks were shared, and code that
catches either keeps working. A value of the right type out of range raises
``ValueError``.

``bool`` is refused where an int or a number is expected: ``True`` is an
``int`` to Python, but ``steps=True`` is a mistake, not a one.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

__all__ = ["ArgumentTypeError", "check_int", "check_number", "describe_int_range"]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (a ``TypeError``, and a ``ValueError`` too)."""


def describe_int_range(low: int | None = None, high: int | None = None) -> str:
    """The words for the ints from ``low`` to ``high``
    (both included, ``None``: no bound).

    Example:
        >>> describe_int_range(1), describe_int_range(0), describe_int_range(2, 10)
        ('a positive int', 'a non-negative int', 'an int from 2 to 10')
        >>> describe_int_range(2)
        'an int >= 2'
    """
    if high is None:
        if low == 1:
            return "a positive int"
        if low == 0:
            return "a non-negative int"
        return "an int" if low is None else f"an int >= {low}"
    if low is None:
        return f"an int <= {high}"
    return f"an int from {low} to {high}"


def check_int(
    name: str, value: object, *, low: int | None = None, high: int | None = None
) -> int:
    """Return ``value`` as an ``int`` if it is an integer from ``low`` to ``high``.

    Python and NumPy integers are accepted; ``bool`` and floats (even ``2.0``)
    are not.

    Args:
        name: the argument's name, for the message.
        value: the value given.
        low: the smallest value allowed (included); ``None``: no lower bound.
        high: the largest value allowed (included); ``None``: no upper bound.

    Returns:
        ``int(value)``.

    Raises:
        ArgumentTypeError: ``value`` is not an integer (or is a ``bool``).
        ValueError: ``value`` is out of range.

    Example:
        >>> check_int("steps", 3, low=1)
        3
        >>> check_int("steps", 2.5, low=1)
        Traceback (most recent call last):
        ...
        lrlib._validation.ArgumentTypeError: steps must be a positive int, got 2.5
        >>> check_int("epoch", -1, low=0)
        Traceback (most recent call last):
        ...
        ValueError: epoch must be a non-negative int, got -1
    """
    expected = describe_int_range(low, high)
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ArgumentTypeError(f"{name} must be {expected}, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def check_number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    include_low: bool = True,
    include_high: bool = True,
) -> float:
    """Return ``value`` as a ``float`` if it is a finite real number in the range.

    Args:
        name: the argument's name, for the message.
        value: the value given.
        low: the lower bound; ``None``: none.
        high: the upper bound; ``None``: none.
        include_low: whether ``low`` itself is allowed.
        include_high: whether ``high`` itself is allowed.

    Returns:
        ``float(value)``.

    Raises:
        ArgumentTypeError: ``value`` is not a real number (or is a ``bool``).
        ValueError: ``value`` is NaN, infinite or out of range.

    Example:
        >>> check_number("beta", 0.9, low=0, high=1, include_high=False)
        0.9
        >>> check_number("beta", 1, low=0, high=1, include_high=False)
        Traceback (most recent call last):
        ...
        ValueError: beta must be a finite number in [0, 1), got 1
    """
    expected = "a finite number" + _interval(low, high, include_low, include_high)
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ArgumentTypeError(f"{name} must be {expected}, got {value!r}")
    number = float(value)
    inside = math.isfinite(number)
    if low is not None:
        inside = inside and (number >= low if include_low else number > low)
    if high is not None:
        inside = inside and (number <= high if include_high else number < high)
    if not inside:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return number


def _interval(
    low: float | None, high: float | None, closed_low: bool, closed_high: bool
) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f" {'>=' if closed_low else '>'} {low}"
    if low is None:
        return f" {'<=' if closed_high else '<'} {high}"
    return f" in {'[' if closed_low else '('}{low}, {high}{']' if closed_high else ')'}"
