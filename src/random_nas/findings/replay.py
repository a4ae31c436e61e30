"""The sentences of a dense grid's replay of strategies."""

from __future__ import annotations

import pandas as pd

from random_nas.analysis.replay import SELECTING, TEST, Grid, held_out
from random_nas.analysis.replay_table import OVER_REPLAYS
from random_nas.analysis.verdicts import INCONCLUSIVE, MOST_REPETITIONS, TARGET_POWER
from random_nas.findings.common import _slashed, evidence_name

# How the replay's table names what it simulates, in a word or two.
SHORT_NAMES = {
    "successive_halving": "successive halving",
    "hyperband": "Hyperband",
    "asha": "ASHA (Syne Tune)",
    "regularized_evolution": "regularized evolution",
    "local_search": "local search",
    "tpe": "TPE",
}
# How the replay names what it simulates.
NAMES = {
    "successive_halving": "Synchronous successive halving (each rung waits for the whole "
    "rung before it; sized to the compute)",
    "hyperband": "Hyperband (synchronous halving in Li et al.'s brackets)",
    "asha": "Asynchronous successive halving (Syne Tune's ASHA scheduler, one trial at a time, "
    "a promoted trial retrained from scratch at its next budget)",
    "regularized_evolution": "Regularized evolution (its live search, replayed)",
    "local_search": "Local search (its live search, replayed)",
    "tpe": "TPE (its live search, replayed)",
}


def replay_preamble(table: pd.DataFrame, grid: Grid) -> str:
    if grid.enumerated:
        return enumerated_preamble(table, grid)
    simulations = int(table["simulations"].max()) if len(table) else 0
    resamples = int(table["resamples"].max()) if len(table) else 0
    return (
        f"Replayed on the grid's {grid.size} draws (budgets {', '.join(map(str, grid.budgets))} "
        f"epochs): {simulations:,} simulations per compute, each on one random order of the "
        "draws shared by every strategy (outcomes are paired) with ties between equal "
        "validation accuracies broken at random; then the grid's architectures resampled "
        f"{resamples} times with replacement, 50 orders each. A pick is made on the full-budget "
        "validation accuracy and scored on evidence that did not choose it: "
        f"{' and '.join(map(evidence_name, held_out(grid)))} (a diverged training counts as "
        "chance on every evidence; a draw with a failed training is left out of the grid). "
        "Compute is a cap in full-budget trainings' worth of epoch-images, beside what each "
        "strategy spent (a training at a lower budget costs its share). Each difference from "
        "random search is judged by its interval over resampled architectures, which says how "
        "much the answer would move had other architectures of the space been drawn: "
        f"{_family_text(table)} Strategies run by others (ASHA, ask/tell) use a tenth of the "
        "simulations and resamples, their random search paired on the same orders. Shown: "
        "the computes at which neither strategy met more than half the grid's draws; beyond, "
        "both see most of it (replay.csv has every compute)."
    )


def enumerated_preamble(table: pd.DataFrame, grid: Grid) -> str:
    simulations = int(table["simulations"].max()) if len(table) else 0
    return (
        f"Replayed on the whole space, all {grid.size:,} of its architectures trained at "
        f"{', '.join(map(str, grid.budgets))} epochs: {simulations:,} replays per compute, "
        "replay r the search of sampling seed `seed` + r (the run's seed), shared by every "
        "strategy (outcomes are paired): random search trains that seed's first draws, as a "
        "live run of it does, and an ask/tell strategy is built, asked one training at a time "
        "through the door and told "
        "as a live search's checkpoints do, each training read from the table "
        "(search_run.replayed_batches); ties between equal validation accuracies are broken at "
        "random. A pick is made on the full-budget validation accuracy and scored on evidence "
        f"that did not choose it: {' and '.join(map(evidence_name, held_out(grid)))}; regret is "
        "its distance to the space's best on that evidence (replay.csv). Compute is a cap in "
        "full-budget trainings, whatever the network's size (a training at a lower budget costs "
        "its share). The table that chose "
        "is held fixed: each difference from random search is judged over the paired replays "
        "(which architectures each search met), its error adding the noise of the held-out "
        f"measurements the picks are scored on ({_noise_text(grid)}), weighed by how often "
        f"each architecture is picked: {_family_text(table)} Shown: the computes at which no "
        "strategy met more "
        "than half the space (replay.csv has every compute)."
    )


