"""The store of trainings: one entry per (data recipe, training recipe, architecture, seed).

A training is identified by what it computes, not by the run that asked for it: two runs with
overlapping draws, a rung of successive halving at the budget of a plain run, a repeat seed
and a verification all name the same entry when they ask for the same training, and it is
trained once. The key is readable in the path; the recipes behind its short hashes are written
beside the entries as JSON. A recipe change names new entries; nothing is overwritten.

The store is shared by working directories, machines and later versions of this project, so
an entry belongs to the store, not to a Snakemake run: it is trained in a private folder under
a per-entry lock and moved into place once, read-only (random_nas.store.entry). A working directory
keeps its own receipt of every entry it used (a copy of the entry's metrics and history, the
train rule's output): Snakemake's clean-up of failed or incomplete jobs reaches receipts only.

Stdlib only: the workflow computes every key when it is parsed. The names below are made
here, and read back here (entry_of), never reversed by hand elsewhere.

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

import hashlib
import json
import os
from collections.abc import Mapping
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


def entry_of(path: str | os.PathLike[str]) -> Path:
    """The entry a claim's folder (private_dir) or a lock (lock_file) belongs to."""
    path = Path(path)
    name = path.name.removeprefix(".").removesuffix(".training").removesuffix(".lock")
    return path.with_name(name)


# {data}/{recipe}/{arch_id}/...: published entries, claims' folders and locks below a store.
ENTRY_PATTERN = "*/*/*/seed_*"
PRIVATE_PATTERN = "*/*/*/.seed_*.training"
LOCK_PATTERN = "*/*/*/.seed_*.lock"
# The store-wide settings every machine reads from the store itself, so that all agree.
SETTINGS_FILE = "store.json"
# Per data recipe: its record (the recipe and its content's SHA-256) and the prepared splits,
# a cache that a training prepares again where it is gone.
DATA_RECORD = "data.json"
PREPARED = "dataset.pt"


def store_tag(store: str) -> str:
    """`store-{hash}` of the store's real path: a working directory keeps its receipts of each
    store apart, so that a run pointed at another store asks that store for its trainings."""
    real = os.path.realpath(os.path.expanduser(store))
    return f"store-{hashlib.sha256(real.encode()).hexdigest()[:8]}"


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
