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
several is not called better.

Compute is counted in a unit the study names: `flops` (the default), each training costing
its epochs times its network's FLOPs, every search cut at the FLOPs that the baseline's search
with the same sampling seed spent in its first c full trainings, so that a strategy proposing
bigger networks spends its budget sooner; or `trainings`, each full training one whatever its
size. Each point states what the searches spent in the other unit beside it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from random_nas.analysis.draws import counted, ranked
from random_nas.analysis.intervals import Interval, mean_interval
from random_nas.analysis.verdicts import Verdict, judge

SELECTING, TEST = "validation", "test"
FLOPS, TRAININGS = "flops", "trainings"


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

    # What its searches spent by this compute, on average: full trainings' worth, and
    # baseline-mean trainings' worth of FLOPs (one of them is the compute itself).
    spent_trainings: float = float("nan")
    spent_flops: float = float("nan")

    @property
    def together(self) -> Interval | None:
        """The difference's interval that holds for every comparison at once."""
        return None if self.judged is None else self.judged.interval

    @property
    def verdict(self) -> str | None:
        return None if self.judged is None else self.judged.outcome


def _epoch_flops(search: Search) -> pd.Series:
    """Each training's epochs times its network's FLOPs, per full epochs, in asking order."""
    return search.trainings["epochs"] / search.full_epochs * search.trainings["flops"]


def _trainings(search: Search) -> pd.Series:
    return search.trainings["epochs"] / search.full_epochs


@dataclass(frozen=True)
class Budget:
    """How compute is counted. TRAININGS: a full training is one, whatever its size. FLOPS:
    compute c is the FLOPs the baseline's search with the same sampling seed spent in its
    first c full trainings' worth, so that each strategy is cut, pair by pair, at the FLOPs
    its baseline spent (`baseline`: seed: that search's cumulative trainings and FLOPs).
    `reference_flops`, the baseline's mean network, states either unit in the other."""

    unit: str = TRAININGS
    baseline: Mapping[int, pd.DataFrame] = field(default_factory=dict)
    reference_flops: float = float("nan")

    def cap(self, seed: int, compute: float) -> float:
        """The FLOPs a search with `seed` may spend at `compute` (FLOPS only)."""
        spent = self.baseline.get(seed)
        if spent is None:
            return float("nan")
        return float(spent.loc[spent["trainings"] <= compute + 1e-9, "flops"].max())

    def within(self, search: Search, compute: float) -> pd.DataFrame:
        """The trainings the search asked for first, within `compute`."""
        if self.unit == TRAININGS:
            return search.trainings[_trainings(search).cumsum() <= compute + 1e-9]
        cap = self.cap(search.seed, compute)
        return search.trainings[_epoch_flops(search).cumsum() <= cap * (1 + 1e-9)]

    def reach(self, search: Search) -> float:
        """The largest compute the search's trainings cover."""
        if self.unit == TRAININGS:
            return float(_trainings(search).sum())
        spent = self.baseline.get(search.seed)
        if spent is None:
            return 0.0
        total = _epoch_flops(search).sum() * (1 + 1e-9)
        covered = spent.loc[spent["flops"] <= total, "trainings"]
        return float(covered.max()) if len(covered) else 0.0


def budget(searches: Sequence[Search], baseline: str, unit: str) -> Budget:
    """The study's unit of compute (for FLOPS, each baseline search's cumulative spend), with
    the mean FLOPs of every network the baseline's searches trained (for random search, the
    space's mean network) to state either unit in the other."""
    ours = [s for s in searches if s.label == baseline]
    spent = {
        s.seed: pd.DataFrame(
            {"trainings": _trainings(s).cumsum(), "flops": _epoch_flops(s).cumsum()}
        )
        for s in ours
    }
    flops = pd.concat([s.trainings["flops"] for s in ours]) if ours else pd.Series(dtype=float)
    return Budget(unit, spent, float(flops.mean()))


def pick_at(
    search: Search, compute: float, classes: int, budget: Budget = Budget()
) -> pd.Series | None:
    """The search's pick once `compute` was spent (the trainings it asked for first), or
    None where nothing was measured by then."""
    best = ranked(counted(budget.within(search, compute), classes))
    return None if best.empty else best.iloc[0]


def pick_scores(
    search: Search, compute: float, classes: int, budget: Budget = Budget()
) -> dict[str, float]:
    """What the pick at `compute` scored on each evidence (nan where it has none)."""
    pick = pick_at(search, compute, classes, budget)
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


def compute_points(searches: Sequence[Search], budget: Budget = Budget()) -> list[float]:
    """Where to compare: every whole unit up to what every search spent."""
    least = min(budget.reach(s) for s in searches)
    return [float(c) for c in range(1, int(np.floor(least + 1e-9)) + 1)]


def _spent(search: Search, compute: float, budget: Budget) -> dict[str, float]:
    within = budget.within(search, compute)
    trainings = float((within["epochs"] / search.full_epochs).sum())
    reference = budget.reference_flops
    flops = float((within["epochs"] * within["flops"]).sum() / search.full_epochs / reference)
    return {"spent_trainings": trainings, "spent_flops": flops}


def compare_strategies(
    searches: Sequence[Search],
    baseline: str,
    classes: int,
    points: Sequence[float] | None = None,
    delta: float = 0.003,
    unit: str = TRAININGS,
    looks: int = 1,
) -> list[Point]:
    """Every strategy at every compute (in `unit`) on every evidence its picks have in all
    searches, each against the baseline judged as one of the study's comparisons, at margin
    `delta`; a study that may judge at several `looks` as it grows counts each comparison
    once per look (Bonferroni over both), so that stopping at the first decision keeps the
    family error rate."""
    labels = list(dict.fromkeys(search.label for search in searches))
    comparisons = len(labels) - (baseline in labels)
    counted_in = budget(searches, baseline, unit)
    points = list(points or compute_points(searches, counted_in))
    table = pd.DataFrame(
        [
            {"label": s.label, "seed": s.seed, "compute": c, "evidence": evidence, "score": value}
            for s in searches
            for c in points
            for evidence, value in pick_scores(s, c, classes, counted_in).items()
        ]
    )
    spent = (
        pd.DataFrame(
            [
                {"label": s.label, "compute": c, **_spent(s, c, counted_in)}
                for s in searches
                for c in points
            ]
        )
        .groupby(["label", "compute"])
        .mean()
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
                judged = judge(paired, delta, comparisons * looks)
            pick = mean_interval(by_label[label].to_numpy(), 0.95, 0.0, 1.0)
            found.append(
                Point(
                    label,
                    float(compute),
                    evidence,
                    pick,
                    difference,
                    judged,
                    *spent.loc[(label, compute), ["spent_trainings", "spent_flops"]],
                )
            )
    return found


def points_frame(points: Sequence[Point], unit: str) -> pd.DataFrame:
    """The study's table (report/strategies.csv): fractions, intervals at 95 %; compute in
    `unit`, and what the searches spent by then in either unit, on average."""
    rows = []
    for point in points:
        row = {
            "strategy": point.label,
            "compute": point.compute,
            "compute_unit": unit,
            "spent_trainings": point.spent_trainings,
            "spent_flops_trainings": point.spent_flops,
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
