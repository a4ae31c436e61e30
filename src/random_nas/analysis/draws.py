"""Statistics over a run's draws: how each draw counts, rankings and Pareto fronts, the expected
best of n, EDFs, rank correlations, and how two samples of draws differ."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

# Normal quantile of a two-sided 95 % interval.
Z95 = 1.96


COSTS = {
    "params": "parameters",
    "flops": "forward FLOPs per image",
    "train_seconds": "training seconds",
    "peak_memory_bytes": "peak training memory",
}


def ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """The `ok` candidates, best validation accuracy first (ties: fewer FLOPs, then arch_id)."""
    ok = frame[frame["status"] == "ok"]
    order = ok.sort_values(
        ["val_accuracy", "flops", "arch_id"], ascending=[False, True, True], kind="stable"
    )
    return order.assign(rank=np.arange(1, len(order) + 1)).reset_index(drop=True)


def pareto_front(frame: pd.DataFrame, cost: str, score: str = "val_accuracy") -> pd.DataFrame:
    """Rows not dominated on (higher `score`, lower `cost`), cheapest first."""
    rows = frame.dropna(subset=[cost, score]).sort_values(
        [cost, score, "arch_id"], ascending=[True, False, True], kind="stable"
    )
    best_so_far = rows[score].cummax().shift(fill_value=-np.inf)
    return rows[rows[score] > best_so_far]


def counted(frame: pd.DataFrame, classes: int) -> pd.DataFrame:
    """The one counting rule of every statistic over trainings: the trainings that measured
    something, each with the validation and test accuracy it counts for. An `ok` training
    counts for its own; a `diverged` one for a chance-level classifier's (1 / classes), its
    recorded numbers being those of a broken model; a `failed` one measured nothing (its own
    computation raised) and is left out. Dropping diverged trainings would flatter what they
    were drawn from; keeping a failed one would count an error as a measurement."""
    measured = frame[frame["status"].isin(["ok", "diverged"])]
    ok = measured["status"] == "ok"
    chance = 1 / classes
    return measured.assign(
        **{
            column: measured[column].where(ok, chance).astype(float)
            for column in ("val_accuracy", "test_accuracy")
            if column in measured
        }
    )


def scored_draws(frame: pd.DataFrame, num_classes: int) -> pd.DataFrame:
    """Every measured draw, counted by the one rule (`counted`), with the validation accuracy
    it counts for as `score`."""
    measured = counted(frame, num_classes)
    return measured.assign(score=measured["val_accuracy"])


def _log_binomial(n: np.ndarray, k: np.ndarray, log_factorial: np.ndarray) -> np.ndarray:
    return log_factorial[n] - log_factorial[k] - log_factorial[n - k]


def pick_probabilities(count: int, n: int) -> np.ndarray:
    """For `count` draws in order of preference (least preferred first), the probability that
    the i-th is the one preferred among n drawn without replacement: C(i-1, n-1) / C(count, n)."""
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, count + 1)))])
    positions = np.arange(1, count + 1)
    eligible = positions >= n
    probability = np.zeros(count)
    probability[eligible] = np.exp(
        _log_binomial(positions[eligible] - 1, np.full(eligible.sum(), n - 1), log_factorial)
        - _log_binomial(np.array([count]), np.array([n]), log_factorial)
    )
    return probability


def expected_best(values: np.ndarray, band: tuple[float, float] = (0.05, 0.95)) -> pd.DataFrame:
    """The best of n architectures drawn without replacement from the N measured ones, for
    n = 1..N: its expectation, unbiased (Tang et al., "Showing Your Work Doesn't Always Work",
    2020): with sorted values v(1) <= ... <= v(N), P(best = v(i)) = C(i-1, n-1) / C(N, n),
    so E = sum_i v(i) C(i-1, n-1) / C(N, n); the `band` quantiles of that distribution, which
    never pass the best value observed; and Dodge et al.'s with-replacement expectation
    (P(best <= v(i)) = (i/N)^n), for comparison with the literature, where it is biased low."""
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    count = len(ordered)
    columns = ["n", "expected_best", "band_low", "band_high", "with_replacement"]
    if count == 0:
        return pd.DataFrame({name: [] for name in columns})
    fraction = np.arange(1, count + 1) / count
    rows = []
    for n in range(1, count + 1):
        probability = pick_probabilities(count, n)
        cumulative = np.cumsum(probability)
        low, high = (ordered[min(np.searchsorted(cumulative, q - 1e-12), count - 1)] for q in band)
        with_replacement = (fraction**n - (fraction - 1 / count) ** n) @ ordered
        rows.append((n, float(probability @ ordered), low, high, float(with_replacement)))
    return pd.DataFrame(rows, columns=columns)


def expected_pick_score(trainings: pd.DataFrame, column: str, n: int) -> float:
    """What random search's pick of n draws (without replacement) from `trainings` scores in
    expectation on `column`, evidence that did not choose it (test accuracy): the pick is the
    draw `ranked` puts first among the n (validation accuracy, then fewer FLOPs, then
    arch_id); unbiased, as expected_best, with the draws ordered by that preference.
    `trainings` are counted (a diverged one, least preferred, scores as chance)."""
    order = trainings.sort_values(
        ["val_accuracy", "flops", "arch_id"], ascending=[True, False, False], kind="stable"
    )
    return float(pick_probabilities(len(order), n) @ order[column].to_numpy(dtype=np.float64))


def empirical_distribution(values: np.ndarray) -> pd.DataFrame:
    """The EDF F(e) = fraction of values <= e, one point per distinct value."""
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    distinct, counts = np.unique(ordered, return_counts=True)
    return pd.DataFrame({"value": distinct, "fraction": np.cumsum(counts) / len(ordered)})


def architecture_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-candidate summaries of the per-layer choices, for "what matters in the space"."""
    layers = sorted({int(name[6:8]) for name in frame.columns if name.startswith("layer_")})

    def columns(kind: str) -> pd.DataFrame:
        return frame[[f"layer_{number:02d}_{kind}" for number in layers]]

    strides = columns("stride")
    return pd.DataFrame(
        {
            "stride-2 layers": (strides == 2).sum(axis=1),
            "mean kernel size": columns("kernel_size").mean(axis=1),
            "total filters": columns("filters").sum(axis=1),
            "first-layer filters": columns("filters").iloc[:, 0],
        },
        index=frame.index,
    )


