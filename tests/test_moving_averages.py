"""Moving averages against brute-force sums and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrlib.moving_averages import (
    LagWeights,
    alpha_from_periods,
    average_age,
    ewma,
    ewma_average_age,
    ewma_beta,
    ewma_bias_corrected,
    ewma_lag_weights,
    periods_from_alpha,
    periods_from_beta,
    sma,
    sma_average_age,
    sma_lag_weights,
)

RNG = np.random.default_rng(1234)
SERIES = RNG.normal(size=40)


def ewma_by_explicit_sum(
    values: np.ndarray, alpha: float, initial: float
) -> np.ndarray:
    """ewma_t = sum_k alpha (1-alpha)^(k-1) x_(t-k+1) + (1-alpha)^t initial,
    term by term.
    """
    out = []
    for t in range(1, len(values) + 1):
        total = (1 - alpha) ** t * initial
        for k in range(1, t + 1):
            total += alpha * (1 - alpha) ** (k - 1) * values[t - k]
        out.append(total)
    return np.array(out)


# ----------------------------------------------------------------------------- SMA


@pytest.mark.parametrize("periods", [1, 2, 5, 40])
def test_sma_full_windows_are_plain_means(periods):
    result = sma(SERIES, periods)
    for t in range(periods - 1, len(SERIES)):
        assert result[t] == pytest.approx(
            np.mean(SERIES[t - periods + 1 : t + 1]), abs=1e-12
        )


def test_sma_first_values_average_what_is_available_or_are_nan():
    partial = sma(SERIES, 5)
    for t in range(4):
        assert partial[t] == pytest.approx(np.mean(SERIES[: t + 1]), abs=1e-12)
    strict = sma(SERIES, 5, partial=False)
    assert np.isnan(strict[:4]).all()
    np.testing.assert_allclose(strict[4:], partial[4:])


def test_sma_of_a_series_shorter_than_the_window():
    np.testing.assert_allclose(sma([2.0, 4.0], 5), [2.0, 3.0])
    assert np.isnan(sma([2.0, 4.0], 5, partial=False)).all()
    assert sma([], 3).shape == (0,)


def test_sma_with_one_period_is_the_series():
    np.testing.assert_allclose(sma(SERIES, 1), SERIES)


# ----------------------------------------------------------------------------- EWMA


@pytest.mark.parametrize("alpha", [0.05, 1 / 3, 0.9, 1.0])
@pytest.mark.parametrize("initial", [0.0, 2.5])
def test_ewma_equals_its_lag_weighted_sum(alpha, initial):
    np.testing.assert_allclose(
        ewma(SERIES, alpha, initial=initial),
        ewma_by_explicit_sum(SERIES, alpha, initial),
        atol=1e-12,
    )


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.999])
def test_beta_form_is_alpha_form_with_beta_equal_one_minus_alpha(beta):
    np.testing.assert_allclose(
        ewma_beta(SERIES, beta), ewma(SERIES, 1 - beta), atol=1e-12
    )
    np.testing.assert_allclose(
        ewma_beta(SERIES, beta), ewma_by_explicit_sum(SERIES, 1 - beta, 0.0), atol=1e-12
    )


def test_ewma_started_at_the_first_value():
    alpha = 0.3
    result = ewma(SERIES, alpha, initial=None)
    # Starting from x_1 is the same as starting from ewma_0 = x_1.
    np.testing.assert_allclose(
        result, ewma_by_explicit_sum(SERIES, alpha, SERIES[0]), atol=1e-12
    )
    np.testing.assert_allclose(
        ewma(np.full(5, 7.0), alpha, initial=None), np.full(5, 7.0)
    )


def test_ewma_started_at_zero_is_biased_towards_zero():
    constant = np.full(10, 3.0)
    raw = ewma_beta(constant, 0.9)
    np.testing.assert_allclose(raw, 3.0 * (1 - 0.9 ** np.arange(1, 11)), atol=1e-12)


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.999])
def test_bias_corrected_ewma_is_a_normalized_weighted_average(beta):
    result = ewma_bias_corrected(SERIES, beta)
    for t in range(1, len(SERIES) + 1):
        weights = beta ** np.arange(t)[::-1]  # weight of x_1 ... x_t
        assert result[t - 1] == pytest.approx(
            np.sum(weights * SERIES[:t]) / np.sum(weights), abs=1e-10
        )
    np.testing.assert_allclose(
        ewma_bias_corrected(np.full(8, -2.0), beta), -2.0, atol=1e-12
    )


# -------------------------------------------------------------------------- lag weights


@pytest.mark.parametrize("alpha", [0.1, 1 / 3, 1.0])
def test_ewma_lag_weights_are_its_response_to_an_impulse(alpha):
    n = 12
    impulse = np.zeros(n)
    impulse[0] = 1.0
    response = ewma(impulse, alpha)  # at time k the impulse has lag k
    lag_weights = ewma_lag_weights(alpha, n)
    np.testing.assert_array_equal(lag_weights.lags, np.arange(1, n + 1))
    np.testing.assert_allclose(lag_weights.weights, response, atol=1e-15)
    # geometric series: the weights of n lags add up to 1 - (1 - alpha)^n
    assert lag_weights.weights.sum() == pytest.approx(1 - (1 - alpha) ** n)


def test_sma_lag_weights_are_its_response_to_an_impulse():
    impulse = np.zeros(9)
    impulse[0] = 1.0
    response = sma(impulse, 5, partial=False)[4:]  # lags 5..9 after the window is full
    lag_weights = sma_lag_weights(5, n_lags=9)
    np.testing.assert_allclose(lag_weights.weights[4:], response)
    np.testing.assert_allclose(lag_weights.weights, [0.2] * 5 + [0.0] * 4)
    assert len(sma_lag_weights(5).weights) == 5


# -------------------------------------------------------------------------- average age


@pytest.mark.parametrize("periods", range(1, 12))
def test_sma_average_age_is_periods_plus_one_over_two(periods):
    assert sma_average_age(periods) == pytest.approx((periods + 1) / 2)


def truncated_geometric_sums(r: float, n: int) -> tuple[float, float]:
    """Closed forms of sum_{j=1..n} r^(j-1) and sum_{j=1..n} j r^(j-1)."""
    s0 = (1 - r**n) / (1 - r)
    s1 = (1 - (n + 1) * r**n + n * r ** (n + 1)) / (1 - r) ** 2
    return s0, s1


@pytest.mark.parametrize("alpha", [0.05, 1 / 3, 0.5, 0.9])
@pytest.mark.parametrize("n", [1, 5, 20, 200])
def test_ewma_average_age_matches_the_geometric_series_closed_form(alpha, n):
    s0, s1 = truncated_geometric_sums(1 - alpha, n)
    assert ewma_average_age(alpha, n) == pytest.approx(s1 / s0, rel=1e-12)
    assert ewma_average_age(alpha, n, normalize=False) == pytest.approx(
        alpha * s1, rel=1e-12
    )


def test_the_quoted_numbers_for_alpha_one_third_and_twenty_values():
    s0, s1 = truncated_geometric_sums(2 / 3, 20)
    assert round((1 / 3) * s1, 3) == 2.993  # the classic un-normalized partial sum
    assert round(ewma_average_age(1 / 3, 20, normalize=False), 3) == 2.993
    assert round(s1 / s0, 3) == 2.994  # normalized by the sum of the truncated weights
    assert round(ewma_average_age(1 / 3, 20), 3) == 2.994


@pytest.mark.parametrize("alpha", [0.01, 0.1, 1 / 3])
def test_ewma_average_age_tends_to_one_over_alpha(alpha):
    assert ewma_average_age(alpha, 5000) == pytest.approx(1 / alpha, rel=1e-9)
    assert ewma_average_age(alpha, 10) < 1 / alpha


def test_average_age_rejects_bad_weights():
    with pytest.raises(ValueError, match="non-negative"):
        average_age(LagWeights(lags=np.array([1, 2]), weights=np.array([0.0, 0.0])))
    with pytest.raises(ValueError, match="non-negative"):
        average_age(LagWeights(lags=np.array([1, 2]), weights=np.array([1.0, -0.5])))


# -------------------------------------------------------------------- alpha <-> periods


def test_alpha_and_periods_give_equal_average_ages():
    for periods in [1, 3, 5, 19, 100]:
        alpha = alpha_from_periods(periods)
        assert 1 / alpha == pytest.approx(sma_average_age(periods))
        assert periods_from_alpha(alpha) == pytest.approx(periods)


def test_adam_betas_in_periods():
    assert periods_from_beta(0.9) == pytest.approx(19)
    assert periods_from_beta(0.999) == pytest.approx(1999)
    assert alpha_from_periods(19) == pytest.approx(0.1)
    assert periods_from_alpha(1.0) == 1.0


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("alpha", [0.0, -0.1, 1.5, math.nan])
def test_alpha_out_of_range(alpha):
    with pytest.raises(
        ValueError, match=r"^alpha must be a finite number in \(0, 1\], got "
    ):
        ewma(SERIES, alpha)
    with pytest.raises(
        ValueError, match=r"^alpha must be a finite number in \(0, 1\], got "
    ):
        periods_from_alpha(alpha)


@pytest.mark.parametrize("beta", [1.0, -0.1, math.nan])
def test_beta_out_of_range(beta):
    with pytest.raises(
        ValueError, match=r"^beta must be a finite number in \[0, 1\), got "
    ):
        ewma_beta(SERIES, beta)
    with pytest.raises(
        ValueError, match=r"^beta must be a finite number in \[0, 1\), got "
    ):
        ewma_bias_corrected(SERIES, beta)


def test_wrong_types():
    with pytest.raises(
        TypeError, match=r"^alpha must be a finite number in \(0, 1\], got "
    ):
        ewma(SERIES, True)
    with pytest.raises(
        TypeError, match=r"^alpha must be a finite number in \(0, 1\], got "
    ):
        ewma(SERIES, "0.5")
    with pytest.raises(TypeError, match="^periods must be a positive int, got 2.5$"):
        sma(SERIES, 2.5)
    with pytest.raises(
        TypeError, match="^initial must be a finite number, got 'zero'$"
    ):
        ewma(SERIES, 0.5, initial="zero")


def test_bad_periods_and_series():
    with pytest.raises(ValueError, match="^periods must be a positive int, got 0$"):
        sma(SERIES, 0)
    with pytest.raises(
        ValueError, match="^periods must be a finite number >= 1, got 0.5$"
    ):
        alpha_from_periods(0.5)
    with pytest.raises(ValueError, match="1-D series"):
        sma(np.ones((3, 2)), 2)
    with pytest.raises(ValueError, match="finite"):
        ewma([1.0, np.nan], 0.5)
    with pytest.raises(ValueError, match="^n_lags must be a positive int, got 0$"):
        ewma_lag_weights(0.5, 0)
