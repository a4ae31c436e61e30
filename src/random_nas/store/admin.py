"""A look at a store for the people who share one: what it holds and who trains what now,
whether every entry is whole, what dead claims and stale locks it keeps, and entries taken out
by name with a trace (retired: moved aside; removed: deleted).

Called by `random-nas store list | check | clean | retire | remove` (random_nas.cli).
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from random_nas.files import InputFileError, read_json
from random_nas.store.entry import Store, WaitLimitReached
from random_nas.store.layout import (
    DATA_RECORD,
    ENTRY_PATTERN,
    LOCK_PATTERN,
    PRIVATE_PATTERN,
    confined,
    entry_of,
    is_published,
)
from random_nas.store.records import entry_problems, read_metrics

# The recipe settings `store list` names, in this order, where a recipe sets them.
SHOWN_SETTINGS = ("epochs", "batch_size", "optimizer", "lr", "precision", "device", "augment")


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


def human_bytes(size: float) -> str:
    """`12 kB`, `3.4 MB`: sizes of entries run from kilobytes to a checkpoint's megabytes."""
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit in ("B", "kB") else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


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


def recipe_settings(store: Path, data: str, recipe: str) -> str:
    """A recipe's hash decoded: the settings its recipe.json holds, the usual ones first."""
    path = store / data / recipe / "recipe.json"
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "(no readable recipe.json)"
    shown = [key for key in SHOWN_SETTINGS if key in settings]
    rest = sorted(key for key in settings if key not in SHOWN_SETTINGS)
    return ", ".join(f"{key} {settings[key]}" for key in shown + rest)


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def data_settings(store: Path, data: str) -> str:
    """A data recipe's hash decoded: the settings its data.json records."""
    try:
        record = json.loads((store / data / DATA_RECORD).read_text(encoding="utf-8"))
        settings = record["recipe"]
    except (OSError, ValueError, KeyError, TypeError):
        return "(no readable data.json)"
    return ", ".join(f"{key} {settings[key]}" for key in sorted(settings))


def listing(store: Path, users: dict[tuple[str, str], list[str]] | None = None) -> list[str]:
    """The lines `random-nas store list` prints; `users` names, per (data, recipe), the runs
    of this working directory and the published ones that use its entries."""
    summaries = summarise(store)
    lines = [f"store {store}: {_entries(sum(s.entries for s in summaries))}"]
    for summary in summaries:
        mixed = " (MIXED: trainings of several devices or precisions)" * (
            len(summary.precisions) > 1
        )
        runs = (users or {}).get((summary.data, summary.recipe))
        lines += [
            f"{summary.data}/{summary.recipe}: {_entries(summary.entries)}, "
            f"{human_bytes(summary.size_bytes)}; "
            + ", ".join(f"{count} {status}" for status, count in sorted(summary.statuses.items())),
            f"  data: {data_settings(store, summary.data)}",
            f"  recipe: {recipe_settings(store, summary.data, summary.recipe)}",
            "  device/precision: "
            + ", ".join(f"{name} ({count})" for name, count in sorted(summary.precisions.items()))
            + mixed,
            "  hardware: "
            + ", ".join(f"{name} ({count})" for name, count in sorted(summary.hardware.items())),
        ]
        if runs:
            lines.append(f"  used by runs: {', '.join(runs)}")
    return lines + claims_listing(store)


def claims_listing(store: Path) -> list[str]:
    """Trainings held now (holder, since when, progress; flagged where the heartbeat runs but
    no epoch has ended within its limit) and unfinished ones no job holds."""
    shared, lines, unheld = Store(store), [], 0
    for private in unfinished(store):
        entry = entry_of(private)
        holder = shared.holder(entry)
        name = entry.relative_to(store)
        if holder is None:
            unheld += 1
            continue
        progress = holder.progress or {}
        done = f"epoch {progress['epoch']}/{progress['epochs']}" if "epoch" in progress else ""
        quiet = holder.stalled_seconds()
        stalled = (
            f"; NO PROGRESS for {quiet / 60:.0f} min, more than its epoch limit "
            f"({holder.epoch_limit_seconds / 60:.0f} min): its heartbeat runs but it does not "
            "train (a hung GPU or file system?)"
            if quiet is not None
            else ""
        )
        lines.append(f"training {name}: held by {holder}" + (f", {done}" if done else "") + stalled)
    if unheld:
        lines.append(
            f"{unheld} unfinished trainings no job holds (their checkpoints are resumed by the "
            "next claim; `random-nas store clean` removes them)"
        )
    return lines


def problems(store: Path) -> list[str]:
    """What is wrong with each entry, one line each, with the command that repairs it: files
    that do not parse, an entry whose data content differs from its data recipe's record, a
    recipe without its recipe.json."""
    found = []
    recorded: dict[Path, str | None] = {}
    for entry in published_entries(store):
        name = entry.relative_to(store)
        repair = (
            f"; retire it (`random-nas store retire --store {store} {name} --reason ...`) "
            "and the next run that asks for it trains it again"
        )
        if not is_published(entry):
            found.append(f"{name}: lacks metrics.json or history.csv{repair}")
            continue
        try:
            metrics = read_metrics(entry / "metrics.json")
            header = (entry / "history.csv").read_text(encoding="utf-8").partition("\n")[0]
        except (InputFileError, UnicodeDecodeError) as error:
            found.append(f"{name}: {error}{repair}")
            continue
        if not header.startswith("epoch"):
            found.append(f"{name}: history.csv has no header row starting with 'epoch'{repair}")
        found += [f"{name}: {problem}{repair}" for problem in entry_problems(entry)]
        data_dir = entry.parents[2]
        if data_dir not in recorded:
            record = data_dir / DATA_RECORD
            recorded[data_dir] = (
                read_json(record, required=("sha256",), what="data record")["sha256"]
                if record.exists()
                else None
            )
        sha256 = ((metrics.get("recipe") or {}).get("dataset") or {}).get("sha256")
        if recorded[data_dir] is not None and sha256 != recorded[data_dir]:
            found.append(
                f"{name}: trained on data hashing to {sha256}, but {data_dir.name}/data.json "
                f"records {recorded[data_dir]}{repair}"
            )
        if not (entry.parents[1] / "recipe.json").exists():
            found.append(
                f"{name}: its recipe folder has no recipe.json (the next training of the "
                "recipe writes it; `random-nas store list` cannot decode the recipe until then)"
            )
    return found


