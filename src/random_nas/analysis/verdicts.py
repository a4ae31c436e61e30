"""Verdicts that decide: a difference from the baseline, measured over independent paired
repetitions (searches, or replays), ends in one of four outcomes, by one rule.

- `better` / `worse`: the family-level interval (a t interval at 1 - alpha / m, Bonferroni
  over the m comparisons one report states) lies above / below zero;
- `equivalent`: that interval lies inside (-delta, +delta), two one-sided tests at the same
  level, so that "no difference larger than delta" is a finding too;
- `inconclusive`: neither. It says how many repetitions would decide: the smallest n at which
  the test finds a true difference of delta with 80 % probability, with the spread observed.

`power` is that probability at the repetitions the comparison has (a noncentral t, with the
observed standard deviation standing for the true one). Intervals use t quantiles, never the
normal's, and are clipped to what they bound (a difference of fractions lies in [-1, 1]).

`judge` takes the paired differences of independent repetitions (a study's searches);
`judge_resampled` an estimate whose uncertainty comes from resampling independent units (a
replay's architectures), by the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from random_nas.analysis.intervals import Interval, mean_interval

BETTER, WORSE, EQUIVALENT, INCONCLUSIVE = "better", "worse", "equivalent", "inconclusive"
# The power a study is sized for, and the most repetitions `needed` looks at.
TARGET_POWER = 0.8
MOST_REPETITIONS = 10_000


@dataclass(frozen=True)
class Verdict:
    """A comparison judged: its outcome, the family-level interval it follows, the margin,
    its power against that margin, and where inconclusive the repetitions that would decide
    (None where no spread was observed, or more than MOST_REPETITIONS)."""

    outcome: str
    interval: Interval
    delta: float
    power: float
    needed: int | None
    comparisons: int
    # The standard deviation of one repetition's difference (one architecture's, resampled),
    # and the variance of an error all repetitions share (the test images they were scored on).
    spread: float = float("nan")
    shared_variance: float = 0.0

    @property
    def level(self) -> float:
        return self.interval.level


def family_level(comparisons: int, alpha: float = 0.05) -> float:
    """The two-sided level at which each of `comparisons` intervals holds, so that all of
    them hold at once with 1 - alpha (Bonferroni)."""
    return 1 - alpha / max(comparisons, 1)


def _power_curve(
    delta: float, spread: float, ns: np.ndarray, level: float, shared: float = 0.0
) -> np.ndarray:
    """power() at each of `ns` (every one at least 2), in one call of scipy per statistic."""
    freedom = ns - 1
    critical = stats.t.ppf(0.5 + level / 2, freedom)
    shift = delta / np.sqrt(spread**2 / ns + shared)
    found = stats.nct.sf(critical, freedom, shift) + stats.nct.cdf(-critical, freedom, shift)
    # scipy's noncentral t fails far out; the normal's holds there.
    normal = stats.norm.sf(critical - shift) + stats.norm.cdf(-critical - shift)
    return np.minimum(np.where(np.isfinite(found), found, normal), 1.0)


def power(delta: float, spread: float, n: int, level: float, shared: float = 0.0) -> float:
    """The probability that a two-sided t interval at `level` over `n` paired differences of
    standard deviation `spread` excludes zero when the true difference is `delta`; `shared`,
    the variance of an error every difference shares (the test images), does not shrink
    with n."""
    if n < 2 or not np.isfinite(spread) or spread <= 0:
        return float("nan")
    return float(_power_curve(delta, spread, np.array([n]), level, shared)[0])


def needed(
    delta: float, spread: float, level: float, target: float = TARGET_POWER, shared: float = 0.0
) -> int | None:
    """The fewest repetitions whose test finds a true difference of `delta` with probability
    `target` (None where no spread was observed, or more than MOST_REPETITIONS, as where the
    `shared` variance alone keeps the power below the target)."""
    if not np.isfinite(spread) or spread <= 0 or delta <= 0:
        return None
    if _power_curve(delta, spread, np.array([MOST_REPETITIONS]), level, shared)[0] < target:
        return None
    # The normal approximation's n, then the exact power over a window around it, which
    # holds the answer save far from the normal's (then it moves the window).
    z = stats.norm.ppf(0.5 + level / 2) + stats.norm.ppf(target)
    start = max(2, int(np.ceil((z * spread / delta) ** 2)) - 8)
    while start > 2 and _power_curve(delta, spread, np.array([start]), level, shared)[0] >= target:
        start = max(2, start - 24)
    # Power grows with n: the first n of enough power from here is the answer.
    while start <= MOST_REPETITIONS:
        ns = np.arange(start, min(start + 24, MOST_REPETITIONS + 1))
        enough = _power_curve(delta, spread, ns, level, shared) >= target
        if enough.any():
            return int(ns[np.argmax(enough)])
        start = ns[-1] + 1
    return None


def _outcome(interval: Interval, delta: float) -> str:
    if interval.n < 2 or not np.isfinite(interval.low):
        return INCONCLUSIVE
    if interval.low > 0:
        return BETTER
    if interval.high < 0:
        return WORSE
    if -delta < interval.low and interval.high < delta:
        return EQUIVALENT
    return INCONCLUSIVE


def judge(
    differences: np.ndarray,
    delta: float,
    comparisons: int,
    alpha: float = 0.05,
    shared_variance: float = 0.0,
) -> Verdict:
    """The verdict on paired differences from the baseline (one per repetition), one of
    `comparisons` that a report states, at family error rate `alpha`, margin `delta`; with
    `shared_variance`, an error every difference shares (all scored on one set of test
    images), in its interval, power and the repetitions that would decide."""
    values = np.asarray(differences, dtype=float)
    values = values[np.isfinite(values)]
    level = family_level(comparisons, alpha)
    interval = mean_interval(values, level, -1.0, 1.0, shared_variance)
    spread = float(values.std(ddof=1)) if len(values) >= 2 else float("nan")
    outcome = _outcome(interval, delta)
    return Verdict(
        outcome,
        interval,
        delta,
        power(delta, spread, len(values), level, shared_variance),
        needed(delta, spread, level, shared=shared_variance) if outcome == INCONCLUSIVE else None,
        comparisons,
        spread,
        shared_variance,
    )


def judge_resampled(
    estimate: float,
    resampled: np.ndarray,
    units: int,
    delta: float,
    comparisons: int,
    alpha: float = 0.05,
) -> Verdict:
    """The verdict on an estimate whose uncertainty is which `units` independent units were
    drawn (a dense grid's architectures), measured by resampling them with replacement: the
    spread of the `resampled` estimates is its standard error. The interval is a t interval
    on the fewer of units and resamples less one (a spread estimated from few resamples is
    itself uncertain); power and `needed` count units as repetitions, so that `needed` is
    the size of a grid whose replay would decide."""
    values = np.asarray(resampled, dtype=float)
    values = values[np.isfinite(values)]
    level = family_level(comparisons, alpha)
    if len(values) < 2 or units < 2 or not np.isfinite(estimate):
        nowhere = Interval(float(estimate), float("nan"), float("nan"), len(values), level)
        return Verdict(INCONCLUSIVE, nowhere, delta, float("nan"), None, comparisons)
    error = float(values.std(ddof=1))
    half = stats.t.ppf(0.5 + level / 2, min(units, len(values)) - 1) * error
    interval = Interval(
        float(estimate), max(estimate - half, -1.0), min(estimate + half, 1.0), units, level
    )
    spread = error * np.sqrt(units)
    outcome = _outcome(interval, delta)
    return Verdict(
        outcome,
        interval,
        delta,
        power(delta, spread, units, level),
        needed(delta, spread, level) if outcome == INCONCLUSIVE else None,
        comparisons,
        spread,
    )
