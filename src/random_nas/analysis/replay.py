"""Replaying search strategies on a dense grid, without training: every draw of a run trained
at every budget of its ladder is a table from which strategies are simulated many times, as
NAS-Bench-201's `simulate_train_eval` and Syne Tune's blackbox backends do on their benchmarks.

Each simulation draws one permutation of the grid's draws, shared by every strategy at every
compute (common random numbers: a strategy's draws come from it in order), and one random
tie-breaker per draw, so that no arbitrary rule decides between equal validation accuracies
(the run's own pick keeps its rule: fewer FLOPs, then arch_id). A strategy picks by the
full-budget validation accuracy; its pick is scored on that evidence and on evidence that did
not choose it: its test accuracy, and its full-budget validation accuracy under another
training seed where the grid has one (a diverged training counts as chance everywhere).

Two uncertainties are kept apart. The Monte-Carlo error over orders shrinks with more
simulations; it says nothing of the space. The interval over architectures resamples the
grid's draws with replacement, then orders within each resample: it says how much the answer
would move had other architectures of the space been drawn, and verdicts follow it.

Strategies: random search, synchronous successive halving sized to the compute (every rung
waits for the one before), Hyperband's brackets, and, in random_nas.analysis.replay_search,
asynchronous successive halving by Syne Tune's own scheduler and the ask/tell strategies that
can act on a finite grid (model-based ones: TPE, or a user's own).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from random_nas.analysis.draws import counted, ranked
from random_nas.halving import (
    bracket_names,
    halving_draws_within,
    halving_schedule,
    hyperband_within,
    schedule_epochs,
)
from random_nas.space import Architecture, SearchSpace

PLANNED = ("random_search", "successive_halving", "hyperband")
SELECTING = "validation"
TEST = "test"
# A tie-breaker moves a key by less than any difference of two accuracies on up to 10^8 images.
_TIE = 1e-9


@dataclass(frozen=True)
class Grid:
    """A dense grid as arrays: `accuracy[d, b]` is draw d's validation accuracy at budget
    `budgets[b]` (-inf for a diverged training: never promoted, picked only where nothing else
    finished); `scores[evidence][d]` what its full-budget training scored on each evidence
    (`validation`, the one that chose; `test`; `validation_seed_{n}`), counted by the one
    rule; `flops_order[d]` its place by the run's own tie rule (fewer FLOPs, then arch_id)."""

    arch_ids: tuple[str, ...]
    budgets: tuple[int, ...]
    accuracy: np.ndarray
    scores: Mapping[str, np.ndarray]
    flops_order: np.ndarray
    train_images: int
    architectures: tuple[Architecture, ...] = ()
    # The space the grid holds whole, where it does (enumerated_grid); `noise[evidence][d]`,
    # there, the variance of draw d's held-out measurement (training seed, images).
    space: SearchSpace | None = None
    noise: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def enumerated(self) -> bool:
        """Whether the grid holds every architecture of its space: strategies that move
        through the space act on it, and replays pair by sampling seed (stream_orders)."""
        return self.space is not None

    @property
    def outcome(self) -> np.ndarray:
        """The score a strategy picks by: the full-budget validation accuracy."""
        return self.scores[SELECTING]

    @property
    def size(self) -> int:
        return len(self.arch_ids)

    def resampled(self, draws: np.ndarray) -> Grid:
        """The grid of `draws` (indices, repeats allowed: a bootstrap of the architectures;
        a repeated draw is another architecture that scored alike)."""
        return replace(
            self,
            arch_ids=tuple(self.arch_ids[d] for d in draws),
            accuracy=self.accuracy[draws],
            scores={name: values[draws] for name, values in self.scores.items()},
            flops_order=np.argsort(np.argsort(self.flops_order[draws], kind="stable")),
            architectures=tuple(self.architectures[d] for d in draws) if self.architectures else (),
        )


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
    complete = measured.groupby("arch_id")["epochs"].apply(set)
    arch_ids = sorted(arch_id for arch_id, epochs in complete.items() if set(budgets) <= epochs)
    if not arch_ids:
        raise ValueError(f"no architecture of the grid was measured at every budget {budgets}")
    at = measured[measured["arch_id"].isin(arch_ids)].set_index(["arch_id", "epochs"])
    accuracy = np.full((len(arch_ids), len(budgets)), -np.inf)
    for column, budget in enumerate(budgets):
        rows = at.xs(budget, level="epochs").reindex(arch_ids)
        ok = (rows["status"] == "ok").to_numpy()
        accuracy[ok, column] = rows["val_accuracy"].to_numpy(dtype=float)[ok]
    full = measured[(measured["epochs"] == budgets[-1]) & measured["arch_id"].isin(arch_ids)]
    scored = counted(full, classes).set_index("arch_id").reindex(arch_ids)
    scores = {
        SELECTING: scored["val_accuracy"].to_numpy(dtype=np.float64),
        TEST: scored["test_accuracy"].to_numpy(dtype=np.float64),
    }
    for seed, rows in repeats.groupby("seed") if repeats is not None else ():
        again = counted(rows[rows["epochs"] == budgets[-1]], classes).set_index("arch_id")
        if set(arch_ids) <= set(again.index):
            scores[f"validation_seed_{seed}"] = again["val_accuracy"].reindex(arch_ids).to_numpy()
    by_rule = ranked(full.assign(val_accuracy=0.0))["arch_id"].tolist()
    flops_order = np.array([by_rule.index(a) if a in by_rule else len(by_rule) for a in arch_ids])
    architectures = ()
    if "architecture" in full:
        layers = full.set_index("arch_id")["architecture"].reindex(arch_ids)
        architectures = tuple(Architecture.from_dict(json.loads(text)) for text in layers)
    return Grid(tuple(arch_ids), tuple(budgets), accuracy, scores, flops_order, train_images,
                architectures)  # fmt: skip


