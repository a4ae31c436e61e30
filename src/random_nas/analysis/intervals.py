"""Intervals and the verdicts that follow them, one rule for every comparison: a difference
whose interval lies above zero is "a gain", below zero "a loss", else "no clear difference"."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

GAIN, LOSS, UNCLEAR = "a gain", "a loss", "no clear difference"


@dataclass(frozen=True)
class Interval:
    """An estimate with its interval (`level`, two-sided) and what it rests on (`n`)."""

    mean: float
    low: float
    high: float
    n: int
    level: float = 0.95

    @property
    def verdict(self) -> str:
        """The verdict of a difference: which side of zero its interval lies on."""
        if self.low > 0:
            return GAIN
        if self.high < 0:
            return LOSS
        return UNCLEAR


def mean_interval(
    values: np.ndarray,
    level: float = 0.95,
    low: float = -np.inf,
    high: float = np.inf,
    shared_variance: float = 0.0,
) -> Interval:
    """The mean of independent values with Student's t interval (nan where n < 2), clipped to
    [low, high], what it bounds (a fraction in [0, 1], a difference of them in [-1, 1]);
    `shared_variance`, the variance of an error every value shares (the test images all were
    scored on), adds to the mean's."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = len(values)
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        return Interval(mean, float("nan"), float("nan"), n, level)
    own = values.var(ddof=1) / n
    # Satterthwaite's degrees of freedom, the shared variance taken as known (it is measured
    # over a thousand images or more): t on n - 1 where it is nothing, normal where it is all.
    freedom = (own + shared_variance) ** 2 / (own**2 / (n - 1)) if own > 0 else np.inf
    half = stats.t.ppf(0.5 + level / 2, freedom) * np.sqrt(own + shared_variance)
    return Interval(mean, max(mean - half, low), min(mean + half, high), n, level)


def percentile_interval(draws: np.ndarray, estimate: float, level: float = 0.95) -> Interval:
    """An estimate with the percentile interval of its resampled values."""
    draws = np.asarray(draws, dtype=float)
    low, high = np.quantile(draws, [0.5 - level / 2, 0.5 + level / 2])
    return Interval(float(estimate), float(low), float(high), len(draws), level)
