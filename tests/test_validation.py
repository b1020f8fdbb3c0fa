"""The shared argument checks: one wording,
TypeError for the type, ValueError for the value.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrlib._validation import (
    ArgumentTypeError,
    check_int,
    check_number,
    describe_int_range,
)


def test_an_argument_type_error_is_caught_as_either_kind():
    assert issubclass(ArgumentTypeError, TypeError)
    assert issubclass(ArgumentTypeError, ValueError)


@pytest.mark.parametrize(
    ("low", "high", "words"),
    [
        (None, None, "an int"),
        (1, None, "a positive int"),
        (0, None, "a non-negative int"),
        (2, None, "an int >= 2"),
        (None, 5, "an int <= 5"),
        (20, 300, "an int from 20 to 300"),
    ],
)
def test_int_ranges_are_worded_one_way(low, high, words):
    assert describe_int_range(low, high) == words


def test_check_int_accepts_python_and_numpy_ints():
    assert check_int("n", 3, low=1) == 3
    value = check_int("n", np.int64(7), low=0, high=7)
    assert value == 7 and type(value) is int


@pytest.mark.parametrize("value", [2.0, 2.5, "3", None, True, False])
def test_check_int_refuses_other_types(value):
    with pytest.raises(
        ArgumentTypeError, match=rf"^n must be a positive int, got {value!r}$"
    ):
        check_int("n", value, low=1)


@pytest.mark.parametrize(
    ("value", "low", "high", "message"),
    [
        (0, 1, None, "n must be a positive int, got 0"),
        (-1, 0, None, "n must be a non-negative int, got -1"),
        (301, 20, 300, "n must be an int from 20 to 300, got 301"),
    ],
)
def test_check_int_refuses_values_out_of_range(value, low, high, message):
    with pytest.raises(ValueError, match=f"^{message}$") as caught:
        check_int("n", value, low=low, high=high)
    assert not isinstance(caught.value, TypeError)


def test_check_number():
    assert check_number("x", 1) == 1.0 and type(check_number("x", 1)) is float
    assert check_number("beta", 0.0, low=0, high=1, include_high=False) == 0.0
    with pytest.raises(
        ValueError, match=r"^beta must be a finite number in \[0, 1\), got 1$"
    ):
        check_number("beta", 1, low=0, high=1, include_high=False)
    with pytest.raises(ValueError, match=r"^lr must be a finite number > 0, got 0$"):
        check_number("lr", 0, low=0, include_low=False)
    with pytest.raises(ValueError, match=r"^x must be a finite number <= 2, got 3$"):
        check_number("x", 3, high=2)
    with pytest.raises(ValueError, match="x must be a finite number, got nan"):
        check_number("x", math.nan)
    with pytest.raises(ArgumentTypeError, match="x must be a finite number, got True"):
        check_number("x", True)
    with pytest.raises(ArgumentTypeError, match="x must be a finite number, got '1'"):
        check_number("x", "1")
