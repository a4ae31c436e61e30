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
