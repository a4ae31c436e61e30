"""What the results table says: rankings, Pareto fronts, and how sure random search is.

Pure computations on a pandas frame of the results table; no plotting, no torch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from random_nas.files import InputFileError
from random_nas.halving import hyperband_run_brackets, promoted_count, rung_budgets
from random_nas.paired import mcnemar_exact, unpack_correct
from random_nas.settings import NUM_CLASSES

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


def scored_draws(frame: pd.DataFrame, num_classes: int) -> pd.DataFrame:
    """Every draw that was measured, with the validation accuracy it counts for: an `ok`
    candidate its own, a `diverged` one that of a chance-level classifier (1 / classes).
    `failed` rows are errors, not measurements, and are left out. Dropping diverged draws
    would flatter the space: they were drawn from it like the others."""
    measured = frame[frame["status"].isin(["ok", "diverged"])]
    score = measured["val_accuracy"].where(measured["status"] == "ok", 1 / num_classes)
    return measured.assign(score=score.astype(float))


def _log_binomial(n: np.ndarray, k: np.ndarray, log_factorial: np.ndarray) -> np.ndarray:
    return log_factorial[n] - log_factorial[k] - log_factorial[n - k]


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
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, count + 1)))])
    positions = np.arange(1, count + 1)  # i, 1-based rank in sorted order
    fraction = positions / count
    rows = []
    for n in range(1, count + 1):
        eligible = positions >= n
        probability = np.zeros(count)
        probability[eligible] = np.exp(
            _log_binomial(positions[eligible] - 1, np.full(eligible.sum(), n - 1), log_factorial)
            - _log_binomial(np.array([count]), np.array([n]), log_factorial)
        )
        cumulative = np.cumsum(probability)
        low, high = (ordered[min(np.searchsorted(cumulative, q - 1e-12), count - 1)] for q in band)
        with_replacement = (fraction**n - (fraction - 1 / count) ** n) @ ordered
        rows.append((n, float(probability @ ordered), low, high, float(with_replacement)))
    return pd.DataFrame(rows, columns=columns)


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
    """Spearman's rank correlation (the Pearson correlation of the ranks)."""
    paired = pd.concat([first, second], axis=1).dropna()
    if len(paired) < 2:
        return float("nan")
    return float(paired.iloc[:, 0].rank().corr(paired.iloc[:, 1].rank()))


def seed_statistics(repeats: pd.DataFrame, selecting_seed: int) -> pd.DataFrame:
    """Per repeated candidate: mean and standard deviation of validation and test accuracy over
    the seeds that did not select it, its value and rank by the selecting seed alone, and its
    rank by that mean (a diverged or failed seed counts as missing).

    The selecting seed's values chose the repeated candidates as the best of many: they are
    biased upwards (the winner's curse), so they are shown but kept out of the estimates."""
    ok = repeats[repeats["status"] == "ok"]
    others = ok[ok["seed"] != selecting_seed].groupby("arch_id")
    table = pd.DataFrame(
        {
            "seeds": others["seed"].count(),
            "val_mean": others["val_accuracy"].mean(),
            "val_sd": others["val_accuracy"].std(ddof=1),
            "test_mean": others["test_accuracy"].mean(),
            "test_sd": others["test_accuracy"].std(ddof=1),
            "val_first_seed": ok[ok["seed"] == selecting_seed].set_index("arch_id")["val_accuracy"],
        }
    ).reset_index(names="arch_id")
    table["seeds"] = table["seeds"].fillna(0).astype(int)
    table["rank_first_seed"] = (
        table["val_first_seed"].rank(ascending=False, method="min").astype("Int64")
    )
    table["rank_by_mean"] = table["val_mean"].rank(ascending=False, method="min").astype("Int64")
    return table.sort_values(["rank_by_mean", "arch_id"]).reset_index(drop=True)


def pooled_seed_sd(repeats: pd.DataFrame, excluded_seed: int | None = None) -> tuple[float, int]:
    """The seed-to-seed standard deviation of validation accuracy, pooled over candidates:
    sqrt(sum of squared deviations from each candidate's mean / sum of (seeds - 1)), and its
    degrees of freedom; over every seed but `excluded_seed` (the selecting one, whose values
    are not a fair draw of the noise)."""
    ok = repeats[(repeats["status"] == "ok") & (repeats["seed"] != excluded_seed)]
    deviations = ok["val_accuracy"] - ok.groupby("arch_id")["val_accuracy"].transform("mean")
    freedom = int((ok.groupby("arch_id").size() - 1).clip(lower=0).sum())
    if freedom == 0:
        return float("nan"), 0
    return float(np.sqrt((deviations**2).sum() / freedom)), freedom


# Fewer candidates than this say nothing about a rank order; no correlation is reported.
MIN_RANKED = 5


def rank_correlation_interval(
    first: pd.Series, second: pd.Series, draws: int = 2000, seed: int = 0
) -> tuple[float, float, float] | None:
    """Spearman's correlation of two aligned series and its 95 % percentile bootstrap interval
    over the candidates (resampled with replacement, seeded); None under MIN_RANKED pairs."""
    paired = pd.concat([first, second], axis=1).dropna().to_numpy()
    if len(paired) < MIN_RANKED:
        return None
    rho = rank_correlation(pd.Series(paired[:, 0]), pd.Series(paired[:, 1]))
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(draws):
        sample = paired[rng.integers(0, len(paired), len(paired))]
        value = rank_correlation(pd.Series(sample[:, 0]), pd.Series(sample[:, 1]))
        if np.isfinite(value):
            samples.append(value)
    low, high = np.quantile(samples, [0.025, 0.975]) if samples else (np.nan, np.nan)
    return rho, float(low), float(high)


