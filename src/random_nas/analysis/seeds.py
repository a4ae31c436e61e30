"""Seed noise: how much a training's validation accuracy moves with its training seed,
measured on the seeds that did not select the candidates (the selecting seed's values carry
the winner's curse). Every function counts trainings by the one rule (analysis.draws.counted):
a diverged seed as chance, a failed one left out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from random_nas.analysis.draws import counted, rank_correlation_interval
from random_nas.analysis.leads import SeedLead


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
    """Each repeated candidate's seed-to-seed standard deviation of validation accuracy, and
    the pooled one with its degrees of freedom (over the seeds that did not select them).

    Each candidate gets the pooled one: its own deviations are already in the pool, and a
    candidate measured on two or three seeds has too few degrees of freedom to stand alone
    (combining its own variance with the pool, weighted by degrees of freedom, counted its
    deviations twice)."""
    pooled, freedom = (
        pooled_seed_sd(repeats, classes, selecting_seed)
        if repeats is not None
        else (float("nan"), 0)
    )
    if not freedom or not pooled > 0:
        return pd.Series(dtype=float), float("nan"), 0
    ok = counted(repeats, classes)
    arch_ids = ok.loc[ok["seed"] != selecting_seed, "arch_id"].unique()
    return pd.Series(pooled, index=arch_ids, dtype=float), pooled, freedom


@dataclass(frozen=True)
class SeedNoise:
    """What a run's repeats say, each verdict decided once: the pooled seed noise over the
    seeds that did not select (and what counting the selecting seed would read), whether the
    selecting seed flattered the repeated candidates (the winner's curse: their mean over the
    other seeds below their mean over the selecting seed), whether the single-seed winner is
    still the winner by mean, and the top two's lead on test by mean."""

    candidates: int
    other_seeds: tuple[int, ...]
    noise: float
    freedom: int
    noise_with_selecting: float
    freedom_with_selecting: int
    selected_mean: float
    others_mean: float
    winner_by_mean: str
    winner_by_mean_accuracy: float
    winner_by_mean_sd: float
    winner_by_mean_seeds: int
    lead: SeedLead | None

    @property
    def cursed(self) -> bool:
        return bool(self.others_mean < self.selected_mean)

    @property
    def inflated(self) -> bool:
        """Whether counting the selecting seed widens the spread because it flattered them."""
        return self.cursed and self.noise_with_selecting > self.noise


def seed_noise(repeats: pd.DataFrame, selecting_seed: int, classes: int) -> SeedNoise:
    """The repeats' seed noise and verdicts (SeedNoise)."""
    seeds = seed_statistics(repeats, selecting_seed, classes)
    noise, freedom = pooled_seed_sd(repeats, classes, selecting_seed)
    with_selecting, with_freedom = pooled_seed_sd(repeats, classes)
    test_noise, test_freedom = pooled_seed_sd(repeats, classes, selecting_seed, "test_accuracy")
    lead = None
    if len(seeds) >= 2 and test_freedom:
        first, second = seeds.iloc[0], seeds.iloc[1]
        error = test_noise * np.sqrt(1 / first["seeds"] + 1 / second["seeds"])
        lead = SeedLead(
            first["arch_id"], second["arch_id"], float(first["val_mean"] - second["val_mean"]),
            float(first["test_mean"] - second["test_mean"]), float(error), test_noise,
            test_freedom,
        )  # fmt: skip
    best = seeds.iloc[0]
    return SeedNoise(
        len(seeds), tuple(sorted(set(repeats["seed"]) - {selecting_seed})), noise, freedom,
        with_selecting, with_freedom, float(seeds["val_first_seed"].mean()),
        float(seeds["val_mean"].mean()), best["arch_id"], float(best["val_mean"]),
        float(best["val_sd"]), int(best["seeds"]), lead,
    )  # fmt: skip
