"""A live search, batch by batch: its batches are files (`search/batch_{k}.json`, each the
proposals of one ask), its observations the trainings' metrics. At every checkpoint the
strategy is built anew and asked and told the whole history again, which must ask what it
asked before; then it is asked for the next batch within what is left of the budget.

The budget is counted in full-budget trainings' worth (a proposal of e epochs costs e /
training.epochs of one): `num_architectures` of them, as a plain run trains; a search ends
when it is spent, or when the strategy proposes nothing more."""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from random_nas.space import Architecture, SearchSpace
from random_nas.strategies.protocol import Observation, Proposal


class NotDeterministic(RuntimeError):
    """A strategy asked otherwise than it did before, given the same seed and history."""


class ProposalRefused(ValueError):
    """A strategy proposed what its search cannot train, or took too long to ask: one line
    naming the strategy, the batch and what is wrong. Nothing of that batch is trained."""


@contextmanager
def _time_limit(seconds: float | None, what: str) -> Iterator[None]:
    """Raise ProposalRefused in the main thread once `seconds` have passed (a strategy that
    sleeps or loops in Python; native code is interrupted when it returns to Python)."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise ProposalRefused(
            f"{what} took more than {seconds:g} s to ask (search.ask_seconds): stopped"
        )

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Door:
    """What every ask of a search is checked against before anything trains: the space, the
    budgets the search may ask for, and how long one ask may take."""

    name: str
    space: SearchSpace
    budgets: tuple[int, ...]
    ask_seconds: float | None = None

    def ask(self, strategy: Any, count: int, batch: int) -> list[Proposal]:
        """The strategy's proposals for `count` trainings of batch `batch`, each checked."""
        what = f"strategy {self.name}, batch {batch}"
        with _time_limit(self.ask_seconds, what):
            proposals = strategy.ask(count)
        try:
            proposals = list(proposals)
        except TypeError:
            raise ProposalRefused(
                f"{what}: ask returned {type(proposals).__name__}, not a list of proposals"
            ) from None
        if len(proposals) > count:
            raise ProposalRefused(
                f"{what}: asked for at most {count} proposals, it gave {len(proposals)}"
            )
        for position, proposal in enumerate(proposals, 1):
            self._check(proposal, f"{what}: proposal {position}")
        return proposals

    def _check(self, proposal: Any, where: str) -> None:
        if not isinstance(proposal, Proposal) or not isinstance(proposal.arch, Architecture):
            raise ProposalRefused(
                f"{where} is {proposal!r}, not a Proposal of an Architecture and its epochs"
            )
        epochs = proposal.epochs
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs not in self.budgets:
            raise ProposalRefused(
                f"{where} ({proposal.arch.arch_id}) asks for {epochs!r} epochs; this search "
                f"trains at {', '.join(map(str, self.budgets))} epochs only"
            )
        try:
            self.space.encode(proposal.arch)
        except (ValueError, AttributeError, TypeError) as error:
            raise ProposalRefused(
                f"{where} ({proposal.arch}) is not in the search space: {error}"
            ) from None


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
    strategy: Any,
    batches: Sequence[Batch],
    observed: Callable[[Proposal], Observation],
    door: Door,
) -> None:
    """Ask and tell `strategy` every earlier batch again; NotDeterministic where it asks
    otherwise than it did."""
    for batch in batches:
        asked = door.ask(strategy, len(batch.proposals), batch.number)
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
    strategy: Any,
    number: int,
    size: int,
    budget: float,
    spent: float,
    full_epochs: int,
    door: Door,
) -> Batch:
    """The next batch: at most `size` proposals within what is left of `budget` (full
    trainings' worth), or the end of the search."""
    count = min(size, math.floor(budget - spent + 1e-9))
    proposals: list[Proposal] = []
    if count > 0:
        for proposal in door.ask(strategy, count, number):
            if spent + cost([*proposals, proposal], full_epochs) > budget + 1e-9:
                break
            proposals.append(proposal)
    return Batch(number, tuple(proposals), done=not proposals)


def observation(arch: Architecture, metrics: Mapping[str, Any]) -> Observation:
    """What a training scored, from its metrics record."""
    status = metrics["status"]
    classes = metrics["recipe"]["dataset"]["num_classes"] if status == "diverged" else 0
    return scored(arch, int(metrics["epochs"]), status, metrics.get("val_accuracy"), classes)


def scored(
    arch: Architecture, epochs: int, status: str, val_accuracy: float | None, classes: int
) -> Observation:
    """What a training scored, counted as every statistic counts it: a diverged training as
    chance (1 / classes), a failed one as nothing."""
    if status == "ok":
        score = float(val_accuracy)
    elif status == "diverged":
        score = 1.0 / classes
    else:
        score = None
    return Observation(arch, epochs, score, status)
