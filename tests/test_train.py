import json
import math
import subprocess
import sys
import time

import pytest
import torch

from random_nas.data import prepare_splits, save_splits
from random_nas.space import SearchSpace
from random_nas.train import TrainingConfig, augment_batch, resolve_precision, train_candidate

SPACE = SearchSpace(4, (8, 16), (3, 5), (1, 2))


@pytest.fixture(scope="module")
def splits():
    return prepare_splits(
        {"name": "mnist5k", "val_size": 300, "train_size": 1200, "test_size": 300}, 0
    )


def small_config(**changes):
    return TrainingConfig(**{"epochs": 2, "batch_size": 64, "lr": 0.05, "device": "cpu", **changes})


def test_training_learns_real_digits(splits):
    result = train_candidate(SPACE.decode(SPACE.size - 1), splits, small_config())
    metrics = result.metrics
    assert result.status == "ok"
    assert metrics["val_accuracy"] > 0.5 and metrics["test_accuracy"] > 0.5  # chance is 0.1
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert metrics["params"] > 0 and metrics["flops"] > 0
    assert metrics["images_per_second"] > 0 and metrics["threads"] == torch.get_num_threads()
    assert metrics["device"] == "cpu" and metrics["epochs_completed"] == 2


def test_same_seed_same_metrics_on_cpu(splits):
    first = train_candidate(SPACE.decode(9), splits, small_config(epochs=1))
    again = train_candidate(SPACE.decode(9), splits, small_config(epochs=1))
    for key in ("val_accuracy", "val_loss", "test_accuracy", "train_loss"):
        assert first.metrics[key] == again.metrics[key]


def test_resume_from_checkpoint_reaches_the_same_metrics(tmp_path, splits):
    checkpoint = tmp_path / "candidate.pt"
    config = small_config(epochs=3, augment=True)
    uninterrupted = train_candidate(SPACE.decode(3), splits, config, checkpoint)
    # The checkpoint left behind holds the state after epoch 2, as a job preempted in epoch 3.
    state = torch.load(checkpoint, weights_only=True)
    assert state["epoch"] == 2
    resumed = train_candidate(SPACE.decode(3), splits, config, checkpoint)
    assert resumed.metrics["val_loss"] == uninterrupted.metrics["val_loss"]
    assert resumed.metrics["test_accuracy"] == uninterrupted.metrics["test_accuracy"]
    assert [row["val_loss"] for row in resumed.history] == [
        row["val_loss"] for row in uninterrupted.history
    ]


def test_huge_learning_rate_is_recorded_as_diverged(splits):
    result = train_candidate(SPACE.decode(1), splits, small_config(epochs=3, lr=1e6))
    assert result.status == "diverged"
    assert result.metrics["epochs_completed"] == 1
    assert math.isnan(result.metrics["val_accuracy"])


def test_augmentation_translates_and_mirrors_whole_images():
    images = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    generator = torch.Generator().manual_seed(0)
    shifted = augment_batch(images, padding=1, flip=False, generator=generator)
    assert shifted.shape == images.shape
    for original, moved in zip(images, shifted, strict=True):
        window = moved[0][moved[0] != 0]
        assert set(window.tolist()) <= set(original.flatten().tolist())
    mirrored = augment_batch(images, padding=0, flip=True, generator=generator)
    for original, result in zip(images, mirrored, strict=True):
        assert torch.equal(result, original) or torch.equal(result, original.flip(2))


def test_precision_choice():
    assert resolve_precision("fp32", torch.device("cpu")) is None
    assert resolve_precision("bf16", torch.device("cpu")) == torch.bfloat16
    with pytest.raises(ValueError, match="fp16"):
        resolve_precision("fp16", torch.device("cpu"))


def test_checkpoint_of_another_recipe_is_not_resumed(tmp_path, splits):
    checkpoint = tmp_path / "candidate.pt"
    first = train_candidate(SPACE.decode(3), splits, small_config(epochs=2), checkpoint)
    assert torch.load(checkpoint, weights_only=True)["epoch"] == 1
    other = train_candidate(SPACE.decode(3), splits, small_config(epochs=2, lr=0.02), checkpoint)
    assert other.history[0]["val_loss"] != first.history[0]["val_loss"]  # trained from scratch


def test_a_training_process_imports_nothing_it_does_not_need(tmp_path, splits):
    """torch._dynamo alone costs about 2 s of every job's start; only `compile` needs it."""
    save_splits(splits, tmp_path / "dataset.pt")
    code = (
        "import json, sys\n"
        "from random_nas.data import load_splits\n"
        "from random_nas.space import SearchSpace\n"
        "from random_nas.train import TrainingConfig, train_candidate\n"
        f"splits = load_splits({str(tmp_path / 'dataset.pt')!r})\n"
        "arch = SearchSpace(4, (8, 16), (3, 5), (1, 2)).decode(3)\n"
        "result = train_candidate(arch, splits, TrainingConfig(epochs=1, batch_size=64))\n"
        "heavy = {'torch._dynamo', 'torchvision', 'pandas', 'matplotlib'} & set(sys.modules)\n"
        "assert not heavy, f'imported {heavy}'\n"
        "print(json.dumps(result.metrics['seconds_to_first_step']))\n"
    )
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert 0 < json.loads(output) < time.perf_counter() - started
