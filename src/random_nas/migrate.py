"""Import the trainings of run folders written before the store into the store.

    random-nas migrate results/default [results/other ...] [--store DIR]

An older run kept its trainings inside its own folder: `candidates/{arch_id}/` (the run's
seed and epochs), `repeats/{arch_id}/seed_{seed}/` and `trials/{arch_id}/epochs_{budget}/`.
Each becomes the store entry that the workflow now names for it, keyed by the run's data
recipe (from the config in its candidates.parquet) and the training recipe its metrics file
records. An entry the store already holds is left as it is, and data whose content differs
from what the store recorded for its recipe is refused; the old folders are not changed.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from random_nas.data import DataContentError
from random_nas.files import InputFileError, write_json
from random_nas.recipes import canonical
from random_nas.results import read_table
from random_nas.space import Architecture
from random_nas.store.entry import Store
from random_nas.store.layout import (
    DATA_RECORD,
    PREPARED,
    data_key,
    entry_dir,
    is_published,
    recipe_key,
)
from random_nas.store.records import read_metrics, recorded_content

# Where run-level placement lives; a store entry holds neither (see results.run_draws).
RUN_FIELDS = ("draw", "index")


def _old_trainings(run_dir: Path) -> Iterator[tuple[str, dict[str, Any], Callable[[Path], None]]]:
    """Each training an old run folder kept: where, its metrics, and how to write its history."""
    for source in [
        *sorted(run_dir.glob("candidates/*/metrics.json")),
        *sorted(run_dir.glob("repeats/*/seed_*/metrics.json")),
        *sorted(run_dir.glob("trials/*/epochs_*/metrics.json")),
    ]:
        history = source.with_name("history.csv")

        def copy_history(folder: Path, history: Path = history) -> None:
            if history.exists():
                shutil.copy2(history, folder / "history.csv")

        yield str(source), read_metrics(source), copy_history


# A table's columns that are not a metrics record's own fields (placement, and what
# results.metrics_row derives from the architecture and recipe).
_DERIVED = {"draw", "batch", "seed", "index", "torch_version", "num_layers", "num_dense",
            "dense_widths", "architecture", "recipe"}  # fmt: skip
_TABLES = ("candidates", "trials", "grid", "repeats")


def _table_trainings(
    run_dir: Path,
) -> Iterator[tuple[str, dict[str, Any], Callable[[Path], None]]]:
    """Each training a run's tables record (a published run's, whose store is elsewhere): its
    metrics record rebuilt from its row, its history from curves.parquet where the run
    collected one for it (its own seed), else a history of no epochs."""
    curves = run_dir / "curves.parquet"
    histories = (
        dict(iter(pd.read_parquet(curves).groupby(["arch_id", "budget"])))
        if curves.exists()
        else {}
    )
    own_seed = read_table(run_dir / "candidates.parquet")[1]["config"]["seed"]
    for name in _TABLES:
        path = run_dir / f"{name}.parquet"
        for number, row in enumerate(read_table(path)[0].to_pylist() if path.exists() else ()):
            where = f"{path}, row {number}"
            if row.get("recipe") is None or row.get("architecture") is None:
                raise InputFileError(f"{where} records no recipe or architecture: not an entry")
            shape = json.loads(row["architecture"])
            metrics = {
                key: value
                for key, value in row.items()
                if key not in _DERIVED and not key.startswith("layer_")
            }
            metrics |= {
                "layers": shape["layers"],
                "dense": shape["dense"],
                "recipe": json.loads(row["recipe"]),
                "versions": {"torch": row.get("torch_version")},
                "imported_from": where,
            }
            key = (row["arch_id"], row["epochs"])
            rows = histories.get(key) if row["seed"] == own_seed else None
            yield where, metrics, lambda folder, rows=rows: _write_history(folder, rows)


def _write_history(folder: Path, rows: Any) -> None:
    fields = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
              "train_seconds", "images_per_second"]  # fmt: skip
    with open(folder / "history.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        for record in rows.sort_values("epoch").itertuples() if rows is not None else ():
            writer.writerow(["" if pd.isna(v) else v for v in (getattr(record, f) for f in fields)])


def _naming_problem(metrics: dict[str, Any], recipe: dict[str, Any]) -> str | None:
    """Why a training's arch_id or seed cannot name a folder of the store (they become its
    path), or None: the arch_id must be its architecture's own, the seed an integer."""
    try:
        arch = Architecture.from_dict(
            {"layers": metrics["layers"], "dense": metrics.get("dense", [])}
        )
    except (KeyError, TypeError, ValueError) as error:
        return f"its architecture cannot be read ({error})"
    if metrics.get("arch_id") != arch.arch_id:
        return f"arch_id {metrics.get('arch_id')!r} is not its architecture's ({arch.arch_id})"
    seed = recipe.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int):
        return f"its recipe's seed {seed!r} is not an integer"
    return None


