"""The sentences of the reports: each states numbers that random_nas.analysis computed from
the tables, and names the trainings (budget, draws, seeds) it stands on. The report pages lay
them out; the docs quote them, and tests check the quotes against a fresh render."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from random_nas.analysis.draws import (
    Z95,
    architecture_features,
    binomial_difference_se,
    expected_best,
    expected_pick_score,
    mcnemar_exact,
    scored_draws,
)
from random_nas.analysis.fidelity import Fidelity
from random_nas.analysis.replay import SELECTING, TEST, Grid, held_out
from random_nas.analysis.seeds import pooled_seed_sd, seed_rank_correlations, seed_statistics
from random_nas.correctness import unpack_correct
from random_nas.results import test_images


def epochs_text(count: int) -> str:
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def counting_note(diverged: int, failed: int) -> str:
    """How the one counting rule (analysis.draws.counted) took these trainings."""
    if not diverged and not failed:
        return "none diverged or failed"
    return f"{diverged} diverged, counted as chance; {failed} failed, left out"


def _rank_of(ok: pd.DataFrame, arch_id: str, column: str) -> int:
    """1-based rank of `arch_id` among `ok` by `column`, cheapest first (ties share a rank)."""
    ranks = ok[column].rank(method="min")
    return int(ranks[ok["arch_id"] == arch_id].iloc[0])


def single_seed_lead(
    first: pd.Series, second: pd.Series, val_size: int | None, test_size: int | None = None
) -> str:
    """How far the best leads the second, with one seed each. The validation images chose
    them, so they can say the choice was close but confirm nothing: an exact McNemar test on
    them where the table has each image's correctness (val_correct), else the interval of a
    difference of two independent accuracies. The verdict is the test images', which did not
    choose: the interval of the difference of the two test accuracies (`test_size` images)."""
    gap = first["val_accuracy"] - second["val_accuracy"]
    lead = (
        f"One seed per candidate: {first['arch_id']} leads {second['arch_id']} by "
        f"{100 * gap:.2f} points on the validation images that chose them"
    )
    untested = "; seed noise is not measured (config repeats.top_k)."
    if isinstance(first.get("val_correct"), str) and isinstance(second.get("val_correct"), str):
        images = int(val_size or 0)
        b, c, p_value = mcnemar_exact(
            unpack_correct(first["val_correct"], images),
            unpack_correct(second["val_correct"], images),
        )
        lead += (
            f" ({b} of {images:,} only the first classifies correctly, {c} only the second; exact "
            f"McNemar p = {p_value:.3f}"
        )
    elif val_size:
        error = binomial_difference_se(first["val_accuracy"], second["val_accuracy"], val_size)
        lead += (
            f" (the 95 % interval of a difference of two independent accuracies on {val_size:,} "
            f"images is ± {100 * Z95 * error:.2f} points; this table records no per-image "
            "correctness for a paired test"
        )
    else:
        return lead + untested
    lead += ", evidence that chose and cannot confirm)"
    tests = first.get("test_accuracy"), second.get("test_accuracy")
    if not test_size or not all(isinstance(value, float) and np.isfinite(value) for value in tests):
        return lead + untested
    test_gap = tests[0] - tests[1]
    error = binomial_difference_se(*tests, test_size)
    verdict = "a lead beyond" if test_gap > Z95 * error else "no lead beyond"
    return (
        f"{lead}; on the {test_size:,} test images, which did not choose, {first['arch_id']} "
        f"scores {100 * tests[0]:.1f} % and {second['arch_id']} {100 * tests[1]:.1f} % "
        f"({100 * test_gap:+.2f} points, {verdict} the 95 % interval of a difference of two "
        f"independent accuracies, ± {100 * Z95 * error:.2f}){untested}"
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


def run_findings(
    ok: pd.DataFrame,
    scored: pd.DataFrame,
    curve: pd.DataFrame,
    repeats: pd.DataFrame | None,
    val_size: int | None,
    correlation: tuple[float, float, float] | None,
    selecting_seed: int,
    fidelity: Fidelity,
    classes: int,
) -> list[str]:
    """The report's statements about the run, each computed here from its tables: the README
    quotes them, and a test checks the quotes against a fresh render. `ok` is the ranked
    trainings at one budget, `scored` the draws at one budget; each statement says which."""
    lines: list[str] = []
    if ok.empty:
        return ["No candidate finished with status ok."]
    best = ok.iloc[0]
    lines.append(
        f"The best of the {len(ok)} ok architectures at {epochs_text(fidelity.ranked_epochs)}, "
        f"{best['arch_id']}, reaches "
        f"{100 * best['val_accuracy']:.1f} % validation and {100 * best['test_accuracy']:.1f} % "
        f"test accuracy; it ranks {_rank_of(ok, best['arch_id'], 'train_seconds')} of "
        f"{len(ok)} by training time and {_rank_of(ok, best['arch_id'], 'flops')} of {len(ok)} "
        "by FLOPs (1 = cheapest)."
    )
    failed = int((fidelity.draw_trainings["status"] == "failed").sum())
    diverged = int((fidelity.draw_trainings["status"] == "diverged").sum())
    reached = int(fidelity.draw_trainings["arch_id"].nunique())
    of_all = (
        f" of the run's {fidelity.draw_count} (no budget has every draw; this one has the most)"
        if reached < fidelity.draw_count
        else ""
    )
    counted = (
        f"{len(scored)} draws{of_all} are measured at {epochs_text(fidelity.draw_epochs)} "
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
    held_out = " and ".join(
        f"{100 * expected_pick_score(scored, 'test_accuracy', n):.2f} %" for n in at
    )
    lines.append(
        f"Expected best of n random draws at {epochs_text(fidelity.draw_epochs)} (unbiased, "
        f"without replacement, over those draws), on the validation accuracy that picks: "
        f"{unbiased} (Dodge et al.'s with-replacement estimate reads {replaced}); the pick's "
        f"expected test accuracy, which did not pick it: {held_out}."
    )
    if repeats is not None and (repeats["status"] == "ok").any():
        seeds = seed_statistics(repeats, selecting_seed, classes)
        noise, freedom = pooled_seed_sd(repeats, classes, selecting_seed)
        with_selecting, with_freedom = pooled_seed_sd(repeats, classes)
        spread = ok["val_accuracy"].std(ddof=1)
        others = sorted(set(repeats["seed"]) - {selecting_seed})
        retrainings = repeats[repeats["seed"] != selecting_seed]["status"]
        counting = counting_note(
            int((retrainings == "diverged").sum()), int((retrainings == "failed").sum())
        )
        if freedom:
            lines.append(
                f"Seed noise: over the top {len(seeds)} candidates at "
                f"{epochs_text(fidelity.ranked_epochs)}, retrained with seeds "
                f"{', '.join(map(str, others))} ({counting}), the pooled seed-to-seed "
                "standard deviation of "
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
        spread = (
            f" ± {100 * by_mean['val_sd']:.2f}"
            if pd.notna(by_mean["val_sd"])
            else f" with {int(by_mean['seeds'])} other seed"
        )
        lines.append(
            f"The single-seed winner {winner} {held} the winner by mean over the other seeds "
            f"({by_mean['arch_id']}: {100 * by_mean['val_mean']:.2f} %{spread})."
        )
        pairs = seed_rank_correlations(repeats, classes, selecting_seed)
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
        test_noise, test_freedom = pooled_seed_sd(repeats, classes, selecting_seed, "test_accuracy")
        if len(seeds) >= 2 and test_freedom:
            # The other seeds' validation means ranked these two first: their test accuracy,
            # which ranked nothing, judges the lead.
            first, second = seeds.iloc[0], seeds.iloc[1]
            gap = first["test_mean"] - second["test_mean"]
            error = test_noise * np.sqrt(1 / first["seeds"] + 1 / second["seeds"])
            verdict = "larger than seed noise" if gap > Z95 * error else "within seed noise"
            lines.append(
                f"By mean over the other seeds, {first['arch_id']} leads {second['arch_id']} by "
                f"{100 * (first['val_mean'] - second['val_mean']):.2f} points of validation "
                "accuracy, the evidence that ranked them; on their test accuracy, which did not, "
                f"by {100 * gap:+.2f} points, with a standard error of {100 * error:.2f} from the "
                f"seeds' noise on test ({100 * test_noise:.2f} points pooled, {test_freedom} "
                f"degrees of freedom; 95 % interval ± {100 * Z95 * error:.2f}): {verdict}."
            )
    elif len(ok) >= 2:
        lines.append(single_seed_lead(ok.iloc[0], ok.iloc[1], val_size, test_images(ok)))
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
        (
            "Hyperband (diverged trainings count as chance, failed ones are left out): "
            if hyperband
            else "Successive halving (diverged trainings count as chance, failed ones are left "
            "out): "
        )
        + "; ".join(
            (f"bracket {bracket}: " if hyperband else "")
            + (", " if hyperband else "; ").join(
                f"rung {row.rung} trained {row.candidates} for {epochs_text(row.epochs)} "
                f"(best {100 * row.best_val_accuracy:.1f} %"
                + (
                    f"; {counting_note(row.diverged, row.failed)}"
                    if row.diverged or row.failed
                    else ""
                )
                + ")"
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
            f"of {100 * c['regret']:.1f} points on the validation accuracy that chose both; on "
            f"the test images, which chose neither, {100 * c['halving_pick_test']:.1f} % against "
            f"{100 * c['full_best_test']:.1f} %.",
            f"{name} used {100 * c['compute_ratio']:.0f} % of the epoch-images and "
            f"{100 * c['seconds_ratio']:.0f} % of the training seconds of the full-budget run.",
            f"With the same compute, plain random search at the full budget trains "
            f"{c['random_search_draws']} draws, whose expected best is "
            f"{100 * c['random_search_expected']:.1f} % (unbiased, over this run's draws) on the "
            "validation accuracy that picks it, and whose pick's expected test accuracy, which "
            f"did not, is {100 * c['random_search_expected_test']:.1f} %.",
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


def study_findings(
    runs: Mapping[str, pd.DataFrame],
    epochs: int,
    streams: Mapping[str, int],
    failed: Mapping[str, int],
    comparisons: Mapping[str, Mapping[str, float]],
) -> list[str]:
    """The verdicts of a study of runs (label: their scored draws at `epochs`, each drawn
    with the sampling seed `streams` gives, one seed a run, `failed` of its draws left out):
    each run's distribution, and each later run against the first, as independent samples
    (`comparisons`: label: what analysis.draws.compare_distributions found against the first
    run)."""
    lines = []
    for label, scored in runs.items():
        score = scored["score"].to_numpy()
        curve = expected_best(score)
        at_ten = curve["expected_best"].iloc[min(10, len(curve)) - 1]
        lines.append(
            f"{label}: {len(score)} draws at {epochs_text(epochs)} (sampling seed "
            f"{streams[label]}; "
            f"{counting_note(int((scored['status'] == 'diverged').sum()), failed[label])}), "
            "median validation error "
            f"{100 * (1 - np.median(score)):.2f} %, nine in ten below "
            f"{100 * (1 - np.quantile(score, 0.1)):.2f} %; expected best of "
            f"{min(10, len(curve))} {100 * at_ten:.2f} %, best of all {100 * score.max():.2f} %; "
            f"{scored['flops'].mean() / 1e6:.1f} MFLOPs per draw on average, median "
            f"{scored['flops'].median() / 1e6:.1f}."
        )
    (base_label, base), *others = runs.items()
    for label, scored in others:
        c = comparisons[label]
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


def _slashed(values, form: str) -> str:
    return " / ".join(form.format(value) for value in values)


def evidence_name(evidence: str) -> str:
    if evidence == SELECTING:
        return "the full-budget validation accuracy that chose"
    if evidence == TEST:
        return "the test accuracy"
    return f"the full-budget validation accuracy under training seed {evidence.split('_')[-1]}"


def replay_findings(table: pd.DataFrame, grid: Grid, full_training: int) -> list[str]:
    """The replay's verdicts, judged on evidence that did not choose the picks: how often
    halving and Hyperband pick better than random search at the same compute and by how much,
    with standard errors, at the computes where no strategy draws more than half the grid;
    and the same on the validation accuracy that chose, for comparison."""
    simulations = int(table["simulations"].iloc[0]) if len(table) else 0
    evidences = held_out(grid)
    lines = [
        f"Replayed {simulations:,} times per compute budget on the grid's {grid.size} draws "
        f"(budgets {', '.join(map(str, grid.budgets))} epochs); every strategy draws a prefix of "
        "one shared random order of the draws per simulation, so that outcomes are paired. A "
        "pick is made on the full-budget validation accuracy and scored on evidence that did "
        f"not choose it: {' and '.join(map(evidence_name, evidences))} (a diverged training "
        "counts as chance on every evidence; a draw with a failed training is left out of the "
        "grid). Compute is a cap in full-budget trainings' worth of epoch-images, beside what "
        "each strategy spent; ± is one standard error over the simulations. Shown: the computes "
        f"at which neither strategy compared draws more than half the grid's {grid.size}; "
        "beyond, both see most of it (replay.csv has every compute)."
    ]
    rows = table[table["draws"] <= grid.size / 2]
    random_search = rows[rows["strategy"] == "random_search"]
    for strategy, name in (
        ("successive_halving", "Successive halving"),
        ("hyperband", "Hyperband"),
    ):
        ours = rows[rows["strategy"] == strategy]
        ours = ours[ours["compute_epoch_images"].isin(random_search["compute_epoch_images"])]
        if ours.empty:
            continue
        chosen = ours[ours["evidence"] == SELECTING]
        base = (
            random_search[random_search["evidence"] == SELECTING]
            .set_index("compute_epoch_images")
            .loc[chosen["compute_epoch_images"]]
        )
        brackets = (
            f"; brackets run (by s, | ends an iteration): {_slashed(chosen['brackets'], '{}')}"
            if strategy == "hyperband"
            else ""
        )
        parts = [
            f"{name} against random search at equal compute (cap "
            f"{_slashed(chosen['compute_epoch_images'] / full_training, '{:g}')} full trainings, "
            f"spent {_slashed(chosen['compute_spent_epoch_images'] / full_training, '{:.2g}')} "
            f"against {_slashed(base['compute_spent_epoch_images'] / full_training, '{:.2g}')}; "
            f"{_slashed(chosen['draws'], '{}')} draws against {_slashed(base['draws'], '{}')}"
            f"{brackets})"
        ]
        for evidence in evidences:
            judged = ours[ours["evidence"] == evidence]
            against = (
                random_search[random_search["evidence"] == evidence]
                .set_index("compute_epoch_images")
                .loc[judged["compute_epoch_images"]]
            )
            parts.append(
                f"on {evidence_name(evidence)}, it picks better in "
                + " / ".join(
                    f"{100 * p:.0f} ± {100 * se:.0f} %"
                    for p, se in zip(
                        judged["p_beats_random_search"],
                        judged["p_beats_random_search_se"],
                        strict=True,
                    )
                )
                + " of the paired simulations (ties half), mean best "
                + _slashed(100 * judged["mean_best_accuracy"], "{:.2f}")
                + " % against "
                + _slashed(100 * against["mean_best_accuracy"], "{:.2f}")
                + " % (difference "
                + " / ".join(
                    f"{100 * d:+.2f} ± {100 * se:.2f}"
                    for d, se in zip(
                        judged["mean_difference"], judged["mean_difference_se"], strict=True
                    )
                )
                + " points)"
            )
        parts.append(
            f"judged on {evidence_name(SELECTING)}, it would seem to pick better in "
            + _slashed(100 * chosen["p_beats_random_search"], "{:.0f}")
            + " %"
        )
        lines.append(": ".join(parts[:2]) + "; " + "; ".join(parts[2:]) + ".")
    return lines


def verification_basis(joint: Mapping[str, Any], selecting_seed: int, val_size: int) -> str:
    """The evidence a verification judged its candidates on, and the noise it assumed."""
    if joint["freedom"]:
        return (
            f"the mean of each candidate's seeds other than the selecting seed {selecting_seed} "
            "(repeats.parquet; the selecting seed's values carry the winner's curse), with its "
            "own seed-to-seed standard deviation combined with the run's pooled "
            f"{100 * joint['pooled']:.2f} points by degrees of freedom ({joint['freedom']}; "
            "t quantiles)"
        )
    return (
        "each candidate's published value, with the binomial standard error of an "
        f"accuracy on the run's {val_size:,} validation images as its seed noise (the run "
        "measured none: that needs repeats with two or more seeds besides the selecting "
        "one); the winner's values were selected, and its tolerance below allows for it"
    )


def verification_lines(
    name: str,
    table: pd.DataFrame,
    joint: Mapping[str, Any],
    basis: str,
    found_in_store: int,
) -> list[str]:
    """The verdict of a verification (verification.md): how many agree and on what evidence,
    its power, the joint test, where the retrainings came from, and the table."""
    agreeing, exact = int(table["agrees"].sum()), int(table["exact"].sum())
    verdict = (
        "consistent with the published table"
        if joint["holds"]
        else "the published table does not hold here"
    )
    reasons = [
        f"{joint['unmeasured']} retraining(s) failed, each a disagreement"
        if joint["unmeasured"]
        else "",
        f"{joint['diverged']} retraining(s) diverged, each counted as chance"
        if joint["diverged"]
        else "",
        f"{joint['implausible']} published value(s) sit above their evidence by more than "
        "selection explains"
        if joint["implausible"]
        else "",
    ]
    test = (
        f"F = {joint['statistic'] / joint['candidates']:.2f} on {joint['candidates']} and "
        f"{joint['freedom']} degrees of freedom"
        if joint["freedom"]
        else f"chi-square {joint['statistic']:.2f} on {joint['candidates']} degrees of freedom"
    )
    return [
        f"# Verification of the published run {name}\n",
        f"{agreeing} of {len(table)} retrained candidates agree with the published table; "
        f"{exact} of {len(table)} are identical trainings (the same validation images right and "
        "wrong, the same losses), which confirm their rows.\n",
        f"Evidence: {basis}. A candidate agrees when its retraining is within 1.96 standard "
        "errors of its evidence (its tolerance) and its published value exceeds that evidence by "
        "no more than the best of the run's draws could by seed noise alone (its selection "
        "allowance).\n",
        f"Power: a retraining off its evidence by {100 * table['detectable_shift'].min():.2f} "
        f"points or more ({100 * table['detectable_shift'].max():.2f} for the noisiest of these "
        "candidates) is found not to agree four times in five.\n",
        (
            f"Joint test over the {joint['candidates']} retrained candidates compared with "
            f"unselected evidence: {test}, p = {joint['p_value']:.3f}"
            if joint["candidates"]
            else "No candidate is compared with unselected evidence"
        )
        + "; ".join(["", *filter(None, reasons)])
        + f": {verdict}.\n",
        f"Retrained entries of the store: {found_in_store} of {len(table)} were already in the "
        "store when this verification selected them (trained by a run with the same recipe and "
        "seed, or by an earlier verification), so they are only as independent as that "
        "training.\n",
        f"Published on: {'; '.join(sorted(set(table['published_hardware'].dropna())))}.",
        f"Retrained on: {'; '.join(sorted(set(table['hardware'].dropna())))}.\n",
        "| arch_id | published val acc % | evidence % (seeds) | here % | difference (points) | "
        "tolerance | detectable shift | published above evidence | allowance | agrees |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {row.arch_id} | {100 * row.published_val_accuracy:.2f} | "
            f"{100 * row.reference_val_accuracy:.2f} "
            f"({row.reference_seeds or 'published'}) | "
            + (
                f"{row.status} | —"
                if row.status == "failed"
                else f"{100 * row.val_accuracy:.2f}"
                + (" (diverged: chance)" if row.status == "diverged" else "")
                + f" | {100 * row.difference:+.2f}"
            )
            + f" | {100 * row.tolerance:.2f} | {100 * row.detectable_shift:.2f} | "
            + (f"{100 * row.selection_gap:+.2f}" if pd.notna(row.selection_gap) else "—")
            + f" | {100 * row.selection_allowance:.2f} | {'yes' if row.agrees else 'NO'} |"
            for row in table.itertuples()
        ),
    ]
