"""Replaying search strategies on a dense grid, without training: every draw of a run trained
at every budget of its ladder is a table from which random search, successive halving and
Hyperband can be simulated many times, as NAS-Bench-201's `simulate_train_eval` and Syne
Tune's blackbox backends do on their benchmarks.

Each simulation draws its architectures without replacement from the grid's own draws and
asks the grid what each training scored; a strategy's outcome is the full-budget validation
accuracy (a diverged training counts as chance, as everywhere else) of the architecture it
picks. Near the grid's size the spread shrinks to nothing: a replay cannot see beyond its grid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from random_nas.analysis import ranked, scored_draws
from random_nas.halving import hyperband_brackets, promoted_count, rung_budgets

STRATEGIES = ("random_search", "successive_halving", "hyperband")
REPLAY_COLUMNS = [
    "strategy",
    "compute_epoch_images",
    "simulations",
    "mean_best_val_accuracy",
    "p05",
    "p50",
    "p95",
    "draws",
    "p_beats_random_search",
    "median_regret",
]


@dataclass(frozen=True)
class Grid:
    """A dense grid as arrays: `order[d, b]` is draw d's place (0 = best) among all draws at
    budget `budgets[b]`, by the ranking a real run promotes by (validation accuracy, then fewer
    FLOPs, then arch_id); a diverged training's place is past every `ok` one's (size and up),
    and it is never promoted. `outcome[d]` is the draw's full-budget score."""

    arch_ids: tuple[str, ...]
    budgets: tuple[int, ...]
    order: np.ndarray
    outcome: np.ndarray
    train_images: int

    @property
    def size(self) -> int:
        return len(self.arch_ids)


def dense_grid(trials: pd.DataFrame, budgets: list[int], train_images: int, classes: int) -> Grid:
    """The grid of `trials` (one row per architecture and budget) over `budgets`; draws not
    measured at every budget (a failed training) are left out."""
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
    scores = scored_draws(full, classes).set_index("arch_id")["score"]
    outcome = scores.reindex(arch_ids).to_numpy(dtype=np.float64)
    return Grid(tuple(arch_ids), tuple(budgets), order, outcome, train_images)


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


def halving_plan(draws: int, budgets: list[int], eta: int) -> list[tuple[int, int]]:
    """The rungs of successive halving from `draws` over the ladder, as a run promotes."""
    rungs, candidates = [], draws
    for budget in budgets:
        rungs.append((candidates, budget))
        candidates = promoted_count(candidates, eta)
    return rungs


def rungs_epochs(rungs: list[tuple[int, int]]) -> int:
    return sum(candidates * budget for candidates, budget in rungs)


def most_draws_within(epochs: int, budgets: list[int], eta: int, limit: int) -> int:
    """The most draws successive halving can start from within `epochs` (0: not even one)."""
    draws = 0
    while draws < limit and rungs_epochs(halving_plan(draws + 1, budgets, eta)) <= epochs:
        draws += 1
    return draws


def hyperband_plan(epochs: int, min_epochs: int, eta: int, full: int) -> list[list[tuple]]:
    """The brackets Hyperband runs within `epochs`: s = s_max .. 0 and again, while the next
    bracket still fits."""
    brackets, plan, spent = hyperband_brackets(min_epochs, eta, full), [], 0
    while True:
        bracket = brackets[len(plan) % len(brackets)]
        if spent + rungs_epochs(bracket) > epochs:
            return plan
        plan.append(bracket)
        spent += rungs_epochs(bracket)


def draws_needed(grid: Grid, strategy: str, epochs: int, eta: int, min_epochs: int) -> int:
    """How many architectures `strategy` draws within `epochs` of training (0: none)."""
    full, budgets = grid.budgets[-1], list(grid.budgets)
    if strategy == "random_search":
        return epochs // full
    if strategy == "successive_halving":
        return most_draws_within(epochs, budgets, eta, grid.size + 1)
    if strategy == "hyperband":
        if min_epochs * eta ** (len(budgets) - 1) != full:
            return 0  # Hyperband's brackets need a ladder of powers of eta (halving.py)
        return sum(bracket[0][0] for bracket in hyperband_plan(epochs, min_epochs, eta, full))
    raise ValueError(f"unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}")


def simulate(
    grid: Grid,
    strategy: str,
    epochs: int,
    eta: int,
    min_epochs: int,
    simulations: int,
    rng: np.random.Generator,
) -> np.ndarray | None:
    """`simulations` outcomes of `strategy` given `epochs` of training (summed over its
    trainings); None where it cannot run within them or needs more draws than the grid has."""
    draws = draws_needed(grid, strategy, epochs, eta, min_epochs)
    if not 1 <= draws <= grid.size:
        return None
    if strategy == "random_search":
        run: Callable[[np.ndarray], int] = lambda members: _pick(grid, members, -1)  # noqa: E731
    elif strategy == "successive_halving":
        rungs = halving_plan(draws, list(grid.budgets), eta)
        run = lambda members: _halving(grid, members, rungs)  # noqa: E731
    else:
        plan = hyperband_plan(epochs, min_epochs, eta, grid.budgets[-1])

        def run(members: np.ndarray) -> int:
            picks, start = [], 0
            for bracket in plan:
                chosen = members[start : start + bracket[0][0]]
                picks.append(_halving(grid, chosen, bracket))
                start += bracket[0][0]
            return _pick(grid, np.array(picks), -1)

    outcomes = np.empty(simulations)
    for index in range(simulations):
        members = rng.permutation(grid.size)[:draws]
        outcomes[index] = grid.outcome[run(members)]
    return outcomes


