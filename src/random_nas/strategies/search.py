"""A live search, batch by batch: its batches are files (`search/batch_{k}.json`, each the
proposals of one ask), its observations the trainings' metrics. At every checkpoint the
strategy is built anew and asked and told the whole history again, which must ask what it
asked before; then it is asked for the next batch within what is left of the budget.

The budget is counted in full-budget trainings' worth (a proposal of e epochs costs e /
training.epochs of one): `num_architectures` of them, as a plain run trains; a search ends
when it is spent, or when the strategy proposes nothing more."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from random_nas.space import Architecture
from random_nas.strategies.protocol import Observation, Proposal


class NotDeterministic(RuntimeError):
    """A strategy asked otherwise than it did before, given the same seed and history."""


@dataclass(frozen=True)
class Batch:
    """One ask of a live search: its number, proposals, and whether the search ended there."""

    number: int
    proposals: tuple[Proposal, ...]
    done: bool


def batch_record(batch: Batch, spent_before: float) -> dict[str, Any]:
    """The contents of a batch file: each proposal as an architecture record with its
    epochs, and the budget spent before it (in full trainings)."""
    return {
        "batch": batch.number,
        "done": batch.done,
        "spent_before": spent_before,
        "proposals": [
            {"arch_id": p.arch.arch_id, **p.arch.to_dict(), "epochs": p.epochs}
            for p in batch.proposals
        ],
    }


def read_batch(record: Mapping[str, Any]) -> Batch:
    proposals = tuple(
        Proposal(Architecture.from_dict(item), int(item["epochs"])) for item in record["proposals"]
    )
    return Batch(int(record["batch"]), proposals, bool(record["done"]))


def _keys(proposals: Sequence[Proposal]) -> list[tuple[str, int]]:
    return [(proposal.arch.arch_id, proposal.epochs) for proposal in proposals]


def rebuild(
    strategy: Any, batches: Sequence[Batch], observed: Callable[[Proposal], Observation]
) -> None:
    """Ask and tell `strategy` every earlier batch again; NotDeterministic where it asks
    otherwise than it did."""
    for batch in batches:
        asked = strategy.ask(len(batch.proposals))
        if _keys(asked) != _keys(batch.proposals):
            raise NotDeterministic(
                f"the strategy asked {_keys(asked)} for batch {batch.number} where it asked "
                f"{_keys(batch.proposals)} before: a strategy must ask the same given its "
                "seed and the results so far (seed every random generator it uses)"
            )
        strategy.tell([observed(proposal) for proposal in batch.proposals])


def cost(proposals: Sequence[Proposal], full_epochs: int) -> float:
    """What proposals cost, in full-budget trainings' worth."""
    return sum(proposal.epochs for proposal in proposals) / full_epochs


def next_batch(
    strategy: Any, number: int, size: int, budget: float, spent: float, full_epochs: int
) -> Batch:
    """The next batch: at most `size` proposals within what is left of `budget` (full
    trainings' worth), or the end of the search."""
    count = min(size, math.floor(budget - spent + 1e-9))
    proposals: list[Proposal] = []
    if count > 0:
        for proposal in strategy.ask(count):
            if spent + cost([*proposals, proposal], full_epochs) > budget + 1e-9:
                break
            proposals.append(proposal)
    return Batch(number, tuple(proposals), done=not proposals)


def observation(arch: Architecture, metrics: Mapping[str, Any]) -> Observation:
    """What a training scored, counted as every statistic counts it: a diverged training as
    chance (1 / classes), a failed one as nothing."""
    status = metrics["status"]
    if status == "ok":
        score = float(metrics["val_accuracy"])
    elif status == "diverged":
        classes = metrics["recipe"]["dataset"]["num_classes"]
        score = 1.0 / classes
    else:
        score = None
    return Observation(arch, int(metrics["epochs"]), score, status)
