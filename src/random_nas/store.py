"""The store of trainings: one entry per (data recipe, training recipe, architecture, seed).

A training is identified by what it computes, not by the run that asked for it: two runs with
overlapping draws, a rung of successive halving at the budget of a plain run, a repeat seed
and a verification all name the same entry when they ask for the same training, and it is
trained once. The key is readable in the path; the recipes behind its short hashes are written
beside the entries as JSON. A recipe change names new entries; nothing is overwritten.

Stdlib only: the workflow computes every key when it is parsed.

    {store}/{data}/dataset.pt                     the prepared splits of one data recipe
    {store}/{data}/data.json                      that recipe and its content SHA-256
    {store}/{data}/{recipe}/recipe.json           one training recipe (epochs included)
    {store}/{data}/{recipe}/{arch_id}/seed_{seed}/metrics.json, history.csv, train.log, ...
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

# Part of every key: entries of another layout are never taken for this one's.
STORE_FORMAT = 1
# The wildcard patterns of the two keys (the workflow constrains its wildcards with them).
DATA_KEY_PATTERN = r"[a-z0-9_]+-[0-9a-f]{10}"
RECIPE_KEY_PATTERN = r"e[0-9]+-[0-9a-f]{10}"


def _digest(recipe: Mapping[str, Any]) -> str:
    text = json.dumps({"format": STORE_FORMAT, **recipe}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def data_key(data: Mapping[str, Any]) -> str:
    """`{dataset name}-{hash}` of a data recipe (random_nas.settings.data_recipe)."""
    return f"{data['name']}-{_digest(data)}"


def recipe_key(training: Mapping[str, Any]) -> str:
    """`e{epochs}-{hash}` of a training recipe (random_nas.settings.training_recipe)."""
    return f"e{training['epochs']}-{_digest(training)}"


def entry_dir(store: str, data: str, recipe: str, arch_id: str, seed: int | str) -> str:
    """The folder of one training: its metrics.json, history.csv, log and checkpoint."""
    return f"{store}/{data}/{recipe}/{arch_id}/seed_{seed}"