def seed_rank_correlations(repeats: pd.DataFrame, excluded_seed: int | None = None) -> pd.DataFrame:
    """Spearman correlation of the repeated candidates' validation accuracy between each pair
    of seeds other than `excluded_seed`, with its bootstrap interval: does another seed rank
    the top candidates alike? (Empty under MIN_RANKED candidates.)"""
    ok = repeats[(repeats["status"] == "ok") & (repeats["seed"] != excluded_seed)]
    wide = ok.pivot(index="arch_id", columns="seed", values="val_accuracy")
    seeds = sorted(wide.columns)
    rows = []
    for position, first in enumerate(seeds):
        for second in seeds[position + 1 :]:
            interval = rank_correlation_interval(wide[first], wide[second])
            if interval is not None:
                rows.append((first, second, *interval))
    return pd.DataFrame(rows, columns=["seed_a", "seed_b", "spearman", "low", "high"])


def binomial_difference_se(first: float, second: float, images: int) -> float:
    """Standard error of the difference of two accuracies, each measured on `images`
    independent images (two binomial proportions)."""
    return float(np.sqrt((first * (1 - first) + second * (1 - second)) / images))


def chi_square_survival(statistic: float, freedom: int) -> float:
    """P(X >= statistic) for X ~ chi-square with `freedom` degrees of freedom."""
    return float(stats.chi2.sf(statistic, freedom))


def candidate_seed_sd(
    repeats: pd.DataFrame | None, selecting_seed: int
) -> tuple[pd.Series, float, int]:
    """Each repeated candidate's own seed-to-seed standard deviation of validation accuracy
    over the seeds that did not select it, combined with the run's pooled one by degrees of
    freedom (a candidate measured on two seeds has one degree of freedom, too few to stand
    alone); and the pooled one with its degrees of freedom."""
    pooled, freedom = (
        pooled_seed_sd(repeats, selecting_seed) if repeats is not None else (float("nan"), 0)
    )
    if not freedom or not pooled > 0:
        return pd.Series(dtype=float), float("nan"), 0
    ok = repeats[(repeats["status"] == "ok") & (repeats["seed"] != selecting_seed)]
    grouped = ok.groupby("arch_id")["val_accuracy"]
    own_freedom = (grouped.count() - 1).clip(lower=0)
    own_variance = grouped.var(ddof=1).fillna(0)
    variance = (own_freedom * own_variance + freedom * pooled**2) / (own_freedom + freedom)
    return np.sqrt(variance), pooled, freedom


