"""The sentences of a study of search spaces."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from random_nas.analysis.draws import (
    expected_best,
)
from random_nas.analysis.verdicts import INCONCLUSIVE, MOST_REPETITIONS, TARGET_POWER
from random_nas.findings.common import (
    counting_note,
    epochs_text,
)


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
            f"{_verdict(c, len(others))}; "
            f"{100 * scored['flops'].mean() / base['flops'].mean():.0f} % of the mean FLOPs "
            f"per draw ({100 * scored['flops'].median() / base['flops'].median():.0f} % of the "
            "median; training seconds are not compared: runs trained at other times share no "
            "machine load). The EDF bands of the plot are pointwise (90 % at each error), not "
            "simultaneous."
        )
    return lines


def _verdict(c: Mapping[str, float], comparisons: int) -> str:
    """The verdict on the means' difference by the studies' rule (analysis.verdicts)."""
    family = (
        f"at {100 * c['family_level']:.1f} %, so that the {comparisons} comparisons with the "
        "first run hold at once"
        if comparisons > 1
        else "at 95 %"
    )
    said = f"power {c['power']:.2f} against a true difference of that size"
    if c["verdict"] == INCONCLUSIVE and not c["power"] >= TARGET_POWER:
        needed = c["draws_needed"]
        said += (
            f"; about {needed:,.0f} draws per run would decide"
            if pd.notna(needed)
            else f"; more than {MOST_REPETITIONS:,} draws per run would decide"
        )
    return (
        f"the means' difference {family} runs from {100 * c['family_low']:+.2f} to "
        f"{100 * c['family_high']:+.2f} points (a t interval on the bootstrap's spread): "
        f"{c['verdict']} at ±{100 * c['delta']:.2f} points ({said})"
    )
