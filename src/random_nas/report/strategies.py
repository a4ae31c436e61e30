"""A study of search strategies: report/ beside its study.yaml (study.md, strategies.csv, the
anytime curves), from its searches' tables alone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from random_nas.analysis.searches import (
    FLOPS,
    FLOPS_TIES,
    RANDOM_TIES,
    SELECTING,
    TEST,
    TRAININGS,
    Budget,
    Search,
    budget,
)
from random_nas.analysis.strategies import (
    anytime,
    compare_strategies,
    curve_departures,
    points_frame,
)
from random_nas.files import InputFileError, atomic_path, write_text
from random_nas.findings import curve_sentence, strategy_findings
from random_nas.findings.common import evidence_name
from random_nas.recipes import sampling_seed
from random_nas.report.plots import Figures, set_style
from random_nas.report.study_plots import plot_anytime
from random_nas.report_files import STRATEGY_STUDY_FILES
from random_nas.results import num_classes, read_table, test_images, train_images
from random_nas.studies import StrategyStudy, read_study, strategy_study


def read_search(label: str, seed: int, folder: Path) -> tuple[Search, dict]:
    """One search from its run's tables: its trainings in asking order and its repeats."""
    trials = folder / "trials.parquet"
    path = trials if trials.exists() else folder / "candidates.parquet"
    if not path.exists():
        raise InputFileError(f"search {label!r} with sampling seed {seed} has no table at {path}")
    table, metadata = read_table(path)
    config = metadata["config"]
    if sampling_seed(config) != seed:
        raise InputFileError(
            f"{path}: the run drew with sampling seed {sampling_seed(config)}, not the "
            f"study's {seed}"
        )
    trainings = table.to_pandas().sort_values("draw", kind="stable").reset_index(drop=True)
    repeats_path = folder / "repeats.parquet"
    repeats = read_table(repeats_path)[0].to_pandas() if repeats_path.exists() else None
    search = Search(
        label,
        seed,
        trainings,
        repeats,
        train_images(trainings),
        int(config["training"]["epochs"]),
        test_images(trainings),
    )
    return search, config


def _recipe(search: Search) -> dict:
    recipe = json.loads(search.trainings["recipe"].dropna().iloc[0])
    return {"training": recipe["training"], "data": recipe["dataset"]["sha256"]}


def read_searches(study: StrategyStudy) -> tuple[list[Search], int]:
    """Every search of the study, checked to be trained alike; and the classes."""
    searches, classes = [], None
    for label, seed, folder in study.searches():
        search, config = read_search(label, seed, folder)
        if searches and _recipe(search) != _recipe(searches[0]):
            raise InputFileError(
                f"study {study.path}: search {label!r} (seed {seed}) trained under another "
                f"recipe or data than {searches[0].label!r} (seed {searches[0].seed}); a study "
                "compares strategies on trainings made alike"
            )
        classes = classes or num_classes(search.trainings, config["dataset"]["name"])
        searches.append(search)
    return searches, classes