# The level of every verification test: a correct table is called off in 5 % of verifications.
VERIFY_LEVEL = 0.05
# The power a stated detectable shift has.
VERIFY_POWER = 0.80


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
) -> tuple[pd.DataFrame, str, dict[str, float]]:
    """Compare retrained candidates with what their architectures score where nothing selected
    them: the table, a sentence naming the evidence and its noise, and a joint test.

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
    right and wrong, the same losses) confirms it. A retraining that diverged or failed is a
    disagreement. The joint test sums the squared standardised differences (F on k and the
    pooled degrees of freedom; chi-square on k without measured noise)."""
    own, pooled, freedom = candidate_seed_sd(repeats, selecting_seed)
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
    exact = merged["val_accuracy"] == merged["published_val_accuracy"]
    for column in computed:
        exact &= merged[column] == merged[f"published_{column}"]
    winner = ranked(published)["arch_id"].iloc[0]
    unselected = (
        repeats[(repeats["status"] == "ok") & (repeats["seed"] != selecting_seed)]
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
        basis = (
            f"the mean of each candidate's seeds other than the selecting seed {selecting_seed} "
            "(repeats.parquet; the selecting seed's values carry the winner's curse), with its "
            "own seed-to-seed standard deviation combined with the run's pooled "
            f"{100 * pooled:.2f} points by degrees of freedom ({freedom}; t quantiles)"
        )
    else:
        noise = merged["published_val_accuracy"].map(
            lambda accuracy: np.sqrt(accuracy * (1 - accuracy) / val_size)
        )
        quantile, power_quantile = stats.norm.ppf([1 - VERIFY_LEVEL / 2, VERIFY_POWER])
        basis = (
            "each candidate's published value, with the binomial standard error of an "
            f"accuracy on the run's {val_size:,} validation images as its seed noise (the run "
            "measured none: that needs repeats with two or more seeds besides the selecting "
            "one); the winner's values were selected, and its tolerance below allows for it"
        )
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
    measured = merged["status"] == "ok"
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
        p_value = chi_square_survival(statistic, count)
    unmeasured = int((~measured).sum())
    joint = {
        "candidates": count,
        "statistic": statistic,
        "freedom": freedom,
        "p_value": p_value,
        "unmeasured": unmeasured,
        "implausible": int((measured & ~exact & ~plausible).sum()),
        "holds": bool(
            not unmeasured
            and (exact | plausible | ~measured).all()
            and (not count or p_value >= VERIFY_LEVEL)
        ),
    }
    return table, basis, joint


def promote(rung: pd.DataFrame, eta: int) -> list[str]:
    """The architectures of `rung` that successive halving trains next: the best ⌊n / eta⌋
    (at least one) of its n, by validation accuracy (ties: fewer FLOPs, then arch_id); only
    `ok` ones, so fewer where fewer finished."""
    return list(ranked(rung)["arch_id"].head(promoted_count(len(rung), eta)))


def halving_rungs(trials: pd.DataFrame, budgets: list[int], eta: int) -> list[pd.DataFrame]:
    """The trainings of each rung, recomputed from the trials as the run promoted them: rung 0
    is every draw at the first budget, rung r + 1 what `promote` keeps of rung r. (Trials at the
    full budget may hold more than the top rung: a run's full-budget comparison.)"""
    members = sorted(trials.loc[trials["epochs"] == budgets[0], "arch_id"])
    rungs = []
    for budget in budgets:
        rung = trials[(trials["epochs"] == budget) & trials["arch_id"].isin(members)]
        rungs.append(rung)
        members = promote(rung, eta)
    return rungs


def rung_table(rungs: list[pd.DataFrame], train_images: int) -> pd.DataFrame:
    """Per rung: its budget, how many it trained, their best and median validation accuracy,
    and what it cost (epoch-images, training seconds)."""
    return pd.DataFrame(
        [
            {
                "rung": number,
                "epochs": int(rung["epochs"].iloc[0]) if len(rung) else 0,
                "candidates": len(rung),
                "best_val_accuracy": rung["val_accuracy"].max(),
                "median_val_accuracy": rung["val_accuracy"].median(),
                "epoch_images": int(rung["epochs"].sum()) * train_images,
                "train_seconds": rung["train_seconds"].sum(),
            }
            for number, rung in enumerate(rungs)
        ]
    )


def rung_correlations(rungs: list[pd.DataFrame]) -> pd.DataFrame:
    """Spearman correlation of validation accuracy between consecutive rungs, over the
    candidates the later rung trained (its promoted ones), with its bootstrap interval; NaN
    where fewer than MIN_RANKED candidates say nothing about an order."""
    rows = []
    for number in range(1, len(rungs)):
        later = rungs[number].set_index("arch_id")["val_accuracy"]
        earlier = rungs[number - 1].set_index("arch_id")["val_accuracy"].reindex(later.index)
        interval = rank_correlation_interval(earlier, later) or (np.nan, np.nan, np.nan)
        rows.append((f"{number - 1}→{number}", len(later), *interval))
    return pd.DataFrame(rows, columns=["rungs", "candidates", "spearman", "low", "high"])


def halving_comparison(
    trials: pd.DataFrame, brackets: list[list[pd.DataFrame]], budgets: list[int], train_images: int
) -> dict[str, float | str | int] | None:
    """What successive halving (or Hyperband: its brackets' top rungs together) bought against
    training every draw at the full budget, where the run did both
    (search.compare_full_budget); None otherwise."""
    full = trials[trials["epochs"] == budgets[-1]]
    rungs = [rung for bracket in brackets for rung in bracket]
    draws = pd.concat([bracket[0]["arch_id"] for bracket in brackets])
    picks = ranked(pd.concat([bracket[-1] for bracket in brackets]))
    full_ranked = ranked(full)
    # Without an ok candidate at the top rung, or at the full budget, there is no pick to
    # compare (the report says which rungs trained what).
    if not set(draws) <= set(full["arch_id"]) or picks.empty or full_ranked.empty:
        return None
    halving_pick = picks.iloc[0]
    full_best = full_ranked.iloc[0]
    halving_cost = sum(int(rung["epochs"].sum()) for rung in rungs) * train_images
    full_cost = len(draws) * budgets[-1] * train_images
    affordable = max(1, halving_cost // (budgets[-1] * train_images))
    # The random-search baseline counts draws as everywhere else: diverged as chance.
    curve = expected_best(scored_draws(full, num_classes(full))["score"].to_numpy())
    # The fidelity's rank correlation: the first bracket's rung 0 (every draw, for halving).
    low = brackets[0][0].set_index("arch_id")["val_accuracy"]
    high = full.set_index("arch_id")["val_accuracy"].reindex(low.index)
    return {
        "halving_pick": halving_pick["arch_id"],
        "halving_pick_val": float(halving_pick["val_accuracy"]),
        "full_best": full_best["arch_id"],
        "full_best_val": float(full_best["val_accuracy"]),
        "regret": float(full_best["val_accuracy"] - halving_pick["val_accuracy"]),
        "halving_rank_at_full": int(
            full_ranked.index[full_ranked["arch_id"] == halving_pick["arch_id"]][0] + 1
        ),
        "compute_ratio": halving_cost / full_cost,
        "seconds_ratio": sum(rung["train_seconds"].sum() for rung in rungs)
        / full["train_seconds"].sum(),
        "random_search_draws": int(min(affordable, len(curve))),
        "random_search_expected": float(
            curve["expected_best"].iloc[min(affordable, len(curve)) - 1]
        ),
        "fidelity_spearman": rank_correlation_interval(low, high),
        "fidelity_draws": len(low),
        "fidelity_low_epochs": int(brackets[0][0]["epochs"].iloc[0]),
        "draws": len(draws),
        "full_epochs": budgets[-1],
    }


def num_classes(frame: pd.DataFrame, dataset: str | None = None) -> int:
    """Classes of the run's dataset (a diverged draw scores 1 / classes): from a row's
    recipe, else from the dataset's name."""
    for text in frame.get("recipe", pd.Series(dtype=object)).dropna():
        classes = json.loads(text).get("dataset", {}).get("num_classes")
        if classes:
            return int(classes)
    if dataset not in NUM_CLASSES:
        raise InputFileError(
            "the table names no number of classes (recipe.dataset.num_classes) and no known "
            f"dataset ({dataset!r})"
        )
    return NUM_CLASSES[dataset]


def train_images(frame: pd.DataFrame) -> int:
    """Training images per epoch, from a row's recipe."""
    for text in frame["recipe"].dropna():
        return int(json.loads(text)["dataset"]["sizes"]["train"])
    raise InputFileError("the trials table records no recipe with the training split's size")


@dataclass(frozen=True)
class Fidelity:
    """Which trainings each statistic of a report uses, so that none mixes budgets: the
    ranking, Pareto fronts and winner at one budget, the statistics over every draw (EDF,
    expected best of n) at one budget, and the compute of every training the run made."""

    ranked_epochs: int
    ranked: pd.DataFrame
    draws_epochs: int
    draws: pd.DataFrame
    # How many draws the run made (the statistics over draws may reach fewer: `draws`).
    draws_total: int
    train_seconds: float


def fidelity(
    frame: pd.DataFrame,
    trials: pd.DataFrame | None,
    repeats: pd.DataFrame | None,
    epochs: int,
    selecting_seed: int,
    grid: pd.DataFrame | None = None,
) -> Fidelity:
    """A plain run: every statistic at `epochs` (training.epochs). A successive-halving or
    Hyperband run: its result is its top rung, ranked at the full budget; the statistics over
    draws take one budget, the highest at which every draw was trained (the full budget of a
    dense `grid` or of search.compare_full_budget, else rung 0 of halving), and where no
    budget has every draw (Hyperband's brackets start at other budgets), the budget that has
    the most. Compute sums every training: all rungs, and the repeats' other seeds."""
    if trials is None:
        ranked_rows = draws = frame
        draws_epochs, trainings = epochs, [frame]
        total = len(frame)
    else:
        ranked_rows = trials[trials["epochs"] == epochs]
        pool = (
            trials
            if grid is None
            else pd.concat([grid, trials]).drop_duplicates(["arch_id", "epochs"])
        )
        total = pool["arch_id"].nunique()
        # The highest budget among those with the most draws.
        measured = pool.groupby("epochs")["arch_id"].nunique()
        draws_epochs = int(measured[measured == measured.max()].index.max())
        draws = pool[pool["epochs"] == draws_epochs]
        if grid is not None and draws_epochs == epochs and measured.max() == total:
            ranked_rows = draws  # a dense grid trained every draw for the full budget
        trainings = [trials]
    if repeats is not None:
        trainings.append(repeats[repeats["seed"] != selecting_seed])
    return Fidelity(
        ranked_epochs=epochs,
        ranked=ranked_rows,
        draws_epochs=draws_epochs,
        draws=draws,
        draws_total=int(total),
        train_seconds=float(sum(rows["train_seconds"].sum() for rows in trainings)),
    )


@dataclass(frozen=True)
class Halving:
    """What a successive-halving run's trials say: its rungs and their cost, and the
    comparison with the full budget where the run has one. A Hyperband run's rungs are its
    brackets' in turn; `table` names each row's bracket."""

    budgets: list[int]
    train_images: int
    rungs: list[pd.DataFrame]
    promoted: set[str]
    table: pd.DataFrame
    correlations: pd.DataFrame
    comparison: dict[str, float | str | int] | None


def brackets_of(trials: pd.DataFrame, config: Mapping[str, Any]) -> list[list[pd.DataFrame]]:
    """The rungs of each bracket as the run promoted them: one bracket of every draw for
    successive halving, Hyperband's on their slices of the draw (by each row's `draw`)."""
    search, epochs = config["search"], config["training"]["epochs"]
    if search["strategy"] != "hyperband":
        budgets = rung_budgets(search["min_epochs"], search["eta"], epochs)
        return [halving_rungs(trials, budgets, search["eta"])]
    plan = hyperband_run_brackets(
        int(config["num_architectures"]), search["min_epochs"], search["eta"], epochs
    )
    brackets = []
    for start, rungs in plan:
        members = trials[trials["draw"].between(start, start + rungs[0][0] - 1)]
        brackets.append(halving_rungs(members, [budget for _, budget in rungs], search["eta"]))
    return brackets


def halving_analysis(trials: pd.DataFrame, config: Mapping[str, Any]) -> Halving:
    """The rungs of a successive-halving or Hyperband run as its config (search,
    training.epochs) made them."""
    search = config["search"]
    budgets = rung_budgets(search["min_epochs"], search["eta"], config["training"]["epochs"])
    images = train_images(trials)
    brackets = brackets_of(trials, config)
    tables = [
        rung_table(rungs, images).assign(bracket=number) for number, rungs in enumerate(brackets)
    ]
    table = pd.concat(tables, ignore_index=True)
    table = table[["bracket", *tables[0].columns.drop("bracket")]]
    if search["strategy"] != "hyperband":
        table = table.drop(columns="bracket")
    correlations = pd.concat([rung_correlations(rungs) for rungs in brackets], ignore_index=True)
    return Halving(
        budgets=budgets,
        train_images=images,
        rungs=[rung for rungs in brackets for rung in rungs],
        promoted={
            arch_id for rungs in brackets for rung in rungs[1:] for arch_id in rung["arch_id"]
        },
        table=table,
        correlations=correlations,
        comparison=halving_comparison(trials, brackets, budgets, images),
    )


# The report's verdicts: each a sentence computed here from the tables (report.py only lays
# them out); the README quotes them, and tests check the quotes against a fresh render.


def epochs_text(count: int) -> str:
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def _rank_of(ok: pd.DataFrame, arch_id: str, column: str) -> int:
    """1-based rank of `arch_id` among `ok` by `column`, cheapest first (ties share a rank)."""
    ranks = ok[column].rank(method="min")
    return int(ranks[ok["arch_id"] == arch_id].iloc[0])


def single_seed_lead(first: pd.Series, second: pd.Series, val_size: int | None) -> str:
    """How far the best leads the second, with one seed each: an exact McNemar test on the
    validation images both were scored on, where the table has them (val_correct), else the
    binomial interval of a difference of two independent accuracies."""
    gap = first["val_accuracy"] - second["val_accuracy"]
    lead = (
        f"One seed per candidate: {first['arch_id']} leads {second['arch_id']} by "
        f"{100 * gap:.2f} points"
    )
    untested = "; seed noise is not measured (config repeats.top_k)."
    if isinstance(first.get("val_correct"), str) and isinstance(second.get("val_correct"), str):
        images = int(val_size or 0)
        b, c, p_value = mcnemar_exact(
            unpack_correct(first["val_correct"], images),
            unpack_correct(second["val_correct"], images),
        )
        verdict = "significant" if p_value < 0.05 else "not significant"
        return (
            f"{lead} on the same {images:,} validation images: {b} images only the first "
            f"classifies correctly, {c} only the second; exact McNemar p = {p_value:.3f} "
            f"({verdict} at 5 %){untested}"
        )
    if not val_size:
        return lead + untested
    error = binomial_difference_se(first["val_accuracy"], second["val_accuracy"], val_size)
    verdict = "larger than" if gap > Z95 * error else "within"
    return (
        f"{lead}, {verdict} the 95 % interval of a difference of two independent accuracies on "
        f"{val_size:,} validation images (± {100 * Z95 * error:.2f} points; this table records "
        f"no per-image correctness for a paired test){untested}"
    )


# A run whose median draw scores within this of chance learned (next to) nothing.
NEAR_CHANCE = 0.05


def chance_warning(frame: pd.DataFrame, classes: int) -> str | None:
    """The warning for a run whose draws sit near chance, with the likely cause (too few
    optimiser steps for the batch size), or None. Over the measured draws of `frame` (one
    budget), diverged ones scored as chance."""
    scores = scored_draws(frame, classes)["score"]
    chance = 1 / classes
    if scores.empty or scores.median() > chance + NEAR_CHANCE:
        return None
    recipe = next(
        (json.loads(text) for text in frame.get("recipe", pd.Series(dtype=object)).dropna()), {}
    )
    training = recipe.get("training", {})
    images = recipe.get("dataset", {}).get("sizes", {}).get("train")
    cause = ""
    if images and training.get("batch_size") and training.get("epochs"):
        steps = -(-int(images) // int(training["batch_size"])) * int(training["epochs"])
        cause = (
            f" Likely cause: too few optimiser steps ({int(images):,} training images in "
            f"batches of {training['batch_size']} for {training['epochs']} epochs is {steps:,} "
            "steps); raise dataset.train_size or training.epochs, or lower training.batch_size."
        )
    return (
        f"Near chance: half of the {len(scores)} measured draws score at most "
        f"{100 * scores.median():.1f} % validation accuracy and the best "
        f"{100 * scores.max():.1f} %, where chance is {100 * chance:.1f} %: these trainings "
        f"barely learned, and their ranking says little about the architectures.{cause}"
    )


def mixed_hardware(frame: pd.DataFrame) -> str | None:
    """The warning for a table whose trainings ran on several device types or precisions (a
    store shared by a CPU and a GPU machine holds both under a recipe of `device: auto`), or
    None where every row resolved alike."""
    if frame.empty or not {"device", "precision"} <= set(frame.columns):
        return None
    kinds = (
        frame["device"].fillna("unknown").astype(str).str.split(":").str[0]
        + "/"
        + frame["precision"].fillna("unknown").astype(str)
    ).value_counts()
    if len(kinds) < 2:
        return None
    counts = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    return (
        f"Mixed hardware: these trainings resolved to several devices or precisions ({counts}), "
        "so differences between them are partly the hardware's; pin training.device and "
        "training.precision to compare one recipe."
    )


def findings(
    ok: pd.DataFrame,
    scored: pd.DataFrame,
    curve: pd.DataFrame,
    repeats: pd.DataFrame | None,
    val_size: int | None,
    correlation: tuple[float, float, float] | None,
    selecting_seed: int,
    budgets: Fidelity,
) -> list[str]:
    """The report's statements about the run, each computed here from its tables: the README
    quotes them, and a test checks the quotes against a fresh render. `ok` is the ranked
    trainings at one budget, `scored` the draws at one budget; each statement says which."""
    lines: list[str] = []
    if ok.empty:
        return ["No candidate finished with status ok."]
    best = ok.iloc[0]
    lines.append(
        f"The best of the {len(ok)} ok architectures at {epochs_text(budgets.ranked_epochs)}, "
        f"{best['arch_id']}, reaches "
        f"{100 * best['val_accuracy']:.1f} % validation and {100 * best['test_accuracy']:.1f} % "
        f"test accuracy; it ranks {_rank_of(ok, best['arch_id'], 'train_seconds')} of "
        f"{len(ok)} by training time and {_rank_of(ok, best['arch_id'], 'flops')} of {len(ok)} "
        "by FLOPs (1 = cheapest)."
    )
    failed = int((budgets.draws["status"] == "failed").sum())
    diverged = int((budgets.draws["status"] == "diverged").sum())
    reached = int(budgets.draws["arch_id"].nunique())
    of_all = (
        f" of the run's {budgets.draws_total} (no budget has every draw; this one has the most)"
        if reached < budgets.draws_total
        else ""
    )
    counted = (
        f"{len(scored)} draws{of_all} are measured at {epochs_text(budgets.draws_epochs)} "
        f"({diverged} diverged, scored as chance); {failed} failed and are left out."
    )
    if scored["score"].nunique() == 1:
        lines.append(
            f"{counted} Every measured draw has the same validation error, "
            f"{100 * (1 - scored['score'].iloc[0]):.1f} %."
        )
    else:
        lines.append(
            f"{counted} Half of the measured draws have a validation error of at most "
            f"{100 * (1 - scored['score'].median()):.1f} %, nine in ten of at most "
            f"{100 * (1 - scored['score'].quantile(0.1)):.1f} %."
        )
    at = [n for n in (10, len(curve)) if n <= len(curve)]
    unbiased = " and ".join(
        f"{100 * curve['expected_best'].iloc[n - 1]:.2f} % at n = {n}" for n in at
    )
    replaced = " and ".join(f"{100 * curve['with_replacement'].iloc[n - 1]:.2f} %" for n in at)
    lines.append(
        f"Expected best of n random draws at {epochs_text(budgets.draws_epochs)} (unbiased, "
        f"without replacement): {unbiased}; "
        f"Dodge et al.'s with-replacement estimate reads {replaced}."
    )
    if repeats is not None and (repeats["status"] == "ok").any():
        seeds = seed_statistics(repeats, selecting_seed)
        noise, freedom = pooled_seed_sd(repeats, selecting_seed)
        with_selecting, with_freedom = pooled_seed_sd(repeats)
        spread = ok["val_accuracy"].std(ddof=1)
        others = sorted(set(repeats["seed"]) - {selecting_seed})
        if freedom:
            lines.append(
                f"Seed noise: over the top {len(seeds)} candidates, retrained with seeds "
                f"{', '.join(map(str, others))}, the pooled seed-to-seed standard deviation of "
                f"validation accuracy is {100 * noise:.2f} points ({freedom} degrees of "
                f"freedom), against {100 * spread:.2f} points across the {len(ok)} "
                f"architectures; counting the selecting seed {selecting_seed} too would read "
                f"{100 * with_selecting:.2f} points ({with_freedom} degrees of freedom), "
                + (
                    "inflated by the winner's curse."
                    if with_selecting > noise
                    else "no larger: the selecting seed's values show no inflation here."
                )
            )
        else:
            lines.append(
                f"Seed noise is not measured: the top {len(seeds)} candidates were retrained "
                f"with {len(others)} seed besides the selecting seed {selecting_seed}, and the "
                "selecting seed's values estimate nothing; list two or more in repeats.seeds."
            )
        selected = seeds["val_first_seed"].mean()
        retrained = seeds["val_mean"].mean()
        if pd.notna(retrained) and pd.notna(selected):
            means = (
                f"the top {len(seeds)} averaged {100 * selected:.2f} % with the seed that "
                f"selected them and {100 * retrained:.2f} % with the other seeds "
                f"({100 * (retrained - selected):+.2f} points)"
            )
            lines.append(
                f"Winner's curse: {means}: the selecting seed flattered them."
                if retrained < selected
                else f"No winner's curse shows: {means}; the other seeds score them no lower."
            )
        winner = best["arch_id"]
        by_mean = seeds.iloc[0]
        held = "is still" if by_mean["arch_id"] == winner else "is not"
        lines.append(
            f"The single-seed winner {winner} {held} the winner by mean over the other seeds "
            f"({by_mean['arch_id']}: {100 * by_mean['val_mean']:.2f} % ± "
            f"{100 * by_mean['val_sd']:.2f})."
        )
        pairs = seed_rank_correlations(repeats, selecting_seed)
        if not pairs.empty:
            lines.append(
                f"Spearman rank correlation of the top {len(seeds)} between the other seeds: "
                + ", ".join(
                    f"seeds {a} and {b}: {rho:.2f} (95 % bootstrap interval {low:.2f} to "
                    f"{high:.2f})"
                    for a, b, rho, low, high in pairs.itertuples(index=False)
                )
                + "."
            )
        if len(seeds) >= 2 and freedom:
            first, second = seeds.iloc[0], seeds.iloc[1]
            gap = first["val_mean"] - second["val_mean"]
            error = noise * np.sqrt(1 / first["seeds"] + 1 / second["seeds"])
            verdict = "larger than seed noise" if gap > Z95 * error else "within seed noise"
            lines.append(
                f"By mean over the other seeds, {first['arch_id']} leads {second['arch_id']} by "
                f"{100 * gap:.2f} points; the seed noise gives that difference a standard error "
                f"of {100 * error:.2f} points (95 % interval ± {100 * Z95 * error:.2f}): "
                f"{verdict}."
            )
    elif len(ok) >= 2:
        lines.append(single_seed_lead(ok.iloc[0], ok.iloc[1], val_size))
    strides = (
        pd.DataFrame(
            {
                "stride2": architecture_features(ok)["stride-2 layers"],
                "val": ok["val_accuracy"],
            }
        )
        .groupby("stride2")["val"]
        .agg(["median", "size"])
    )
    lines.append(
        "Median validation accuracy by number of stride-2 layers: "
        + ", ".join(
            f"{count}: {100 * row['median']:.1f} % ({int(row['size'])})"
            for count, row in strides.iterrows()
        )
        + "."
    )
    if correlation is not None:
        lines.append(
            rank_sentence(
                correlation, "Validation and test accuracy rank the ok candidates", "one of them"
            )
        )
    return lines


def rank_sentence(correlation: tuple[float, float, float], subject: str, tied: str) -> str:
    """`subject` with its Spearman ρ and bootstrap interval; where ρ is undefined (`tied`
    takes a single value) or the interval is, the sentence says so instead of a nan."""
    rho, low, high = correlation
    if not np.isfinite(rho):
        return f"{subject} with no defined Spearman ρ: {tied} takes a single value."
    interval = (
        f"95 % bootstrap interval {low:.2f} to {high:.2f}"
        if np.isfinite(low) and np.isfinite(high)
        else "no bootstrap interval: most resamples tie"
    )
    return f"{subject} with Spearman ρ = {rho:.2f} ({interval})."


def halving_findings(
    table: pd.DataFrame, correlations: pd.DataFrame, comparison: dict[str, Any] | None
) -> list[str]:
    """The statements of a successive-halving (or Hyperband) run, computed from its trials."""
    hyperband = "bracket" in table
    name = "Hyperband" if hyperband else "Halving"
    brackets = table.groupby("bracket", sort=True) if hyperband else [(None, table)]
    lines = [
        ("Hyperband: " if hyperband else "Successive halving: ")
        + "; ".join(
            (f"bracket {bracket}: " if hyperband else "")
            + (", " if hyperband else "; ").join(
                f"rung {row.rung} trained {row.candidates} for {epochs_text(row.epochs)} "
                f"(best {100 * row.best_val_accuracy:.1f} %)"
                for row in rows.itertuples()
            )
            for bracket, rows in brackets
        )
        + "."
    ]
    ranked_rungs = correlations.dropna(subset=["spearman"]) if len(correlations) else correlations
    if len(ranked_rungs):
        lines.append(
            "Spearman correlation of validation accuracy between consecutive rungs, over the "
            "promoted candidates (only where 5 or more were): "
            + ", ".join(
                f"rungs {row.rungs}: {row.spearman:.2f} over {row.candidates} (95 % bootstrap "
                f"interval {row.low:.2f} to {row.high:.2f})"
                for row in ranked_rungs.itertuples()
            )
            + "."
        )
    if comparison is None and len(table):
        firsts = table[table["rung"] == 0]
        draws, first = int(firsts["candidates"].sum()), table.iloc[0]
        per_epoch = first["epoch_images"] / (int(first["candidates"]) * first["epochs"])
        full_cost = draws * int(table["epochs"].max()) * per_epoch
        lines.append(
            f"{name} used {table['epoch_images'].sum():,.0f} epoch-images, "
            f"{100 * table['epoch_images'].sum() / full_cost:.0f} % of the {full_cost:,.0f} that "
            "training every draw for the full budget would take."
        )
    if comparison is not None:
        c = comparison
        lines += [
            f"{name} picks {c['halving_pick']} ({100 * c['halving_pick_val']:.1f} % at the "
            f"full budget, rank {c['halving_rank_at_full']} there); training every draw for the "
            f"full budget finds {c['full_best']} ({100 * c['full_best_val']:.1f} %): a regret "
            f"of {100 * c['regret']:.1f} points.",
            f"{name} used {100 * c['compute_ratio']:.0f} % of the epoch-images and "
            f"{100 * c['seconds_ratio']:.0f} % of the training seconds of the full-budget run.",
            f"With the same compute, plain random search at the full budget trains "
            f"{c['random_search_draws']} draws, whose expected best is "
            f"{100 * c['random_search_expected']:.1f} % (unbiased, over this run's draws).",
        ]
        if c["fidelity_spearman"] is not None:
            rung_zero = "bracket 0's rung 0" if hyperband else "rung 0"
            ranked_draws = (
                f"all {c['draws']} draws"
                if c["fidelity_draws"] == c["draws"]
                else f"the {c['fidelity_draws']} of the {c['draws']} draws that {rung_zero} trained"
            )
            lines.append(
                rank_sentence(
                    c["fidelity_spearman"],
                    f"Low and full fidelity ({rung_zero} at {epochs_text(c['fidelity_low_epochs'])}"
                    f" against the full {epochs_text(c['full_epochs'])}) rank {ranked_draws}",
                    "one fidelity",
                )
            )
    return lines


# Studies: several runs compared by their draws' distributions, each at its own one budget.


def edf_band(
    values: np.ndarray, points: np.ndarray, resamples: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """The EDF of `values` at `points` with its pointwise 90 % percentile bootstrap band
    (the draws resampled with replacement, seeded)."""
    values = np.sort(np.asarray(values, dtype=np.float64))
    rng = np.random.default_rng(seed)
    fraction = np.searchsorted(values, points, side="right") / len(values)
    samples = np.sort(rng.choice(values, size=(resamples, len(values)), replace=True), axis=1)
    resampled = np.stack([np.searchsorted(row, points, side="right") for row in samples])
    low, high = np.quantile(resampled / len(values), [0.05, 0.95], axis=0)
    return pd.DataFrame({"value": points, "fraction": fraction, "low": low, "high": high})


def ks_statistic(first: np.ndarray, second: np.ndarray) -> float:
    """The two-sample Kolmogorov–Smirnov statistic: the largest gap between the two EDFs
    (scipy.stats.ks_2samp's, a test checks; computed here in one vectorised pass, as a
    permutation test asks for it 10,000 times, eight times faster than ks_2samp)."""
    points = np.concatenate([first, second])
    gap = np.searchsorted(np.sort(first), points, side="right") / len(first) - np.searchsorted(
        np.sort(second), points, side="right"
    ) / len(second)
    return float(np.abs(gap).max())


def compare_distributions(
    first: np.ndarray, second: np.ndarray, resamples: int = 10000, seed: int = 0
) -> dict[str, float]:
    """How the draws of `second` differ from those of `first`, two independent samples: the
    difference of their means and of their medians with 95 % percentile bootstrap intervals
    (each run's draws resampled on their own), and the two-sample Kolmogorov–Smirnov statistic
    with its permutation p-value (labels shuffled `resamples` times, seeded; p = (1 + at least
    as large) / (1 + resamples))."""
    first, second = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    rng = np.random.default_rng(seed)
    boot_first = rng.choice(first, size=(resamples, len(first)))
    boot_second = rng.choice(second, size=(resamples, len(second)))
    means = boot_second.mean(axis=1) - boot_first.mean(axis=1)
    medians = np.median(boot_second, axis=1) - np.median(boot_first, axis=1)
    observed = ks_statistic(first, second)
    pooled = np.concatenate([first, second])
    larger = 0
    for _ in range(resamples):
        shuffled = rng.permutation(pooled)
        larger += ks_statistic(shuffled[: len(first)], shuffled[len(first) :]) >= observed - 1e-12
    return {
        "mean_difference": float(second.mean() - first.mean()),
        "mean_low": float(np.quantile(means, 0.025)),
        "mean_high": float(np.quantile(means, 0.975)),
        "median_difference": float(np.median(second) - np.median(first)),
        "median_low": float(np.quantile(medians, 0.025)),
        "median_high": float(np.quantile(medians, 0.975)),
        "ks_statistic": observed,
        "ks_p_value": (1 + larger) / (1 + resamples),
    }


def study_findings(
    runs: Mapping[str, pd.DataFrame], epochs: int, streams: Mapping[str, int]
) -> list[str]:
    """The verdicts of a study of runs (label: their scored draws at `epochs`, each drawn
    with the sampling seed `streams` gives, one seed a run): each run's distribution, and each
    later run against the first, as independent samples."""
    lines = []
    for label, scored in runs.items():
        score = scored["score"].to_numpy()
        curve = expected_best(score)
        at_ten = curve["expected_best"].iloc[min(10, len(curve)) - 1]
        lines.append(
            f"{label}: {len(score)} draws at {epochs_text(epochs)} (sampling seed "
            f"{streams[label]}), median validation error "
            f"{100 * (1 - np.median(score)):.2f} %, nine in ten below "
            f"{100 * (1 - np.quantile(score, 0.1)):.2f} %; expected best of "
            f"{min(10, len(curve))} {100 * at_ten:.2f} %, best of all {100 * score.max():.2f} %; "
            f"{scored['flops'].mean() / 1e6:.1f} MFLOPs per draw on average, median "
            f"{scored['flops'].median() / 1e6:.1f}."
        )
    (base_label, base), *others = runs.items()
    for label, scored in others:
        c = compare_distributions(base["score"].to_numpy(), scored["score"].to_numpy())
        lines.append(
            f"{label} against {base_label}, independent samples (sampling seeds "
            f"{streams[base_label]} and {streams[label]}): mean validation accuracy "
            f"{100 * c['mean_difference']:+.2f} points (95 % bootstrap interval "
            f"{100 * c['mean_low']:+.2f} to {100 * c['mean_high']:+.2f}), median "
            f"{100 * c['median_difference']:+.2f} ({100 * c['median_low']:+.2f} to "
            f"{100 * c['median_high']:+.2f}); two-sample Kolmogorov–Smirnov D = "
            f"{c['ks_statistic']:.2f}, permutation p = {c['ks_p_value']:.3f}; "
            f"{100 * scored['flops'].mean() / base['flops'].mean():.0f} % of the mean FLOPs "
            f"per draw ({100 * scored['flops'].median() / base['flops'].median():.0f} % of the "
            "median; training seconds are not compared: runs trained at other times share no "
            "machine load). The EDF bands of the plot are pointwise (90 % at each error), not "
            "simultaneous."
        )
    return lines