def rank_correlation(first: pd.Series, second: pd.Series) -> float:
    """Spearman's rank correlation (scipy.stats.spearmanr) over the pairs where both are
    known; NaN where it is undefined (fewer than two pairs, or one side takes one value)."""
    paired = pd.concat([first, second], axis=1).dropna().to_numpy(dtype=np.float64)
    return _spearman(paired[:, 0], paired[:, 1])


def _spearman(first: np.ndarray, second: np.ndarray) -> float:
    if len(first) < 2 or np.ptp(first) == 0 or np.ptp(second) == 0:
        return float("nan")
    return float(stats.spearmanr(first, second).statistic)


# Fewer candidates than this say nothing about a rank order; no correlation is reported.
MIN_RANKED = 5


def rank_correlation_interval(
    first: pd.Series, second: pd.Series, draws: int = 2000, seed: int = 0
) -> tuple[float, float, float] | None:
    """Spearman's correlation of two aligned series and its 95 % percentile bootstrap interval
    over the candidates (resampled in pairs with replacement, seeded); None under MIN_RANKED
    pairs. The resampling is written here, not left to scipy.stats.bootstrap: a resample
    whose candidates all tie on one side has no ρ, and scipy would then give no interval at
    all, where this one is taken over the resamples that rank."""
    paired = pd.concat([first, second], axis=1).dropna().to_numpy(dtype=np.float64)
    if len(paired) < MIN_RANKED:
        return None
    rho = _spearman(paired[:, 0], paired[:, 1])
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(draws):
        sample = paired[rng.integers(0, len(paired), len(paired))]
        value = _spearman(sample[:, 0], sample[:, 1])
        if np.isfinite(value):
            samples.append(value)
    low, high = np.quantile(samples, [0.025, 0.975]) if samples else (np.nan, np.nan)
    return rho, float(low), float(high)