def _noise_text(grid: Grid) -> str:
    if any(name.startswith("validation_seed_") for name in grid.scores):
        return (
            "each architecture's own: its training seed's, from its seeds at the full "
            "budget, and on test its images' besides"
        )
    return "on test its images'; with one training seed, a seed's noise is not in it"


def _family_text(table: pd.DataFrame) -> str:
    judged = table.dropna(subset=["family_level"])
    if judged.empty:
        return "with no resamples, nothing is judged."
    level, delta = judged["family_level"].iloc[0], judged["delta"].iloc[0]
    comparisons = round(0.05 / (1 - level))
    return (
        f"a t interval at {100 * level:.1f} % (Bonferroni: {comparisons} strategies against "
        "random search hold at once with 95 %) says better or worse where it excludes zero, "
        f"equivalent where it lies within ±{100 * delta:.2f} points (about one training's seed "
        "noise), else inconclusive, with its power against a true difference of that size and "
        f"{_deciding(table)} (the verdicts of the studies, analysis.verdicts)."
    )


def _deciding(table: pd.DataFrame) -> str:
    if (table.get("judged_over") == OVER_REPLAYS).any():
        return "the replays that would decide"
    return "the size of a grid whose replay would decide"


def verdict_text(row: pd.Series) -> str:
    """The verdict with its power against delta and, where inconclusive, the grid that
    would decide."""
    if not isinstance(row.get("verdict"), str):
        return "not judged (no resamples)"
    said = [f"power {row['power']:.2f}"] if pd.notna(row["power"]) else []
    # An inconclusive verdict at 80 % power or more: the true difference lies between 0 and
    # delta, likely; a larger grid is not what it lacks.
    if row["verdict"] == INCONCLUSIVE and not row["power"] >= TARGET_POWER:
        needed = row["draws_needed"]
        if row.get("judged_over") == OVER_REPLAYS:
            said.append(
                f"about {needed:,.0f} replays would decide"
                if pd.notna(needed)
                else "no number of replays would: the held-out measurements' noise stays"
            )
        else:
            said.append(
                f"a grid of about {needed:,.0f} draws would decide"
                if pd.notna(needed)
                else f"a grid of more than {MOST_REPETITIONS:,} draws would decide"
            )
    return row["verdict"] + (f" ({'; '.join(said)})" if said else "")


def _evidence_part(judged: pd.DataFrame, evidence: str) -> str:
    regret = ""
    if (judged.get("judged_over") == OVER_REPLAYS).all():
        regret = (
            ", median regret to the space's best "
            + _slashed(100 * judged["median_regret"], "{:.2f}")
            + " points"
        )
    return (
        f"on {evidence_name(evidence)}, it picks better in "
        + " / ".join(
            f"{100 * p:.0f} %"
            + (f" ({100 * low:.0f} to {100 * high:.0f})" if pd.notna(low) else "")
            for p, low, high in zip(
                judged["p_beats_random_search"],
                judged["p_beats_low"],
                judged["p_beats_high"],
                strict=True,
            )
        )
        + " of the paired simulations (ties half), mean best "
        + _slashed(100 * judged["mean_best_accuracy"], "{:.2f}")
        + " % against "
        + _slashed(100 * judged["baseline_mean_best_accuracy"], "{:.2f}")
        + " % (random search in the same orders)"
        + regret
    )


