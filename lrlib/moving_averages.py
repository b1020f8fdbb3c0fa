"""Moving averages: the simple one, the exponentially weighted one, and their ages.

Adam keeps running averages of gradients (SGD with momentum a close relative,
a discounted running sum), so the book first studies moving averages on plain
series of numbers. Everything here is a pure NumPy function: a 1-D series
goes in, an array (or a number) comes out.

Two ways of writing the same exponentially weighted moving average (EWMA):

* alpha form: ``ewma_t = alpha * x_t + (1 - alpha) * ewma_{t-1}``
  (``alpha`` is the weight of the newest value);
* beta form:  ``ewma_t = beta * ewma_{t-1} + (1 - beta) * x_t``
  (``beta = 1 - alpha`` is the weight of the past; Adam's ``betas`` use it).

Unrolling the recursion shows that the value with lag ``k`` (lag 1 is the
newest value) gets weight ``alpha * (1 - alpha) ** (k - 1)``: the weights decay
geometrically with the lag, whereas a simple moving average over ``periods``
values gives each of them the same weight ``1 / periods``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from lrlib._validation import check_int, check_number

__all__ = [
    "alpha_from_periods",
    "average_age",
    "ewma",
    "ewma_average_age",
    "ewma_beta",
    "ewma_bias_corrected",
    "ewma_lag_weights",
    "periods_from_alpha",
    "periods_from_beta",
    "sma",
    "sma_average_age",
    "sma_lag_weights",
]


@dataclass(frozen=True)
class LagWeights:
    """The weight a moving average gives to each past value.

    Attributes:
        lags: ``1, 2, ..., n``; lag 1 is the newest value.
        weights: the weight of the value with each lag.
    """

    lags: np.ndarray
    weights: np.ndarray


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _check_series(values: ArrayLike) -> np.ndarray:
    series = np.asarray(values, dtype=float)
    if series.ndim != 1:
        raise ValueError(
            f"values must be a 1-D series, got an array of shape {series.shape}"
        )
    if not np.all(np.isfinite(series)):
        raise ValueError("values must be finite, got NaN or infinity")
    return series


def _check_alpha(alpha: float) -> float:
    return check_number("alpha", alpha, low=0, high=1, include_low=False)


def _check_beta(beta: float) -> float:
    return check_number("beta", beta, low=0, high=1, include_high=False)


# --------------------------------------------------------------------------- #
# Simple moving average
# --------------------------------------------------------------------------- #


def sma(values: ArrayLike, periods: int, *, partial: bool = True) -> np.ndarray:
    """Simple moving average: the mean of the last ``periods`` values.

    Shown in chapter 4.

    The first ``periods - 1`` positions do not have ``periods`` values behind
    them yet. With ``partial=True`` (the default) they hold the mean of all the
    values seen so far, a window that grows until it is full; with
    ``partial=False`` they hold NaN, so plots show no line there.

    Args:
        values: a 1-D series of finite numbers.
        periods: the window length, an int >= 1.
        partial: how to fill the first ``periods - 1`` positions (see above).

    Returns:
        An array of floats as long as ``values``.

    Raises:
        TypeError: ``periods`` is not an int.
        ValueError: ``values`` is not 1-D or not finite, or ``periods < 1``.

    Example:
        >>> sma([1.0, 2.0, 3.0, 4.0], periods=2)
        array([1. , 1.5, 2.5, 3.5])
        >>> sma([1.0, 2.0, 3.0, 4.0], periods=2, partial=False)
        array([nan, 1.5, 2.5, 3.5])
    """
    series = _check_series(values)
    periods = check_int("periods", periods, low=1)
    result = np.full(series.shape, np.nan)

    n_full = len(series) - periods + 1  # positions with a full window behind them
    if n_full > 0:
        windows = sliding_window_view(series, periods)  # one row per full window
        result[periods - 1 :] = windows.mean(axis=1)

    if partial:
        n_short = min(periods - 1, len(series))
        seen = np.arange(1, n_short + 1)
        result[:n_short] = np.cumsum(series[:n_short]) / seen
    return result


# --------------------------------------------------------------------------- #
# Exponentially weighted moving average
# --------------------------------------------------------------------------- #


def ewma_beta(
    values: ArrayLike, beta: float, *, initial: float | None = 0.0
) -> np.ndarray:
    """EWMA in its beta form: ``ewma_t = beta * ewma_{t-1} + (1 - beta) * x_t``.

    Shown in chapters 3, 4 and 5.

    This is how Adam writes its moments (``beta`` is one of its ``betas``).

    Args:
        values: a 1-D series of finite numbers ``x_1, ..., x_T``.
        beta: the weight of the past, in [0, 1). ``beta = 1 - alpha``.
        initial: ``ewma_0``, the value before the first observation. Adam
            starts at 0 (the default), which biases the first averages towards
            zero; see :func:`ewma_bias_corrected`. ``None`` starts from the
            first observation instead (``ewma_1 = x_1``), as pandas does with
            ``adjust=False``, and as SGD's momentum buffer does when its
            ``dampening`` equals its ``momentum`` (with PyTorch's default
            ``dampening=0`` the buffer is a discounted sum, not an average).

    Returns:
        An array of floats as long as ``values``: ``ewma_1, ..., ewma_T``.

    Raises:
        TypeError: ``beta`` or ``initial`` is not a real number.
        ValueError: ``values`` is not 1-D or not finite, or ``beta`` is out of range.

    Example:
        >>> ewma_beta([1.0, 1.0, 1.0], beta=0.5)
        array([0.5  , 0.75 , 0.875])
        >>> ewma_beta([1.0, 1.0, 1.0], beta=0.5, initial=None)
        array([1., 1., 1.])
    """
    series = _check_series(values)
    beta = _check_beta(beta)
    result = np.empty_like(series)
    if len(series) == 0:
        return result

    if initial is None:
        average, first = series[0], 1
        result[0] = average
    else:
        average, first = check_number("initial", initial), 0
    for t in range(first, len(series)):
        average = beta * average + (1.0 - beta) * series[t]
        result[t] = average
    return result


def ewma(values: ArrayLike, alpha: float, *, initial: float | None = 0.0) -> np.ndarray:
    """EWMA in its alpha form: ``ewma_t = alpha * x_t + (1 - alpha) * ewma_{t-1}``.

    Shown in chapter 4.

    The same average as :func:`ewma_beta` with ``beta = 1 - alpha``.

    Args:
        values: a 1-D series of finite numbers.
        alpha: the weight of the newest value, in (0, 1]. ``alpha = 1`` just
            copies the series.
        initial: ``ewma_0``; ``None`` starts from the first observation (see
            :func:`ewma_beta`).

    Returns:
        An array of floats as long as ``values``.

    Raises:
        TypeError: ``alpha`` or ``initial`` is not a real number.
        ValueError: ``values`` is not 1-D or not finite, or ``alpha`` is out of range.

    Example:
        >>> ewma([3.0, 3.0], alpha=0.5)
        array([1.5 , 2.25])
    """
    alpha = _check_alpha(alpha)
    return ewma_beta(values, 1.0 - alpha, initial=initial)


def ewma_bias_corrected(values: ArrayLike, beta: float) -> np.ndarray:
    """EWMA started at zero, divided by ``1 - beta**t`` to remove the bias.

    Shown in chapters 3 and 4.

    Starting at zero makes ``ewma_t`` a weighted sum whose weights add up to
    ``1 - beta**t`` instead of 1, so the early averages are too small. Dividing
    by that sum turns it into a proper weighted average: Adam's ``m_hat`` and
    ``v_hat``. For large ``t`` the correction tends to 1 and fades away.

    Args:
        values: a 1-D series of finite numbers.
        beta: the weight of the past, in [0, 1).

    Returns:
        An array of floats as long as ``values``.

    Raises:
        ValueError: ``values`` is not 1-D or not finite, or ``beta`` is out of range.

    Example:
        >>> ewma_bias_corrected([5.0, 5.0, 5.0], beta=0.9)
        array([5., 5., 5.])
    """
    raw = ewma_beta(values, beta, initial=0.0)
    t = np.arange(1, len(raw) + 1)
    return raw / (1.0 - beta**t)


# --------------------------------------------------------------------------- #
# Weights per lag and average age
# --------------------------------------------------------------------------- #


def ewma_lag_weights(alpha: float, n_lags: int) -> LagWeights:
    """The weights an EWMA gives to its last ``n_lags`` values.

    Shown in chapter 4.

    The value with lag ``k`` (lag 1 is the newest) gets
    ``alpha * (1 - alpha) ** (k - 1)``.

    Args:
        alpha: the weight of the newest value, in (0, 1].
        n_lags: how many lags to list, an int >= 1.

    Returns:
        :class:`LagWeights` for lags ``1..n_lags``.

    Raises:
        TypeError: wrong argument types.
        ValueError: ``alpha`` out of range or ``n_lags < 1``.

    Example:
        >>> ewma_lag_weights(0.5, 3).weights
        array([0.5  , 0.25 , 0.125])
    """
    alpha = _check_alpha(alpha)
    n_lags = check_int("n_lags", n_lags, low=1)
    lags = np.arange(1, n_lags + 1)
    return LagWeights(lags=lags, weights=alpha * (1.0 - alpha) ** (lags - 1))


def sma_lag_weights(periods: int, n_lags: int | None = None) -> LagWeights:
    """The weights a simple moving average gives to its last ``n_lags`` values.

    Shown in chapter 4.

    Each of the last ``periods`` values gets ``1 / periods``; older values get 0.

    Args:
        periods: the window length, an int >= 1.
        n_lags: how many lags to list (default: ``periods``). Listing more than
            ``periods`` lags shows the zeros, handy next to an EWMA's weights.

    Returns:
        :class:`LagWeights` for lags ``1..n_lags``.

    Raises:
        TypeError: wrong argument types.
        ValueError: ``periods < 1`` or ``n_lags < 1``.

    Example:
        >>> sma_lag_weights(2, n_lags=3).weights
        array([0.5, 0.5, 0. ])
    """
    periods = check_int("periods", periods, low=1)
    n_lags = periods if n_lags is None else check_int("n_lags", n_lags, low=1)
    lags = np.arange(1, n_lags + 1)
    return LagWeights(lags=lags, weights=np.where(lags <= periods, 1.0 / periods, 0.0))


def average_age(lag_weights: LagWeights, *, normalize: bool = True) -> float:
    """Average age of the values in a moving average: ``sum(lag * w) / sum(w)``.

    Lags start at 1 (the newest value is one period old).

    With ``normalize=True`` (the default) the weights are divided by their sum
    first. That is the true average age when the weights do not add up to 1,
    e.g. for an EWMA that has seen only a few values (its bias-corrected
    version, Adam's ``m_hat``, uses exactly these normalized weights).

    With ``normalize=False`` the result is ``sum(lag * w)`` as it stands. For
    an EWMA truncated at ``T`` values this is the partial sum, over the first
    ``T`` lags, of the infinite series whose total is ``1 / alpha``; it is the
    number quoted in the classic presentations (2.993 for ``alpha = 1/3``,
    ``T = 20``, where the normalized age is 2.994).

    Args:
        lag_weights: the weights per lag, e.g. from :func:`ewma_lag_weights`.
        normalize: divide by the sum of the weights (see above).

    Returns:
        The average age, a float.

    Raises:
        ValueError: the weights are negative or all zero.

    Example:
        >>> average_age(sma_lag_weights(5))
        3.0
    """
    weights = np.asarray(lag_weights.weights, dtype=float)
    lags = np.asarray(lag_weights.lags, dtype=float)
    if np.any(weights < 0) or not np.any(weights > 0):
        raise ValueError("lag weights must be non-negative and not all zero")
    total = np.sum(lags * weights)
    if normalize:
        total /= np.sum(weights)
    return float(total)


def sma_average_age(periods: int) -> float:
    """Average age of a simple moving average's values: ``(periods + 1) / 2``.

    Shown in chapter 4.

    Computed from the definition (:func:`average_age` of the lag weights).

    Example:
        >>> sma_average_age(5)
        3.0
    """
    return average_age(sma_lag_weights(periods))


def ewma_average_age(alpha: float, n_values: int, *, normalize: bool = True) -> float:
    """Average age of an EWMA's values when only ``n_values`` values exist.

    Shown in chapter 4.

    Computed from the definition (:func:`average_age` of the first ``n_values``
    lag weights). As ``n_values`` grows it tends to ``1 / alpha``, with or
    without normalization.

    Args:
        alpha: the weight of the newest value, in (0, 1].
        n_values: how many values the average has seen, an int >= 1.
        normalize: divide by the sum of the truncated weights (see
            :func:`average_age`).

    Returns:
        The average age, a float between 1 and ``1 / alpha``.

    Example:
        >>> round(ewma_average_age(1 / 3, 20), 4)
        2.994
        >>> round(ewma_average_age(1 / 3, 20, normalize=False), 4)
        2.9931
    """
    return average_age(ewma_lag_weights(alpha, n_values), normalize=normalize)


# --------------------------------------------------------------------------- #
# alpha <-> periods
# --------------------------------------------------------------------------- #


def alpha_from_periods(periods: float) -> float:
    """The EWMA ``alpha`` whose values are as old, on average, as an SMA's.

    Shown in chapter 4.

    An SMA over ``periods`` values has average age ``(periods + 1) / 2`` and an
    EWMA has ``1 / alpha``; equating them gives ``alpha = 2 / (periods + 1)``.

    Args:
        periods: the SMA window length, a real number >= 1.

    Returns:
        ``alpha`` in (0, 1].

    Raises:
        TypeError: ``periods`` is not a real number.
        ValueError: ``periods < 1``.

    Example:
        >>> alpha_from_periods(19)
        0.1
    """
    periods = check_number("periods", periods, low=1)
    return 2.0 / (periods + 1.0)


def periods_from_alpha(alpha: float) -> float:
    """The SMA window length matching an EWMA's ``alpha``: ``2 / alpha - 1``.

    Example:
        >>> periods_from_alpha(0.5)
        3.0
    """
    alpha = _check_alpha(alpha)
    return 2.0 / alpha - 1.0


def periods_from_beta(beta: float) -> float:
    """The SMA window length matching an EWMA's ``beta``: ``2 / (1 - beta) - 1``.

    Shown in chapter 4.

    Adam's default ``betas=(0.9, 0.999)`` average roughly the last 19 and
    1,999 gradients.

    Example:
        >>> round(periods_from_beta(0.9), 6), round(periods_from_beta(0.999), 6)
        (19.0, 1999.0)
    """
    beta = _check_beta(beta)
    return 2.0 / (1.0 - beta) - 1.0
