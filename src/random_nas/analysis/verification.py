"""A published table against candidates retrained elsewhere, judged on evidence that did not
select them."""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
from scipy import optimize, stats

from random_nas.analysis.draws import counted, ranked
from random_nas.analysis.seeds import candidate_seed_sd

# The level of every verification test: a correct table is called off in 5 % of verifications.
VERIFY_LEVEL = 0.05


# The power a stated detectable shift has.
VERIFY_POWER = 0.80


def verification_picks(
    published: pd.DataFrame, repeated: set[str] | None, seed: int, k: int
) -> pd.DataFrame:
    """The candidates of a published run that a verification retrains: its winner, and a draw
    seeded by the run's seed from its other candidates (its repeated ones where it repeated
    seeds: their tolerance is measured seed noise, which weak, unstable architectures can
    exceed), k in all, each with its published row."""
    import random

    ok = ranked(published)
    winner = ok["arch_id"].iloc[0]
    others = sorted((repeated if repeated is not None else set(ok["arch_id"])) - {winner})
    drawn = random.Random(seed).sample(others, min(k - 1, len(others)))
    return ok.set_index("arch_id").loc[[winner, *drawn]].reset_index()


def shortfall_sf(statistic: float, candidates: int, freedom: float) -> float:
    """P(T >= statistic) for T, the sum over `candidates` of each standardised shortfall
    squared (min(z, 0)^2), where no candidate falls short in truth: the chi-bar-square
    distribution, each of the 2^k orthants of signs its chi-square (F on the pooled degrees of
    freedom where the noise was measured)."""
    if statistic <= 0:
        return 1.0
    total = 0.0
    for short in range(1, candidates + 1):
        weight = math.comb(candidates, short) / 2**candidates
        if freedom:
            total += weight * stats.f.sf(statistic / short, short, freedom)
        else:
            total += weight * stats.chi2.sf(statistic, short)
    return float(total)


def _normal_shortfall_sf(statistic: np.ndarray, candidates: int) -> np.ndarray:
    """shortfall_sf with known noise, over an array of statistics (1 where <= 0)."""
    total = np.zeros_like(statistic, dtype=float)
    for short in range(1, candidates + 1):
        total += math.comb(candidates, short) / 2**candidates * stats.chi2.sf(statistic, short)
    return np.where(statistic <= 0, 1.0, total)


def verdict_power(shift: float, candidates: int, freedom: float = 0) -> float:
    """How often the verdict (the joint shortfall test at VERIFY_LEVEL) finds one candidate's
    retraining `shift` of its stated standard errors short of its evidence, the others right.
    Where the noise was estimated on `freedom` degrees of freedom, the stated error is that
    estimate, s times the true one with s^2 ~ chi-square / freedom: the power is averaged over
    s (400 quantiles), the shortfall being shift * s true errors and the test's threshold
    scaled by s^2. The shifted candidate's z is normal around -shift * s: short, or not."""
    critical = optimize.brentq(
        lambda t: shortfall_sf(t, candidates, freedom) - VERIFY_LEVEL, 1e-9, 1e4
    )
    squares = (
        stats.chi2.ppf((np.arange(400) + 0.5) / 400, freedom) / freedom if freedom else np.ones(1)
    )
    rest = candidates - 1
    true_shift = shift * np.sqrt(squares)
    z = np.linspace(-true_shift - 10.0, 0.0, 1001, axis=1)
    weights = stats.norm.pdf(z + true_shift[:, None]) * (z[:, 1] - z[:, 0])[:, None]
    weights[:, [0, -1]] /= 2
    threshold = critical * squares
    short = (_normal_shortfall_sf(threshold[:, None] - z**2, rest) * weights).sum(axis=1)
    not_short = stats.norm.sf(true_shift) * _normal_shortfall_sf(threshold, rest)
    power = 0.0
    for found in (short + not_short).tolist():  # in order: the sum as it was added up before
        power += found
    return power / len(squares)


@functools.cache
def _verdict_shift(candidates: int, freedom: float) -> float:
    return float(
        optimize.brentq(
            lambda shift: verdict_power(shift, candidates, freedom) - VERIFY_POWER, 0.0, 50.0
        )
    )


def verdict_detectable_shift(error: float, candidates: int, freedom: float = 0) -> float:
    """The shortfall of one candidate's retraining (standard error `error`) that the table's
    verdict, the joint shortfall test over `candidates`, finds with VERIFY_POWER."""
    if candidates < 1 or not error > 0:
        return float("nan")
    return _verdict_shift(candidates, float(freedom or 0)) * error


