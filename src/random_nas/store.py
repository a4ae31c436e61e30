"""The store of trainings: one entry per (data recipe, training recipe, architecture, seed).

A training is identified by what it computes, not by the run that asked for it: two runs with
overlapping draws, a rung of successive halving at the budget of a plain run, a repeat seed
and a verification all name the same entry when they ask for the same training, and it is
trained once. The key is readable in the path; the recipes behind its short hashes are written
beside the entries as JSON. A recipe change names new entries; nothing is overwritten.

The store is shared by working directories, machines and later versions of this project, so
an entry belongs to the store, not to a Snakemake run: it is trained in a private folder under
a per-entry lock and moved into place once, read-only (random_nas.entry). A working directory
keeps its own receipt of every entry it used (a copy of the entry's metrics and history, the
train rule's output): Snakemake's clean-up of failed or incomplete jobs reaches receipts only.

Stdlib only: the workflow computes every key when it is parsed.

    {store}/{data}/dataset.pt                     the prepared splits of one data recipe
    {store}/{data}/data.json                      that recipe and its content SHA-256
    {store}/{data}/{recipe}/recipe.json           one training recipe (epochs included)
    {store}/{data}/{recipe}/{arch_id}/seed_{seed}/metrics.json, history.csv, train.log, ...
    {store}/{data}/{recipe}/{arch_id}/.seed_{seed}.lock       held while it is trained
    {store}/{data}/{recipe}/{arch_id}/.seed_{seed}.training/{token}/  a claim's own folder
    {store}/retired/{date}-{key}-{suffix}/retired.json (and entry/)   an entry taken out
    {store}/store.json                            settings every machine reads (lease_seconds)
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

# Part of every key: entries of another layout are never taken for this one's. It changes only
# when entries change meaning, never because a key was added.
STORE_FORMAT = 1
# The wildcard patterns of the two keys (the workflow constrains its wildcards with them).
DATA_KEY_PATTERN = r"[a-z0-9_]+-[0-9a-f]{10}"
RECIPE_KEY_PATTERN = r"e[0-9]+-[0-9a-f]{10}"
# Entries taken out of the store (`random-nas store retire`, `remove`), one folder each, with
# the record of why, when and by whom.
RETIRED = "retired"


def _digest(recipe: Mapping[str, Any]) -> str:
    text = json.dumps({"format": STORE_FORMAT, **recipe}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def data_key(data: Mapping[str, Any]) -> str:
    """`{dataset name}-{hash}` of a data recipe (random_nas.recipes.data_recipe)."""
    return f"{data['name']}-{_digest(data)}"


def recipe_key(training: Mapping[str, Any]) -> str:
    """`e{epochs}-{hash}` of a training recipe (random_nas.recipes.training_recipe)."""
    return f"e{training['epochs']}-{_digest(training)}"


def entry_dir(store: str, data: str, recipe: str, arch_id: str, seed: int | str) -> str:
    """The folder of one training: its metrics.json, history.csv, log and checkpoint."""
    return f"{store}/{data}/{recipe}/{arch_id}/seed_{seed}"


def private_dir(entry: str) -> str:
    """Where the holder of an entry's lock trains it (and leaves its epoch checkpoint when it
    is killed, for whoever trains the entry next); moved into place when finished."""
    parent, _, name = entry.rpartition("/")
    return f"{parent}/.{name}.training"


def lock_file(entry: str) -> str:
    """The lock held by whoever trains an entry, beside it."""
    parent, _, name = entry.rpartition("/")
    return f"{parent}/.{name}.lock"


def store_tag(store: str) -> str:
    """`store-{hash}` of the store's real path: a working directory keeps its receipts of each
    store apart, so that a run pointed at another store asks that store for its trainings."""
    real = os.path.realpath(os.path.expanduser(store))
    return f"store-{hashlib.sha256(real.encode()).hexdigest()[:8]}"


def taken_out(store: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Every entry taken out of the store, by its key (data/recipe/arch_id/seed_N): the dates
    it was retired or removed. A run whose receipt predates one trains the entry again."""
    found: dict[str, list[str]] = {}
    for record in sorted(Path(store, RETIRED).glob("*/retired.json")):
        with suppress(OSError, ValueError, KeyError, TypeError):
            trace = json.loads(record.read_text(encoding="utf-8"))
            found.setdefault(trace["entry"], []).append(trace["date"])
    return found


