"""A study of search strategies at equal compute: each strategy searched several times with
independent sampling seeds, its pick at each compute (random_nas.analysis.searches) averaged
over the searches with a t interval, on test with the images' shared sampling inside it; a
strategy against the baseline is paired by sampling seed (both start from the same stream's
draws). Several strategies against one baseline are several questions asked of one study, m
of them whatever the data at one compute holds: besides each difference's 95 % interval, its
Bonferroni interval (95 % / m) holds for all of them at once with 95 %, and the verdict
(random_nas.analysis.verdicts: better, worse, equivalent within the study's delta, or
inconclusive, with its power against delta) follows that one, so that one lucky strategy among
several is not called better. Along the compute axis, each difference has a band that holds
over the whole curve at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from random_nas.analysis.intervals import Interval, mean_interval
from random_nas.analysis.searches import (
    RANDOM_TIES,
    TEST,
    TRAININGS,
    Search,
    budget,
    compute_points,
    pick_correct,
    pick_scores,
    picked,
    slim,
    spent_at,
)
from random_nas.analysis.verdicts import Verdict, judge


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
    # The difference's band at 95 % simultaneous over the compute axis of its curve.
    band: Interval | None = None

    @property
    def together(self) -> Interval | None:
        """The difference's interval that holds for every comparison at once."""
        return None if self.judged is None else self.judged.interval

    @property
    def verdict(self) -> str | None:
        return None if self.judged is None else self.judged.outcome


def shared_image_variance(scores: np.ndarray) -> float:
    """The variance that sampling the images adds to the mean of `scores` (searches x
    images: correctness, or paired differences of it) when every search was scored on the
    same images: sigma_I^2 / N of the crossed random-effects model, (MS_images -
    MS_residual) / (S N) from its two-way mean squares (clipped at 0), the search-by-image
    interaction being in the searches' own spread already. One search: the images' whole
    variance over N."""
    searches, images = scores.shape
    by_image = scores.mean(axis=0)
    if searches < 2:
        return float(by_image.var(ddof=1) / images)
    residual = scores - scores.mean(axis=1, keepdims=True) - by_image + scores.mean()
    between = searches * by_image.var(ddof=1)
    within = (residual**2).sum() / ((searches - 1) * (images - 1))
    return float(max(between - within, 0.0) / (searches * images))


def image_variances(
    searches: Sequence[Search], picks: Mapping[tuple[str, int, float], pd.DataFrame],
    baseline: str,
) -> dict[tuple[str, float], tuple[float, float]]:  # fmt: skip
    """Per strategy and compute, the variance that the test images' sampling adds to its
    picks' mean accuracy over searches and to its mean paired difference from the
    baseline (`picks`: label, seed, compute: picked): every search is scored on one set of
    images, so that part of the error does not average out (shared_image_variance)."""
    by_key = {(s.label, s.seed): s for s in searches}
    correct = {key: pick_correct(by_key[key[:2]], pick) for key, pick in picks.items()}
    found = {}
    for (label, seed, compute), ours in correct.items():
        if seed != min(s.seed for s in searches if s.label == label) or ours is None:
            continue
        seeds = [s.seed for s in searches if s.label == label]
        mine = [correct[(label, s, compute)] for s in seeds]
        theirs = [correct.get((baseline, s, compute)) for s in seeds]
        if any(vector is None for vector in mine):
            continue
        paired = [m - t for m, t in zip(mine, theirs, strict=True) if t is not None]
        found[(label, compute)] = (
            shared_image_variance(np.array(mine)),
            shared_image_variance(np.array(paired)) if paired else 0.0,
        )
    return found


def sup_t_quantile(curves: np.ndarray, level: float = 0.95, draws: int = 20_000) -> float:
    """The critical value c of a band simultaneous over a curve's points: the `level`
    quantile of max |t| over compute for n searches' curves drawn normal with the observed
    covariance, each point's t on its own standard error, as the band's are (a parametric
    bootstrap of the sup-t band of Montiel Olea and Plagborg-Moller, 2019; seeded).
    `curves`: one row per search. A draw combines the searches' centred curves, which have
    exactly their sample covariance (of rank n - 1) without factoring a singular matrix.
    Simulated with 5 and 10 searches of random-walk curves over 20 computes, it covered the
    whole curve 0.93 and 0.92 of the time (pointwise t intervals: 0.66 and 0.73); the
    covariance it plugs in is itself estimated from the n searches."""
    n = len(curves)
    centred = curves - curves.mean(axis=0)
    scale = centred.std(axis=0, ddof=1)
    standard = centred[:, scale > 0] / scale[scale > 0]
    if standard.shape[1] == 0:
        return float(stats.t.ppf(0.5 + level / 2, n - 1))
    normal = np.random.default_rng(0).standard_normal((draws, n, n))
    drawn = normal @ standard / np.sqrt(n - 1)
    t = np.abs(drawn.mean(axis=1)) / (drawn.std(axis=1, ddof=1) / np.sqrt(n))
    return float(np.quantile(t.max(axis=1), level))


