"""The results table: every candidate's metrics file as one row of a Parquet file.

The schema is explicit so that a table from a run where every candidate failed has the same
column types as one where all succeeded, and readers never guess.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from random_nas.datasets import NUM_CLASSES
from random_nas.files import InputFileError, atomic_path, parse_with_context
from random_nas.recipes import draw_size, sampling_seed
from random_nas.space import SearchSpace, sampled_records
from random_nas.store.records import read_metrics

METADATA_PREFIX = "random_nas."

_METRIC_FIELDS = [
    ("arch_id", pa.string()),
    ("draw", pa.int64()),
    ("batch", pa.int64()),  # a live search's batch that asked for it (None elsewhere)
    ("seed", pa.int64()),  # the training seed, from the recipe
    ("index", pa.string()),  # the space's index can pass 2**63 in large spaces
    ("status", pa.string()),
    ("val_accuracy", pa.float64()),
    ("val_loss", pa.float64()),
    ("val_correct", pa.string()),  # per-image correctness, random_nas.correctness.pack_correct
    ("test_accuracy", pa.float64()),
    ("test_loss", pa.float64()),
    ("test_correct", pa.string()),  # the same, on the test images (paired test-split leads)
    ("train_loss", pa.float64()),
    ("train_accuracy", pa.float64()),
    ("params", pa.int64()),
    ("flops", pa.int64()),
    ("train_seconds", pa.float64()),
    ("eval_seconds", pa.float64()),
    ("wall_seconds", pa.float64()),
    ("seconds_to_first_step", pa.float64()),
    ("images_per_second", pa.float64()),
    ("threads", pa.int64()),
    ("peak_memory_bytes", pa.int64()),
    ("epochs", pa.int64()),
    ("epochs_completed", pa.int64()),
    ("device", pa.string()),
    ("precision", pa.string()),
    ("tf32", pa.bool_()),
    ("hardware", pa.string()),
    ("attempt", pa.int64()),
    ("error", pa.string()),
    ("failure_reason", pa.string()),  # why a failure is the candidate's (random_nas.faults)
    ("torch_version", pa.string()),
    ("num_layers", pa.int64()),
    ("num_dense", pa.int64()),
    ("dense_widths", pa.string()),
    ("architecture", pa.string()),
    ("recipe", pa.string()),
]


def table_schema(num_layers: int) -> pa.Schema:
    layer_fields = [
        (f"layer_{number:02d}_{name}", pa.int64())
        for number in range(1, num_layers + 1)
        for name in ("filters", "kernel_size", "stride")
    ]
    return pa.schema(_METRIC_FIELDS + layer_fields)


def metrics_row(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten one metrics record into a table row (architecture per layer and as JSON)."""
    row = {name: metrics.get(name) for name, _ in _METRIC_FIELDS}
    row["index"] = None if metrics.get("index") is None else str(metrics["index"])
    row["torch_version"] = metrics.get("versions", {}).get("torch")
    layers, dense = metrics["layers"], metrics.get("dense", [])
    row["num_layers"], row["num_dense"] = len(layers), len(dense)
    row["dense_widths"] = json.dumps(dense)
    row["architecture"] = json.dumps({"layers": layers, "dense": dense}, separators=(",", ":"))
    recipe = metrics.get("recipe")
    row["recipe"] = None if recipe is None else json.dumps(recipe, sort_keys=True)
    row["seed"] = None if recipe is None else recipe.get("seed")
    for number, layer in enumerate(layers, start=1):
        for name in ("filters", "kernel_size", "stride"):
            row[f"layer_{number:02d}_{name}"] = layer[name]
    return row