def enumerated_grid(grid: Grid, space: SearchSpace, test_images: int | None) -> Grid:
    """`grid` marked as its space's whole, where it holds every architecture of `space`, with
    the variance of each architecture's held-out measurements: its own training seed's (from
    its seeds' validation accuracies at the full budget: half the squared difference of two,
    unbiased, one degree of freedom per seed added; a small network can be far noisier than a
    large one, so the noise is not pooled over the space), and on test the binomial variance
    of its images besides (its errors taken as independent of another's: the same images make
    them alike, so this overstates a difference's)."""
    held = {arch.arch_id for arch in grid.architectures}
    if len(held) != space.size or held != {space.decode(i).arch_id for i in range(space.size)}:
        return grid
    seeds = [name for name in grid.scores if name.startswith("validation_seed_")]
    pairs = [grid.scores[name] - grid.outcome for name in seeds]
    seed_variance = np.mean([pair**2 / 2 for pair in pairs], axis=0) if pairs else 0.0
    noise = {name: seed_variance for name in seeds}
    if TEST in grid.scores:
        test = grid.scores[TEST]
        images = test * (1 - test) / test_images if test_images else 0.0
        noise[TEST] = np.zeros(grid.size) + seed_variance + images
    return replace(grid, space=space, noise=noise)


@dataclass(frozen=True)
class Orders:
    """One simulation per row: the order the draws are met in, each draw's tie-breaker
    (higher wins a tie), and the sampling seed an ask/tell strategy is built with. Shared by
    every strategy at every compute."""

    permutations: np.ndarray
    tiebreaks: np.ndarray
    seeds: np.ndarray

    def __len__(self) -> int:
        return len(self.permutations)


def shared_orders(grid: Grid, simulations: int, seed: int, ties: str = "random") -> Orders:
    """Random orders of the grid's draws; ties broken at random in each simulation, or by the
    run's own rule (`ties="flops"`: fewer FLOPs, then arch_id)."""
    rng = np.random.default_rng(seed)
    permutations = np.stack([rng.permutation(grid.size) for _ in range(simulations)])
    if ties == "flops":
        tiebreaks = np.tile(1 - grid.flops_order / max(1, grid.size), (simulations, 1))
    else:
        tiebreaks = rng.random((simulations, grid.size))
    seeds = np.array([np.random.default_rng(order).integers(2**31) for order in permutations])
    return Orders(permutations, tiebreaks, seeds)


def stream_orders(grid: Grid, space: SearchSpace, simulations: int, seed: int) -> Orders:
    """On an enumerated grid, simulation r is the live search of sampling seed `seed + r`: its
    order is that seed's stream of the space (space.sample), the architectures random search
    trains and an ask/tell strategy draws first; ties broken at random."""
    place = np.empty(space.size, dtype=int)
    place[[space.encode(arch) for arch in grid.architectures]] = np.arange(grid.size)
    seeds = seed + np.arange(simulations)
    permutations = np.stack([place[space.sample_indices(space.size, int(s))] for s in seeds])
    tiebreaks = np.random.default_rng([seed, 11]).random((simulations, grid.size))
    return Orders(permutations, tiebreaks, seeds)


def _keys(grid: Grid, tiebreak: np.ndarray) -> np.ndarray:
    return grid.accuracy + _TIE * tiebreak[:, None]


def _pick(keys: np.ndarray, members: np.ndarray, column: int = -1) -> int:
    return int(members[np.argmax(keys[members, column])])


def _halving(keys: np.ndarray, members: np.ndarray, rungs: list[tuple[int, int]],
             budgets: tuple[int, ...]) -> int:  # fmt: skip
    """Synchronous successive halving of `members` over `rungs` (candidates, budget): each
    rung waits for the whole one before and keeps its best; the pick is the top rung's best
    (where no training of a rung finished, its first member: a chance score)."""
    columns = [budgets.index(budget) for _, budget in rungs]
    for number in range(len(rungs) - 1):
        best_first = members[np.argsort(-keys[members, columns[number]], kind="stable")]
        finished = best_first[np.isfinite(keys[best_first, columns[number]])]
        members = finished[: rungs[number + 1][0]] if len(finished) else best_first[:1]
    return _pick(keys, members, columns[-1])


