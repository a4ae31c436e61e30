"""What a run will train, stated before it starts (and by `snakemake -n`): the trainings its
plan names now, split into those the store lacks (they train), those it holds (their jobs
only copy a receipt) and those already received; then, checkpoint by checkpoint, at most how
many more its later decisions may ask for. Snakemake's own dry run lists only the jobs known
before any checkpoint runs, and lists a receipt's copy as a training. Stdlib only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from random_nas.halving import halving_schedule
from random_nas.store.layout import is_published


@dataclass(frozen=True)
class Later:
    """Trainings a checkpoint may still ask for: at most `count`, and what they are."""

    checkpoint: str
    count: int
    what: str


@dataclass(frozen=True)
class Statement:
    """A run's trainings now (receipt paths, each with its store entry) and later."""

    run: str
    now: Sequence[tuple[str, str]]
    later: Sequence[Later]

    def split(self, exists: Callable[[str], bool] = lambda path: Path(path).exists()) -> tuple[
        int, int, int
    ]:  # fmt: skip
        """(to train, to copy into a receipt, already received) among the trainings now. A
        receipt of an entry that left the store is no proof: that entry trains again."""
        train = copy = received = 0
        for receipt, entry in dict(self.now).items():
            published = is_published(entry)
            if exists(receipt) and published:
                received += 1
            elif published:
                copy += 1
            else:
                train += 1
        return train, copy, received

    def lines(self) -> list[str]:
        train, copy, received = self.split()
        total = train + copy + received
        lines = [
            f"Plan of run {self.run!r}: {total} trainings named now: {train} the store lacks "
            f"(they train), {copy} it holds (their jobs only copy them into this directory's "
            f"receipts), {received} already received."
        ]
        for later in self.later:
            lines.append(
                f"  then {later.checkpoint}: at most {later.count} more trainings ({later.what}); "
                "those the store holds are only copied"
            )
        if not self.later:
            lines.append("  no checkpoint adds trainings: that is the whole plan.")
        return lines


def repeats_later(top_k: int, seeds: Sequence[int], epochs: int) -> list[Later]:
    if not top_k or not seeds:
        return []
    return [
        Later(
            "select_repeats",
            top_k * len(seeds),
            f"the best {top_k} again with seed{'s' * (len(seeds) > 1)} "
            f"{', '.join(map(str, seeds))} at {epochs} epochs",
        )
    ]


def halving_later(draws: int, ladder: list[int], eta: int) -> list[Later]:
    """Each rung after the first, as successive halving sizes it."""
    rungs = halving_schedule(draws, ladder, eta)
    return [
        Later(f"rung {number}", count, f"the best {count} of rung {number - 1} at {epochs} epochs")
        for number, (count, epochs) in enumerate(rungs)
        if number > 0
    ]


def hyperband_later(brackets: Sequence[tuple[int, list[tuple[int, int]]]]) -> list[Later]:
    """Each bracket's rungs after its first."""
    return [
        Later(f"bracket {bracket} rung {number}", count, f"its best {count} at {epochs} epochs")
        for bracket, (_, rungs) in enumerate(brackets)
        for number, (count, epochs) in enumerate(rungs)
        if number > 0
    ]


def search_later(budget: int, spent: float, batch_size: int, epochs: int) -> list[Later]:
    """What a live search may still ask for, batch by batch."""
    left = int(budget - spent + 1e-9)
    if left <= 0:
        return []
    batches = -(-left // batch_size)
    return [
        Later(
            f"ask (up to {batches} batch{'es' * (batches > 1)} of {batch_size})",
            left,
            f"{epochs} epochs each, as the strategy asks within {budget} trainings' worth; "
            f"{spent:g} asked so far",
        )
    ]


def verification_estimate(published_root: Path, k: int) -> list[str]:
    """What `verify_published` will retrain, and what those trainings cost where they were
    published (their recorded training seconds), before it starts."""
    from random_nas.analysis.verification import verification_picks
    from random_nas.results import read_table

    lines, seconds, count = [], 0.0, 0
    for table_path in sorted(published_root.glob("*/candidates.parquet")):
        table, metadata = read_table(table_path)
        repeats = table_path.with_name("repeats.parquet")
        repeated = (
            set(read_table(repeats)[0].column("arch_id").to_pylist()) if repeats.exists() else None
        )
        picks = verification_picks(
            table.to_pandas(), repeated, metadata["config"].get("seed", 0), k
        )
        spent = float(picks["train_seconds"].sum())
        seconds, count = seconds + spent, count + len(picks)
        budgets = ", ".join(map(str, sorted(set(picks["epochs"]))))
        lines.append(
            f"  {table_path.parent.name}: {len(picks)} at {budgets} epochs, "
            f"{spent / 60:.1f} training minutes where published"
        )
    return [
        f"verify_published retrains at most {count} trainings ({k} of each published run; "
        f"those its store holds are only copied): {seconds / 60:.1f} training minutes where they "
        "were published, one thread each (the published tables name the machines)",
        *lines,
    ]
