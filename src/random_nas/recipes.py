"""Which config keys make a result, and which only say how to run it; and the registry of the
recipes a workflow knows by their store keys.

A training depends on its recipe: the training settings (epochs included), the training seed
and the data recipe; the store of trainings keys its entries by them. Operational settings
change where and how fast a result is computed, never the result, so changing them retrains
nothing. The workflow reads this module at parse time (stdlib, and PyYAML, which comes with
Snakemake, to read a published config).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from random_nas.halving import config_ladder
from random_nas.space import SearchSpace, sampled_records
from random_nas.store.layout import data_key, recipe_key

# Under `training`: torch threads, Snakemake retries, checkpoint housekeeping, the batch size
# of evaluation passes (each image is evaluated alone in eval mode), the cluster time and memory,
# and how many trainings share a GPU.
OPERATIONAL_TRAINING_KEYS = frozenset(
    {
        "threads",
        "retries",
        "keep_checkpoints",
        "eval_batch_size",
        "minutes_per_epoch",
        "mem_mb",
        "trainings_per_gpu",
    }
)


# Training keys added after the store's format 1, each at the value that trains exactly as
# before the key existed. A recipe leaves such a key out at that value, so that an upgrade
# renames no entry of any store and re-collects no table; the trainer reads a missing key as
# its neutral value. A key added later goes here (tests/test_store.py pins today's keys).
NEUTRAL_TRAINING_VALUES: dict[str, Any] = {}


# Under `dataset`: where the files are and whether to fetch them, not which images are used.
OPERATIONAL_DATASET_KEYS = frozenset({"root", "download"})


def canonical(value: Any) -> Any:
    """`value` with every mapping's keys in sorted order, recursively: two configs that hold the
    same settings in another order (a YAML merged over another) compare, print and hash alike."""
    if isinstance(value, Mapping):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    return value


def makes_the_result(key: str, value: Any) -> bool:
    """Whether training setting `key` at `value` belongs to a recipe: not an operational key,
    nor a key added later at its neutral value."""
    neutral = key in NEUTRAL_TRAINING_VALUES and NEUTRAL_TRAINING_VALUES[key] == value
    return key not in OPERATIONAL_TRAINING_KEYS and not neutral


def sampling_seed(config: Mapping[str, Any]) -> int:
    """The seed a run draws its architectures with: `sampling_seed`, or the run's `seed` where
    it gives none (so that the committed configs draw what their tables hold). Two runs of one
    sampling seed draw from one random stream, however their spaces differ."""
    seed = config.get("sampling_seed")
    return int(config["seed"] if seed is None else seed)


def draw_size(config: Mapping[str, Any]) -> int:
    """How many architectures a run draws: `num_architectures`, or where that is `all` (an
    enumeration), its space's size."""
    if config["num_architectures"] == "all":
        return SearchSpace.from_config(config["search_space"]).size
    return int(config["num_architectures"])


def training_recipe(config: Mapping[str, Any], epochs: int | None = None) -> dict[str, Any]:
    """The training settings a result depends on, at `epochs` (default: training.epochs): with
    the training seed and the data recipe, what identifies a training in the store."""
    training = {
        key: value for key, value in config["training"].items() if makes_the_result(key, value)
    }
    if epochs is not None:
        training["epochs"] = epochs
    return canonical(training)


def data_recipe(config: Mapping[str, Any]) -> dict[str, Any]:
    """The dataset settings that decide which images land in which split, and the split's seed
    (the run's `seed`; a repeat keeps the split and changes only the training seed)."""
    dataset = {
        key: value
        for key, value in config["dataset"].items()
        if key not in OPERATIONAL_DATASET_KEYS
    }
    return canonical({**dataset, "split_seed": config["seed"]})


