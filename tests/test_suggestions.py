"""Tests for lrlib.suggestions:
each rule checked on curves whose answer is known in closed form.
"""

from __future__ import annotations

import dataclasses
import doctest

import numpy as np
import pytest

import lrlib.suggestions as suggestions_module
from lrlib.suggestions import (
    NO_DESCENT_NOTE,
    Suggestion,
    _has_descent,
    _minimum_over_ten,
    _steepest_descent,
    suggest_all,
    valley,
)

# ---------------------------------------------------------------- steepest descent


def test_steepest_descent_finds_the_inflection_of_a_tanh_drop():
    # loss = -tanh(u - u0) over u = log10(lr) falls fastest at u0 (here a grid point).
    u = np.linspace(-6, 0, 61)
    u0 = u[25]
    suggestion = _steepest_descent(10**u, 2 - np.tanh(u - u0))
    assert suggestion == Suggestion("steepest", pytest.approx(10**u0, rel=1e-12), 25)


def test_steepest_descent_differentiates_with_respect_to_log10_lr():
    # Linearly spaced rates, loss = 1 - lr: the slope per unit of lr is the same
    # everywhere, but per decade it is -lr * ln(10), steepest at the largest rate.
    lrs = np.linspace(0.1, 1.0, 10)
    assert _steepest_descent(lrs, 1 - lrs).index == 9


def test_skip_start_drops_points_and_the_index_refers_to_the_full_curve():
    # loss = u**2 on u in [-1, 1]: slope 2u, most negative at the first point.
    u = np.linspace(-1, 1, 21)
    lrs, losses = 10**u, u**2
    assert _steepest_descent(lrs, losses).index == 0
    suggestion = _steepest_descent(lrs, losses, skip_start=3)
    assert suggestion.index == 3
    assert suggestion.lr == lrs[3]


