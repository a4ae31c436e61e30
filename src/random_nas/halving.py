"""Successive halving on the sampled architectures: the budgets of its rungs.

Stdlib only: the workflow computes the rungs' budgets when it is parsed. Which architectures
a rung promotes is decided from the previous rung's results (random_nas.analysis.promote).
"""

from __future__ import annotations


def rung_budgets(min_epochs: int, eta: int, epochs: int) -> list[int]:
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


def promoted_count(candidates: int, eta: int) -> int:
    """How many of a rung's candidates the next rung trains: ⌊n / eta⌋, at least one."""
    return max(1, candidates // eta)


def hyperband_brackets(min_epochs: int, eta: int, epochs: int) -> list[list[tuple[int, int]]]:
    """Hyperband's brackets as Li et al. (2018) give them in Algorithm 1, and as SMAC3 runs
    them: for s = s_max .. 0, n = ⌈(s_max + 1) / (s + 1) · eta^s⌉ draws, and rung i of the
    bracket trains ⌊n / eta^i⌋ of them at the (s_max − s + i)-th budget of the ladder
    `rung_budgets` (so every bracket ends at `epochs`). Each bracket is a list of
    (candidates, epochs) per rung. (HpBandSter, DEHB and NePS take ⌊(s_max + 1) / (s + 1)⌋ ·
    eta^s draws instead: 81, 27, 9, 6, 5 where this gives 81, 34, 15, 8, 5 for R = 81, eta = 3.)"""
    budgets = rung_budgets(min_epochs, eta, epochs)
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


def hyperband_run_brackets(
    count: int, min_epochs: int, eta: int, epochs: int
) -> list[tuple[int, list[tuple[int, int]]]]:
    """Hyperband over a run's draw of `count`: its brackets, s = s_max .. 0 and again for
    each further iteration, each on the next consecutive slice of the draw, as (the draw
    position of its first architecture, its rungs)."""
    brackets = hyperband_brackets(min_epochs, eta, epochs)
    sizes = [bracket[0][0] for bracket in brackets]
    per_iteration = sum(sizes)
    if count % per_iteration:
        raise ValueError(
            f"num_architectures is {count}, but Hyperband's brackets take "
            f"{' + '.join(map(str, sizes))} = {per_iteration} draws per iteration: use a multiple "
            f"of {per_iteration}"
        )
    plan, start = [], 0
    for _ in range(count // per_iteration):
        for bracket in brackets:
            plan.append((start, bracket))
            start += bracket[0][0]
    return plan
