"""Replaying search strategies on a dense grid, without training: every draw of a run trained
at every budget of its ladder is a table from which random search, successive halving and
Hyperband can be simulated many times, as NAS-Bench-201's `simulate_train_eval` and Syne
Tune's blackbox backends do on their benchmarks.

Each simulation draws one permutation of the grid's draws, shared by every strategy at every
compute (common random numbers: a strategy's draws are a prefix of it), and asks the grid what
each training scored; a strategy picks by the full-budget validation accuracy, as a run does.
Its pick is then scored on that same evidence and on evidence that did not choose it: its test
accuracy, and its full-budget validation accuracy under another training seed where the grid
has one (a diverged training counts as chance, as everywhere else). Near the grid's size the
spread shrinks to nothing: a replay cannot see beyond its grid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from random_nas.analysis.draws import ranked, scored_draws
from random_nas.halving import (
    bracket_names,
    halving_draws_within,
    halving_schedule,
    hyperband_within,
    schedule_epochs,
)

STRATEGIES = ("random_search", "successive_halving", "hyperband")


REPLAY_COLUMNS = [
    "strategy",
    "compute_epoch_images",
    "compute_spent_epoch_images",
    "draws",
    "brackets",
    "evidence",
    "simulations",
    "mean_best_accuracy",
    "mean_best_accuracy_se",
    "p05",
    "p50",
    "p95",
    "p_beats_random_search",
    "p_beats_random_search_se",
    "mean_difference",
    "mean_difference_se",
    "median_regret",
]


# What a pick is scored on: the evidence that chose it, then evidence that did not.
SELECTING = "validation"


TEST = "test"


@dataclass(frozen=True)
class Grid:
    """A dense grid as arrays: `order[d, b]` is draw d's place (0 = best) among all draws at
    budget `budgets[b]`, by the ranking a real run promotes by (validation accuracy, then fewer
    FLOPs, then arch_id); a diverged training's place is past every `ok` one's (size and up),
    and it is never promoted. `scores[evidence][d]` is what draw d's full-budget training scored
    on each evidence: `validation` (what chose), `test`, and `validation_seed_{n}` where every
    draw was trained again with seed n."""

    arch_ids: tuple[str, ...]
    budgets: tuple[int, ...]
    order: np.ndarray
    scores: Mapping[str, np.ndarray]
    train_images: int

    @property
    def outcome(self) -> np.ndarray:
        """The score a strategy picks by: the full-budget validation accuracy."""
        return self.scores[SELECTING]

    @property
    def size(self) -> int:
        return len(self.arch_ids)


def dense_grid(
    trials: pd.DataFrame,
    budgets: list[int],
    train_images: int,
    classes: int,
    repeats: pd.DataFrame | None = None,
) -> Grid:
    """The grid of `trials` (one row per architecture and budget) over `budgets`, counted by
    the one rule (analysis.draws.counted): a diverged training scores as chance on every
    evidence, and a draw not measured at every budget (a failed training) is left out.
    `repeats` (full-budget trainings under other seeds) add a held-out validation score per
    seed that measured every draw of the grid."""
    measured = trials[trials["status"].isin(["ok", "diverged"])]
    complete = measured.groupby("arch_id")["epochs"].apply(lambda epochs: set(epochs))
    arch_ids = sorted(
        arch_id for arch_id, epochs in complete.items() if set(budgets) <= set(epochs)
    )
    if not arch_ids:
        raise ValueError(f"no architecture of the grid was measured at every budget {budgets}")
    position = {arch_id: index for index, arch_id in enumerate(arch_ids)}
    order = np.full((len(arch_ids), len(budgets)), len(arch_ids), dtype=np.int64)
    for column, budget in enumerate(budgets):
        at_budget = measured[(measured["epochs"] == budget) & measured["arch_id"].isin(position)]
        for place, arch_id in enumerate(ranked(at_budget)["arch_id"]):
            order[position[arch_id], column] = place
    full = measured[(measured["epochs"] == budgets[-1]) & measured["arch_id"].isin(position)]
    scored = scored_draws(full, classes).set_index("arch_id")
    scores = {
        SELECTING: scored["score"].reindex(arch_ids).to_numpy(dtype=np.float64),
        TEST: scored["test_accuracy"].reindex(arch_ids).to_numpy(dtype=np.float64),
    }
    for seed, rows in repeats.groupby("seed") if repeats is not None else ():
        again = scored_draws(rows[rows["epochs"] == budgets[-1]], classes).set_index("arch_id")
        if set(arch_ids) <= set(again.index):
            scores[f"validation_seed_{seed}"] = again["score"].reindex(arch_ids).to_numpy()
    return Grid(tuple(arch_ids), tuple(budgets), order, scores, train_images)


def _pick(grid: Grid, members: np.ndarray, column: int) -> int:
    return int(members[np.argmin(grid.order[members, column])])


def _halving(grid: Grid, members: np.ndarray, rungs: list[tuple[int, int]]) -> int:
    """Successive halving of `members` over `rungs` (candidates, budget): its pick among the
    top rung (where no training of a rung finished, its first member: a chance score)."""
    columns = [grid.budgets.index(budget) for _, budget in rungs]
    for number in range(len(rungs) - 1):
        places = grid.order[members, columns[number]]
        best_first = members[np.argsort(places, kind="stable")]
        finished = best_first[grid.order[best_first, columns[number]] < grid.size]
        members = finished[: rungs[number + 1][0]] if len(finished) else best_first[:1]
    return _pick(grid, members, columns[-1])


def draws_needed(grid: Grid, strategy: str, epochs: int, eta: int, min_epochs: int) -> int:
    """How many architectures `strategy` draws within `epochs` of training (0: none)."""
    full, budgets = grid.budgets[-1], list(grid.budgets)
    if strategy == "random_search":
        return epochs // full
    if strategy == "successive_halving":
        return halving_draws_within(epochs, budgets, eta, grid.size + 1)
    if strategy == "hyperband":
        if min_epochs * eta ** (len(budgets) - 1) != full:
            return 0  # Hyperband's brackets need a ladder of powers of eta (halving.py)
        return sum(bracket[0][0] for bracket in hyperband_within(epochs, min_epochs, eta, full))
    raise ValueError(f"unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}")


def epochs_spent(grid: Grid, strategy: str, epochs: int, eta: int, min_epochs: int) -> int:
    """The epochs `strategy` trains within a cap of `epochs`: what its whole searches cost."""
    draws = draws_needed(grid, strategy, epochs, eta, min_epochs)
    if strategy == "random_search":
        return draws * grid.budgets[-1]
    if strategy == "successive_halving":
        return schedule_epochs(halving_schedule(draws, list(grid.budgets), eta)) if draws else 0
    brackets = hyperband_within(epochs, min_epochs, eta, grid.budgets[-1]) if draws else []
    return sum(schedule_epochs(bracket) for bracket in brackets)


def shared_permutations(size: int, simulations: int, seed: int) -> np.ndarray:
    """One random order of the grid's draws per simulation, shared by every strategy at every
    compute (each draws a prefix of it), so that their outcomes are paired."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(size) for _ in range(simulations)])


