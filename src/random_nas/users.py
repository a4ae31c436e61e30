"""Which runs use a store's recipes: each run's table records its config, from which its data
and training recipes (at every budget it trains) are keyed as the workflow keys them."""

from __future__ import annotations

import json
from pathlib import Path

from random_nas.recipes import canonical, trained_budgets
from random_nas.store.layout import data_key, recipe_key


def run_recipes(config: dict) -> set[tuple[str, str]]:
    """The (data, recipe) keys of a table's config (random_nas.recipes.table_config)."""
    data = data_key(canonical({**config["dataset"], "split_seed": config["seed"]}))
    return {
        (data, recipe_key(canonical({**config["training"], "epochs": budget})))
        for budget in trained_budgets(config)
    }


def recipe_users(results: Path, store: Path) -> dict[tuple[str, str], list[str]]:
    """For each (data, recipe) of `store`, the runs under `results` (this working directory's
    and the published ones) whose tables use it."""
    # The schema's metadata alone: no table read, and no pandas (`store list` starts quickly).
    import pyarrow.parquet as pq

    held = {(path.parent.name, path.name) for path in store.glob("*/e*-*") if path.is_dir()}
    users: dict[tuple[str, str], list[str]] = {}
    tables = [
        *results.glob("*/candidates.parquet"),
        *results.glob("published/*/candidates.parquet"),
    ]
    for table in sorted(tables):
        try:
            metadata = pq.read_schema(table).metadata or {}
            keys = run_recipes(json.loads(metadata[b"random_nas.config"]))
        except (ValueError, KeyError, OSError, TypeError):
            continue
        name = str(table.parent.relative_to(results))
        for key in keys & held:
            users.setdefault(key, []).append(name)
    return users
