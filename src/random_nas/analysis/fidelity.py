"""Multi-fidelity bookkeeping: which trainings each statistic of a report uses, so that none
mixes budgets; the rungs of successive halving and Hyperband as the run promoted them, their
cost, and what they bought against training every draw for the full budget."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from random_nas.analysis.draws import (
    counted,
    expected_best,
    expected_pick_score,
    rank_correlation_interval,
    ranked,
    scored_draws,
)
from random_nas.halving import budget_ladder, hyperband_slices, promoted_count
from random_nas.recipes import draw_size
from random_nas.results import num_classes, train_images


def promote(rung: pd.DataFrame, eta: int) -> list[str]:
    """The architectures of `rung` that successive halving trains next: the best ⌊n / eta⌋
    (at least one) of its n, by validation accuracy (ties: fewer FLOPs, then arch_id); only
    `ok` ones, so fewer where fewer finished."""
    return list(ranked(rung)["arch_id"].head(promoted_count(len(rung), eta)))


def rungs_as_promoted(trials: pd.DataFrame, ladder: list[int], eta: int) -> list[pd.DataFrame]:
    """The trainings of each rung, recomputed from the trials as the run promoted them: rung 0
    is every draw at the first budget, rung r + 1 what `promote` keeps of rung r. (Trials at the
    full budget may hold more than the top rung: a run's full-budget comparison.)"""
    members = sorted(trials.loc[trials["epochs"] == ladder[0], "arch_id"])
    rungs = []
    for budget in ladder:
        rung = trials[(trials["epochs"] == budget) & trials["arch_id"].isin(members)]
        rungs.append(rung)
        members = promote(rung, eta)
    return rungs


def rung_table(rungs: list[pd.DataFrame], train_images: int, classes: int) -> pd.DataFrame:
    """Per rung: its budget, how many it trained, the best and median validation accuracy of
    those that measured something (the one counting rule: diverged as chance, failed left out),
    and what it cost (epoch-images, training seconds)."""
    rows = []
    for number, rung in enumerate(rungs):
        scores = counted(rung, classes)["val_accuracy"]
        rows.append(
            {
                "rung": number,
                "epochs": int(rung["epochs"].iloc[0]) if len(rung) else 0,
                "candidates": len(rung),
                "diverged": int((rung["status"] == "diverged").sum()),
                "failed": int((rung["status"] == "failed").sum()),
                "best_val_accuracy": scores.max(),
                "median_val_accuracy": scores.median(),
                "epoch_images": int(rung["epochs"].sum()) * train_images,
                "train_seconds": rung["train_seconds"].sum(),
            }
        )
    return pd.DataFrame(rows)


def rung_correlations(rungs: list[pd.DataFrame], classes: int) -> pd.DataFrame:
    """Spearman correlation of validation accuracy between consecutive rungs, over the
    candidates the later rung trained (its promoted ones; counted by the one rule), with its
    bootstrap interval; NaN where fewer than MIN_RANKED candidates say nothing about an
    order."""
    rows = []
    for number in range(1, len(rungs)):
        later = counted(rungs[number], classes).set_index("arch_id")["val_accuracy"]
        earlier = counted(rungs[number - 1], classes).set_index("arch_id")["val_accuracy"]
        interval = rank_correlation_interval(earlier.reindex(later.index), later)
        rows.append((f"{number - 1}→{number}", len(later), *(interval or (np.nan,) * 3)))
    return pd.DataFrame(rows, columns=["rungs", "candidates", "spearman", "low", "high"])


def halving_comparison(
    trials: pd.DataFrame, brackets: list[list[pd.DataFrame]], ladder: list[int], train_images: int
) -> dict[str, float | str | int] | None:
    """What successive halving (or Hyperband: its brackets' top rungs together) bought against
    training every draw at the full budget, where the run did both
    (search.compare_full_budget); None otherwise."""
    full = trials[trials["epochs"] == ladder[-1]]
    rungs = [rung for bracket in brackets for rung in bracket]
    drawn = pd.concat([bracket[0]["arch_id"] for bracket in brackets])
    picks = ranked(pd.concat([bracket[-1] for bracket in brackets]))
    full_ranked = ranked(full)
    # Without an ok candidate at the top rung, or at the full budget, there is no pick to
    # compare (the report says which rungs trained what).
    if not set(drawn) <= set(full["arch_id"]) or picks.empty or full_ranked.empty:
        return None
    halving_pick = picks.iloc[0]
    full_best = full_ranked.iloc[0]
    halving_cost = sum(int(rung["epochs"].sum()) for rung in rungs) * train_images
    full_cost = len(drawn) * ladder[-1] * train_images
    affordable = max(1, halving_cost // (ladder[-1] * train_images))
    # The random-search baseline and the fidelity's rank correlation count trainings by the one
    # rule; the correlation is over the first bracket's rung 0 (every draw, for halving).
    classes = num_classes(full)
    curve = expected_best(scored_draws(full, classes)["score"].to_numpy())
    random_search_draws = int(min(affordable, len(curve)))
    low = counted(brackets[0][0], classes).set_index("arch_id")["val_accuracy"]
    high = counted(full, classes).set_index("arch_id")["val_accuracy"].reindex(low.index)
    return {
        "halving_pick": halving_pick["arch_id"],
        "halving_pick_val": float(halving_pick["val_accuracy"]),
        "halving_pick_test": float(halving_pick["test_accuracy"]),
        "full_best": full_best["arch_id"],
        "full_best_val": float(full_best["val_accuracy"]),
        "full_best_test": float(full_best["test_accuracy"]),
        "regret": float(full_best["val_accuracy"] - halving_pick["val_accuracy"]),
        "halving_rank_at_full": int(
            full_ranked.index[full_ranked["arch_id"] == halving_pick["arch_id"]][0] + 1
        ),
        "compute_ratio": halving_cost / full_cost,
        "seconds_ratio": sum(rung["train_seconds"].sum() for rung in rungs)
        / full["train_seconds"].sum(),
        "random_search_draws": random_search_draws,
        "random_search_expected": float(curve["expected_best"].iloc[random_search_draws - 1]),
        "random_search_expected_test": expected_pick_score(
            counted(full, classes), "test_accuracy", random_search_draws
        ),
        "fidelity_spearman": rank_correlation_interval(low, high),
        "fidelity_draws": len(low),
        "fidelity_low_epochs": int(brackets[0][0]["epochs"].iloc[0]),
        "draws": len(drawn),
        "full_epochs": ladder[-1],
    }


@dataclass(frozen=True)
class Fidelity:
    """Which trainings each statistic of a report uses, so that none mixes budgets: the
    ranking, Pareto fronts and winner at one budget, the statistics over every draw (EDF,
    expected best of n) at one budget, and the compute of every training the run made."""

    ranked_epochs: int
    ranked: pd.DataFrame
    draw_epochs: int
    # One training per draw at `draw_epochs`: what the statistics over draws use.
    draw_trainings: pd.DataFrame
    # How many draws the run made (`draw_trainings` may reach fewer).
    draw_count: int
    train_seconds: float


def choose_fidelity(
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
        ranked_rows = draw_trainings = frame
        draw_epochs, trainings = epochs, [frame]
        count = len(frame)
    else:
        ranked_rows = trials[trials["epochs"] == epochs]
        pool = (
            trials
            if grid is None
            else pd.concat([grid, trials]).drop_duplicates(["arch_id", "epochs"])
        )
        count = pool["arch_id"].nunique()
        # The highest budget among those with the most draws.
        measured = pool.groupby("epochs")["arch_id"].nunique()
        draw_epochs = int(measured[measured == measured.max()].index.max())
        draw_trainings = pool[pool["epochs"] == draw_epochs]
        if grid is not None and draw_epochs == epochs and measured.max() == count:
            ranked_rows = draw_trainings  # a dense grid trained every draw for the full budget
        trainings = [trials]
    if repeats is not None:
        trainings.append(repeats[repeats["seed"] != selecting_seed])
    return Fidelity(
        ranked_epochs=epochs,
        ranked=ranked_rows,
        draw_epochs=draw_epochs,
        draw_trainings=draw_trainings,
        draw_count=int(count),
        train_seconds=float(sum(rows["train_seconds"].sum() for rows in trainings)),
    )


@dataclass(frozen=True)
class Halving:
    """What a successive-halving run's trials say: its rungs and their cost, and the
    comparison with the full budget where the run has one. A Hyperband run's rungs are its
    brackets' in turn; `table` names each row's bracket."""

    ladder: list[int]
    train_images: int
    promoted: set[str]
    table: pd.DataFrame
    correlations: pd.DataFrame
    comparison: dict[str, float | str | int] | None
    # Its own picks, best first: the top rungs' trainings (strategy_picks).
    picks: pd.DataFrame


def brackets_as_promoted(
    trials: pd.DataFrame, config: Mapping[str, Any]
) -> list[list[pd.DataFrame]]:
    """The rungs of each bracket as the run promoted them: one bracket of every draw for
    successive halving, Hyperband's on their slices of the draw (by each row's `draw`)."""
    search, epochs = config["search"], config["training"]["epochs"]
    if search["strategy"] != "hyperband":
        ladder = budget_ladder(search["min_epochs"], search["eta"], epochs)
        return [rungs_as_promoted(trials, ladder, search["eta"])]
    slices = hyperband_slices(draw_size(config), search["min_epochs"], search["eta"], epochs)
    brackets = []
    for start, schedule in slices:
        members = trials[trials["draw"].between(start, start + schedule[0][0] - 1)]
        ladder = [budget for _, budget in schedule]
        brackets.append(rungs_as_promoted(members, ladder, search["eta"]))
    return brackets


def strategy_picks(trials: pd.DataFrame, config: Mapping[str, Any]) -> pd.DataFrame:
    """What successive halving (or Hyperband) picks, best first: its top rung's trainings
    (every bracket's), ranked by validation accuracy (ties: fewer FLOPs, then arch_id). A
    run's full-budget comparison trains more at the full budget; those are not its picks."""
    tops = [rungs[-1] for rungs in brackets_as_promoted(trials, config)]
    return ranked(pd.concat(tops, ignore_index=True).drop_duplicates("arch_id"))


def halving_analysis(trials: pd.DataFrame, config: Mapping[str, Any]) -> Halving:
    """The rungs of a successive-halving or Hyperband run as its config (search,
    training.epochs) made them."""
    search = config["search"]
    ladder = budget_ladder(search["min_epochs"], search["eta"], config["training"]["epochs"])
    images, classes = train_images(trials), num_classes(trials)
    brackets = brackets_as_promoted(trials, config)
    tables = [
        rung_table(rungs, images, classes).assign(bracket=number)
        for number, rungs in enumerate(brackets)
    ]
    table = pd.concat(tables, ignore_index=True)
    table = table[["bracket", *tables[0].columns.drop("bracket")]]
    if search["strategy"] != "hyperband":
        table = table.drop(columns="bracket")
    correlations = pd.concat(
        [rung_correlations(rungs, classes) for rungs in brackets], ignore_index=True
    )
    return Halving(
        ladder=ladder,
        train_images=images,
        promoted={
            arch_id for rungs in brackets for rung in rungs[1:] for arch_id in rung["arch_id"]
        },
        table=table,
        correlations=correlations,
        comparison=halving_comparison(trials, brackets, ladder, images),
        picks=strategy_picks(trials, config),
    )