def selection_allowance(draws: int, noise: float, reference_seeds: int, freedom: float) -> float:
    """How far above its unselected evidence a correct published value may sit because it was
    selected: the selecting seed's noise is at most the largest of the run's `draws` noises
    (union bound: beyond the 1 - level / (2 draws) normal quantile with probability level / 2),
    and the mean of `reference_seeds` others falls short of the truth by at most its one-sided
    1 - level / 2 t quantile. With no other seeds, the first term alone (the reference is the
    retraining, whose own noise the tolerance carries)."""
    selected = stats.norm.ppf(1 - VERIFY_LEVEL / (2 * max(draws, 1))) * noise
    if not reference_seeds:
        return float(selected)
    mean = stats.t.ppf(1 - VERIFY_LEVEL / 2, freedom) * noise / np.sqrt(reference_seeds)
    return float(selected + mean)


def _merged(
    published: pd.DataFrame, retrained: pd.DataFrame, classes: int
) -> tuple[pd.DataFrame, pd.Series]:
    """The retrainings beside their published rows (a diverged retraining counted as chance),
    and which are the same training (every computed value identical)."""
    computed = [
        column
        for column in ("val_correct", "val_loss", "test_accuracy", "test_loss", "train_loss")
        if column in published and column in retrained
    ]
    merged = retrained.merge(
        published[["arch_id", "val_accuracy", "hardware", *computed]].rename(
            columns={
                "val_accuracy": "published_val_accuracy",
                "hardware": "published_hardware",
                **{column: f"published_{column}" for column in computed},
            }
        ),
        on="arch_id",
        how="left",
    )
    merged["val_accuracy"] = merged["val_accuracy"].where(
        merged["status"] != "diverged", 1 / classes
    )
    exact = (merged["status"] == "ok") & (
        merged["val_accuracy"] == merged["published_val_accuracy"]
    )
    for column in computed:
        exact &= merged[column] == merged[f"published_{column}"]
    return merged, exact


def _evidence(
    merged: pd.DataFrame, repeats: pd.DataFrame | None, selecting_seed: int, classes: int,
    freedom: int,
) -> tuple[pd.Series, pd.Series]:  # fmt: skip
    """Each candidate's unselected evidence (the mean of its seeds other than the selecting
    one, else its published value) and how many seeds it rests on."""
    if freedom:
        others = counted(repeats, classes)
        unselected = (
            others[others["seed"] != selecting_seed]
            .groupby("arch_id")["val_accuracy"]
            .agg(["mean", "count"])
        )
    else:
        unselected = pd.DataFrame({"mean": [], "count": []})
    seeds = merged["arch_id"].map(unselected["count"]).fillna(0).astype(int)
    reference = (
        merged["arch_id"].map(unselected["mean"]).where(seeds > 0, merged["published_val_accuracy"])
    )
    return reference, seeds


def _joint(
    difference: pd.Series, error: np.ndarray, exact: pd.Series, joined: np.ndarray,
    freedom: int,
) -> tuple[float, int, float]:  # fmt: skip
    """The joint shortfall test over the joined candidates: statistic, count, p-value."""
    standardised = np.where(error > 0, difference / np.where(error > 0, error, 1), -np.inf)
    standardised = np.where(exact | (difference == 0), 0.0, standardised)
    statistic = float((np.minimum(standardised[joined], 0.0) ** 2).sum())
    count = int(joined.sum())
    p_value = shortfall_sf(statistic, count, freedom) if count else float("nan")
    return statistic, count, p_value


def _noise(
    merged: pd.DataFrame, pooled: float, freedom: int, val_size: int
) -> tuple[pd.Series, float, float]:
    """Each candidate's seed noise (the run's pooled, or binomial on the validation images
    where it measured none) and the one-sided test's and the power's quantiles."""
    if freedom:
        quantile, power_quantile = stats.t.ppf([1 - VERIFY_LEVEL, VERIFY_POWER], freedom)
        return pd.Series(pooled, index=merged.index), quantile, power_quantile
    noise = merged["published_val_accuracy"].map(
        lambda accuracy: np.sqrt(accuracy * (1 - accuracy) / val_size)
    )
    quantile, power_quantile = stats.norm.ppf([1 - VERIFY_LEVEL, VERIFY_POWER])
    return noise, quantile, power_quantile


