"""The replay's table: every strategy at every compute it fits, its pick scored on every
evidence of the grid, against random search's pick at the same compute in the same
simulation; each statistic with its Monte-Carlo error over orders and its interval over
resampled architectures, and each difference's verdict (analysis.verdicts, one rule with the
studies): the strategies replayed besides random search are the family of comparisons."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from random_nas.analysis.intervals import mean_interval
from random_nas.analysis.replay import (
    PLANNED,
    Grid,
    Orders,
    Search,
    compute_points,
    describe_brackets,
    planned_search,
    shared_orders,
    simulate,
    stream_orders,
)
from random_nas.analysis.verdicts import judge, judge_resampled

BASELINE = "random_search"
# Searches that others implement (ASHA, ask/tell strategies) cost far more per simulation:
# they run this share of the simulations and resamples.
COSTLY_SHARE = 10
LEVEL = 0.95

REPLAY_COLUMNS = [
    "strategy", "compute_epoch_images", "compute_spent_epoch_images", "draws", "brackets",
    "evidence", "simulations", "resamples", "mean_best_accuracy", "mean_best_accuracy_se",
    "mean_best_low", "mean_best_high", "p05", "p50", "p95", "p_beats_random_search",
    "p_beats_random_search_se", "p_beats_low", "p_beats_high", "p_beats_flops_ties",
    "baseline_mean_best_accuracy", "mean_difference", "mean_difference_se", "difference_low",
    "difference_high", "p_no_gain", "family_level", "family_low", "family_high", "delta",
    "verdict", "power", "draws_needed", "median_regret", "judged_over",
]  # fmt: skip
# What a verdict's interval is taken over: which architectures a sampled grid drew, or, on an
# enumerated grid, the paired replays (each a live search of its own sampling seed) with the
# held-out measurements' noise, the table that chose held fixed.
OVER_ARCHITECTURES = "resampled architectures"
OVER_REPLAYS = "paired replays, held-out noise"


@dataclass(frozen=True)
class ReplaySettings:
    """How much to simulate: orders on the grid itself (Monte-Carlo error), resamples of its
    architectures and orders within each (the interval over architectures), the seed; and the
    margin of "equivalent" (`delta`, a fraction)."""

    simulations: int = 1000
    resamples: int = 200
    orders_per_resample: int = 50
    seed: int = 0
    delta: float = 0.003

    def costly(self) -> ReplaySettings:
        return ReplaySettings(
            max(20, self.simulations // COSTLY_SHARE),
            max(20, self.resamples // COSTLY_SHARE) if self.resamples else 0,
            max(2, self.orders_per_resample // 2),
            self.seed,
            self.delta,
        )


# A strategy to replay: (grid, epochs) -> its search (None where it does not fit), and
# whether it is costly.
Replayed = tuple[Callable[[Grid, int], Search | None], bool]


def planned(eta: int, min_epochs: int) -> dict[str, Replayed]:
    return {
        name: (
            lambda grid, epochs, name=name: planned_search(grid, name, epochs, eta, min_epochs),
            False,
        )
        for name in PLANNED
    }


def orders_for(grid: Grid, simulations: int, seed: int, ties: str = "random") -> Orders:
    """The replay's shared orders: sampling seeds' streams on an enumerated grid, random
    orders of its draws on a sampled one."""
    if grid.enumerated and ties == "random":
        return stream_orders(grid, grid.space, simulations, seed)
    if grid.enumerated:
        streams = stream_orders(grid, grid.space, simulations, seed)
        rule = np.tile(1 - grid.flops_order / max(1, grid.size), (simulations, 1))
        return Orders(streams.permutations, rule, streams.seeds)
    return shared_orders(grid, simulations, seed, ties)


def _outcomes(grid: Grid, search: Search | None, orders: Orders) -> dict[str, np.ndarray] | None:
    rows = simulate(grid, search, orders)
    if rows is None:
        return None
    picks = rows[:, 0]
    return {
        "pick": picks.astype(int),
        "spent": rows[:, 1].astype(float),
        "draws": rows[:, 2].astype(float),
        **{evidence: scores[picks] for evidence, scores in grid.scores.items()},
    }


def _against(values: np.ndarray, baseline: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wins (ties half) and differences of paired picks."""
    return (values > baseline) + 0.5 * (values == baseline), values - baseline