def test_skip_end_drops_the_last_points():
    # loss = -u**2 on u in [0, 1]: slope -2u, most negative at the last point.
    u = np.linspace(0, 1, 11)
    assert _steepest_descent(10**u, -(u**2)).index == 10
    assert _steepest_descent(10**u, -(u**2), skip_end=2).index == 8


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"skip_start": -1}, "skip_start"),
        ({"skip_start": 2, "skip_end": 1}, "at least 3 points after skipping"),
    ],
)
def test_steepest_descent_rejects_bad_skips(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _steepest_descent(
            [1e-3, 1e-2, 1e-1, 1.0, 10.0], [3.0, 2.0, 1.0, 2.0, 3.0], **kwargs
        )


def test_steepest_descent_rejects_a_zero_learning_rate():
    with pytest.raises(ValueError, match="positive learning rates"):
        _steepest_descent([0.0, 0.1, 0.2], [3.0, 2.0, 1.0])


# ---------------------------------------------------------------- minimum / 10


def test_minimum_over_ten_on_a_parabola():
    u = np.linspace(-5, 1, 61)
    u_min = u[40]
    suggestion = _minimum_over_ten(10**u, (u - u_min) ** 2)
    assert suggestion.rule == "minimum/10"
    assert suggestion.index == 40
    assert suggestion.lr == pytest.approx(10**u_min / 10, rel=1e-12)


# ---------------------------------------------------------------- valley


def test_valley_goes_two_thirds_down_the_longest_descent():
    losses = [
        3.0,
        3.1,
        2.9,
        2.8,  # a descent of 2 steps (points 1 to 3)
        3.0,
        2.5,
        2.0,
        1.5,
        1.0,
        0.5,
        0.4,  # a descent of 6 steps (points 4 to 10)
        0.6,
        2.0,
    ]
    lrs = np.logspace(-5, 1, len(losses))
    suggestion = valley(lrs, losses)
    assert suggestion.index == 4 + 4  # two thirds of 6 steps
    assert suggestion.lr == lrs[8]
    assert suggestion.rule == "valley"


def test_valley_on_a_parabola_takes_two_thirds_of_the_way_to_the_minimum():
    u = np.linspace(-5, 1, 61)
    # Strictly descending from point 0 to the minimum at point 45: 45 steps.
    assert valley(10**u, (u - u[45]) ** 2).index == 30


def test_valley_prefers_the_earliest_of_equally_long_descents():
    losses = [5.0, 4.0, 3.0, 6.0, 5.0, 4.0, 7.0]
    assert valley(np.logspace(-3, 3, 7), losses).index == 0 + (2 * 2) // 3


def test_valley_of_a_curve_that_never_descends_is_its_first_point():
    suggestion = valley([0.1, 0.2, 0.3, 0.4], [1.0, 1.0, 2.0, 3.0])
    assert suggestion.index == 0
    assert not suggestion.usable and suggestion.note == NO_DESCENT_NOTE


# ---------------------------------------------------------------- all rules, validation


def test_suggest_all_applies_every_rule_to_the_same_curve():
    u = np.linspace(-4, 0, 41)
    lrs, losses = 10**u, 2 - np.tanh(u + 2) + np.exp(3 * (u + 0.5))
    suggestions = suggest_all(lrs, losses)
    assert suggestions == {
        "steepest": _steepest_descent(lrs, losses),
        "minimum/10": _minimum_over_ten(lrs, losses),
        "valley": valley(lrs, losses),
    }


def test_suggestion_is_frozen():
    suggestion = valley([1.0, 2.0, 3.0], [3.0, 2.0, 1.0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        suggestion.lr = 1.0


@pytest.mark.parametrize(
    "rule", [_steepest_descent, _minimum_over_ten, valley, suggest_all]
)
@pytest.mark.parametrize(
    ("lrs", "losses", "match"),
    [
        ([0.1, 0.2, 0.3], [1.0, 2.0], "same length"),
        ([0.1, 0.2], [1.0, 2.0], "at least 3 points"),
        ([0.1, 0.2, 0.3], [1.0, np.nan, 2.0], "losses must be finite, found nan"),
        ([0.1, 0.2, 0.3], [1.0, np.inf, 2.0], "losses must be finite, found inf"),
        ([0.1, np.inf, 0.3], [1.0, 2.0, 3.0], "lrs must be finite"),
        ([0.1, 0.3, 0.2], [1.0, 2.0, 3.0], "strictly increasing"),
        ([0.1, 0.1, 0.2], [1.0, 2.0, 3.0], "strictly increasing"),
        ([-0.1, 0.1, 0.2], [1.0, 2.0, 3.0], "non-negative"),
        ([[0.1, 0.2, 0.3]], [[1.0, 2.0, 3.0]], "1-D"),
    ],
)
def test_rules_reject_invalid_curves(rule, lrs, losses, match):
    with pytest.raises(ValueError, match=match):
        rule(lrs, losses)


# ------------------------------------------------------------- curves without a descent


RISING = (np.logspace(-3, 1, 9), np.linspace(1.0, 3.0, 9) ** 2)


def test_a_rising_curve_gets_suggestions_that_say_they_are_not_usable():
    lrs, losses = RISING
    suggestions = suggest_all(lrs, losses)
    assert set(suggestions) == {"steepest", "minimum/10", "valley"}
    for suggestion in suggestions.values():
        assert isinstance(suggestion, Suggestion)  # the same type as always
        assert suggestion.usable is False
        assert suggestion.note == NO_DESCENT_NOTE
        assert "never falls below its first value" in suggestion.note
        assert "usable=False" in repr(suggestion)
    assert not _has_descent(losses)


def test_a_curve_that_dips_but_never_below_its_start_has_no_usable_descent():
    lrs = np.logspace(-3, 1, 7)
    losses = [1.0, 1.5, 1.2, 1.1, 2.0, 3.0, 5.0]  # a local descent, all above the start
    assert not _has_descent(losses)
    assert all(not s.usable for s in suggest_all(lrs, losses).values())


def test_a_curve_with_a_descent_gives_usable_suggestions_with_the_usual_repr():
    u = np.linspace(-4, 0, 41)
    lrs, losses = 10**u, 2 - np.tanh(u + 2) + np.exp(3 * (u + 0.5))
    assert _has_descent(losses)
    for suggestion in suggest_all(lrs, losses).values():
        assert suggestion.usable and suggestion.note == ""
        rule, lr, index = suggestion.rule, suggestion.lr, suggestion.index
        assert (
            repr(suggestion) == f"Suggestion(rule={rule!r}, lr={lr!r}, index={index!r})"
        )


def test_steepest_judges_the_part_it_searched():
    lrs = np.logspace(-3, 1, 8)
    losses = [
        3.0,
        2.0,
        1.0,
        1.2,
        1.5,
        2.0,
        3.0,
        4.0,
    ]  # falls only in its first three points
    assert _steepest_descent(lrs, losses).usable
    assert not _steepest_descent(
        lrs, losses, skip_start=2
    ).usable  # from its minimum on: rising


def test_has_descent_is_strict():
    assert _has_descent([2.0, 1.999])
    assert not _has_descent([2.0, 2.0, 2.0])
    assert not _has_descent([2.0])


def test_docstring_examples():
    outcome = doctest.testmod(
        suggestions_module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert outcome.attempted > 0 and outcome.failed == 0
