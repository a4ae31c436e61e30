"""What makes a space easy or hard for a strategy, read off a dense grid (every architecture of
the space where it was enumerated, `num_architectures: all`): how far its accuracies spread
beside the noise of a training seed, how alike neighbours score (what evolution and local
search count on), how well a short training ranks as the full one does (what halving counts
on), and where the best architecture stands. Each a number with the pairs or architectures
it rests on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from random_nas.analysis.replay import SELECTING, TEST, Grid
from random_nas.space import SearchSpace
from random_nas.strategies.encoding import to_settings

LANDSCAPE_COLUMNS = ["measure", "value", "unit", "over"]


def _settings_matrix(grid: Grid, space: SearchSpace) -> np.ndarray:
    """One row of setting values per architecture of the grid."""
    rows = [list(to_settings(space, arch).values()) for arch in grid.architectures]
    return np.array(rows, dtype=np.int64)


def nearest_pairs(grid: Grid, space: SearchSpace) -> tuple[np.ndarray, np.ndarray]:
    """Each architecture's nearest others in the grid (fewest settings apart): the index pairs
    (a, b), a < b, each pair once, and how many settings each pair differs in."""
    settings = _settings_matrix(grid, space)
    apart = (settings[:, None, :] != settings[None, :, :]).sum(axis=2)
    np.fill_diagonal(apart, np.iinfo(np.int64).max)
    nearest = apart == apart.min(axis=1, keepdims=True)
    first, second = np.nonzero(nearest | nearest.T)
    keep = first < second
    return np.stack([first[keep], second[keep]], axis=1), apart[first[keep], second[keep]]


def _seed_sd(grid: Grid) -> float | None:
    """A training seed's standard deviation at the full budget, from the grid's second seed."""
    again = [name for name in grid.scores if name.startswith("validation_seed_")]
    if not again:
        return None
    return float(np.std(grid.scores[again[0]] - grid.scores[SELECTING], ddof=1) / np.sqrt(2))


def _rank_of(values: np.ndarray, member: int) -> int:
    """1 for the highest of `values`."""
    return int((values > values[member]).sum()) + 1


def landscape(grid: Grid, space: SearchSpace) -> pd.DataFrame:
    """The landscape's numbers, each with its unit (`points` and `accuracy` as fractions)."""
    accuracy, full = grid.scores[SELECTING], grid.budgets[-1]
    rows = [
        ("architectures", grid.size, "count", f"of the space's {space.size:,}"),
        (
            "validation sd",
            float(np.std(accuracy, ddof=1)),
            "points",
            f"over the grid at {full} epochs",
        ),
        (
            "validation p95 - p05",
            float(np.quantile(accuracy, 0.95) - np.quantile(accuracy, 0.05)),
            "points",
            f"over the grid at {full} epochs",
        ),
    ]
    seed_sd = _seed_sd(grid)
    if seed_sd is not None:
        rows.append(
            ("training seed sd", seed_sd, "points", f"two seeds of every architecture at {full}")
        )
    if grid.architectures:
        pairs, apart = nearest_pairs(grid, space)
        r = np.corrcoef(accuracy[pairs[:, 0]], accuracy[pairs[:, 1]])[0, 1]
        rows.append(
            (
                "nearest-neighbour correlation",
                float(r),
                "coefficient",
                f"{len(pairs)} pairs of nearest architectures, {apart.mean():.2g} settings apart",
            )
        )
    for column, budget in enumerate(grid.budgets[:-1]):
        rho = stats.spearmanr(grid.accuracy[:, column], accuracy).statistic
        rows.append(
            (
                f"rank correlation, {budget} with {full} epochs",
                float(rho),
                "coefficient",
                "Spearman",
            )
        )
    best = int(np.argmax(accuracy))
    rows += [
        ("best: validation", float(accuracy[best]), "accuracy", grid.arch_ids[best]),
        ("best: rank on test", _rank_of(grid.scores[TEST], best), "rank", "1 is the highest"),
    ]
    for column, budget in enumerate(grid.budgets[:-1]):
        rows.append(
            (
                f"best: rank at {budget} epoch{'s' * (budget != 1)}",
                _rank_of(grid.accuracy[:, column], best),
                "rank",
                "",
            )
        )
    if seed_sd is not None:
        within = int((accuracy >= accuracy[best] - 2 * seed_sd * np.sqrt(2)).sum())
        rows.append(
            ("within seed noise of the best", within, "count", "less than 2 sd of a difference")
        )
    return pd.DataFrame(rows, columns=LANDSCAPE_COLUMNS)


def local_reach(
    grid: Grid, space: SearchSpace, walks: Mapping[int, Sequence[str]], start: int
) -> pd.DataFrame:
    """How far local search's budget lets it move: in each replayed walk (the architectures
    a local search of one seed trained, in order), how many settings its pick lies from the
    best of its first `start` draws, where it began walking; the median over walks, at 2, 4
    and 8 times `start` trainings (those its walks reach)."""
    place = {arch_id: draw for draw, arch_id in enumerate(grid.arch_ids)}
    settings, accuracy = _settings_matrix(grid, space), grid.scores[SELECTING]
    rows = []
    for trainings in (2 * start, 4 * start, 8 * start):
        moved = []
        for walk in walks.values():
            if len(walk) < trainings:
                continue
            draws = np.array([place[arch_id] for arch_id in walk[:trainings]])
            first = draws[np.argmax(accuracy[draws[:start]])]
            pick = draws[np.argmax(accuracy[draws])]
            moved.append(int((settings[first] != settings[pick]).sum()))
        if moved:
            rows.append((f"local search: settings moved in {trainings} trainings",
                         float(np.median(moved)), "settings",
                         f"median over {len(moved)} replays (most {max(moved)}), from the best "
                         f"of its first {start} draws to its pick"))  # fmt: skip
    return pd.DataFrame(rows, columns=LANDSCAPE_COLUMNS)
