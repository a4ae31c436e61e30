"""A live search's checkpoint and table, between the workflow and the strategies: the next
batch asked from the history on disk, and where each training stands in the search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from random_nas.space import SearchSpace
from random_nas.strategies.protocol import SearchContext
from random_nas.strategies.registry import strategy_class
from random_nas.strategies.search import (
    Door,
    batch_record,
    cost,
    next_batch,
    observation,
    read_batch,
    rebuild,
    scored,
)
from random_nas.versions import package_versions


def ask_next(
    number: int,
    batches: Sequence[Mapping[str, Any]],
    metrics: Sequence[Mapping[str, Any]],
    *,
    search: Mapping[str, Any],
    search_space: Mapping[str, Any],
    seed: int,
    epochs: int,
    budget: float,
    ask_seconds: float | None = None,
) -> dict[str, Any]:
    """Batch `number`'s record, from the earlier batches' records and their trainings'
    metrics: the strategy of `search` rebuilt from `seed` and asked within `budget`, each ask
    checked at the door (ProposalRefused) and stopped after `ask_seconds`."""
    strategy, door = _built(search, search_space, seed, epochs, ask_seconds)
    trained = {(item["arch_id"], int(item["epochs"])): item for item in metrics}
    earlier = [read_batch(record) for record in batches]
    rebuild(
        strategy,
        earlier,
        lambda proposal: observation(
            proposal.arch, trained[(proposal.arch.arch_id, proposal.epochs)]
        ),
        door,
    )
    spent = sum(cost(batch.proposals, epochs) for batch in earlier)
    batch = next_batch(strategy, number, search["batch_size"], budget, spent, epochs, door)
    return batch_record(batch, spent)


def _built(
    search: Mapping[str, Any],
    search_space: Mapping[str, Any],
    seed: int,
    epochs: int,
    ask_seconds: float | None,
) -> tuple[Any, Door]:
    """The strategy of `search` as a live search builds it from its seed, and its door."""
    space = SearchSpace.from_config(search_space)
    context = SearchContext(
        space, seed, epochs, search.get("settings") or {}, ladder=(epochs,), eta=search["eta"]
    )
    strategy = strategy_class(search["strategy"])(context)
    return strategy, Door(search["strategy"], space, context.ladder, ask_seconds)


# What a table holds of one training, by (arch_id, epochs): its status and validation accuracy.
Measured = Mapping[tuple[str, int], tuple[str, float | None]]


def replayed_batches(
    measured: Measured,
    classes: int,
    *,
    search: Mapping[str, Any],
    search_space: Mapping[str, Any],
    seed: int,
    epochs: int,
    budget: float,
) -> list[dict[str, Any]]:
    """The batch records a live search of `search` writes, with every training read from
    `measured` instead of trained: its strategy built as `ask_next` builds it, asked through
    the same door in batches of search.batch_size within `budget`, each batch told before the
    next is asked (a live search tells it by asking the history again, which a deterministic
    strategy answers alike). A KeyError names a proposal that `measured` does not hold."""
    strategy, door = _built(search, search_space, seed, epochs, None)
    records: list[dict[str, Any]] = []
    spent = 0.0
    while not records or not records[-1]["done"]:
        batch = next_batch(
            strategy, len(records), search["batch_size"], budget, spent, epochs, door
        )
        records.append(batch_record(batch, spent))
        observations = []
        for proposal in batch.proposals:
            key = (proposal.arch.arch_id, proposal.epochs)
            if key not in measured:
                raise KeyError(f"the table holds no training of {key[0]} at {key[1]} epochs")
            observations.append(scored(proposal.arch, proposal.epochs, *measured[key], classes))
        if observations:
            strategy.tell(observations)
        spent += cost(batch.proposals, epochs)
    return records


def strategy_versions() -> dict[str, str]:
    """The libraries that may drive a strategy (Syne Tune's regularized evolution and ASHA,
    Optuna's TPE, whose defaults change between releases), for a search's provenance."""
    return package_versions("syne-tune", "optuna", "numpy")


def search_placement(
    batches: Sequence[Mapping[str, Any]], search_space: Mapping[str, Any]
) -> dict[str, dict[str, int]]:
    """Where each architecture stands in a search: `draw`, its place in the order the search
    first asked for it; `batch`, the batch that did; `index`, its place in the space."""
    space = SearchSpace.from_config(search_space)
    placement: dict[str, dict[str, int]] = {}
    for record in batches:
        for item in record["proposals"]:
            if item["arch_id"] not in placement:
                arch = read_batch({**record, "proposals": [item]}).proposals[0].arch
                placement[item["arch_id"]] = {
                    "draw": len(placement),
                    "batch": int(record["batch"]),
                    "index": space.encode(arch),
                }
    return placement