def stale_receipts(store: Path, receipts: Path) -> list[str]:
    """Receipts in this working directory (`receipts`: its folder for this store) whose entry
    has left the store, one line each: the next run trains them again."""
    if not receipts.is_dir():
        return []
    return [
        f"{metrics.parent.relative_to(receipts)}: this working directory's receipt names an entry "
        "the store no longer holds; run the workflow again and it trains it again"
        for metrics in sorted(receipts.glob(f"{ENTRY_PATTERN}/metrics.json"))
        if not is_published(store / metrics.parent.relative_to(receipts))
    ]


def unfinished(store: Path) -> list[Path]:
    """The private folders of trainings that were not published (running, or killed)."""
    return sorted(store.glob(PRIVATE_PATTERN))


def clean(store: Path) -> list[str]:
    """Remove the private folders of trainings no job holds (a dead claim's checkpoint with
    them), and the locks of dead jobs; what was done, one line each."""
    shared, done = Store(store), []
    for private in unfinished(store):
        entry = entry_of(private)
        if private.is_symlink():
            private.unlink()  # the link only: what it points to lies outside the store
            done.append(f"removed {private.relative_to(store)}, a link out of the store")
            continue
        try:
            with shared.locked(entry):
                shutil.rmtree(private)
        except WaitLimitReached:
            done.append(f"kept {private.relative_to(store)}: {shared.holder(entry)} trains it")
            continue
        done.append(f"removed {private.relative_to(store)}")
    for lock in sorted(store.glob(LOCK_PATTERN)):
        entry = entry_of(lock)
        try:
            with shared.locked(entry):
                pass
        except WaitLimitReached:
            continue
        done.append(f"broke the stale lock of {entry.relative_to(store)}")
    return done


def named_entries(store: Path, names: list[str]) -> list[Path]:
    """The published entries named (data/recipe/arch_id/seed_N), each checked before any is
    touched."""
    entries = [store / name.strip("/") for name in names]
    for name, entry in zip(names, entries, strict=True):
        parts = Path(name.strip("/")).parts
        if (
            len(parts) != 4
            or any(part in ("..", ".") or part.startswith(".") for part in parts)
            or not entry.name.startswith("seed_")
        ):
            raise InputFileError(
                f"{name} is not an entry's name: give data/recipe/arch_id/seed_N, as "
                "`random-nas store list` and the paths under the store show"
            )
        confined(store, entry)
        if not entry.is_dir():
            raise InputFileError(f"{name}: the store {store} holds no such entry")
    return entries


def failed_matching(store: Path, pattern: str) -> list[Path]:
    """Every `failed` entry whose error matches `pattern` (a regular expression)."""
    expression = re.compile(pattern)
    matched = []
    for entry in published_entries(store):
        try:
            metrics = read_metrics(entry / "metrics.json")
        except InputFileError:
            continue
        if metrics["status"] == "failed" and expression.search(metrics.get("error") or ""):
            matched.append(entry)
    return matched


def take_out(store: Path, entries: list[Path], reason: str, keep: bool) -> list[str]:
    """Retire (`keep`: moved aside under retired/) or remove the entries, with the reason, the
    date and who did it; what was done, one line each."""
    shared, done = Store(store), []
    for entry in entries:
        name = entry.relative_to(store)
        trace = shared.retire(entry, reason) if keep else shared.remove(entry, reason)
        where = f" (kept in {trace.relative_to(store)})" if keep else ""
        done.append(f"{'retired' if keep else 'removed'} {name}{where}: {reason}")
    return done


def _asked(batch: Path) -> bool:
    """Whether a live search's batch file asked for trainings (its last one, which ends the
    search, asks for none)."""
    try:
        return bool(json.loads(batch.read_text(encoding="utf-8")).get("proposals"))
    except (OSError, ValueError, AttributeError):
        return False


def status(results: Path, store: Path) -> list[str]:
    """`random-nas status`: the runs of this working directory (what each has collected and
    rendered, and when) and the trainings held in the store now."""
    import datetime

    def when(path: Path) -> str:
        if not path.exists():
            return "not yet"
        stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.UTC)
        return stamp.isoformat(timespec="seconds")

    lines = []
    for record in sorted(results.glob("*/run.json")):
        folder = record.parent
        batches = [_asked(path) for path in sorted(folder.glob("search/batch_*.json"))]
        asked = f"; {sum(batches)} search batches asked" if batches else ""
        lines.append(
            f"run {folder.name}: drawn {when(record)}; table collected "
            f"{when(folder / 'candidates.parquet')}; report "
            f"{when(folder / 'report/index.html')}{asked}"
        )
    held = claims_listing(store) if store.is_dir() else []
    lines += held or [f"no training is held in {store} now"]
    lines.append(
        "what a run still needs: `snakemake -n --configfile ...` states it (what trains, what "
        "only copies, what each checkpoint may add)"
    )
    return lines
