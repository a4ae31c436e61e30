"""Verdicts decide, at their stated rates: simulated comparisons with a known true difference
end better, equivalent or inconclusive as often as the rule says they should."""

from __future__ import annotations

import numpy as np
import pytest

from random_nas.analysis.verdicts import (
    BETTER,
    EQUIVALENT,
    INCONCLUSIVE,
    WORSE,
    family_level,
    judge,
    judge_resampled,
    needed,
    power,
)

SIMULATIONS = 2000
SPREAD = 0.004  # the paired differences' standard deviation: 0.4 points
DELTA = 0.003
UNIT_SPREAD = 0.012  # a replay's unit, one architecture: at 81 of them, 0.13 points of error


def outcomes(true: float, n: int, comparisons: int = 1, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {}
    for _ in range(SIMULATIONS):
        verdict = judge(rng.normal(true, SPREAD, n), DELTA, comparisons)
        counts[verdict.outcome] = counts.get(verdict.outcome, 0) + 1
    return {outcome: count / SIMULATIONS for outcome, count in counts.items()}


def within(rate: float, expected: float) -> bool:
    """Within four Monte-Carlo standard errors (about one failure in 16,000 runs)."""
    return abs(rate - expected) <= 4 * np.sqrt(expected * (1 - expected) / SIMULATIONS) + 1e-3


def test_no_true_difference_is_called_better_at_most_at_the_family_error_rate():
    for comparisons in (1, 3):
        rates = outcomes(0.0, 8, comparisons, seed=comparisons)
        wrong = rates.get(BETTER, 0) + rates.get(WORSE, 0)
        assert wrong <= 0.05 / comparisons + 4 * np.sqrt(0.05 / comparisons / SIMULATIONS)


@pytest.mark.parametrize("n", [5, 12])
def test_a_true_gain_of_delta_is_found_as_often_as_the_stated_power(n):
    level = family_level(3)
    stated = power(DELTA, SPREAD, n, level)
    rates = outcomes(DELTA, n, comparisons=3, seed=n)
    assert within(rates.get(BETTER, 0), stated), (rates, stated)
    # ... and the repetitions said to decide reach the target power.
    enough = needed(DELTA, SPREAD, level)
    assert power(DELTA, SPREAD, enough, level) >= 0.8 > power(DELTA, SPREAD, enough - 1, level)
    assert within(outcomes(DELTA, enough, comparisons=3, seed=99).get(BETTER, 0), 0.8)


def test_equivalence_is_decided_where_the_interval_lies_inside_the_margin():
    # Many repetitions with no true difference: the interval shrinks inside (-delta, delta),
    # save where it excludes zero by chance (the family error rate).
    rates = outcomes(0.0, 40)
    assert rates.get(EQUIVALENT, 0) > 0.9 and rates.get(INCONCLUSIVE, 0) < 0.01
    assert within(rates.get(BETTER, 0) + rates.get(WORSE, 0), 0.05)
    # Two repetitions cannot decide: inconclusive, with how many would.
    few = judge(np.array([0.001, -0.002]), DELTA, 3)
    assert few.outcome == INCONCLUSIVE and few.needed is not None and few.needed > 2


def test_an_interval_never_leaves_what_it_bounds_and_one_repetition_decides_nothing():
    # Two searches 40 points apart: the t interval with one degree of freedom is clipped.
    verdict = judge(np.array([0.40, -0.41]), DELTA, 1)
    assert verdict.interval.low >= -1 and verdict.interval.high <= 1
    assert verdict.outcome == INCONCLUSIVE
    alone = judge(np.array([0.01]), DELTA, 1)
    assert alone.outcome == INCONCLUSIVE and np.isnan(alone.power) and alone.needed is None


def resampled_outcomes(true: float, units: int, comparisons: int, seed: int) -> tuple:
    """A replay's case: the estimate is a mean over `units` independent units (a grid's
    architectures), its uncertainty measured by resampling them (200 resamples); returns the
    outcomes' rates and the mean stated power."""
    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {}
    stated = []
    for _ in range(SIMULATIONS // 2):
        values = rng.normal(true, UNIT_SPREAD, units)
        resampled = values[rng.integers(units, size=(200, units))].mean(axis=1)
        verdict = judge_resampled(values.mean(), resampled, units, DELTA, comparisons)
        counts[verdict.outcome] = counts.get(verdict.outcome, 0) + 1
        stated.append(verdict.power)
    total = SIMULATIONS // 2
    return {k: v / total for k, v in counts.items()}, float(np.mean(stated))


def test_a_resampled_estimate_is_judged_by_the_same_rule_at_its_stated_rates():
    """No true difference: better or worse at most at the family rate; a true gain of delta
    found about as often as the power it states; the grid said to decide reaches 80 %."""
    rates, _ = resampled_outcomes(0.0, 81, comparisons=3, seed=1)
    wrong = rates.get(BETTER, 0) + rates.get(WORSE, 0)
    assert wrong <= 0.05 / 3 + 4 * np.sqrt(0.05 / 3 / (SIMULATIONS // 2))
    rates, stated = resampled_outcomes(DELTA, 81, comparisons=3, seed=2)
    assert abs(rates.get(BETTER, 0) - stated) <= 0.06, (rates, stated)
    enough = needed(DELTA, UNIT_SPREAD, family_level(3))
    rates, _ = resampled_outcomes(DELTA, enough, comparisons=3, seed=3)
    assert abs(rates.get(BETTER, 0) - 0.8) <= 0.06, (rates, enough)


def test_a_resampled_estimate_that_cannot_move_is_equivalent_and_no_resamples_decide_nothing():
    same = judge_resampled(0.0, np.zeros(50), 27, DELTA, 3)
    assert same.outcome == EQUIVALENT and same.interval.low == same.interval.high == 0.0
    assert judge_resampled(0.01, np.array([0.01]), 27, DELTA, 3).outcome == INCONCLUSIVE
    wide = judge_resampled(0.9, np.array([0.0, 0.9, 1.8]), 27, DELTA, 1)
    assert wide.interval.low >= -1.0 and wide.interval.high <= 1.0


def sequential_error_rate(looks_counted: int, sims: int = 800, seed: int = 5) -> float:
    """Studies of three strategies with no true difference, growing by 5 searches up to 20
    (4 looks) and stopping once every verdict is decided: how often any is called better or
    worse at some look, each judged as one of 3 x `looks_counted` comparisons."""
    rng = np.random.default_rng(seed)
    wrong = 0
    for _ in range(sims):
        differences = rng.normal(0.0, SPREAD, size=(3, 20))
        for n in (5, 10, 15, 20):
            verdicts = [judge(d[:n], DELTA, 3 * looks_counted).outcome for d in differences]
            if BETTER in verdicts or WORSE in verdicts:
                wrong += 1
                break
            if INCONCLUSIVE not in verdicts:
                break
    return wrong / sims


@pytest.mark.slow  # a Monte-Carlo check of the rule: 800 simulated studies, twice
def test_a_study_that_grows_until_it_decides_keeps_its_family_error_rate():
    """Judged at each look as one of comparisons x looks (Bonferroni over both), a growing
    study calls a difference that is not there at most at 5 %; judged at each look as if it
    were the only one, it would call one about three times as often."""
    bound = 4 * np.sqrt(0.05 * 0.95 / 800)
    assert sequential_error_rate(looks_counted=4) <= 0.05 + bound
    assert sequential_error_rate(looks_counted=1) > 0.05 + bound


def test_the_repetitions_said_to_decide_are_the_fewest_of_enough_power_even_with_a_shared_error():
    """needed() is the first n at which power() reaches 80 %, whatever the spread, level and
    shared variance (an error every repetition shares does not shrink with n: beyond some
    size no n decides, and it says so with None)."""
    for spread in (0.0005, 0.001, 0.003, 0.004, 0.01, 0.02):
        for level in (0.95, 0.983, 0.9958):
            for shared in (0.0, 1e-7, 1e-6, 3e-6):
                n = needed(DELTA, spread, level, shared=shared)
                if n is None:
                    assert power(DELTA, spread, 10_000, level, shared) < 0.8
                    continue
                assert power(DELTA, spread, n, level, shared) >= 0.8
                assert n == 2 or power(DELTA, spread, n - 1, level, shared) < 0.8