def table_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config stored with a results table: what its rows depend on and how to report them,
    without operational settings (each row records its own threads, hardware, ...), the store's
    location or the repeats (a table of their own), so that changing those re-collects
    nothing. Sorted, so that the same settings in another order are the same parameter."""
    return canonical(
        {
            **{
                key: value
                for key, value in config.items()
                if key not in ("repeats", "store", "verify")
                # Unset, the sampling seed is `seed`: the tables of earlier runs stay as they are.
                and not (key == "sampling_seed" and value is None)
            },
            "training": training_recipe(config),
            # Keys added since tables were first collected, left out at their neutral values.
            "search": {
                **{
                    key: value
                    for key, value in search_identity(config["search"]).items()
                    if not (key == "settings" and not value)
                    and not (key == "batch_size" and value is None)
                },
                **strategy_code(config["search"]["strategy"]),
            },
            # The data recipe as configured; the split seed is the table config's own `seed`.
            "dataset": {
                key: value for key, value in data_recipe(config).items() if key != "split_seed"
            },
        }
    )


def search_identity(search: Mapping[str, Any]) -> dict[str, Any]:
    """The search settings its results depend on: all but the time limit of an ask."""
    return canonical({key: value for key, value in search.items() if key != "ask_seconds"})


def strategy_code(strategy: str) -> dict[str, str]:
    """A strategy given as `path/to/file.py:Class`: the SHA-256 of its file, so that an edited
    file is another search, as a changed setting is. Nothing for a shipped strategy."""
    path = Path(strategy.rpartition(":")[0])
    if ":" not in strategy or not path.is_file():
        return {}
    return {"strategy_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def trained_budgets(config: Mapping[str, Any]) -> list[int]:
    """Every budget a run trains at: its ladder where it searches by successive halving or
    Hyperband or trains a dense grid, else training.epochs."""
    search = config["search"]
    if search["strategy"] != "random" or search["dense_grid"]:
        return config_ladder(config)
    return [config["training"]["epochs"]]


class UnknownRecipe(LookupError):
    """A store key that neither the run nor a published run names."""


class RecipeRegistry:
    """The data and training recipes a workflow knows, by their store keys: the run's own (at
    every budget it trains) and, read when first asked for, each published run's from its
    committed config.yaml. A train job's wildcards name keys; its parameters are the recipes
    behind them, and its architecture the record a known run drew."""

    def __init__(
        self,
        published_root: Path,
        complete: Callable[[dict[str, Any]], None],
    ) -> None:
        """`complete` checks a published config and fills in the defaults of keys added since
        it was published (the workflow's schema validation), in place."""
        self.published_root = published_root
        self.complete = complete
        self.data: dict[str, dict[str, Any]] = {}
        self.training: dict[tuple[str, str], dict[str, Any]] = {}
        self.architectures: dict[str, dict[str, Any]] = {}
        self.published: dict[str, dict[str, Any]] = {}
        # Where a live search's batches lie (the run's folder; published runs keep theirs).
        self.search_folders: list[Path] = []

    def add(self, run_config: Mapping[str, Any], budgets: list[int]) -> str:
        """Register a run's data recipe and its training recipe at each of `budgets`; returns
        the data recipe's key."""
        data = data_recipe(run_config)
        key = data_key(data)
        self.data[key] = data
        for budget in budgets:
            training = training_recipe(run_config, budget)
            self.training[(key, recipe_key(training))] = training
        return key

    def add_draw(self, records: list[dict[str, Any]]) -> None:
        """Register the architectures a run drew (their architecture-file records)."""
        for record in records:
            self.architectures.setdefault(record["arch_id"], record)

    def published_names(self) -> list[str]:
        return sorted(path.parent.name for path in self.published_root.glob("*/candidates.parquet"))

    def published_config(self, name: str) -> dict[str, Any]:
        """A published run's own committed config, with the defaults of keys added since it
        was published, its recipes and draw registered."""
        if name not in self.published:
            import yaml

            path = self.published_root / name / "config.yaml"
            if not path.exists():
                raise FileNotFoundError(f"published run {name!r} has no config.yaml at {path}")
            published = yaml.safe_load(path.read_text(encoding="utf-8"))
            self.complete(published)
            self.add(published, trained_budgets(published))
            space = SearchSpace.from_config(published["search_space"])
            self.add_draw(sampled_records(space, draw_size(published), sampling_seed(published)))
            self.add_search_batches(self.published_root / name)
            self.published[name] = published
        return self.published[name]

    def add_search_batches(self, *folders: Path) -> None:
        """Register the architectures of the live searches whose batch files lie under
        `folders` (`search/batch_*.json`; a published run keeps its own): a train job
        re-parsing the workflow on a cluster node finds the proposals there."""
        for folder in folders:
            for batch in sorted(Path(folder).glob("search/batch_*.json")):
                with batch.open(encoding="utf-8") as handle:
                    self.add_draw(json.load(handle)["proposals"])

    def _lookup(self, table: Mapping[Any, Any], key: Any, what: str) -> Any:
        if key not in table and table is self.architectures:
            self.add_search_batches(*self.search_folders)
        if key not in table:
            for name in self.published_names():
                self.published_config(name)
        if key not in table:
            shown = "/".join(key) if isinstance(key, tuple) else key
            raise UnknownRecipe(
                f"{what} {shown} is not one this workflow knows: the config names its run's "
                f"architectures and recipes, and each published run under {self.published_root}/ "
                "its own"
            )
        return table[key]

    def data_of(self, data: str) -> dict[str, Any]:
        return self._lookup(self.data, data, "data recipe")

    def training_of(self, data: str, recipe: str) -> dict[str, Any]:
        return self._lookup(self.training, (data, recipe), "training recipe")

    def architecture_of(self, arch_id: str) -> dict[str, Any]:
        """The architecture a train job trains (arch_id, layers, dense). Train jobs take it
        as a parameter rather than reading the sample's files: a dependency of N jobs on the
        one sample job would make Snakemake re-plan them all whenever N grows."""
        record = self._lookup(self.architectures, arch_id, "architecture")
        return {key: record[key] for key in ("arch_id", "layers", "dense")}


# Beside a run's tables: what its trainings are (run_identity), so that a later config of
# the same run name but another recipe is refused rather than written over them.
RUN_RECORD = "run.json"


def flat_keys(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested keys as dotted ones: {"training": {"lr": 0.1}} -> {"training.lr": 0.1}."""
    items: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            items |= flat_keys(value, f"{prefix}{key}.")
        else:
            items[f"{prefix}{key}"] = value
    return items


def differences(first: Mapping[str, Any], second: Mapping[str, Any]) -> str:
    """The keys two nested mappings differ in, with both values ('' where none)."""
    a, b = flat_keys(first), flat_keys(second)

    def shown(values: Mapping[str, Any], key: str) -> str:
        # A key one side leaves out is at its default there, not None.
        return repr(values[key]) if key in values else "unset (its default)"

    return ", ".join(
        f"{key} ({shown(a, key)} against {shown(b, key)})"
        for key in sorted(set(a) | set(b))
        if key not in a or key not in b or a[key] != b[key]
    )


def run_identity(config: Mapping[str, Any]) -> dict[str, Any]:
    """What a run's tables are the results of: its recipes, space, search and draw (not how
    many it drew, which a run may raise, nor how it reports)."""
    table = table_config(config)
    return canonical(
        {
            "training": table["training"],
            "dataset": data_recipe(config),
            "search_space": config["search_space"],
            "search": table["search"],
            "sampling_seed": sampling_seed(config),
        }
    )


def run_record_problem(run_dir: str, config: Mapping[str, Any]) -> str | None:
    """The one line that refuses a config whose run name holds a run of another recipe (its
    run.json), or None."""
    path = Path(run_dir) / RUN_RECORD
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    changed = differences(recorded, run_identity(config))
    if not changed:
        return None
    return (
        f"config run {config['run']!r}: {run_dir}/ holds that run made with another recipe "
        f"(recorded against now: {changed}); give this config its own `run` name, or delete "
        f"{run_dir}/ to replace it (the trainings stay in the store either way)"
    )