def _verdict(
    merged: pd.DataFrame, exact: pd.Series, plausible: np.ndarray, measured: pd.Series,
    count: int, p_value: float,
) -> dict[str, int | bool]:  # fmt: skip
    """The table's verdict and the counts it names."""
    unmeasured = int((~measured).sum())
    return {
        "unmeasured": unmeasured,
        "diverged": int((merged["status"] == "diverged").sum()),
        "implausible": int((measured & ~exact & ~plausible).sum()),
        "holds": bool(
            not unmeasured
            and (exact | plausible | ~measured).all()
            and (not count or p_value >= VERIFY_LEVEL)
        ),
    }


def verification_table(
    published: pd.DataFrame,
    retrained: pd.DataFrame,
    repeats: pd.DataFrame | None,
    val_size: int,
    selecting_seed: int,
    classes: int,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Compare retrained candidates with what their architectures score where nothing selected
    them: the table, and a joint test with the noise it rests on (`pooled`, the run's pooled
    seed-to-seed standard deviation, and its degrees of freedom `freedom`; 0 where the run
    measured none).

    The question is whether the candidates do as well here as the table says, so every test is
    one-sided: a retraining falls short of its evidence, or it does not. (A retraining under
    the published row's own seed shares part of that row's noise, which selection pushed up:
    on a correct table it sits above its unselected evidence as often as not, which is no
    evidence against the table; a two-sided test called such tables off more often than its
    level.) A repeated candidate's retraining is compared with the mean of its m seeds that
    did not select it, the difference having variance sigma^2 (1 + 1/m), sigma the run's
    pooled seed noise, t quantiles on its degrees of freedom; its published value may exceed
    that mean by what selection from the run's draws explains (`selection_allowance`), no
    more. A candidate without other seeds is compared with its published value, with binomial
    noise on the validation images where the run measured none, the winner's allowance widening
    its tolerance below. A retraining identical to its published row confirms it. Trainings
    count by the one rule (analysis.draws.counted): a diverged retraining scores as chance; a
    failed one measured nothing and is a disagreement. The joint test sums each candidate's
    standardised shortfall squared: the chi-bar-square distribution (shortfall_sf)."""
    merged, exact = _merged(published, retrained, classes)
    _, pooled, freedom = candidate_seed_sd(repeats, selecting_seed, classes)
    reference, seeds = _evidence(merged, repeats, selecting_seed, classes, freedom)
    noise, quantile, power_quantile = _noise(merged, pooled, freedom, val_size)
    error = (noise * np.sqrt(1 + np.where(seeds > 0, 1 / seeds.clip(lower=1), 1.0))).to_numpy()
    difference = merged["val_accuracy"] - reference
    tolerance = quantile * error
    winner = ranked(published)["arch_id"].iloc[0]
    allowance = pd.Series(
        [
            selection_allowance(len(published), sigma, count, freedom or np.inf)
            if count or arch_id == winner
            else 0.0
            for arch_id, sigma, count in zip(merged["arch_id"], noise, seeds, strict=True)
        ]
    )
    gap = (merged["published_val_accuracy"] - reference).where(seeds > 0)
    selected_alone = (seeds == 0) & (merged["arch_id"] == winner)
    plausible = np.where(selected_alone, difference >= -tolerance - allowance, ~(gap > allowance))
    measured = merged["status"] != "failed"
    within = np.where(selected_alone, plausible, (difference >= -tolerance) & plausible)
    # The winner's value without other seeds is biased by its selection: its own check alone
    # judges it. A zero standard error (an accuracy of exactly 0 or 1) admits only exactness.
    joined = (measured & ~selected_alone).to_numpy()
    statistic, count, p_value = _joint(difference, error, exact, joined, freedom)
    table = pd.DataFrame(
        {
            "arch_id": merged["arch_id"],
            "published_val_accuracy": merged["published_val_accuracy"],
            "reference_val_accuracy": reference,
            "reference_seeds": seeds,
            "val_accuracy": merged["val_accuracy"],
            "difference": difference,
            "tolerance": tolerance,
            "detectable_shift": (quantile + power_quantile) * error,
            "verdict_detectable_shift": [
                verdict_detectable_shift(e, max(count, 1), freedom) for e in error
            ],
            "selection_gap": gap,
            "selection_allowance": allowance,
            "agrees": measured & (exact | within),
            "exact": exact,
            **merged[["status", "published_hardware", "hardware"]],
        }
    )
    joint = {
        "candidates": count,
        "statistic": statistic,
        "freedom": freedom,
        "pooled": pooled,
        "p_value": p_value,
        **_verdict(merged, exact, plausible, measured, count, p_value),
    }
    return table, joint