def strategy_line(rows: pd.DataFrame, random_search: pd.DataFrame, strategy: str,
                  evidences: list[str], full_training: int) -> str | None:  # fmt: skip
    """One strategy against random search at the shown computes, on every evidence."""
    ours = rows[rows["strategy"] == strategy]
    ours = ours[ours["compute_epoch_images"].isin(random_search["compute_epoch_images"])]
    if ours.empty:
        return None
    chosen = ours[ours["evidence"] == SELECTING]

    def base(evidence: str) -> pd.DataFrame:
        at = random_search[random_search["evidence"] == evidence]
        return at.set_index("compute_epoch_images").loc[chosen["compute_epoch_images"]]

    spent = chosen["compute_spent_epoch_images"] / full_training
    baseline_spent = base(SELECTING)["compute_spent_epoch_images"] / full_training
    brackets = (
        f"; brackets run (by s, | ends an iteration): {_slashed(chosen['brackets'], '{}')}"
        if strategy == "hyperband"
        else ""
    )
    head = (
        f"{NAMES.get(strategy, strategy)} against random search at equal compute (cap "
        f"{_slashed(chosen['compute_epoch_images'] / full_training, '{:g}')} full trainings, "
        f"spent {' / '.join(map(_trainings, spent))} "
        f"against {' / '.join(map(_trainings, baseline_spent))}; "
        f"{_slashed(chosen['draws'], '{:.3g}')} draws against "
        f"{_slashed(base(SELECTING)['draws'], '{:.3g}')}{brackets})"
    )
    parts = [
        _evidence_part(ours[ours["evidence"] == evidence].reset_index(), evidence)
        for evidence in evidences
    ]
    ties = _slashed(100 * chosen["p_beats_flops_ties"], "{:.0f}")
    parts.append(
        f"judged on {evidence_name(SELECTING)}, it would seem to pick better in "
        + _slashed(100 * chosen["p_beats_random_search"], "{:.0f}")
        + f" % (with the run's tie rule, fewer FLOPs, {ties} %)"
    )
    return f"{head}: " + "; ".join(parts) + "."


def replay_findings(table: pd.DataFrame, grid: Grid, full_training: int) -> list[str]:
    """The replay's verdicts, judged on evidence that did not choose the picks, each with its
    interval over resampled architectures, at the computes where no strategy met more than
    half the grid; a line saying so where no compute qualifies."""
    lines = [replay_preamble(table, grid)]
    rows = table[table["draws"] <= grid.size / 2]
    random_search = rows[rows["strategy"] == "random_search"]
    others = [name for name in dict.fromkeys(rows["strategy"]) if name != "random_search"]
    for strategy in others:
        line = strategy_line(rows, random_search, strategy, held_out(grid), full_training)
        if line is not None:
            lines.append(line)
    if len(lines) == 1:
        lines.append(
            f"No compute qualifies: on a grid of {grid.size} draws no strategy but random "
            "search fits within half of them (replay.csv has every compute)."
        )
    return lines


def _difference_cell(row: pd.Series) -> str:
    if not isinstance(row.get("verdict"), str):
        return f"{100 * row['mean_difference']:+.2f}"
    return (
        f"{100 * row['mean_difference']:+.2f} ({100 * row['family_low']:+.2f} to "
        f"{100 * row['family_high']:+.2f})"
    )


def replay_glance(table: pd.DataFrame, grid: Grid, full_training: int) -> list[str]:
    """The replay's verdicts as a Markdown table: a row per strategy and compute shown, its
    pick's mean difference from random search's in points on each held-out evidence with the
    family-level interval over resampled architectures, and the verdict it gives."""
    rows = table[table["draws"] <= grid.size / 2]
    baseline = rows[rows["strategy"] == "random_search"]
    evidences = held_out(grid)
    names = [
        "test" if evidence == TEST else f"validation, training seed {evidence.split('_')[-1]}"
        for evidence in evidences
    ]
    levels = rows["family_level"].dropna()
    level = f" ({100 * levels.iloc[0]:.1f} %)" if len(levels) else ""
    lines = [
        "| strategy | compute (trainings) | spent | draws | "
        + " | ".join(f"{name}: difference, points{level} | verdict" for name in names)
        + " |",
        "|" + " --- |" * (4 + 2 * len(evidences)),
    ]
    ours = rows[rows["compute_epoch_images"].isin(baseline["compute_epoch_images"])]
    for strategy in [name for name in dict.fromkeys(ours["strategy"]) if name != "random_search"]:
        judged = ours[ours["strategy"] == strategy].set_index(["compute_epoch_images", "evidence"])
        for compute in dict.fromkeys(judged.index.get_level_values(0)):
            chosen = judged.loc[(compute, SELECTING)]
            cells = [
                SHORT_NAMES.get(strategy, strategy),
                f"{compute / full_training:g}",
                _trainings(chosen["compute_spent_epoch_images"] / full_training),
                f"{chosen['draws']:.3g}",
            ]
            for evidence in evidences:
                row = judged.loc[(compute, evidence)]
                cells += [_difference_cell(row), verdict_text(row)]
            lines.append("| " + " | ".join(cells) + " |")
    return lines if len(lines) > 2 else []


def _trainings(spent: float) -> str:
    """Trainings' worth spent, to two significant digits below a hundred, whole above."""
    return f"{spent:.2g}" if spent < 100 else f"{spent:.0f}"