class StorePathError(ValueError):
    """A path of the store that leads out of it: a link, or a name with `..`."""


def confined(root: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """`path`, checked to stay inside the store at `root` by its own names: none of its parts
    below the root is `..` or a link (anyone who can write to a shared store could otherwise
    point an entry's folder at a colleague's files, which a claim would clear)."""
    root, path = Path(root), Path(path)
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        raise StorePathError(f"{path} is not inside the store {root}") from None
    if any(part in ("..", ".") for part in parts):
        raise StorePathError(f"{path}: a store's paths never name '..' or '.'")
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise StorePathError(
                f"{current} is a link (to {os.readlink(current)}): the store follows no link "
                f"out of itself; remove the link (`rm {current}`) and run again"
            )
    return path


# The files that make an entry whole: present in its folder once it is published.
ENTRY_FILES = ("metrics.json", "history.csv")


def is_published(entry: str | os.PathLike[str]) -> bool:
    """Whether the entry is in the store (its folder appears whole, by one rename)."""
    return all((Path(entry) / name).is_file() for name in ENTRY_FILES)


# The SHA-256 of every file of an entry, written into it when it is published.
CHECKSUMS = "checksums.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(folder: str | os.PathLike[str]) -> dict[str, str]:
    """The SHA-256 of each file of a finished entry's folder, by name."""
    return {
        path.name: _sha256(path)
        for path in sorted(Path(folder).iterdir())
        if path.is_file() and path.name != CHECKSUMS
    }


def correct_count(packed: str, images: int) -> int:
    """How many images a per-image correctness record (random_nas.correctness.pack_correct:
    base64 of bits, big-endian, in image order) marks correct; stdlib, for the store's checks."""
    bits = base64.b64decode(packed, validate=True)
    whole, rest = divmod(images, 8)
    if len(bits) != whole + (rest > 0):
        raise ValueError(f"holds {len(bits) * 8} bits for {images} images")
    count = sum(byte.bit_count() for byte in bits[:whole])
    return count + (bits[whole] >> (8 - rest)).bit_count() if rest else count


def _accuracy_problems(metrics: dict) -> list[str]:
    """Where an accuracy disagrees with the entry's own per-image correctness record."""
    sizes = ((metrics.get("recipe") or {}).get("dataset") or {}).get("sizes") or {}
    found = []
    for split in ("val", "test"):
        packed, accuracy = metrics.get(f"{split}_correct"), metrics.get(f"{split}_accuracy")
        images = sizes.get(split)
        if not packed or not isinstance(accuracy, int | float) or not images:
            continue
        if not math.isfinite(accuracy):
            found.append(f"{split}_accuracy is {accuracy} beside a correctness record")
            continue
        try:
            count = correct_count(packed, images)
        except ValueError as error:
            found.append(f"its {split}_correct record is damaged ({error})")
            continue
        if abs(accuracy - count / images) > 0.5 / images:
            found.append(
                f"{split}_accuracy is {accuracy:.6g}, but its own per-image record counts "
                f"{count} of {images} images correct ({count / images:.6g})"
            )
    return found


def entry_problems(entry: str | os.PathLike[str]) -> list[str]:
    """What makes a published entry untrustworthy: a file that differs from the checksum it
    was published with, or is missing, and accuracies that disagree with the entry's own
    per-image correctness records. Entries published before checksums were written are
    checked for their accuracies alone."""
    entry, found = Path(entry), []
    record = entry / CHECKSUMS
    if record.is_file():
        try:
            recorded = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return [f"its {CHECKSUMS} is unreadable"]
        for name, expected in sorted(recorded.items()):
            path = entry / name
            if not path.is_file():
                found.append(f"{name} is missing")
            elif _sha256(path) != expected:
                found.append(f"{name} differs from the checksum it was published with")
    try:
        metrics = json.loads((entry / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [*found, "metrics.json is unreadable"]
    if isinstance(metrics, dict):
        found += _accuracy_problems(metrics)
    return list(dict.fromkeys(found))
