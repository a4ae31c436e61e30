"""What each dataset the config may name holds, known without loading it (stdlib; the workflow
checks a config's split sizes at parse time): its classes, its images, where its files lie
under dataset.root. random_nas.data loads and splits the images themselves (torch)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