def draws_needed(grid: Grid, strategy: str, epochs: int, eta: int, min_epochs: int) -> int:
    """How many architectures a planned strategy draws within `epochs` of training."""
    full, budgets = grid.budgets[-1], list(grid.budgets)
    if strategy == "random_search":
        return epochs // full
    if strategy == "successive_halving":
        return halving_draws_within(epochs, budgets, eta, grid.size + 1)
    if min_epochs * eta ** (len(budgets) - 1) != full:
        return 0  # Hyperband's brackets need a ladder of powers of eta (halving.py)
    return sum(bracket[0][0] for bracket in hyperband_within(epochs, min_epochs, eta, full))


def epochs_spent(grid: Grid, strategy: str, epochs: int, eta: int, min_epochs: int) -> int:
    """The epochs a planned strategy trains within a cap of `epochs`."""
    draws = draws_needed(grid, strategy, epochs, eta, min_epochs)
    if strategy == "random_search":
        return draws * grid.budgets[-1]
    if strategy == "successive_halving":
        return schedule_epochs(halving_schedule(draws, list(grid.budgets), eta)) if draws else 0
    brackets = hyperband_within(epochs, min_epochs, eta, grid.budgets[-1]) if draws else []
    return sum(schedule_epochs(bracket) for bracket in brackets)


# One simulated search: (order, keys, sampling seed) -> (its pick, the epochs it trained, the
# draws it met).
Search = Callable[[np.ndarray, np.ndarray, int], tuple[int, int, int]]


def planned_search(
    grid: Grid, strategy: str, epochs: int, eta: int, min_epochs: int
) -> Search | None:
    """One simulation of a planned strategy within `epochs`; None where it cannot run within
    them or needs more draws than the grid has."""
    draws = draws_needed(grid, strategy, epochs, eta, min_epochs)
    if not 1 <= draws <= grid.size:
        return None
    spent = epochs_spent(grid, strategy, epochs, eta, min_epochs)
    if strategy == "random_search":
        return lambda order, keys, seed: (_pick(keys, order[:draws]), spent, draws)
    if strategy == "successive_halving":
        rungs = halving_schedule(draws, list(grid.budgets), eta)
        return lambda order, keys, seed: (
            _halving(keys, order[:draws], rungs, grid.budgets),
            spent,
            draws,
        )
    brackets = hyperband_within(epochs, min_epochs, eta, grid.budgets[-1])

    def hyperband(order: np.ndarray, keys: np.ndarray, seed: int) -> tuple[int, int, int]:
        picks, start = [], 0
        for bracket in brackets:
            picks.append(_halving(keys, order[start : start + bracket[0][0]], bracket,
                                  grid.budgets))  # fmt: skip
            start += bracket[0][0]
        return _pick(keys, np.array(picks)), spent, draws

    return hyperband


def simulate(grid: Grid, search: Search | None, orders: Orders) -> np.ndarray | None:
    """Each simulation of `orders`: a row (pick, epochs spent, draws met); None where the
    search cannot run."""
    if search is None:
        return None
    return np.array(
        [
            search(order, _keys(grid, tiebreak), int(seed))
            for order, tiebreak, seed in zip(
                orders.permutations, orders.tiebreaks, orders.seeds, strict=True
            )
        ]
    )


def run_on_grid(grid: Grid, strategy: str, eta: int) -> tuple[int, int] | None:
    """What a real successive-halving run over all the grid's draws spent (epochs) and picked
    (the draw's index), by the run's own tie rule: its trainings are the grid's own entries."""
    if strategy != "successive_halving":
        return None
    rungs = halving_schedule(grid.size, list(grid.budgets), eta)
    keys = _keys(grid, 1 - grid.flops_order / grid.size)
    return schedule_epochs(rungs), _halving(keys, np.arange(grid.size), rungs, grid.budgets)


# An enumerated grid is replayed up to this share of its space's worth of trainings.
ENUMERATED_SHARE = 4


def compute_points(grid: Grid) -> list[int]:
    """Compute budgets to replay at, in epochs: 1, 2, 4, ... full-budget trainings, up to the
    grid's size (a quarter of it on an enumerated grid, where random search at the whole
    space's worth trains all of it, a search of a sizeable share of the space is no longer a
    search, and the replays of model-based strategies cost most there: TPE's ask grows with
    what it was told)."""
    points, trainings = [], 1
    while trainings <= (grid.size // ENUMERATED_SHARE if grid.enumerated else grid.size):
        points.append(trainings * grid.budgets[-1])
        trainings *= 2
    return points


def held_out(grid: Grid) -> list[str]:
    """The evidence of the grid that did not choose a pick: test first, then other seeds."""
    return [evidence for evidence in grid.scores if evidence != SELECTING]


def describe_brackets(grid: Grid, epochs: int, eta: int, min_epochs: int) -> str:
    return bracket_names(hyperband_within(epochs, min_epochs, eta, grid.budgets[-1]))
