"""A published table against candidates retrained elsewhere, judged on evidence that did not
select them."""

from __future__ import annotations

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


def verdict_detectable_shift(error: float, candidates: int, freedom: float) -> float:
    """The shift of one candidate's retraining (standard error `error`) that the table's
    verdict, the joint test over `candidates` (F on them and `freedom` degrees of freedom;
    chi-square where the run measured no seed noise), finds with VERIFY_POWER: solved on the
    noncentral distribution (scipy.stats.ncf, ncx2) for its noncentrality."""
    if candidates < 1 or not error > 0:
        return float("nan")
    if freedom:
        critical = stats.f.isf(VERIFY_LEVEL, candidates, freedom)
        power = lambda shift: stats.ncf.sf(critical, candidates, freedom, shift**2)  # noqa: E731
    else:
        critical = stats.chi2.isf(VERIFY_LEVEL, candidates)
        power = lambda shift: stats.ncx2.sf(critical, candidates, shift**2)  # noqa: E731
    standardised = optimize.brentq(lambda shift: power(shift) - VERIFY_POWER, 0.0, 50.0)
    return float(standardised * error)


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

    The selecting seed's published values chose the candidates as the best of many and are
    biased upwards (the winner's curse): a retraining elsewhere, a fresh draw of the seed noise
    (another CPU rounds differently, and a training amplifies rounding as a change of seed
    does), falls short of them even when the table is right. So a repeated candidate's
    retraining is compared with the mean of its m seeds that did not select it (the reference),
    the difference having variance sigma^2 (1 + 1/m), sigma its own seed noise leaning on the
    run's pooled one, and t quantiles on the pooled degrees of freedom. Its published value is
    checked apart: it may exceed the reference by what selection from the run's draws explains
    (`selection_allowance`), no more. A candidate without other seeds is compared with its
    published value, with binomial noise on the validation images where the run measured none,
    and the winner's tolerance below widened by the selection allowance; a candidate drawn
    uniformly was not selected. A retraining identical to its published row (the same images
    right and wrong, the same losses) confirms it. Trainings count by the one rule
    (analysis.draws.counted): a diverged retraining scores as chance, and is judged so (a
    disagreement unless its evidence sits at chance too); a failed one measured nothing and is
    a disagreement. The joint test sums the squared standardised differences (F on k and the
    pooled degrees of freedom; chi-square on k without measured noise)."""
    own, pooled, freedom = candidate_seed_sd(repeats, selecting_seed, classes)
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
    winner = ranked(published)["arch_id"].iloc[0]
    others = counted(repeats, classes) if freedom else None
    unselected = (
        others[others["seed"] != selecting_seed]
        .groupby("arch_id")["val_accuracy"]
        .agg(["mean", "count"])
        if freedom
        else pd.DataFrame({"mean": [], "count": []})
    )
    seeds = merged["arch_id"].map(unselected["count"]).fillna(0).astype(int)
    reference = (
        merged["arch_id"].map(unselected["mean"]).where(seeds > 0, merged["published_val_accuracy"])
    )
    if freedom:
        noise = merged["arch_id"].map(own).fillna(pooled)
        quantile = stats.t.ppf(1 - VERIFY_LEVEL / 2, freedom)
        power_quantile = stats.t.ppf(VERIFY_POWER, freedom)
    else:
        noise = merged["published_val_accuracy"].map(
            lambda accuracy: np.sqrt(accuracy * (1 - accuracy) / val_size)
        )
        quantile, power_quantile = stats.norm.ppf([1 - VERIFY_LEVEL / 2, VERIFY_POWER])
    reference_error = np.where(seeds > 0, 1 / seeds.clip(lower=1), 1.0)
    error = noise * np.sqrt(1 + reference_error)
    difference = merged["val_accuracy"] - reference
    tolerance = quantile * error
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
    plausible = np.where(
        selected_alone,
        (difference <= tolerance) & (difference >= -tolerance - allowance),
        ~(gap > allowance),
    )
    measured = merged["status"] != "failed"
    joined_count = (measured & ~selected_alone).sum()
    within = np.where(selected_alone, plausible, (difference.abs() <= tolerance) & plausible)
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
                verdict_detectable_shift(e, int(joined_count), freedom) for e in error
            ],
            "selection_gap": gap,
            "selection_allowance": allowance,
            "agrees": measured & (exact | within),
            "exact": exact,
            "status": merged["status"],
            "published_hardware": merged["published_hardware"],
            "hardware": merged["hardware"],
        }
    )
    # The winner's value without other seeds is biased by its selection: its own check alone
    # judges it. A zero standard error (an accuracy of exactly 0 or 1) admits only exactness.
    joined = (measured & ~selected_alone).to_numpy()
    standardised = np.where(error > 0, difference / np.where(error > 0, error, 1), np.inf)
    standardised = np.where(exact | (difference == 0), 0.0, standardised)
    statistic = float((standardised[joined] ** 2).sum())
    count = int(joined.sum())
    if not count:
        p_value = float("nan")
    elif freedom:
        p_value = float(stats.f.sf(statistic / count, count, freedom))
    else:
        p_value = float(stats.chi2.sf(statistic, count))
    unmeasured = int((~measured).sum())
    joint = {
        "candidates": count,
        "statistic": statistic,
        "freedom": freedom,
        "pooled": pooled,
        "p_value": p_value,
        "unmeasured": unmeasured,
        "diverged": int((merged["status"] == "diverged").sum()),
        "implausible": int((measured & ~exact & ~plausible).sum()),
        "holds": bool(
            not unmeasured
            and (exact | plausible | ~measured).all()
            and (not count or p_value >= VERIFY_LEVEL)
        ),
    }
    return table, joint
