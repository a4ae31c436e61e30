import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import dataset_config

from random_nas.data import (
    DatasetNotFoundError,
    load_splits,
    prepare_splits,
    save_splits,
    stratified_order,
)


def write_mnist_raw(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    """MNIST's raw idx format, as torchvision reads it from <root>/<Class>/raw."""
    folder.mkdir(parents=True, exist_ok=True)
    count, rows, cols = images.shape[0], images.shape[-2], images.shape[-1]
    header = np.array([0x0803, count, rows, cols], dtype=">i4").tobytes()
    (folder / f"{prefix}-images-idx3-ubyte").write_bytes(header + images.astype(np.uint8).tobytes())
    header = np.array([0x0801, count], dtype=">i4").tobytes()
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(header + labels.astype(np.uint8).tobytes())


def write_cifar10_batch(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    batch = {b"data": images.reshape(len(images), -1).astype(np.uint8), b"labels": labels.tolist()}
    path.write_bytes(pickle.dumps(batch))


@pytest.fixture(scope="module")
def mnist5k():
    return prepare_splits(dataset_config(name="mnist5k", val_size=1000, test_size=1000), seed=0)


def test_stratified_order_prefixes_keep_class_proportions():
    labels = np.repeat(np.arange(4), [100, 200, 300, 400])
    order = stratified_order(labels, seed=3)
    assert sorted(order) == list(range(1000))
    for size in (10, 50, 333):
        counts = np.bincount(labels[order[:size]], minlength=4)
        assert np.all(np.abs(counts - size * np.array([0.1, 0.2, 0.3, 0.4])) <= 1)
    assert not np.array_equal(order, stratified_order(labels, seed=4))


def test_mnist5k_splits_are_disjoint_stratified_and_real(mnist5k):
    assert mnist5k.sizes() == {"train": 3000, "val": 1000, "test": 1000}
    assert mnist5k.train_images.shape[1:] == (1, 28, 28)
    assert mnist5k.train_images.dtype == torch.uint8
    for labels in (mnist5k.train_labels, mnist5k.val_labels, mnist5k.test_labels):
        counts = torch.bincount(labels, minlength=10)
        assert counts.min() >= 0.8 * len(labels) / 10  # the source file is sorted by class
    flat = {
        name: {bytes(image.numpy()) for image in getattr(mnist5k, f"{name}_images")}
        for name in ("train", "val", "test")
    }
    assert not flat["train"] & flat["val"] and not flat["train"] & flat["test"]
    assert 0.1 < mnist5k.mean[0] < 0.15  # MNIST's mean intensity, about 0.13


def test_split_is_seeded():
    config = dataset_config(name="mnist5k", val_size=100, train_size=200, test_size=100)
    first, again = prepare_splits(config, seed=1), prepare_splits(config, seed=1)
    other = prepare_splits(config, seed=2)
    assert torch.equal(first.train_images, again.train_images)
    assert not torch.equal(first.train_images, other.train_images)


def test_splits_file_round_trip(tmp_path, mnist5k):
    save_splits(mnist5k, tmp_path / "splits.pt")
    loaded = load_splits(tmp_path / "splits.pt")
    assert torch.equal(loaded.val_images, mnist5k.val_images)
    assert loaded.mean == mnist5k.mean and loaded.num_classes == 10


def test_too_many_images_asked_for_names_the_keys():
    with pytest.raises(ValueError, match="val_size"):
        prepare_splits(dataset_config(name="mnist5k", val_size=3000, train_size=3000), seed=0)


@pytest.mark.parametrize(
    ("name", "folder"), [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")]
)
def test_torchvision_mnist_layout_loads_from_root(tmp_path, mnist5k, name, folder):
    raw = tmp_path / folder / "raw"
    write_mnist_raw(
        raw, "train", mnist5k.train_images[:300, 0].numpy(), mnist5k.train_labels[:300].numpy()
    )
    write_mnist_raw(
        raw, "t10k", mnist5k.test_images[:100, 0].numpy(), mnist5k.test_labels[:100].numpy()
    )
    splits = prepare_splits(dataset_config(name=name, root=str(tmp_path), val_size=50), seed=0)
    assert splits.sizes() == {"train": 250, "val": 50, "test": 100}
    assert torch.equal(splits.test_images[:, 0], mnist5k.test_images[:100, 0])
    assert splits.horizontal_flip is (name == "fashion_mnist")


def test_cifar10_batches_load_without_checksums(tmp_path, mnist5k):
    # Real digits, padded to 32x32 and repeated over 3 channels, in CIFAR-10's batch format.
    digits = np.pad(mnist5k.train_images[:120].numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)))
    images, labels = np.repeat(digits, 3, axis=1), mnist5k.train_labels[:120].numpy()
    folder = tmp_path / "cifar-10-batches-py"
    for number in range(1, 6):
        part = slice((number - 1) * 20, number * 20)
        write_cifar10_batch(folder / f"data_batch_{number}", images[part], labels[part])
    write_cifar10_batch(folder / "test_batch", images[100:], labels[100:])
    splits = prepare_splits(dataset_config(name="cifar10", root=str(tmp_path), val_size=20), seed=0)
    assert splits.sizes() == {"train": 80, "val": 20, "test": 20}
    assert splits.train_images.shape[1:] == (3, 32, 32)
    assert torch.equal(splits.test_images, torch.from_numpy(images[100:]))


@pytest.mark.parametrize(
    ("name", "where"), [("mnist", "MNIST/raw"), ("cifar10", "cifar-10-batches-py")]
)
def test_missing_dataset_says_where_it_looked_and_how_to_get_it(tmp_path, name, where):
    with pytest.raises(DatasetNotFoundError) as error:
        prepare_splits(dataset_config(name=name, root=str(tmp_path), val_size=10), seed=0)
    assert str(tmp_path / where) in str(error.value)
    assert "download: true" in str(error.value)


def test_truncated_cifar_batch_names_the_file(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [*(f"data_batch_{n}" for n in range(1, 6)), "test_batch"]:
        (folder / name).write_bytes(b"\x80\x04trunc")
    with pytest.raises(ValueError, match="data_batch_1"):
        prepare_splits(dataset_config(name="cifar10", root=str(tmp_path), val_size=10), seed=0)


def test_an_unreadable_prepared_dataset_is_prepared_again(tmp_path):
    from random_nas.data import prepared_splits

    dataset = dataset_config(val_size=50, train_size=100, test_size=50)
    recipe = {key: value for key, value in dataset.items() if key not in ("root", "download")}
    recipe["split_seed"] = 0
    location = {"root": dataset["root"], "download": False}
    first = prepared_splits(tmp_path, recipe, location)
    (tmp_path / "dataset.pt").write_bytes(b"\x80\x04truncated")
    again = prepared_splits(tmp_path, recipe, location)
    assert again.sha256 == first.sha256
    assert load_splits(tmp_path / "dataset.pt").sha256 == first.sha256
