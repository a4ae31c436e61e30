"""A look at a store for the people who share one: what it holds, whether every entry is whole,
what unfinished trainings and stale locks it keeps, and removal of entries named one by one.

Called by `random-nas store list | check | clean | remove` (random_nas.cli).
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from filelock import SoftFileLease, Timeout

from random_nas.entry import LEASE_SECONDS, is_published, lock_holder, remove_entry
from random_nas.files import InputFileError, read_json
from random_nas.results import read_metrics
from random_nas.store import lock_file

# {data}/{recipe}/{arch_id}/seed_{seed}: the depth of an entry below the store.
ENTRY_PATTERN = "*/*/*/seed_*"


def published_entries(store: Path) -> Iterator[Path]:
    """Every published entry of the store, in the order of their keys."""
    for folder in sorted(store.glob(ENTRY_PATTERN)):
        if folder.is_dir():
            yield folder


@dataclass
class RecipeSummary:
    """What the store holds for one (data recipe, training recipe)."""

    data: str
    recipe: str
    entries: int = 0
    size_bytes: int = 0
    statuses: Counter = field(default_factory=Counter)
    hardware: Counter = field(default_factory=Counter)
    precisions: Counter = field(default_factory=Counter)


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def summarise(store: Path) -> list[RecipeSummary]:
    """One summary per recipe: entries, statuses, hardware and resolved precisions, bytes."""
    summaries: dict[tuple[str, str], RecipeSummary] = {}
    for entry in published_entries(store):
        data, recipe = entry.parts[-4], entry.parts[-3]
        summary = summaries.setdefault((data, recipe), RecipeSummary(data, recipe))
        summary.entries += 1
        summary.size_bytes += _size(entry)
        try:
            metrics = read_metrics(entry / "metrics.json")
        except InputFileError:
            summary.statuses["unreadable"] += 1
            continue
        summary.statuses[metrics["status"]] += 1
        summary.hardware[metrics.get("hardware") or "unknown"] += 1
        summary.precisions[f"{metrics.get('device')}/{metrics.get('precision')}"] += 1
    return list(summaries.values())


def listing(store: Path) -> list[str]:
    """The lines `random-nas store list` prints."""
    summaries = summarise(store)
    lines = [f"store {store}: {sum(s.entries for s in summaries)} entries"]
    for summary in summaries:
        mixed = " (MIXED: trainings of several devices or precisions)" * (
            len(summary.precisions) > 1
        )
        lines += [
            f"{summary.data}/{summary.recipe}: {summary.entries} entries, "
            f"{summary.size_bytes / 1e6:.1f} MB; "
            + ", ".join(f"{count} {status}" for status, count in sorted(summary.statuses.items())),
            "  device/precision: "
            + ", ".join(f"{name} ({count})" for name, count in sorted(summary.precisions.items()))
            + mixed,
            "  hardware: "
            + ", ".join(f"{name} ({count})" for name, count in sorted(summary.hardware.items())),
        ]
    leftovers = unfinished(store)
    if leftovers:
        lines.append(
            f"{len(leftovers)} unfinished trainings (private folders; `random-nas store clean` "
            "removes those no job is training)"
        )
    return lines


def problems(store: Path) -> list[str]:
    """What is wrong with each entry, one line each: files that do not parse, an entry whose
    data content differs from its data recipe's record, a recipe without its recipe.json."""
    found = []
    recorded: dict[Path, str | None] = {}
    for entry in published_entries(store):
        name = entry.relative_to(store)
        if not is_published(entry):
            found.append(f"{name}: lacks metrics.json or history.csv")
            continue
        try:
            metrics = read_metrics(entry / "metrics.json")
            header = (entry / "history.csv").read_text(encoding="utf-8").partition("\n")[0]
        except (InputFileError, UnicodeDecodeError) as error:
            found.append(f"{name}: {error}")
            continue
        if not header.startswith("epoch"):
            found.append(f"{name}: history.csv has no header row starting with 'epoch'")
        data_dir = entry.parents[2]
        if data_dir not in recorded:
            record = data_dir / "data.json"
            recorded[data_dir] = (
                read_json(record, required=("sha256",), what="data record")["sha256"]
                if record.exists()
                else None
            )
        sha256 = ((metrics.get("recipe") or {}).get("dataset") or {}).get("sha256")
        if recorded[data_dir] is not None and sha256 != recorded[data_dir]:
            found.append(
                f"{name}: trained on data hashing to {sha256}, but {data_dir.name}/data.json "
                f"records {recorded[data_dir]}"
            )
        if not (entry.parents[1] / "recipe.json").exists():
            found.append(f"{name}: its recipe folder has no recipe.json")
    return found


def unfinished(store: Path) -> list[Path]:
    """The private folders of trainings that were not published (running, or killed)."""
    return sorted(store.glob("*/*/*/.seed_*.training"))


def clean(store: Path) -> list[str]:
    """Remove the private folders of trainings no job is training (a killed job's checkpoint
    with them), and the locks of dead jobs; what was done, one line each."""
    done = []
    for private in unfinished(store):
        entry = private.with_name(private.name.removeprefix(".").removesuffix(".training"))
        lease = SoftFileLease(lock_file(str(entry)), lease_duration=LEASE_SECONDS)
        try:
            lease.acquire(timeout=0)
        except Timeout:
            done.append(f"kept {private.relative_to(store)}: {lock_holder(entry)} is training it")
            continue
        try:
            shutil.rmtree(private)
            done.append(f"removed {private.relative_to(store)}")
        finally:
            lease.release()
    for lock in sorted(store.glob("*/*/*/.seed_*.lock")):
        entry = lock.with_name(lock.name.removeprefix(".").removesuffix(".lock"))
        lease = SoftFileLease(lock, lease_duration=LEASE_SECONDS)
        try:
            lease.acquire(timeout=0)
        except Timeout:
            continue
        lease.release()
        done.append(f"broke the stale lock of {entry.relative_to(store)}")
    return done


def remove(store: Path, names: list[str]) -> list[str]:
    """Remove the entries named (their keys relative to the store: data/recipe/arch/seed_N);
    every name is checked before anything is removed."""
    entries = [store / name.strip("/") for name in names]
    for name, entry in zip(names, entries, strict=True):
        if entry.parent.parent.parent.parent != store or not entry.name.startswith("seed_"):
            raise InputFileError(
                f"{name} is not an entry's name: give data/recipe/arch_id/seed_N, as "
                "`random-nas store list` and the paths under the store show"
            )
        if not entry.is_dir():
            raise InputFileError(f"{name}: the store {store} holds no such entry")
    for entry in entries:
        remove_entry(entry)
    return [f"removed {entry.relative_to(store)}" for entry in entries]