def _final_table(frame: pd.DataFrame) -> str:
    final = frame[frame["compute"] == frame["compute"].max()]
    lines = [
        "| strategy | evidence | mean pick % | 95 % interval | difference (points) | "
        "interval for all at once | verdict | power against delta | searches that decide | "
        "with ties to fewer FLOPs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in final.itertuples():
        verdict = row.verdict if isinstance(getattr(row, "verdict", None), str) else ""
        if not pd.notna(row.pick_low):
            continue  # one search or none: nothing to state at 95 %
        compared = pd.notna(getattr(row, "difference_low", None))
        difference = (
            f"{100 * row.mean_difference:+.2f} ({100 * row.difference_low:+.2f} to "
            f"{100 * row.difference_high:+.2f})"
            if compared
            else ""
        )
        together = (
            f"{100 * row.together_low:+.2f} to {100 * row.together_high:+.2f} "
            f"({100 * row.together_level:.1f} %)"
            if compared
            else ""
        )
        power = f"{row.power:.2f}" if compared and pd.notna(row.power) else ""
        decide = f"{int(row.searches_needed)}" if compared and pd.notna(row.searches_needed) else ""
        if compared and row.verdict == "inconclusive" and not decide:
            decide = "none: the test images' sampling"
        by_rule = getattr(row, "mean_difference_flops_ties", float("nan"))
        by_rule = (
            f"{100 * by_rule:+.2f}: {row.verdict_flops_ties}"
            if compared and pd.notna(by_rule)
            else ""
        )
        lines.append(
            f"| {row.strategy} | {evidence_name(row.evidence)} | "
            f"{100 * row.mean_pick_accuracy:.2f} | {100 * row.pick_low:.2f} to "
            f"{100 * row.pick_high:.2f} | {difference} | {together} | {verdict} | {power} | "
            f"{decide} | {by_rule} |"
        )
    return "\n".join(lines)


def compute_axis(counted_in: Budget, baseline: str) -> str:
    if counted_in.unit == FLOPS:
        return f"the FLOPs of {baseline}'s first n full trainings"
    return "full trainings' worth"


def compute_words(counted_in: Budget, baseline: str, search: Search) -> str:
    """How the study counts compute, in a sentence."""
    training = f"{search.full_epochs} epochs on {search.train_images:,} images"
    if counted_in.unit == FLOPS:
        return (
            "counted in FLOPs (a training costs its epochs times its network's FLOPs), pair by "
            f"pair: at n trainings' worth, every search is cut at the FLOPs that {baseline}'s "
            f"search with the same sampling seed spent in its first n full trainings ({training}; "
            f"{baseline}'s networks have {counted_in.reference_flops / 1e6:.1f} MFLOPs on "
            "average), so that a strategy proposing bigger networks spends its budget sooner "
            "(strategies.csv states beside each row what the searches spent in full trainings, "
            f"whatever their size, and in FLOPs as full trainings of {baseline}'s mean network)."
        )
    return (
        f"counted in full trainings' worth ({training}), whatever a network's size "
        f"(strategies.csv states beside each row what they spent in FLOPs, as full trainings "
        f"of {baseline}'s mean network)."
    )


def _growth_words(study: StrategyStudy) -> str:
    if study.looks == 1:
        return ""
    return (
        f" The study grows by {study.step} sampling seeds at a time, up to {study.up_to}, "
        "until every verdict on test is decided: it may judge at "
        f"{study.looks} looks, so each interval holds at 1 − 0.05 / "
        f"({len(study.strategies) - 1} × {study.looks}), Bonferroni over comparisons and "
        "looks, which keeps the family error rate however early it stops; it judged here "
        f"after {len(study.sampling_seeds)} seeds."
    )


def _study_page(
    study: StrategyStudy, searches: list[Search], points: list, frame: pd.DataFrame
) -> str:
    """study.md: how the study counts and judges, its Findings, and the verdicts at the
    largest compute, in the study's unit of compute and, beside, in the other."""
    counted_in = budget(searches, study.baseline, study.compute)
    lines = strategy_findings(points, study.baseline, study.compute, study.looks)
    other = TRAININGS if study.compute == FLOPS else FLOPS
    beside = frame[frame["compute_unit"] == other]
    other_words = "in full trainings, whatever their size" if other == TRAININGS else "in FLOPs"
    return (
        f"# Study: {study.question or study.name}\n\n"
        f"Each strategy searched {len(study.sampling_seeds)} times, with sampling seeds "
        f"{', '.join(map(str, study.sampling_seeds))}; every search spent the same compute, "
        f"{compute_words(counted_in, study.baseline, searches[0])} A search's pick is its "
        "best validation accuracy so far, ties between equal accuracies (1,000 validation "
        "images tie often) broken at random: it scores the mean over the tied picks, the "
        "expectation over the draw (the tables' last column: the run's own rule, fewer "
        "FLOPs, then arch_id); intervals are "
        "over the searches, so they include which architectures each drew and trained, and "
        "on test the test images' own sampling too (every search was scored on the same "
        "images: the images' share of the variance, from the crossed design of searches and "
        "images, is added, with Satterthwaite's degrees of freedom). Each "
        f"strategy's difference from {study.baseline} is one of the questions the study asks: "
        "its verdict follows the interval that holds for all of them at once with 95 % "
        "(Bonferroni): better or worse where it excludes zero, equivalent where it lies within "
        f"±{100 * study.delta:.2f} points (the study's delta), else inconclusive, with the "
        "power the comparison had against a true difference of delta and how many searches "
        f"would decide.{_growth_words(study)}\n\n## Findings\n\n"
        + "".join(f"- {line}\n" for line in lines)
        + "\n## At the full compute\n\n"
        + _final_table(frame[frame["compute_unit"] == study.compute])
        + f"\n\n## Counted {other_words}, beside\n\n"
        f"The same judgement with compute counted {other_words}, at "
        f"{beside['compute'].max():g} trainings' worth, the most every search reached so "
        "counted; the study's verdicts are the ones above.\n\n"
        + _final_table(beside)
        + "\n\n![Best so far against compute](anytime.svg)\n\n"
        + curve_sentence(curve_departures(points, TEST), study.baseline, study.compute)
        + "\n"
    )


def judged_points(
    study: StrategyStudy, searches: list[Search], classes: int, unit: str, ties: str = RANDOM_TIES
) -> list:
    return compare_strategies(
        searches, study.baseline, classes, delta=study.delta, unit=unit, looks=study.looks,
        ties=ties,
    )  # fmt: skip


def _with_flops_ties(frame: pd.DataFrame, tied: list) -> pd.DataFrame:
    """The study's rows with each difference's mean had ties gone to fewer FLOPs."""
    by_rule = points_frame(tied, frame["compute_unit"].iloc[0])
    keys = ["strategy", "compute", "evidence"]
    return frame.merge(
        by_rule[[*keys, "mean_difference", "verdict"]].rename(
            columns={
                "mean_difference": "mean_difference_flops_ties",
                "verdict": "verdict_flops_ties",
            }
        ),
        on=keys,
        how="left",
    )


def undecided(study: StrategyStudy) -> list[str]:
    """The strategies whose verdict on test, at the largest compute every search of the
    study's sampling seeds reached, is inconclusive (a search without a table counts as
    undecided: nothing can be judged before it has run)."""
    searches, classes = read_searches(study)
    points = [
        p for p in judged_points(study, searches, classes, study.compute) if p.evidence == TEST
    ]
    final = max(p.compute for p in points)
    return [
        p.label for p in points if p.compute == final and p.verdict in ("inconclusive", None)
        and p.label != study.baseline
    ]  # fmt: skip


def render_strategy_study(study_path: str | os.PathLike[str]) -> list[Path]:
    """Render a study of strategies into `report/` beside its study.yaml; the paths written."""
    study_path = Path(study_path)
    study = strategy_study(read_study(study_path), study_path).grown()
    searches, classes = read_searches(study)
    other = TRAININGS if study.compute == FLOPS else FLOPS
    points, beside = (
        judged_points(study, searches, classes, unit) for unit in (study.compute, other)
    )
    ours = _with_flops_ties(
        points_frame(points, study.compute),
        judged_points(study, searches, classes, study.compute, FLOPS_TIES),
    )
    frame = pd.concat([ours, points_frame(beside, other)], ignore_index=True)
    out = study_path.parent / "report"
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "strategies.csv") as temporary:
        frame.to_csv(temporary, index=False, float_format="%.6g")
    set_style()
    titles = {
        SELECTING: "validation accuracy that chose",
        TEST: "test accuracy (did not choose)",
    }
    curves, differences = (
        {title: anytime(points, evidence, paired) for evidence, title in titles.items()}
        for paired in (False, True)
    )
    axis = compute_axis(budget(searches, study.baseline, study.compute), study.baseline)
    Figures(out).save(plot_anytime(curves, differences, axis, study.baseline), "anytime")
    write_text(out / "study.md", _study_page(study, searches, points, frame))
    return [out / name for name in STRATEGY_STUDY_FILES]