def mcnemar_exact(first_correct: np.ndarray, second_correct: np.ndarray) -> tuple[int, int, float]:
    """The exact McNemar test of two models scored on the same images: the images only the
    first gets right (b), only the second (c), and the two-sided p-value of b against
    Binomial(b + c, 1/2) (scipy.stats.binomtest)."""
    b = int(np.sum(first_correct & ~second_correct))
    c = int(np.sum(~first_correct & second_correct))
    if b + c == 0:
        return b, c, 1.0
    return b, c, float(stats.binomtest(b, b + c, 0.5).pvalue)


def binomial_difference_se(first: float, second: float, images: int) -> float:
    """Standard error of the difference of two accuracies, each measured on `images`
    independent images (two binomial proportions)."""
    return float(np.sqrt((first * (1 - first) + second * (1 - second)) / images))


def edf_band(
    values: np.ndarray, points: np.ndarray, resamples: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """The EDF of `values` at `points` with its pointwise 90 % percentile bootstrap band
    (scipy.stats.bootstrap: the draws resampled with replacement, seeded)."""
    values = np.asarray(values, dtype=np.float64)
    points = np.asarray(points, dtype=np.float64)

    def edf(sample: np.ndarray, axis: int = -1) -> np.ndarray:
        # One value per point, the resamples (along `axis`, the last) last, as scipy asks.
        at_points = points.reshape(-1, *[1] * sample.ndim)
        return (np.expand_dims(sample, 0) <= at_points).mean(axis=axis)

    band = stats.bootstrap(
        (values,),
        edf,
        vectorized=True,
        n_resamples=resamples,
        confidence_level=0.90,
        method="percentile",
        rng=np.random.default_rng(seed),
    ).confidence_interval
    fraction = edf(values)
    return pd.DataFrame({"value": points, "fraction": fraction, "low": band.low, "high": band.high})


def compare_distributions(
    first: np.ndarray,
    second: np.ndarray,
    resamples: int = 10000,
    seed: int = 0,
    delta: float = 0.003,
    comparisons: int = 1,
) -> dict[str, Any]:
    """How the draws of `second` differ from those of `first`, two independent samples: the
    difference of their means and of their medians with 95 % percentile bootstrap intervals
    (scipy.stats.bootstrap, each run's draws resampled on their own), the verdict on the
    means' difference (analysis.verdicts.judge_resampled on the same resamples, one of
    `comparisons` at margin `delta`, the draws per run as its units), and the two-sample
    Kolmogorov–Smirnov statistic (scipy.stats.ks_2samp) with its permutation p-value
    (scipy.stats.permutation_test: labels shuffled `resamples` times, seeded; p = (1 + at
    least as large) / (1 + resamples), which allows for the ties of accuracies measured on a
    finite validation set, as ks_2samp's own p-value does not)."""
    from random_nas.analysis.verdicts import judge_resampled

    first, second = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    rng = np.random.default_rng(seed)

    def bootstrap(statistic: Callable[..., np.ndarray]) -> Any:
        return stats.bootstrap(
            (first, second),
            statistic,
            vectorized=True,
            n_resamples=resamples,
            method="percentile",
            rng=rng,
        )

    means = bootstrap(lambda a, b, axis: b.mean(axis=axis) - a.mean(axis=axis))
    medians = bootstrap(lambda a, b, axis: np.median(b, axis=axis) - np.median(a, axis=axis))
    ks = stats.permutation_test(
        (first, second),
        lambda a, b, axis: stats.ks_2samp(a, b, axis=axis).statistic,
        vectorized=True,
        n_resamples=resamples,
        alternative="greater",
        rng=rng,
    )
    difference = float(second.mean() - first.mean())
    verdict = judge_resampled(
        difference,
        means.bootstrap_distribution,
        min(len(first), len(second)),
        delta,
        comparisons,
    )
    return {
        "mean_difference": difference,
        "mean_low": float(means.confidence_interval.low),
        "mean_high": float(means.confidence_interval.high),
        "median_difference": float(np.median(second) - np.median(first)),
        "median_low": float(medians.confidence_interval.low),
        "median_high": float(medians.confidence_interval.high),
        "ks_statistic": float(ks.statistic),
        "ks_p_value": float(ks.pvalue),
        "family_level": verdict.level,
        "family_low": verdict.interval.low,
        "family_high": verdict.interval.high,
        "delta": delta,
        "verdict": verdict.outcome,
        "power": verdict.power,
        "draws_needed": verdict.needed,
    }
