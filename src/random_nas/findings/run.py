"""The sentences of a run's report: its Findings (a halving run's: random_nas.findings.halving)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from random_nas.analysis.draws import (
    architecture_features,
    expected_pick_score,
)
from random_nas.analysis.fidelity import Fidelity
from random_nas.analysis.leads import Lead, SeedLead, lead_on
from random_nas.analysis.seeds import SeedNoise, seed_noise, seed_rank_correlations
from random_nas.findings.common import (
    counting_note,
    epochs_text,
)
from random_nas.results import test_images


def _rank_of(ok: pd.DataFrame, arch_id: str, column: str) -> int:
    """1-based rank of `arch_id` among `ok` by `column`, cheapest first (ties share a rank)."""
    ranks = ok[column].rank(method="min")
    return int(ranks[ok["arch_id"] == arch_id].iloc[0])


def _validation_lead(lead: Lead | None) -> str:
    if lead is None:
        return ""
    if lead.paired:
        return (
            f" ({lead.only_first} of {lead.images:,} only the first classifies correctly, "
            f"{lead.only_second} only the second; exact McNemar p = {lead.p_value:.3f}"
        )
    return (
        f" (the 95 % interval of a difference of two independent accuracies on "
        f"{lead.images:,} images is ± {100 * lead.half_width:.2f} points; this table records "
        "no per-image correctness for a paired test"
    )


def _test_lead(lead: Lead, first: pd.Series, second: pd.Series) -> str:
    scores = (
        f"on the {lead.images:,} test images, which did not choose, {first['arch_id']} scores "
        f"{100 * first['test_accuracy']:.1f} % and {second['arch_id']} "
        f"{100 * second['test_accuracy']:.1f} % ({100 * lead.difference:+.2f} points"
    )
    verdict = "a lead beyond" if lead.beyond_noise else "no lead beyond"
    if lead.paired:
        return (
            f"{scores}; {lead.only_first} images only the first classifies correctly, "
            f"{lead.only_second} only the second, exact McNemar p = {lead.p_value:.3f}: "
            f"{verdict} noise at 5 %)"
        )
    return (
        f"{scores}, {verdict} the 95 % interval of a difference of two independent accuracies, "
        f"± {100 * lead.half_width:.2f}; this table records no per-image test correctness)"
    )


def single_seed_lead(
    first: pd.Series, second: pd.Series, val_size: int | None, test_size: int | None = None
) -> str:
    """How far the best leads the second, with one seed each (analysis.leads decides). The
    validation images chose them, so they can say the choice was close but confirm nothing;
    the verdict is the test images', which did not choose."""
    gap = first["val_accuracy"] - second["val_accuracy"]
    lead = (
        f"One seed per candidate: {first['arch_id']} leads {second['arch_id']} by "
        f"{100 * gap:.2f} points on the validation images that chose them"
    )
    untested = "; seed noise is not measured (config repeats.top_k)."
    on_validation = lead_on(first, second, "val", val_size)
    if on_validation is None:
        return lead + untested
    lead += _validation_lead(on_validation) + ", evidence that chose and cannot confirm)"
    on_test = lead_on(first, second, "test", test_size)
    if on_test is None:
        return lead + untested
    return f"{lead}; {_test_lead(on_test, first, second)}{untested}"


def _best_sentence(ok: pd.DataFrame, fidelity: Fidelity) -> str:
    best = ok.iloc[0]
    return (
        f"The best of the {len(ok)} ok architectures at {epochs_text(fidelity.ranked_epochs)}, "
        f"{best['arch_id']}, reaches "
        f"{100 * best['val_accuracy']:.1f} % validation and {100 * best['test_accuracy']:.1f} % "
        f"test accuracy; it ranks {_rank_of(ok, best['arch_id'], 'train_seconds')} of "
        f"{len(ok)} by training time and {_rank_of(ok, best['arch_id'], 'flops')} of {len(ok)} "
        "by FLOPs (1 = cheapest)."
    )


