"""The sentences of a study of search strategies: each strategy's pick against the baseline's
at equal compute, on evidence that did not choose it, with its verdict (better, worse,
equivalent or inconclusive), its power against the study's delta, and what would decide."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from random_nas.analysis.intervals import Interval
from random_nas.analysis.searches import FLOPS, SELECTING, TEST, TRAININGS
from random_nas.analysis.strategies import Point
from random_nas.analysis.verdicts import EQUIVALENT, INCONCLUSIVE, Verdict
from random_nas.findings.common import evidence_name


def _percent(interval: Interval) -> str:
    return f"{100 * interval.mean:.2f} % ({100 * interval.low:.2f} to {100 * interval.high:.2f})"


def _points(interval: Interval, beside: str = "") -> str:
    return (
        f"{100 * interval.mean:+.2f} points ({100 * interval.low:+.2f} to "
        f"{100 * interval.high:+.2f}{beside})"
    )


def _compute(point: Point, baseline: Point, unit: str) -> str:
    """The compute in the study's unit, and what each side spent in the other."""
    worth = f"{point.compute:g} training{'s' * (point.compute != 1)}' worth"
    if unit == FLOPS:
        return (
            f"{worth} of FLOPs (what {baseline.label} spent in its first {point.compute:g} "
            f"with the same sampling seed; by then they had trained {point.spent_trainings:.1f} "
            f"and {baseline.spent_trainings:.1f} full trainings on average)"
        )
    return (
        f"{worth} (in FLOPs of {baseline.label}'s mean network, they spent "
        f"{point.spent_flops:.1f} and {baseline.spent_flops:.1f} on average)"
    )


def _together(point: Point, looks: int) -> str:
    family = point.judged.comparisons
    if family < 2:
        return ""
    together = point.together
    over = (
        f"the {family // looks} strategies' intervals at each of the study's {looks} looks"
        if looks > 1
        else f"the {family} strategies' intervals"
    )
    return (
        f"; {100 * together.low:+.2f} to {100 * together.high:+.2f} at "
        f"{100 * together.level:.1f} %, the level at which {over} hold at once with 95 %"
    )


def verdict_words(verdict: Verdict) -> str:
    """The outcome, what it was judged against, and how sure the judgement could be."""
    delta = f"{100 * verdict.delta:.2f} points"
    searches = verdict.interval.n
    power = (
        f"with {searches} searches, power {verdict.power:.2f} against a true difference of {delta}"
        if verdict.power == verdict.power
        else f"{searches} search{'es' * (searches != 1)} cannot estimate the spread"
    )
    if verdict.outcome == EQUIVALENT:
        outcome = f"equivalent within ±{delta}"
    elif verdict.outcome == INCONCLUSIVE:
        decide = (
            f"; about {verdict.needed} searches per strategy would decide"
            if verdict.needed is not None and verdict.needed > searches
            else "; no number of searches would, on these test images: their sampling alone "
            f"leaves ±{196 * np.sqrt(verdict.shared_variance):.2f} points"
            if verdict.needed is None and verdict.shared_variance > 0
            else ""
        )
        outcome = f"inconclusive at ±{delta}{decide}"
    else:
        outcome = verdict.outcome
    return f"{outcome} ({power})"


def strategy_sentence(point: Point, baseline: Point, unit: str = TRAININGS, looks: int = 1) -> str:
    """One strategy against the baseline at one compute on one evidence, its verdict judged
    with the study's other comparisons against the same baseline."""
    if point.difference.n < 2:
        return (
            f"{point.label} against {baseline.label} at {_compute(point, baseline, unit)}, on "
            f"{evidence_name(point.evidence)}: {point.difference.n} of the paired searches "
            "have this evidence for both picks, too few to judge (a pick is retrained with "
            "another seed where a search repeated it)."
        )
    return (
        f"{point.label} against {baseline.label} at {_compute(point, baseline, unit)}, on "
        f"{evidence_name(point.evidence)}: its pick scores {_percent(point.pick)} against "
        f"{_percent(baseline.pick)} (means over {point.pick.n} searches with independent "
        f"sampling seeds, 95 % t intervals), a difference of "
        f"{_points(point.difference, _together(point, looks))} paired by sampling seed: "
        f"{verdict_words(point.judged)}."
    )


def strategy_findings(
    points: Sequence[Point], baseline: str, unit: str = TRAININGS, looks: int = 1
) -> list[str]:
    """At the largest compute every search reached: each strategy against the baseline on
    the test accuracy and on every other seed's validation accuracy (evidence that did not
    choose), then on the validation accuracy that chose, which cannot confirm a choice."""
    final = max(point.compute for point in points)
    at_final = [point for point in points if point.compute == final]
    reference = {p.evidence: p for p in at_final if p.label == baseline}
    evidences = [TEST, *sorted({p.evidence for p in at_final} - {TEST, SELECTING}), SELECTING]
    lines = []
    for evidence in evidences:
        compared = [p for p in at_final if p.evidence == evidence and p.difference is not None]
        for point in compared:
            sentence = strategy_sentence(point, reference[evidence], unit, looks)
            if evidence == SELECTING:
                sentence += " This evidence chose the picks, so it cannot confirm them."
            lines.append(sentence)
    return lines


def curve_sentence(departures: dict[str, list[float]], baseline: str, unit: str) -> str:
    """What the anytime plot's lower row shows on test, read as curves."""
    opening = (
        f"Read as curves (the plot's lower row: each strategy's difference from {baseline}, "
        "paired by sampling seed, with a 95 % band that holds at every compute at once), on "
        "the test accuracy "
    )
    told = {label: computes for label, computes in departures.items() if computes}
    if not told:
        return (
            f"{opening}no strategy's band excludes zero at any compute: none is told from "
            f"{baseline} along its curve."
        )
    words = "trainings' worth" + (" of FLOPs" if unit == FLOPS else "")
    parts = [
        f"{label}'s band excludes zero at {', '.join(f'{c:g}' for c in computes)} {words}"
        for label, computes in told.items()
    ]
    return opening + "; ".join(parts) + "; every other strategy's spans zero throughout."