def run_draws(config: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Where each architecture of a run's draw stands: its `draw` (position in the sample) and
    `index` (position in the run's space). A store entry holds neither: the same training
    serves runs that drew it at other positions, or in other spaces."""
    space = SearchSpace.from_config(config["search_space"])
    return {
        record["arch_id"]: {"draw": record["draw"], "index": record["index"]}
        for record in sampled_records(space, draw_size(config), sampling_seed(config))
    }


class MixedHardwareError(InputFileError):
    """A run's trainings of one recipe resolved `auto` to several devices or precisions."""


def hardware_kind(device: Any, precision: Any) -> str:
    """`cpu/fp32`, `cuda/bf16`: what a training's `auto` device and precision resolved to."""
    return f"{str(device or 'unknown').split(':')[0]}/{precision or 'unknown'}"


def refuse_mixed_hardware(
    records: list[Mapping[str, Any]], paths: list[str | os.PathLike[str]]
) -> None:
    """Refuse a run whose trainings of one recipe (the folder two above each metrics file)
    resolved to several devices or precisions: one key of the store then holds results of
    two kinds (a store shared by a CPU and a GPU machine under `device: auto`)."""
    kinds: dict[str, dict[str, int]] = {}
    for record, path in zip(records, paths, strict=True):
        recipe = "/".join(Path(path).parts[-5:-3])
        kind = hardware_kind(record.get("device"), record.get("precision"))
        counts = kinds.setdefault(recipe, {})
        counts[kind] = counts.get(kind, 0) + 1
    for recipe, counts in kinds.items():
        if len(counts) > 1:
            mix = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
            raise MixedHardwareError(
                f"the run's trainings of recipe {recipe} resolved training.device and "
                f"training.precision 'auto' to several kinds ({mix}), so their differences are "
                "partly the hardware's: pin training.device and training.precision (a recipe "
                "of their own), or retire the entries of one kind (`random-nas store retire`); "
                "no entry was changed"
            )


def build_table(
    metrics_paths: Iterable[str | os.PathLike[str]],
    config: Mapping[str, Any],
    space_size: int,
    versions: Mapping[str, str],
    draws: Mapping[str, Mapping[str, int]] | None = None,
) -> pa.Table:
    """The table of a run's view of the store: one row per metrics file, placed in the run's
    draw by `draws` (run_draws)."""
    metrics_paths = list(metrics_paths)
    records = [read_metrics(path) for path in metrics_paths]
    refuse_mixed_hardware(records, metrics_paths)
    if draws:
        records = [{**record, **draws.get(record["arch_id"], {})} for record in records]
    rows = sorted(
        (metrics_row(record) for record in records),
        key=lambda row: (row["draw"] or 0, row["seed"] or 0),
    )
    num_layers = max(
        (row["num_layers"] for row in rows), default=config["search_space"]["num_layers"]
    )
    schema = table_schema(num_layers)
    table = pa.Table.from_pylist(rows, schema=schema)
    machines = sorted({row["hardware"] for row in rows if row["hardware"]})
    metadata = {
        "config": json.dumps(config, sort_keys=True),
        "machines": json.dumps(machines),
        "versions": json.dumps(dict(versions), sort_keys=True),
        "space_size": str(space_size),
    }
    return table.replace_schema_metadata(
        {f"{METADATA_PREFIX}{key}": value for key, value in metadata.items()}
    )


def write_table(table: pa.Table, path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)


def read_table(path: str | os.PathLike[str]) -> tuple[pa.Table, dict[str, Any]]:
    """The table and its metadata (config, versions, space_size), decoded."""
    table = parse_with_context(Path(path), "results table", lambda: pq.read_table(path))
    raw = table.schema.metadata or {}
    metadata: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.decode()
        if name.startswith(METADATA_PREFIX):
            name = name.removeprefix(METADATA_PREFIX)
            metadata[name] = int(value) if name == "space_size" else json.loads(value)
    missing = {"arch_id", "status", "val_accuracy"} - set(table.column_names)
    if missing:
        raise InputFileError(f"results table {path} lacks the columns {sorted(missing)}")
    return table, metadata


def highest_budget(trials: pa.Table) -> pa.Table:
    """One row per architecture: its training at the highest budget (epochs) it reached."""
    frame = trials.to_pandas()
    top = frame.sort_values(["arch_id", "epochs"]).groupby("arch_id").tail(1).sort_values("draw")
    return pa.Table.from_pandas(top, schema=trials.schema, preserve_index=False)


_CURVE_FIELDS = [
    ("arch_id", pa.string()),
    ("budget", pa.int64()),
    ("epoch", pa.int64()),
    ("train_loss", pa.float64()),
    ("train_accuracy", pa.float64()),
    ("val_loss", pa.float64()),
    ("val_accuracy", pa.float64()),
    ("lr", pa.float64()),
    ("train_seconds", pa.float64()),
    ("images_per_second", pa.float64()),
]


def build_curves(metrics_paths: Iterable[str | os.PathLike[str]]) -> pa.Table:
    """The learning curves of trainings, long format: one row per (arch_id, budget, epoch),
    from the history.csv beside each metrics file."""
    rows = []
    for path in map(Path, metrics_paths):
        metrics = read_metrics(path)
        history = path.with_name("history.csv")
        with open(history, encoding="utf-8", newline="") as handle:
            for record in csv.DictReader(handle):
                row = {"arch_id": metrics["arch_id"], "budget": metrics.get("epochs")}
                for name, kind in _CURVE_FIELDS[2:]:
                    value = record.get(name)
                    row[name] = (
                        None
                        if value in (None, "")
                        else (int(value) if kind == pa.int64() else float(value))
                    )
                rows.append(row)
    return pa.Table.from_pylist(rows, schema=pa.schema(_CURVE_FIELDS))


def num_classes(frame: pd.DataFrame, dataset: str | None = None) -> int:
    """Classes of the run's dataset (a diverged draw scores 1 / classes): from a row's
    recipe, else from the dataset's name."""
    for text in frame.get("recipe", pd.Series(dtype=object)).dropna():
        classes = json.loads(text).get("dataset", {}).get("num_classes")
        if classes:
            return int(classes)
    if dataset not in NUM_CLASSES:
        raise InputFileError(
            "the table names no number of classes (recipe.dataset.num_classes) and no known "
            f"dataset ({dataset!r})"
        )
    return NUM_CLASSES[dataset]


def test_images(frame: pd.DataFrame) -> int | None:
    """Test images each accuracy was measured on, from a row's recipe (None where no row says)."""
    for text in frame.get("recipe", pd.Series(dtype=object)).dropna():
        return json.loads(text).get("dataset", {}).get("sizes", {}).get("test")
    return None


def train_images(frame: pd.DataFrame) -> int:
    """Training images per epoch, from a row's recipe."""
    for text in frame["recipe"].dropna():
        return int(json.loads(text)["dataset"]["sizes"]["train"])
    raise InputFileError("the trials table records no recipe with the training split's size")


# Report settings under the names tables collected before a rename stored them.
REPORT_KEYS_BEFORE = {"ranking_rows": "top_k"}


def report_setting(config: Mapping[str, Any], key: str, default: Any) -> Any:
    """A `report` setting of the config a table stores, under its name of today or, in a table
    collected before it was renamed, its older one (report.top_k: report.ranking_rows)."""
    report = config.get("report", {})
    return report.get(key, report.get(REPORT_KEYS_BEFORE.get(key, key), default))