def simulate(
    grid: Grid,
    strategy: str,
    epochs: int,
    eta: int,
    min_epochs: int,
    permutations: np.ndarray,
) -> np.ndarray | None:
    """The draw `strategy` picks in each simulation (one per row of `permutations`) given
    `epochs` of training (summed over its trainings); None where it cannot run within them or
    needs more draws than the grid has."""
    draws = draws_needed(grid, strategy, epochs, eta, min_epochs)
    if not 1 <= draws <= grid.size:
        return None
    if strategy == "random_search":
        run: Callable[[np.ndarray], int] = lambda members: _pick(grid, members, -1)  # noqa: E731
    elif strategy == "successive_halving":
        rungs = halving_schedule(draws, list(grid.budgets), eta)
        run = lambda members: _halving(grid, members, rungs)  # noqa: E731
    else:
        brackets = hyperband_within(epochs, min_epochs, eta, grid.budgets[-1])

        def run(members: np.ndarray) -> int:
            picks, start = [], 0
            for bracket in brackets:
                chosen = members[start : start + bracket[0][0]]
                picks.append(_halving(grid, chosen, bracket))
                start += bracket[0][0]
            return _pick(grid, np.array(picks), -1)

    return np.array([run(order[:draws]) for order in permutations])


def run_on_grid(grid: Grid, strategy: str, eta: int) -> tuple[int, int] | None:
    """What a real successive-halving run over all the grid's draws spent (epochs) and picked
    (the draw's index): its trainings are the grid's own entries."""
    if strategy != "successive_halving":
        return None
    rungs = halving_schedule(grid.size, list(grid.budgets), eta)
    return schedule_epochs(rungs), _halving(grid, np.arange(grid.size), rungs)


