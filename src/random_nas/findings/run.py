"""The sentences of a run's report: its Findings, and halving's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from random_nas.analysis.draws import (
    Z95,
    architecture_features,
    binomial_difference_se,
    expected_pick_score,
    mcnemar_exact,
)
from random_nas.analysis.fidelity import Fidelity
from random_nas.analysis.seeds import pooled_seed_sd, seed_rank_correlations, seed_statistics
from random_nas.correctness import unpack_correct
from random_nas.findings.common import (
    counting_note,
    epochs_text,
)
from random_nas.results import test_images


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