def _draws_sentence(scored: pd.DataFrame, fidelity: Fidelity) -> str:
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
        return (
            f"{counted} Every measured draw has the same validation error, "
            f"{100 * (1 - scored['score'].iloc[0]):.1f} %."
        )
    return (
        f"{counted} Half of the measured draws have a validation error of at most "
        f"{100 * (1 - scored['score'].median()):.1f} %, nine in ten of at most "
        f"{100 * (1 - scored['score'].quantile(0.1)):.1f} %."
    )


def _expected_sentence(scored: pd.DataFrame, curve: pd.DataFrame, fidelity: Fidelity) -> str:
    at = [n for n in (10, len(curve)) if n <= len(curve)]
    unbiased = " and ".join(
        f"{100 * curve['expected_best'].iloc[n - 1]:.2f} % at n = {n}" for n in at
    )
    replaced = " and ".join(f"{100 * curve['with_replacement'].iloc[n - 1]:.2f} %" for n in at)
    held_out = " and ".join(
        f"{100 * expected_pick_score(scored, 'test_accuracy', n):.2f} %" for n in at
    )
    return (
        f"Expected best of n random draws at {epochs_text(fidelity.draw_epochs)} (unbiased, "
        f"without replacement, over those draws), on the validation accuracy that picks: "
        f"{unbiased} (Dodge et al.'s with-replacement estimate reads {replaced}); the pick's "
        f"expected test accuracy, which did not pick it: {held_out}."
    )


def _noise_sentence(
    noise: SeedNoise, ok: pd.DataFrame, repeats: pd.DataFrame, selecting_seed: int,
    epochs: int,
) -> str:  # fmt: skip
    if not noise.freedom:
        return (
            f"Seed noise is not measured: the top {noise.candidates} candidates were retrained "
            f"with {len(noise.other_seeds)} seed besides the selecting seed {selecting_seed}, "
            "and the selecting seed's values estimate nothing; list two or more in repeats.seeds."
        )
    retrainings = repeats[repeats["seed"] != selecting_seed]["status"]
    counting = counting_note(
        int((retrainings == "diverged").sum()), int((retrainings == "failed").sum())
    )
    if noise.inflated:
        reading = "inflated by the winner's curse (below)."
    elif noise.noise_with_selecting > noise.noise:
        reading = "larger, though not from the winner's curse (below): the seeds simply differ."
    else:
        reading = "no larger: the selecting seed's values show no inflation here."
    return (
        f"Seed noise: over the top {noise.candidates} candidates at {epochs_text(epochs)}, "
        f"retrained with seeds {', '.join(map(str, noise.other_seeds))} ({counting}), the pooled "
        "seed-to-seed standard deviation of validation accuracy is "
        f"{100 * noise.noise:.2f} points ({noise.freedom} degrees of freedom), against "
        f"{100 * ok['val_accuracy'].std(ddof=1):.2f} points across the {len(ok)} architectures; "
        f"counting the selecting seed {selecting_seed} too would read "
        f"{100 * noise.noise_with_selecting:.2f} points ({noise.freedom_with_selecting} degrees "
        f"of freedom), {reading}"
    )


def _seed_sentences(noise: SeedNoise, winner: str) -> list[str]:
    means = (
        f"the top {noise.candidates} averaged {100 * noise.selected_mean:.2f} % with the seed "
        f"that selected them and {100 * noise.others_mean:.2f} % with the other seeds "
        f"({100 * (noise.others_mean - noise.selected_mean):+.2f} points)"
    )
    lines = [
        f"Winner's curse: {means}: the selecting seed flattered them."
        if noise.cursed
        else f"No winner's curse shows: {means}; the other seeds score them no lower."
    ]
    held = "is still" if noise.winner_by_mean == winner else "is not"
    spread = (
        f" ± {100 * noise.winner_by_mean_sd:.2f}"
        if np.isfinite(noise.winner_by_mean_sd)
        else f" with {noise.winner_by_mean_seeds} other seed"
    )
    lines.append(
        f"The single-seed winner {winner} {held} the winner by mean over the other seeds "
        f"({noise.winner_by_mean}: {100 * noise.winner_by_mean_accuracy:.2f} %{spread})."
    )
    return lines