def import_run(run_dir: Path, store: Path, from_tables: bool = False) -> dict[str, int]:
    """Copy the trainings of one old run folder into `store` (or, `from_tables`, the trainings
    its tables record: a published run's, so that a run resumed elsewhere trains nothing
    twice); counts of what was done."""
    table_path = run_dir / "candidates.parquet"
    if not table_path.exists():
        raise InputFileError(
            f"{run_dir} has no candidates.parquet: its config, which names its data recipe, is "
            "read from there; collect the run with the version that trained it first"
        )
    config = read_table(table_path)[1]["config"]
    data = canonical({**config["dataset"], "split_seed": config["seed"]})
    data_dir = store / data_key(data)
    counts = {"imported": 0, "already in the store": 0}
    trainings = _table_trainings(run_dir) if from_tables else _old_trainings(run_dir)
    for source, metrics, write_history in trainings:
        recipe = metrics.get("recipe")
        if recipe is None:
            raise InputFileError(f"metrics file {source} records no recipe; it cannot be keyed")
        sha256 = recipe["dataset"]["sha256"]
        recorded = recorded_content(data_dir)
        if recorded is not None and recorded[0] != sha256:
            raise DataContentError(
                f"data recipe {data_dir.name}: {source} was trained on data hashing to {sha256}, "
                f"but the store's entries of this recipe were trained on {recorded[0]} "
                f"({recorded[1]}); nothing of {run_dir} was imported past this point"
            )
        if (problem := _naming_problem(metrics, recipe)) is not None:
            raise InputFileError(f"{source}: {problem}; nothing was imported past this point")
        training = canonical(recipe["training"])
        key = recipe_key(training)
        target = Path(entry_dir(str(store), data_dir.name, key, metrics["arch_id"], recipe["seed"]))
        if target.exists():
            counts["already in the store"] += 1
            continue
        sizes = recipe["dataset"]["sizes"]
        record = {"recipe": data, "sha256": sha256, "sizes": sizes}
        write_json(data_dir / DATA_RECORD, record, replace=False)
        write_json(target.parent.parent / "recipe.json", training, replace=False)
        entry = {key: value for key, value in metrics.items() if key not in RUN_FIELDS}
        entry["recipe"] = {
            **recipe,
            "dataset": {**recipe["dataset"], "split_seed": data["split_seed"]},
        }
        # Published as a training publishes it: whole, once, read-only, under its claim.
        with Store(store).claim(target) as claim:
            if is_published(target):
                counts["already in the store"] += 1
                continue
            write_history(claim.folder)
            write_json(claim.folder / "metrics.json", entry, make_parent=False)
            if not claim.publish():
                counts["already in the store"] += 1
                continue
        counts["imported"] += 1
    prepared = run_dir / PREPARED
    if prepared.exists() and not (data_dir / PREPARED).exists() and counts["imported"]:
        shutil.copy2(prepared, data_dir / PREPARED)  # a cache: checked by its hash when loaded
    return counts