def compute_points(grid: Grid) -> list[int]:
    """Compute budgets to replay at, in epochs: 1, 2, 4, ... full-budget trainings, up to the
    grid's size."""
    points, trainings = [], 1
    while trainings <= grid.size:
        points.append(trainings * grid.budgets[-1])
        trainings *= 2
    return points


def _standard_error(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else np.nan


def replay(
    grid: Grid,
    eta: int,
    min_epochs: int,
    simulations: int = 1000,
    seed: int = 0,
    points: list[int] | None = None,
) -> pd.DataFrame:
    """Every strategy at every compute point it fits, its pick scored on every evidence of the
    grid: the distribution of the score over `simulations` searches (fractions), its mean with
    standard error, how often it beats random search's pick at the same compute on the same
    permutation (ties count half) and its mean difference from it, each with its standard error
    over the simulations, and its median regret against the grid's best on that evidence."""
    permutations = shared_permutations(grid.size, simulations, seed)
    rows = []
    for epochs in points or compute_points(grid):
        picks = {
            strategy: simulate(grid, strategy, epochs, eta, min_epochs, permutations)
            for strategy in STRATEGIES
        }
        for strategy, picked in picks.items():
            if picked is None:
                continue
            brackets = (
                hyperband_within(epochs, min_epochs, eta, grid.budgets[-1])
                if strategy == "hyperband"
                else []
            )
            for evidence, scores in grid.scores.items():
                values = scores[picked]
                if picks["random_search"] is not None and strategy != "random_search":
                    baseline = scores[picks["random_search"]]
                    wins = (values > baseline) + 0.5 * (values == baseline)
                    differences = values - baseline
                else:
                    wins = differences = np.array([np.nan])
                low, middle, high = np.quantile(values, [0.05, 0.5, 0.95])
                rows.append(
                    {
                        "strategy": strategy,
                        "compute_epoch_images": epochs * grid.train_images,
                        "compute_spent_epoch_images": grid.train_images
                        * epochs_spent(grid, strategy, epochs, eta, min_epochs),
                        "draws": draws_needed(grid, strategy, epochs, eta, min_epochs),
                        "brackets": bracket_names(brackets),
                        "evidence": evidence,
                        "simulations": simulations,
                        "mean_best_accuracy": float(values.mean()),
                        "mean_best_accuracy_se": _standard_error(values),
                        "p05": float(low),
                        "p50": float(middle),
                        "p95": float(high),
                        "p_beats_random_search": float(wins.mean()),
                        "p_beats_random_search_se": _standard_error(wins),
                        "mean_difference": float(differences.mean()),
                        "mean_difference_se": _standard_error(differences),
                        "median_regret": float(np.median(scores.max() - values)),
                    }
                )
    return pd.DataFrame(rows, columns=REPLAY_COLUMNS)


def held_out(grid: Grid) -> list[str]:
    """The evidence of the grid that did not choose a pick: test first, then other seeds."""
    return [evidence for evidence in grid.scores if evidence != SELECTING]
