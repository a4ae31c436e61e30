"""`random-nas plan-study STUDY.yaml [--pilot PILOT.yaml]`: before a study of strategies
trains, how many searches each strategy needs for 80 % power against the study's delta, and
what they would cost here, from a pilot's searches (the study's own, where some have run, or
another study's, such as a published one)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from random_nas.analysis.searches import TEST
from random_nas.analysis.verdicts import TARGET_POWER, family_level, needed
from random_nas.report.strategies import judged_points, read_searches
from random_nas.studies import StrategyStudy, read_study, strategy_study


def paired_spreads(pilot: StrategyStudy) -> tuple[dict[str, float], float, list]:
    """Each strategy's spread of paired differences from the baseline on test at the
    pilot's largest compute, that compute, and the pilot's searches."""
    searches, classes = read_searches(pilot)
    points = [
        p
        for p in judged_points(pilot, searches, classes, pilot.compute)
        if p.evidence == TEST and p.judged is not None
    ]
    final = max(p.compute for p in points)
    return {p.label: p.judged.spread for p in points if p.compute == final}, final, searches


def plan_study(study_path: Path, pilot_path: Path | None = None) -> str:
    """The plan, as Markdown: per strategy, the pilot's spread, the searches that reach 80 %
    power against delta at the study's family level, and their cost here."""
    study = strategy_study(read_study(study_path), study_path)
    pilot_file = pilot_path or study_path
    pilot = strategy_study(read_study(pilot_file), pilot_file).grown()
    spreads, final, searches = paired_spreads(pilot)
    comparisons = len(study.strategies) - 1
    level = family_level(comparisons)
    seconds = pd.Series(
        {(s.label, s.seed): float(s.trainings["train_seconds"].sum()) for s in searches}
    )
    trainings = pd.Series({(s.label, s.seed): len(s.trainings) for s in searches})
    per_search = float(seconds.mean())
    machine = pd.concat([s.trainings["hardware"] for s in searches]).mode().iloc[0]
    lines = [
        f"# Plan of {study_path}: searches per strategy for {100 * TARGET_POWER:.0f} % "
        f"power against ±{100 * study.delta:.2f} points on test",
        "",
        f"From the pilot {pilot_file} ({len(pilot.sampling_seeds)} sampling seeds, its "
        f"largest compute {final:g} trainings' worth counted in {pilot.compute}): each "
        "strategy's standard deviation of paired differences from "
        f"{pilot.baseline} on test, and the searches per strategy at which a t interval at "
        f"{100 * level:.1f} % ({comparisons} comparisons, Bonferroni) finds a true difference "
        "of delta with that probability (noncentral t, the pilot's spread standing for the "
        "true one; a pilot of few searches estimates it roughly). Cost here: a search "
        f"trained {trainings.mean():.1f} networks in {per_search / 3600:.2f} core-hours of "
        f"training on average ({machine}), every strategy (the baseline too) searching with "
        "each sampling seed.",
        "",
        "| strategy | spread (points) | searches per strategy | trainings | core-hours |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label in (name for name in study.strategies if name != study.baseline):
        if label not in spreads:
            lines.append(f"| {label} | the pilot has no such strategy | | | |")
            continue
        spread = spreads[label]
        n = needed(study.delta, spread, level)
        cost = (
            f"{n} | {n * len(study.strategies) * trainings.mean():,.0f} | "
            f"{n * len(study.strategies) * per_search / 3600:,.1f}"
            if n is not None
            else "more than 10,000 | | "
        )
        lines.append(f"| {label} | {100 * spread:.2f} | {cost} |")
    ours = [spreads[label] for label in study.strategies if label in spreads]
    most = [n for n in (needed(study.delta, v, level) for v in ours) if n]
    if most:
        lines += [
            "",
            f"To decide every comparison: {max(most)} searches per strategy, "
            f"{max(most) * len(study.strategies) * trainings.mean():,.0f} trainings and "
            f"{max(most) * len(study.strategies) * per_search / 3600:,.1f} core-hours in all "
            f"(the pilot has run {len(pilot.sampling_seeds)} seeds of each).",
        ]
    if study.looks > 1:
        lines += [
            "",
            f"The study grows to at most {study.up_to} seeds in {study.looks} looks, each "
            "judged at the stricter level of comparisons × looks: a plan for one look is a "
            "lower bound.",
        ]
    return "\n".join(lines) + "\n"