def _se(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else np.nan


def _resampled_statistics(
    grid: Grid, replayed: Replayed, epochs: int, settings: ReplaySettings, baseline: Replayed
) -> dict[str, np.ndarray]:
    """Per resample of the grid's architectures: each evidence's mean best, win rate and mean
    difference against the baseline over its orders."""
    rng = np.random.default_rng([settings.seed, epochs, 7])
    found: dict[str, list[float]] = {}
    for number in range(settings.resamples):
        sample = grid.resampled(rng.integers(grid.size, size=grid.size))
        orders = shared_orders(sample, settings.orders_per_resample, settings.seed + 1 + number)
        ours = _outcomes(sample, replayed[0](sample, epochs), orders)
        theirs = _outcomes(sample, baseline[0](sample, epochs), orders)
        if ours is None or theirs is None:
            continue
        for evidence in grid.scores:
            wins, differences = _against(ours[evidence], theirs[evidence])
            found.setdefault(f"best {evidence}", []).append(float(ours[evidence].mean()))
            found.setdefault(f"wins {evidence}", []).append(float(wins.mean()))
            found.setdefault(f"difference {evidence}", []).append(float(differences.mean()))
    return {key: np.array(values) for key, values in found.items()}


def _interval(values: np.ndarray | None) -> tuple[float, float]:
    if values is None or len(values) < 2:
        return np.nan, np.nan
    low, high = np.quantile(values, [0.5 - LEVEL / 2, 0.5 + LEVEL / 2])
    return float(low), float(high)


def _judged(
    values: np.ndarray, baseline: np.ndarray, resampled: np.ndarray | None, units: int,
    settings: ReplaySettings, comparisons: int, shared: float | None = None,
) -> dict:  # fmt: skip
    """A strategy's picks against the baseline's in the same orders: win rate, difference,
    their intervals and the difference's verdict, over resampled architectures, or where
    `shared` is given (an enumerated grid) over the paired replays with `shared`, the variance
    of the held-out measurements every replay's difference shares."""
    wins, differences = _against(values, baseline)
    row = {
        "p_beats_random_search": float(wins.mean()),
        "p_beats_random_search_se": _se(wins),
        "baseline_mean_best_accuracy": float(baseline.mean()),
        "mean_difference": float(differences.mean()),
        "mean_difference_se": _se(differences),
        "p_no_gain": float((resampled <= 0).mean()) if resampled is not None else np.nan,
    }
    row["difference_low"], row["difference_high"] = _interval(resampled)
    verdict = None
    if shared is not None:
        interval = mean_interval(differences, LEVEL, -1.0, 1.0, shared)
        row["difference_low"], row["difference_high"] = interval.low, interval.high
        verdict = judge(differences, settings.delta, comparisons, shared_variance=shared)
    elif resampled is not None and len(resampled) >= 2:
        verdict = judge_resampled(
            row["mean_difference"], resampled, units, settings.delta, comparisons
        )
    if verdict is not None:
        row |= {
            "family_level": verdict.level,
            "family_low": verdict.interval.low,
            "family_high": verdict.interval.high,
            "delta": verdict.delta,
            "verdict": verdict.outcome,
            "power": verdict.power,
            "draws_needed": verdict.needed,
        }
    return row


def _pick_shares(picks: np.ndarray, size: int) -> np.ndarray:
    """How often each architecture is the pick, over the replays: a held-out measurement's
    error moves the mean best by its architecture's share."""
    return np.bincount(picks, minlength=size) / len(picks)


def _rows(
    name: str, grid: Grid, epochs: int, ours: dict, theirs: dict | None, flops: dict | None,
    resampled: dict[str, np.ndarray], settings: ReplaySettings, eta: int, min_epochs: int,
    comparisons: int,
) -> list[dict]:  # fmt: skip
    rows = []
    for evidence, scores in grid.scores.items():
        values = ours[evidence]
        row = {
            "strategy": name,
            "compute_epoch_images": epochs * grid.train_images,
            "compute_spent_epoch_images": float(ours["spent"].mean()) * grid.train_images,
            "draws": float(ours["draws"].mean()),
            "brackets": describe_brackets(grid, epochs, eta, min_epochs)
            if name == "hyperband"
            else "",
            "evidence": evidence,
            "simulations": len(values),
            "resamples": len(resampled.get(f"best {evidence}", ())),
            "mean_best_accuracy": float(values.mean()),
            "mean_best_accuracy_se": _se(values),
            "p05": float(np.quantile(values, 0.05)),
            "p50": float(np.quantile(values, 0.5)),
            "p95": float(np.quantile(values, 0.95)),
            "median_regret": float(np.median(scores.max() - values)),
        }
        row["mean_best_low"], row["mean_best_high"] = _interval(resampled.get(f"best {evidence}"))
        shared = None
        if grid.enumerated:
            row["judged_over"] = OVER_REPLAYS
            noise, share = grid.noise.get(evidence, 0.0), _pick_shares(ours["pick"], grid.size)
            best = mean_interval(values, LEVEL, 0.0, 1.0, float(np.sum(noise * share**2)))
            row["mean_best_low"], row["mean_best_high"] = best.low, best.high
            if theirs is not None:
                apart = share - _pick_shares(theirs["pick"], grid.size)
                shared = float(np.sum(noise * apart**2))
        elif theirs is not None:
            row["judged_over"] = OVER_ARCHITECTURES
        if theirs is not None:
            row |= _judged(
                values, theirs[evidence], resampled.get(f"difference {evidence}"), grid.size,
                settings, comparisons, shared,
            )  # fmt: skip
            row["p_beats_low"], row["p_beats_high"] = _interval(resampled.get(f"wins {evidence}"))
            if flops is not None:
                row["p_beats_flops_ties"] = float(
                    _against(flops[evidence], flops["baseline " + evidence])[0].mean()
                )
        rows.append(row)
    return rows


def replay(
    grid: Grid,
    eta: int,
    min_epochs: int,
    settings: ReplaySettings = ReplaySettings(),
    points: Sequence[int] | None = None,
    strategies: Mapping[str, Replayed] | None = None,
) -> pd.DataFrame:
    """Every strategy (default: the planned ones) at every compute point it fits, each but
    random search judged as one of the replay's comparisons (one per other strategy)."""
    strategies = dict(strategies or planned(eta, min_epochs))
    baseline = strategies[BASELINE]
    comparisons = len(strategies) - 1
    rows = []
    for epochs in points or compute_points(grid):
        for name, replayed in strategies.items():
            own = settings.costly() if replayed[1] else settings
            orders = orders_for(grid, own.simulations, own.seed)
            ours = _outcomes(grid, replayed[0](grid, epochs), orders)
            if ours is None:
                continue
            theirs = flops = None
            if name != BASELINE:
                theirs = _outcomes(grid, baseline[0](grid, epochs), orders)
                if theirs is not None:
                    flops = _flops_tied(grid, replayed, baseline, epochs, own)
            resampled: dict[str, np.ndarray] = {}
            if not grid.enumerated and (name == BASELINE or theirs is not None):
                resampled = _resampled_statistics(grid, replayed, epochs, own, baseline)
            rows += _rows(
                name, grid, epochs, ours, theirs, flops, resampled, own, eta, min_epochs,
                comparisons,
            )  # fmt: skip
    return pd.DataFrame(rows, columns=REPLAY_COLUMNS)


def _flops_tied(
    grid: Grid, replayed: Replayed, baseline: Replayed, epochs: int, settings: ReplaySettings
) -> dict[str, np.ndarray]:
    """The same orders with ties broken by the run's own rule (fewer FLOPs, then arch_id):
    how much the tie rule moves the win rate."""
    orders = orders_for(grid, settings.simulations, settings.seed, ties="flops")
    ours = _outcomes(grid, replayed[0](grid, epochs), orders)
    theirs = _outcomes(grid, baseline[0](grid, epochs), orders)
    return {**ours, **{f"baseline {key}": value for key, value in theirs.items()}}
