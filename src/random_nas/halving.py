"""Successive halving and Hyperband as schedules: how many draws each rung trains, for how many
epochs, before any training. Which architectures a rung promotes is decided from the previous
rung's results (random_nas.analysis.fidelity.promote).

Stdlib only: the workflow computes these when it is parsed, and the replay simulates them.

- `budget_ladder`: the budgets min_epochs × eta^r up to training.epochs (`config_ladder`: a
  run's, from its config).
- `halving_schedule`: one successive halving, as (candidates, epochs) per rung.
- `hyperband_iteration`: Hyperband's brackets of one iteration, each a halving schedule.
- `hyperband_slices`: a run's Hyperband, each bracket on its own consecutive slice of the draw.
- `hyperband_within`: the brackets Hyperband runs within a cap on epochs (the replay's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# A halving schedule: (candidates, epochs) for each rung, first rung first.
Schedule = list[tuple[int, int]]


def budget_ladder(min_epochs: int, eta: int, epochs: int) -> list[int]:
    """Epochs of each rung: min_epochs × eta^r while below `epochs`, then `epochs` itself."""
    if eta < 2:
        raise ValueError(f"search.eta is {eta}; it must be at least 2")
    if not 1 <= min_epochs <= epochs:
        raise ValueError(
            f"search.min_epochs is {min_epochs}; it must be between 1 and training.epochs "
            f"({epochs})"
        )
    budgets = []
    budget = min_epochs
    while budget < epochs:
        budgets.append(budget)
        budget *= eta
    return [*budgets, epochs]


def config_ladder(config: Mapping[str, Any]) -> list[int]:
    """A run's ladder, from its config (search.min_epochs, search.eta, training.epochs)."""
    search = config.get("search", {})
    return budget_ladder(
        int(search.get("min_epochs", 1)),
        int(search.get("eta", 3)),
        int(config["training"]["epochs"]),
    )


def promoted_count(candidates: int, eta: int) -> int:
    """How many of a rung's candidates the next rung trains: ⌊n / eta⌋, at least one."""
    return max(1, candidates // eta)


def halving_schedule(draws: int, ladder: list[int], eta: int) -> Schedule:
    """Successive halving from `draws` over the ladder, as a run promotes: every draw at the
    first budget, then ⌊n / eta⌋ (at least one) of the n before at each next budget."""
    rungs, candidates = [], draws
    for budget in ladder:
        rungs.append((candidates, budget))
        candidates = promoted_count(candidates, eta)
    return rungs


def schedule_epochs(rungs: Schedule) -> int:
    """The epochs a schedule trains, summed over its trainings."""
    return sum(candidates * budget for candidates, budget in rungs)


def halving_draws_within(epochs: int, ladder: list[int], eta: int, limit: int) -> int:
    """The most draws (up to `limit`) successive halving can start from within `epochs` of
    training (0: not even one)."""
    draws = 0
    while draws < limit and schedule_epochs(halving_schedule(draws + 1, ladder, eta)) <= epochs:
        draws += 1
    return draws


def hyperband_iteration(min_epochs: int, eta: int, epochs: int) -> list[Schedule]:
    """Hyperband's brackets as Li et al. (2018) give them in Algorithm 1, and as SMAC3 runs
    them: for s = s_max .. 0, n = ⌈(s_max + 1) / (s + 1) · eta^s⌉ draws, and rung i of the
    bracket trains ⌊n / eta^i⌋ of them at the (s_max − s + i)-th budget of the ladder
    `budget_ladder` (so every bracket ends at `epochs`). (HpBandSter, DEHB and NePS take
    ⌊(s_max + 1) / (s + 1)⌋ · eta^s draws instead: 81, 27, 9, 6, 5 where this gives 81, 34,
    15, 8, 5 for R = 81, eta = 3.)"""
    budgets = budget_ladder(min_epochs, eta, epochs)
    s_max = len(budgets) - 1
    if min_epochs * eta**s_max != epochs:
        # Li et al.'s brackets need R = eta^s_max: a last rung from 9 to 10 epochs would add a
        # bracket that SMAC3 (s_max = ⌊log_eta R⌋) does not have.
        lower, upper = min_epochs * eta ** (s_max - 1), min_epochs * eta**s_max
        raise ValueError(
            f"search.strategy is 'hyperband', but training.epochs ({epochs}) is not "
            f"search.min_epochs ({min_epochs}) times a power of search.eta ({eta}); nearest: "
            f"training.epochs {lower} or {upper}"
        )
    brackets = []
    for s in range(s_max, -1, -1):
        draws = -(-(s_max + 1) * eta**s // (s + 1))  # the ceiling, in integers
        brackets.append([(draws // eta**i, budgets[s_max - s + i]) for i in range(s + 1)])
    return brackets


def hyperband_slices(
    count: int, min_epochs: int, eta: int, epochs: int
) -> list[tuple[int, Schedule]]:
    """Hyperband over a run's draw of `count`: its brackets, s = s_max .. 0 and again for
    each further iteration, each on the next consecutive slice of the draw, as (the draw
    position of its first architecture, its schedule)."""
    brackets = hyperband_iteration(min_epochs, eta, epochs)
    sizes = [bracket[0][0] for bracket in brackets]
    per_iteration = sum(sizes)
    if count % per_iteration:
        raise ValueError(
            f"num_architectures is {count}, but Hyperband's brackets take "
            f"{' + '.join(map(str, sizes))} = {per_iteration} draws per iteration: use a multiple "
            f"of {per_iteration}"
        )
    slices, start = [], 0
    for _ in range(count // per_iteration):
        for bracket in brackets:
            slices.append((start, bracket))
            start += bracket[0][0]
    return slices


def hyperband_within(epochs: int, min_epochs: int, eta: int, full: int) -> list[Schedule]:
    """The brackets Hyperband runs within `epochs` of training: whole iterations (s = s_max ..
    0) while they fit, then the next iteration's brackets in order while the next still fits."""
    brackets, run, spent = hyperband_iteration(min_epochs, eta, full), [], 0
    while True:
        bracket = brackets[len(run) % len(brackets)]
        if spent + schedule_epochs(bracket) > epochs:
            return run
        run.append(bracket)
        spent += schedule_epochs(bracket)


def bracket_names(brackets: list[Schedule]) -> str:
    """Brackets in the order they ran, by s (the rungs each has, minus one), with `|` after
    each whole iteration: "2 1 0 | 2" is one iteration and one bracket."""
    names, s_max = [], max((len(bracket) - 1 for bracket in brackets), default=0)
    for bracket in brackets:
        names.append(str(len(bracket) - 1))
        if len(bracket) == 1 and s_max:
            names.append("|")
    return " ".join(names).rstrip(" |")
