"""Seed noise: how much a training's validation accuracy moves with its training seed,
measured on the seeds that did not select the candidates (the selecting seed's values carry
the winner's curse). Every function counts trainings by the one rule (analysis.draws.counted):
a diverged seed as chance, a failed one left out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from random_nas.analysis.draws import counted, rank_correlation_interval


def seed_statistics(repeats: pd.DataFrame, selecting_seed: int, classes: int) -> pd.DataFrame:
    """Per repeated candidate: mean and standard deviation of validation and test accuracy over
    the seeds that did not select it, its value and rank by the selecting seed alone, and its
    rank by that mean.

    The selecting seed's values chose the repeated candidates as the best of many: they are
    biased upwards (the winner's curse), so they are shown but kept out of the estimates."""
    ok = counted(repeats, classes)
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


def pooled_seed_sd(
    repeats: pd.DataFrame,
    classes: int,
    excluded_seed: int | None = None,
    column: str = "val_accuracy",
) -> tuple[float, int]:
    """The seed-to-seed standard deviation of `column` (validation accuracy, or test), pooled
    over candidates: sqrt(sum of squared deviations from each candidate's mean / sum of
    (seeds - 1)), and its degrees of freedom; over every seed but `excluded_seed` (the
    selecting one, whose values are not a fair draw of the noise)."""
    ok = counted(repeats, classes)
    ok = ok[ok["seed"] != excluded_seed]
    deviations = ok[column] - ok.groupby("arch_id")[column].transform("mean")
    freedom = int((ok.groupby("arch_id").size() - 1).clip(lower=0).sum())
    if freedom == 0:
        return float("nan"), 0
    return float(np.sqrt((deviations**2).sum() / freedom)), freedom


def seed_rank_correlations(
    repeats: pd.DataFrame, classes: int, excluded_seed: int | None = None
) -> pd.DataFrame:
    """Spearman correlation of the repeated candidates' validation accuracy between each pair
    of seeds other than `excluded_seed`, with its bootstrap interval: does another seed rank
    the top candidates alike? (Empty under MIN_RANKED candidates.)"""
    ok = counted(repeats, classes)
    ok = ok[ok["seed"] != excluded_seed]
    wide = ok.pivot(index="arch_id", columns="seed", values="val_accuracy")
    seeds = sorted(wide.columns)
    rows = []
    for position, first in enumerate(seeds):
        for second in seeds[position + 1 :]:
            interval = rank_correlation_interval(wide[first], wide[second])
            if interval is not None:
                rows.append((first, second, *interval))
    return pd.DataFrame(rows, columns=["seed_a", "seed_b", "spearman", "low", "high"])


def candidate_seed_sd(
    repeats: pd.DataFrame | None, selecting_seed: int, classes: int
) -> tuple[pd.Series, float, int]:
    """Each repeated candidate's own seed-to-seed standard deviation of validation accuracy
    over the seeds that did not select it, combined with the run's pooled one by degrees of
    freedom (a candidate measured on two seeds has one degree of freedom, too few to stand
    alone); and the pooled one with its degrees of freedom."""
    pooled, freedom = (
        pooled_seed_sd(repeats, classes, selecting_seed)
        if repeats is not None
        else (float("nan"), 0)
    )
    if not freedom or not pooled > 0:
        return pd.Series(dtype=float), float("nan"), 0
    ok = counted(repeats, classes)
    ok = ok[ok["seed"] != selecting_seed]
    grouped = ok.groupby("arch_id")["val_accuracy"]
    own_freedom = (grouped.count() - 1).clip(lower=0)
    own_variance = grouped.var(ddof=1).fillna(0)
    variance = (own_freedom * own_variance + freedom * pooled**2) / (own_freedom + freedom)
    return np.sqrt(variance), pooled, freedom