def simultaneous_bands(
    table: pd.DataFrame, baseline: str, images: Mapping[tuple[str, float], tuple[float, float]]
) -> dict[tuple[str, str, float], Interval]:
    """Each strategy's paired difference from the baseline along its curve on each evidence
    (`table`: label, seed, compute, evidence, score), with a 95 % band that holds at every
    compute at once: the sup-t critical value on the searches that reached every compute,
    times each point's standard error (on test, the images' shared variance included)."""
    bands = {}
    for evidence, rows in table.groupby("evidence", sort=False):
        wide = rows.pivot_table(index="seed", columns=["label", "compute"], values="score")
        if baseline not in wide:
            continue
        for label in wide.columns.get_level_values("label").unique().drop(baseline):
            paired = (wide[label] - wide[baseline]).dropna()
            n = len(paired)
            if n < 2:
                continue
            critical = sup_t_quantile(paired.to_numpy())
            for compute, values in paired.items():
                shared = images.get((label, compute), (0.0, 0.0))[1] if evidence == TEST else 0
                half = critical * np.sqrt(values.var(ddof=1) / n + shared)
                mean = float(values.mean())
                bands[(label, evidence, compute)] = Interval(
                    mean, max(mean - half, -1.0), min(mean + half, 1.0), n
                )
    return bands


def compare_strategies(
    searches: Sequence[Search],
    baseline: str,
    classes: int,
    points: Sequence[float] | None = None,
    delta: float = 0.003,
    unit: str = TRAININGS,
    looks: int = 1,
    ties: str = RANDOM_TIES,
) -> list[Point]:
    """Every strategy at every compute (in `unit`) on every evidence its picks have in all
    searches, each against the baseline judged as one of the study's comparisons, at margin
    `delta`; a study that may judge at several `looks` as it grows counts each comparison
    once per look (Bonferroni over both), so that stopping at the first decision keeps the
    family error rate."""
    searches = [slim(search) for search in searches]
    labels = list(dict.fromkeys(search.label for search in searches))
    comparisons = len(labels) - (baseline in labels)
    counted_in = budget(searches, baseline, unit)
    points = list(points or compute_points(searches, counted_in))
    picks = {
        (s.label, s.seed, c): picked(s, c, classes, counted_in, ties) for s in searches
        for c in points
    }  # fmt: skip
    by_key = {(s.label, s.seed): s for s in searches}
    table = pd.DataFrame(
        [
            {"label": label, "seed": seed, "compute": c, "evidence": evidence, "score": value}
            for (label, seed, c), pick in picks.items()
            for evidence, value in pick_scores(by_key[(label, seed)], pick, classes).items()
        ]
    )
    spent = (
        pd.DataFrame(
            [
                {"label": s.label, "compute": c, **spent_at(s, c, counted_in)}
                for s in searches
                for c in points
            ]
        )
        .groupby(["label", "compute"])
        .mean()
    )
    images = image_variances(searches, picks, baseline)
    bands = simultaneous_bands(table, baseline, images)
    found = []
    for (compute, evidence), rows in table.groupby(["compute", "evidence"], sort=False):
        by_label = rows.pivot_table(index="seed", columns="label", values="score")
        present = [label for label in labels if label in by_label and by_label[label].notna().any()]
        for label in present:
            difference = judged = None
            alone, shared = images.get((label, compute), (0.0, 0.0)) if evidence == TEST else (0, 0)
            if label != baseline and baseline in by_label:
                paired = (by_label[label] - by_label[baseline]).dropna().to_numpy()
                difference = mean_interval(paired, 0.95, -1.0, 1.0, shared)
                judged = judge(paired, delta, comparisons * looks, shared_variance=shared)
            pick = mean_interval(by_label[label].to_numpy(), 0.95, 0.0, 1.0, alone)
            found.append(
                Point(
                    label,
                    float(compute),
                    evidence,
                    pick,
                    difference,
                    judged,
                    *spent.loc[(label, compute), ["spent_trainings", "spent_flops"]],
                    band=bands.get((label, evidence, compute)),
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
        if point.band is not None:
            row |= {"band_low": point.band.low, "band_high": point.band.high}
        rows.append(row)
    return pd.DataFrame(rows)


def anytime(
    points: Sequence[Point], evidence: str, differences: bool = False
) -> Mapping[str, pd.DataFrame]:
    """Per strategy, its picks' mean and 95 % interval against compute on one evidence; or,
    with `differences`, its paired difference from the baseline with the band simultaneous
    over compute (strategies without one left out)."""
    curves: dict[str, list[dict[str, float]]] = {}
    for point in points:
        shown = point.band if differences else point.pick
        if point.evidence == evidence and shown is not None:
            curves.setdefault(point.label, []).append(
                {"compute": point.compute, "mean": shown.mean, "low": shown.low,
                 "high": shown.high}
            )  # fmt: skip
    return {label: pd.DataFrame(rows) for label, rows in curves.items()}


def curve_departures(points: Sequence[Point], evidence: str) -> dict[str, list[float]]:
    """Per strategy with a band on `evidence`, the computes at which its band over the whole
    curve lies wholly above or below zero (none: read as a curve, it is not told from the
    baseline anywhere)."""
    found: dict[str, list[float]] = {}
    for point in points:
        if point.evidence == evidence and point.band is not None:
            departs = point.band.low > 0 or point.band.high < 0
            found.setdefault(point.label, []).extend([point.compute] if departs else [])
    return found
