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

from random_nas.analysis import ranked, scored_draws
from random_nas.halving import hyperband_brackets, promoted_count, rung_budgets

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
    """The grid of `trials` (one row per architecture and budget) over `budgets`; draws not
    measured at every budget (a failed training) are left out. `repeats` (full-budget
    trainings under other seeds) add a held-out validation score per seed that measured every
    draw of the grid."""
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
    chance = 1 / classes
    scores = {
        SELECTING: scored["score"].reindex(arch_ids).to_numpy(dtype=np.float64),
        TEST: scored["test_accuracy"]
        .where(scored["status"] == "ok", chance)
        .reindex(arch_ids)
        .to_numpy(dtype=np.float64),
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
    """The brackets Hyperband runs within `epochs`: whole iterations (s = s_max .. 0) while
    they fit, then the next iteration's brackets in order while the next still fits."""
    brackets, plan, spent = hyperband_brackets(min_epochs, eta, full), [], 0
    while True:
        bracket = brackets[len(plan) % len(brackets)]
        if spent + rungs_epochs(bracket) > epochs:
            return plan
        plan.append(bracket)
        spent += rungs_epochs(bracket)


def bracket_names(plan: list[list[tuple]]) -> str:
    """A Hyperband plan's brackets in the order they ran, by s (the rungs each has, minus
    one), with `|` after each whole iteration: "2 1 0 | 2" is one iteration and one bracket."""
    names, s_max = [], max((len(bracket) - 1 for bracket in plan), default=0)
    for bracket in plan:
        names.append(str(len(bracket) - 1))
        if len(bracket) == 1 and s_max:
            names.append("|")
    return " ".join(names).rstrip(" |")


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


def epochs_spent(grid: Grid, strategy: str, epochs: int, eta: int, min_epochs: int) -> int:
    """The epochs `strategy` trains within a cap of `epochs`: what its whole searches cost."""
    draws = draws_needed(grid, strategy, epochs, eta, min_epochs)
    if strategy == "random_search":
        return draws * grid.budgets[-1]
    if strategy == "successive_halving":
        return rungs_epochs(halving_plan(draws, list(grid.budgets), eta)) if draws else 0
    plan = hyperband_plan(epochs, min_epochs, eta, grid.budgets[-1]) if draws else []
    return sum(rungs_epochs(bracket) for bracket in plan)


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

    return np.array([run(order[:draws]) for order in permutations])


def run_on_grid(grid: Grid, strategy: str, eta: int) -> tuple[int, int] | None:
    """What a real successive-halving run over all the grid's draws spent (epochs) and picked
    (the draw's index): its trainings are the grid's own entries."""
    if strategy != "successive_halving":
        return None
    rungs = halving_plan(grid.size, list(grid.budgets), eta)
    return rungs_epochs(rungs), _halving(grid, np.arange(grid.size), rungs)


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
            plan = (
                hyperband_plan(epochs, min_epochs, eta, grid.budgets[-1])
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
                        "brackets": bracket_names(plan),
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


def ladder(config: dict) -> list[int]:
    """The budgets of a run's ladder: min_epochs · eta^r up to training.epochs."""
    search = config.get("search", {})
    return rung_budgets(
        int(search.get("min_epochs", 1)),
        int(search.get("eta", 3)),
        int(config["training"]["epochs"]),
    )


def _slashed(values, form: str) -> str:
    return " / ".join(form.format(value) for value in values)


def held_out(grid: Grid) -> list[str]:
    """The evidence of the grid that did not choose a pick: test first, then other seeds."""
    return [evidence for evidence in grid.scores if evidence != SELECTING]


def evidence_name(evidence: str) -> str:
    if evidence == SELECTING:
        return "the full-budget validation accuracy that chose"
    if evidence == TEST:
        return "the test accuracy"
    return f"the full-budget validation accuracy under training seed {evidence.split('_')[-1]}"


def replay_findings(table: pd.DataFrame, grid: Grid, full_training: int) -> list[str]:
    """The replay's verdicts, judged on evidence that did not choose the picks: how often
    halving and Hyperband pick better than random search at the same compute and by how much,
    with standard errors, at the computes where no strategy draws more than half the grid;
    and the same on the validation accuracy that chose, for comparison."""
    simulations = int(table["simulations"].iloc[0]) if len(table) else 0
    evidences = held_out(grid)
    lines = [
        f"Replayed {simulations:,} times per compute budget on the grid's {grid.size} draws "
        f"(budgets {', '.join(map(str, grid.budgets))} epochs); every strategy draws a prefix of "
        "one shared random order of the draws per simulation, so that outcomes are paired. A "
        "pick is made on the full-budget validation accuracy and scored on evidence that did "
        f"not choose it: {' and '.join(map(evidence_name, evidences))} (a diverged training as "
        "chance). Compute is a cap in full-budget trainings' worth of epoch-images, beside what "
        "each strategy spent; ± is one standard error over the simulations. Shown: the computes "
        f"at which neither strategy compared draws more than half the grid's {grid.size}; "
        "beyond, both see most of it (replay.csv has every compute)."
    ]
    rows = table[table["draws"] <= grid.size / 2]
    random_search = rows[rows["strategy"] == "random_search"]
    for strategy, name in (
        ("successive_halving", "Successive halving"),
        ("hyperband", "Hyperband"),
    ):
        ours = rows[rows["strategy"] == strategy]
        ours = ours[ours["compute_epoch_images"].isin(random_search["compute_epoch_images"])]
        if ours.empty:
            continue
        chosen = ours[ours["evidence"] == SELECTING]
        base = (
            random_search[random_search["evidence"] == SELECTING]
            .set_index("compute_epoch_images")
            .loc[chosen["compute_epoch_images"]]
        )
        brackets = (
            f"; brackets run (by s, | ends an iteration): {_slashed(chosen['brackets'], '{}')}"
            if strategy == "hyperband"
            else ""
        )
        parts = [
            f"{name} against random search at equal compute (cap "
            f"{_slashed(chosen['compute_epoch_images'] / full_training, '{:g}')} full trainings, "
            f"spent {_slashed(chosen['compute_spent_epoch_images'] / full_training, '{:.2g}')} "
            f"against {_slashed(base['compute_spent_epoch_images'] / full_training, '{:.2g}')}; "
            f"{_slashed(chosen['draws'], '{}')} draws against {_slashed(base['draws'], '{}')}"
            f"{brackets})"
        ]
        for evidence in evidences:
            judged = ours[ours["evidence"] == evidence]
            against = (
                random_search[random_search["evidence"] == evidence]
                .set_index("compute_epoch_images")
                .loc[judged["compute_epoch_images"]]
            )
            parts.append(
                f"on {evidence_name(evidence)}, it picks better in "
                + " / ".join(
                    f"{100 * p:.0f} ± {100 * se:.0f} %"
                    for p, se in zip(
                        judged["p_beats_random_search"],
                        judged["p_beats_random_search_se"],
                        strict=True,
                    )
                )
                + " of the paired simulations (ties half), mean best "
                + _slashed(100 * judged["mean_best_accuracy"], "{:.2f}")
                + " % against "
                + _slashed(100 * against["mean_best_accuracy"], "{:.2f}")
                + " % (difference "
                + " / ".join(
                    f"{100 * d:+.2f} ± {100 * se:.2f}"
                    for d, se in zip(
                        judged["mean_difference"], judged["mean_difference_se"], strict=True
                    )
                )
                + " points)"
            )
        parts.append(
            f"judged on {evidence_name(SELECTING)}, it would seem to pick better in "
            + _slashed(100 * chosen["p_beats_random_search"], "{:.0f}")
            + " %"
        )
        lines.append(": ".join(parts[:2]) + "; " + "; ".join(parts[2:]) + ".")
    return lines
