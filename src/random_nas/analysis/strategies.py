"""A study of search strategies at equal compute: each strategy searched several times with
independent sampling seeds; at each compute its pick (the best validation accuracy so far,
ties to fewer FLOPs then arch_id, as a run picks) is scored on the validation accuracy that
chose it and on evidence that did not (test accuracy; the pick trained again with another
seed where the search repeated it), averaged over the searches with a t interval; a strategy
against the baseline is paired by sampling seed (both start from the same stream's draws).
Several strategies against one baseline are several questions asked of one study, m of them
whatever the data at one compute holds: besides each difference's 95 % interval, its
Bonferroni interval (95 % / m) holds for all of them at once with 95 %, and the verdict
(random_nas.analysis.verdicts: better, worse, equivalent within the study's delta, or
inconclusive, with its power against delta) follows that one, so that one lucky strategy among
several is not called better."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from random_nas.analysis.draws import counted, ranked
from random_nas.analysis.intervals import Interval, mean_interval
from random_nas.analysis.verdicts import Verdict, judge

SELECTING, TEST = "validation", "test"


@dataclass(frozen=True)
class Search:
    """One search: its trainings in the order it asked for them (`cost` in full trainings'
    worth each), the repeats of its final pick under other seeds, and the train images one
    epoch sees."""

    label: str
    seed: int
    trainings: pd.DataFrame
    repeats: pd.DataFrame | None
    train_images: int
    full_epochs: int


@dataclass(frozen=True)
class Point:
    """One strategy at one compute on one evidence: its picks' mean over searches, and its
    difference from the baseline's, paired by sampling seed, at 95 % alone and judged at the
    level that holds for every strategy against the baseline at once (None for the
    baseline)."""

    label: str
    compute: float
    evidence: str
    pick: Interval
    difference: Interval | None
    judged: Verdict | None

    @property
    def together(self) -> Interval | None:
        """The difference's interval that holds for every comparison at once."""
        return None if self.judged is None else self.judged.interval

    @property
    def verdict(self) -> str | None:
        return None if self.judged is None else self.judged.outcome


def pick_at(search: Search, compute: float, classes: int) -> pd.Series | None:
    """The search's pick once `compute` trainings' worth were spent (the trainings it asked
    for first), or None where nothing was measured by then."""
    spent = search.trainings["epochs"].cumsum() / search.full_epochs
    asked = counted(search.trainings[spent <= compute + 1e-9], classes)
    best = ranked(asked)
    return None if best.empty else best.iloc[0]


def pick_scores(search: Search, compute: float, classes: int) -> dict[str, float]:
    """What the pick at `compute` scored on each evidence (nan where it has none)."""
    pick = pick_at(search, compute, classes)
    if pick is None:
        return {SELECTING: np.nan, TEST: np.nan}
    scores = {SELECTING: float(pick["val_accuracy"]), TEST: float(pick["test_accuracy"])}
    if search.repeats is not None:
        again = search.repeats[
            (search.repeats["arch_id"] == pick["arch_id"])
            & (search.repeats["epochs"] == pick["epochs"])
        ]
        for seed, rows in again.groupby("seed"):
            if seed != search.trainings["seed"].iloc[0]:
                scores[f"validation_seed_{seed}"] = float(
                    counted(rows, classes)["val_accuracy"].mean()
                )
    return scores


def compute_points(searches: Sequence[Search]) -> list[float]:
    """Where to compare: every whole training's worth up to what every search spent."""
    least = min(s.trainings["epochs"].sum() / s.full_epochs for s in searches)
    return [float(c) for c in range(1, int(np.floor(least + 1e-9)) + 1)]


def compare_strategies(
    searches: Sequence[Search],
    baseline: str,
    classes: int,
    points: Sequence[float] | None = None,
    delta: float = 0.003,
) -> list[Point]:
    """Every strategy at every compute on every evidence its picks have in all searches, each
    against the baseline judged as one of the study's comparisons, at margin `delta`."""
    labels = list(dict.fromkeys(search.label for search in searches))
    comparisons = len(labels) - (baseline in labels)
    points = list(points or compute_points(searches))
    table = pd.DataFrame(
        [
            {"label": s.label, "seed": s.seed, "compute": c, "evidence": evidence, "score": value}
            for s in searches
            for c in points
            for evidence, value in pick_scores(s, c, classes).items()
        ]
    )
    found = []
    for (compute, evidence), rows in table.groupby(["compute", "evidence"], sort=False):
        by_label = rows.pivot_table(index="seed", columns="label", values="score")
        present = [label for label in labels if label in by_label and by_label[label].notna().any()]
        for label in present:
            difference = judged = None
            if label != baseline and baseline in by_label:
                paired = (by_label[label] - by_label[baseline]).dropna().to_numpy()
                difference = mean_interval(paired, 0.95, -1.0, 1.0)
                judged = judge(paired, delta, comparisons)
            pick = mean_interval(by_label[label].to_numpy(), 0.95, 0.0, 1.0)
            found.append(Point(label, float(compute), evidence, pick, difference, judged))
    return found


def points_frame(points: Sequence[Point], train_images: int, full_epochs: int) -> pd.DataFrame:
    """The study's table (report/strategies.csv): fractions, intervals at 95 %."""
    rows = []
    for point in points:
        row = {
            "strategy": point.label,
            "compute_trainings": point.compute,
            "compute_epoch_images": point.compute * full_epochs * train_images,
            "evidence": point.evidence,
            "searches": point.pick.n,
            "mean_pick_accuracy": point.pick.mean,
            "pick_low": point.pick.low,
            "pick_high": point.pick.high,
        }
        if point.difference is not None:
            row |= {
                "mean_difference": point.difference.mean,
                "difference_low": point.difference.low,
                "difference_high": point.difference.high,
                "together_level": point.together.level,
                "together_low": point.together.low,
                "together_high": point.together.high,
                "verdict": point.verdict,
                "delta": point.judged.delta,
                "power": point.judged.power,
                "searches_needed": point.judged.needed,
            }
        rows.append(row)
    return pd.DataFrame(rows)


def anytime(points: Sequence[Point], evidence: str) -> Mapping[str, pd.DataFrame]:
    """Per strategy, its picks' mean and interval against compute on one evidence."""
    curves: dict[str, list[dict[str, float]]] = {}
    for point in points:
        if point.evidence == evidence:
            curves.setdefault(point.label, []).append(
                {
                    "compute": point.compute,
                    "mean": point.pick.mean,
                    "low": point.pick.low,
                    "high": point.pick.high,
                }
            )
    return {label: pd.DataFrame(rows) for label, rows in curves.items()}
