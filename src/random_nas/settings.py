"""Which config keys make a result, and which only say how to run it.

A training depends on its recipe: the training settings (epochs included), the training seed
and the data recipe; the store of trainings keys its entries by them. Operational settings
change where and how fast a result is computed, never the result, so changing them retrains
nothing. The workflow reads this module at parse time (stdlib only).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
# Classes of each dataset the config may name (a diverged candidate scores 1 / classes).
NUM_CLASSES = {"mnist5k": 10, "mnist": 10, "fashion_mnist": 10, "cifar10": 10}
# Images of each dataset before any split: its training images, and its official test set
# (None: the test images are held out of the training images).
DATASET_SIZES = {
    "mnist5k": (5000, None),
    "mnist": (60000, 10000),
    "fashion_mnist": (60000, 10000),
    "cifar10": (50000, 10000),
}
# Held out as the test set of a dataset that has no official one, unless dataset.test_size says.
HELD_OUT_TEST_IMAGES = 1000
# The file under dataset.root that shows each downloadable dataset is there (torchvision's
# layout; idx files may be gzipped).
DATASET_MARKERS = {
    "mnist": ("MNIST/raw/train-images-idx3-ubyte", "MNIST/raw/train-images-idx3-ubyte.gz"),
    "fashion_mnist": (
        "FashionMNIST/raw/train-images-idx3-ubyte",
        "FashionMNIST/raw/train-images-idx3-ubyte.gz",
    ),
    "cifar10": ("cifar-10-batches-py/data_batch_1",),
}


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
            # The data recipe as configured; the split seed is the table config's own `seed`.
            "dataset": {
                key: value for key, value in data_recipe(config).items() if key != "split_seed"
            },
        }
    )


def split_problem(dataset: Mapping[str, Any]) -> str | None:
    """What is wrong with the split sizes of a validated `dataset` section, in one line naming
    the keys, or None: sizes that leave no training or validation image are refused before
    any job, where the dataset's size is known."""
    name, val, train, test = (
        dataset[key] for key in ("name", "val_size", "train_size", "test_size")
    )
    pool, official_test = DATASET_SIZES[name]
    if official_test is None:
        held_out = test or HELD_OUT_TEST_IMAGES
        if held_out >= pool:
            return f"dataset.test_size is {held_out}, but {name} has {pool:,} images in all"
        pool -= held_out
        after = f"after the {held_out:,} test images held out (dataset.test_size)"
    else:
        if test is not None and test > official_test:
            return (
                f"dataset.test_size is {test}, but {name}'s test set has {official_test:,} images"
            )
        after = "in its training set"
    if val >= pool:
        return (
            f"dataset.val_size is {val}, which leaves no training images: {name} has {pool:,} "
            f"images {after}"
        )
    if train is not None and val + train > pool:
        return (
            f"dataset.val_size ({val}) + dataset.train_size ({train}) is {val + train:,}, more "
            f"than the {pool:,} images {name} has {after}"
        )
    return None


def missing_dataset(dataset: Mapping[str, Any]) -> Path | None:
    """Where a dataset that is read from dataset.root should be but is not, else None."""
    markers = DATASET_MARKERS.get(dataset["name"], ())
    root = Path(os.path.expanduser(dataset["root"]))
    if markers and not any((root / marker).exists() for marker in markers):
        return root / markers[0]
    return None


def gpu_present(
    driver_gpus: Path = Path("/proc/driver/nvidia/gpus"), environ: Mapping[str, str] = os.environ
) -> bool:
    """Whether this machine shows an NVIDIA GPU to its processes, known without importing torch:
    the driver lists one and CUDA_VISIBLE_DEVICES does not hide them all."""
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    try:
        return any(driver_gpus.iterdir())
    except OSError:
        return False


def schema_defaults(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The config that the schema's `default:` keys make: every key, at its default."""
    return {
        key: schema_defaults(node) if node.get("type") == "object" else node["default"]
        for key, node in schema["properties"].items()
    }


def _key(path: Any) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)[1:]


def config_problem(config: Mapping[str, Any], schema: Mapping[str, Any]) -> str:
    """One line that names the config key at fault and what it may be, for a config the schema
    refuses (jsonschema comes with Snakemake; imported only when there is a problem)."""
    import jsonschema

    error = jsonschema.exceptions.best_match(
        jsonschema.validators.validator_for(schema)(schema).iter_errors(config)
    )
    if error is None:
        return "config is valid"
    where = _key(error.absolute_path)
    prefix = f"{where}." if where else ""
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema["properties"]))
        return (
            f"config key {', '.join(prefix + key for key in unknown)} is unknown; the keys "
            f"{'under ' + where if where else 'at the top'} are: "
            f"{', '.join(error.schema['properties'])}"
        )
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"config {where} is {error.instance!r}; allowed: {allowed}"
    if error.validator == "not" and error.validator_value == {"multipleOf": 2}:
        return f"config {where} is {error.instance}; it must be odd"
    if error.validator == "not":
        return (
            f"config {where} is {error.instance!r}, which is not allowed ({error.validator_value})"
        )
    return f"config {where or '(top level)'}: {error.message}"