def _seed_lead_sentence(lead: SeedLead) -> str:
    verdict = "larger than seed noise" if lead.beyond_noise else "within seed noise"
    return (
        f"By mean over the other seeds, {lead.first} leads {lead.second} by "
        f"{100 * lead.validation_gap:.2f} points of validation accuracy, the evidence that "
        f"ranked them; on their test accuracy, which did not, by {100 * lead.test_gap:+.2f} "
        f"points, with a standard error of {100 * lead.error:.2f} from the seeds' noise on test "
        f"({100 * lead.test_noise:.2f} points pooled, {lead.freedom} degrees of freedom; 95 % "
        f"interval ± {100 * lead.half_width:.2f}, t quantile): {verdict}."
    )


def _repeats_sentences(
    ok: pd.DataFrame, repeats: pd.DataFrame, selecting_seed: int, classes: int, epochs: int
) -> list[str]:
    noise = seed_noise(repeats, selecting_seed, classes)
    lines = [_noise_sentence(noise, ok, repeats, selecting_seed, epochs)]
    if np.isfinite(noise.others_mean) and np.isfinite(noise.selected_mean):
        lines += _seed_sentences(noise, ok.iloc[0]["arch_id"])
    pairs = seed_rank_correlations(repeats, classes, selecting_seed)
    if not pairs.empty:
        lines.append(
            f"Spearman rank correlation of the top {noise.candidates} between the other seeds: "
            + ", ".join(
                f"seeds {a} and {b}: {rho:.2f} (95 % bootstrap interval {low:.2f} to {high:.2f})"
                for a, b, rho, low, high in pairs.itertuples(index=False)
            )
            + "."
        )
    if noise.lead is not None:
        lines.append(_seed_lead_sentence(noise.lead))
    return lines


def _strides_sentence(ok: pd.DataFrame) -> str:
    strides = (
        pd.DataFrame(
            {"stride2": architecture_features(ok)["stride-2 layers"], "val": ok["val_accuracy"]}
        )
        .groupby("stride2")["val"]
        .agg(["median", "size"])
    )
    return (
        "Median validation accuracy by number of stride-2 layers: "
        + ", ".join(
            f"{count}: {100 * row['median']:.1f} % ({int(row['size'])})"
            for count, row in strides.iterrows()
        )
        + "."
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
    searched: str | None = None,
) -> list[str]:
    """The report's statements about the run, each worded from numbers and verdicts that
    random_nas.analysis computed from its tables: the README quotes them, and a test checks
    the quotes against a fresh render. `ok` is the ranked trainings at one budget, `scored`
    the draws at one budget; each statement says which. `searched`: the strategy that chose
    the architectures where they are not a uniform draw of the space (a live search), whose
    statistics over draws describe what it chose, not the space."""
    if ok.empty:
        return ["No candidate finished with status ok."]
    lines = [_best_sentence(ok, fidelity), _draws_sentence(scored, fidelity)]
    if searched is None:
        lines.append(_expected_sentence(scored, curve, fidelity))
    else:
        lines.append(
            f"These architectures are what {searched} chose, not a uniform draw of the space: "
            "their distribution and best-of-n describe its choices, and random search's "
            "expected best is not stated here (a study of strategies compares them)."
        )
    if repeats is not None and (repeats["status"] == "ok").any():
        lines += _repeats_sentences(ok, repeats, selecting_seed, classes, fidelity.ranked_epochs)
    elif len(ok) >= 2:
        lines.append(single_seed_lead(ok.iloc[0], ok.iloc[1], val_size, test_images(ok)))
    lines.append(_strides_sentence(ok))
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