def run_on_grid(grid: Grid, strategy: str, eta: int) -> tuple[int, float] | None:
    """What a real successive-halving run over all the grid's draws spent (epochs) and found
    (the full-budget score of its pick): its trainings are the grid's own entries."""
    if strategy != "successive_halving":
        return None
    rungs = halving_plan(grid.size, list(grid.budgets), eta)
    pick = _halving(grid, np.arange(grid.size), rungs)
    return rungs_epochs(rungs), float(grid.outcome[pick])


def compute_points(grid: Grid) -> list[int]:
    """Compute budgets to replay at, in epochs: 1, 2, 4, ... full-budget trainings, up to the
    grid's size."""
    points, trainings = [], 1
    while trainings <= grid.size:
        points.append(trainings * grid.budgets[-1])
        trainings *= 2
    return points


def replay(
    grid: Grid,
    eta: int,
    min_epochs: int,
    simulations: int = 1000,
    seed: int = 0,
    points: list[int] | None = None,
) -> pd.DataFrame:
    """Every strategy at every compute point it fits: the distribution of its outcome over
    `simulations` resampled searches (fractions, as val_accuracy), how often it beats random
    search's outcome at the same compute (simulation i against simulation i; ties count half),
    and its median regret against the grid's best full-budget score."""
    rng = np.random.default_rng(seed)
    best = grid.outcome.max()
    rows = []
    for epochs in points or compute_points(grid):
        outcomes = {
            strategy: simulate(grid, strategy, epochs, eta, min_epochs, simulations, rng)
            for strategy in STRATEGIES
        }
        baseline = outcomes["random_search"]
        for strategy, values in outcomes.items():
            if values is None:
                continue
            beats = (
                float(np.mean((values > baseline) + 0.5 * (values == baseline)))
                if baseline is not None and strategy != "random_search"
                else np.nan
            )
            low, middle, high = np.quantile(values, [0.05, 0.5, 0.95])
            rows.append(
                {
                    "strategy": strategy,
                    "compute_epoch_images": epochs * grid.train_images,
                    "draws": draws_needed(grid, strategy, epochs, eta, min_epochs),
                    "simulations": simulations,
                    "mean_best_val_accuracy": float(values.mean()),
                    "p05": float(low),
                    "p50": float(middle),
                    "p95": float(high),
                    "p_beats_random_search": beats,
                    "median_regret": float(np.median(best - values)),
                }
            )
    return pd.DataFrame(rows, columns=REPLAY_COLUMNS)


def ladder(config: dict) -> list[int]:
    """The budgets of a run's ladder: min_epochs · eta^r up to training.epochs."""
    search = config.get("search", {})
    return rung_budgets(
        int(search.get("min_epochs", 1)),
        int(search.get("eta", 3)),
        int(config["training"]["epochs"]),
    )


def replay_findings(table: pd.DataFrame, grid: Grid, full_training: int) -> list[str]:
    """The replay's verdicts: how often halving and Hyperband pick better than random search
    at the same compute, their mean best and median regret, per compute budget."""
    size = f"{grid.size} draws"
    simulations = int(table["simulations"].iloc[0]) if len(table) else 0
    lines = [
        f"Replayed {simulations:,} times per compute budget on the grid's {size} (budgets "
        f"{', '.join(map(str, grid.budgets))} epochs), each search drawing its architectures "
        "without replacement from them; compute in full-budget trainings' worth of "
        "epoch-images; outcome: the full-budget validation accuracy of the pick."
    ]
    random_search = table[table["strategy"] == "random_search"].set_index("compute_epoch_images")
    for strategy, name in (
        ("successive_halving", "Successive halving"),
        ("hyperband", "Hyperband"),
    ):
        rows = table[table["strategy"] == strategy]
        rows = rows[rows["compute_epoch_images"].isin(random_search.index)]
        if rows.empty:
            continue
        base = random_search.loc[rows["compute_epoch_images"]]
        compute = " / ".join(f"{c / full_training:g}" for c in rows["compute_epoch_images"])
        draws = " / ".join(str(d) for d in rows["draws"])
        lines.append(
            f"{name} against random search at equal compute ({compute} full trainings; "
            f"{draws} draws against {' / '.join(str(d) for d in base['draws'])}): it picks "
            "better in "
            + " / ".join(f"{100 * p:.0f} %" for p in rows["p_beats_random_search"])
            + " of the paired simulations (ties half); mean best "
            + " / ".join(f"{100 * v:.2f}" for v in rows["mean_best_val_accuracy"])
            + " % against "
            + " / ".join(f"{100 * v:.2f}" for v in base["mean_best_val_accuracy"])
            + " %; median regret "
            + " / ".join(f"{100 * v:.1f}" for v in rows["median_regret"])
            + " against "
            + " / ".join(f"{100 * v:.1f}" for v in base["median_regret"])
            + " points."
        )
    return lines
