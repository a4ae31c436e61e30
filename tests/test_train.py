import dataclasses
import json
import math
import subprocess
import sys
import time

import pytest
import torch
from conftest import REPO, dataset_config, default_config, training_config

import random_nas.data
import random_nas.train
import random_nas.training_config
from random_nas.augment import augment_batch
from random_nas.correctness import unpack_correct
from random_nas.data import prepare_splits, save_splits
from random_nas.faults import EnvironmentFault
from random_nas.plan import gpu_present
from random_nas.recipes import OPERATIONAL_TRAINING_KEYS
from random_nas.space import SearchSpace
from random_nas.train import train_candidate
from random_nas.training_config import (
    DeviceUnavailableError,
    TrainingConfig,
    resolve_precision,
    set_tf32,
)

SPACE = SearchSpace(4, (8, 16), (3, 5), (1, 2))


@pytest.fixture(scope="module")
def splits():
    return prepare_splits(dataset_config(val_size=300, train_size=1200, test_size=300), 0)


@pytest.fixture(scope="module")
def few_splits():
    """For what asks no accuracy of a training, only that it ran (a checkpoint's fingerprint):
    a quarter of `splits`' images."""
    return prepare_splits(dataset_config(val_size=100, train_size=300, test_size=100), 0)


def small_config(**changes):
    settings = {"epochs": 2, "batch_size": 64, "lr": 0.05, "warmup_epochs": 0, "device": "cpu"}
    return training_config(**{**settings, **changes})


def test_training_learns_real_digits(splits):
    result = train_candidate(SPACE.decode(SPACE.size - 1), splits, small_config())
    metrics = result.metrics
    assert result.status == "ok"
    assert metrics["val_accuracy"] > 0.5 and metrics["test_accuracy"] > 0.5  # chance is 0.1
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert metrics["params"] > 0 and metrics["flops"] > 0
    assert metrics["images_per_second"] > 0 and metrics["threads"] == torch.get_num_threads()
    assert metrics["device"] == "cpu" and metrics["epochs_completed"] == 2


def test_a_published_style_candidate_retrains_bit_for_bit_on_the_cpu(splits):
    """The seed's space, fp32, the default recipe: everything but timings is identical."""
    seed_space = SearchSpace(10, (24, 36, 48, 64), (3, 5, 7), (1, 2))
    arch = seed_space.sample(1, seed=0)[0]
    config = training_config(epochs=1, precision="fp32", device="cpu")
    timings = {
        "train_seconds",
        "eval_seconds",
        "wall_seconds",
        "images_per_second",
        "seconds_to_first_step",
    }
    first, again = (train_candidate(arch, splits, config).metrics for _ in range(2))
    untimed = {
        key: value for key, value in first.items() if key not in timings | {"peak_memory_bytes"}
    }
    assert untimed == {key: again[key] for key in untimed}
    assert set(first) - set(untimed) == timings | {"peak_memory_bytes"}


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


def test_augmentation_fills_the_uncovered_border_with_black(splits):
    mean, std = (
        torch.tensor(splits.mean).view(1, -1, 1, 1),
        torch.tensor(splits.std).view(1, -1, 1, 1),
    )
    white = (torch.ones(64, 1, 28, 28) - mean) / std  # normalised, as the trainer holds them
    black = ((0 - mean) / std).flatten()
    moved = augment_batch(white, 2, False, torch.Generator().manual_seed(1), black)
    pixels = (moved * std + mean).flatten()
    # Each pixel comes from the image (white) or the fill, which must be black in pixel space;
    # a zero fill in normalised space would be the dataset's mean grey (about 0.13 for MNIST).
    assert set(pixels.round(decimals=4).tolist()) == {0.0, 1.0}


def test_augmentation_translates_and_mirrors_whole_images():
    """Each image moves whole by one offset within the padding (the uncovered border takes the
    fill), or is mirrored whole: not any shuffle of its pixels."""
    images = torch.arange(1, 1 + 6 * 1 * 4 * 4, dtype=torch.float32).view(6, 1, 4, 4)
    generator = torch.Generator().manual_seed(0)
    shifted = augment_batch(images, padding=1, flip=False, generator=generator)
    assert shifted.shape == images.shape
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1))
    offsets = set()
    for original, moved in zip(padded, shifted, strict=True):
        matches = [
            (dy, dx)
            for dy in range(3)
            for dx in range(3)
            if torch.equal(moved, original[:, dy : dy + 4, dx : dx + 4])
        ]
        assert len(matches) == 1
        offsets.add(matches[0])
    assert len(offsets) > 1  # the offsets are drawn, not fixed
    mirrored = augment_batch(images, padding=0, flip=True, generator=generator)
    for original, result in zip(images, mirrored, strict=True):
        assert torch.equal(result, original) or torch.equal(result, original.flip(2))


def test_precision_is_named_as_in_the_config():
    cpu = torch.device("cpu")
    assert [resolve_precision(name, cpu) for name in ("fp32", "bf16")] == ["fp32", "bf16"]
    with pytest.raises(ValueError, match="fp16"):
        resolve_precision("fp16", cpu)


def test_auto_precision_on_cpu_is_fp32_whatever_the_cpu():
    """bf16 autocast on an AMX Xeon diverged for 11 of the default run's 20 candidates, so
    `auto` consults no CPU feature: fp32 on every CPU (the benchmarks record the CPU's own
    answer, a bool)."""
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    assert isinstance(random_nas.training_config.cpu_has_native_bf16(), bool)


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16"), (False, "fp16")])
def test_auto_precision_on_cuda_ignores_emulated_bf16(monkeypatch, native, expected):
    # A pre-Ampere GPU: bf16 only by emulation, which torch's default check counts as support.
    def is_bf16_supported(including_emulation: bool = True) -> bool:
        return native or including_emulation

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    assert resolve_precision("auto", torch.device("cuda")) == expected


def test_tf32_is_set_explicitly_both_ways_on_cuda():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        for enabled in (True, False):
            set_tf32(torch.device("cuda"), enabled)
            assert torch.backends.cuda.matmul.allow_tf32 is enabled
            assert torch.backends.cudnn.allow_tf32 is enabled
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def test_gpu_presence_is_read_from_the_driver_and_cuda_visible_devices(tmp_path):
    gpus = tmp_path / "gpus"
    assert not gpu_present(gpus, {})
    (gpus / "0000:01:00.0").mkdir(parents=True)
    assert gpu_present(gpus, {})
    assert gpu_present(gpus, {"CUDA_VISIBLE_DEVICES": "0"})
    assert not gpu_present(gpus, {"CUDA_VISIBLE_DEVICES": ""})


def test_every_training_key_of_the_schema_reaches_the_trainer_or_is_operational():
    import yaml

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    keys = set(schema["properties"]["training"]["properties"])
    trainer = set(TrainingConfig.__dataclass_fields__)
    assert keys - trainer <= {
        "threads",
        "retries",
        "keep_checkpoints",
        "minutes_per_epoch",
        "mem_mb",
        "trainings_per_gpu",
    }
    assert "eval_batch_size" in trainer  # operational, and it takes effect
    assert keys == (trainer - {"seed"}) | OPERATIONAL_TRAINING_KEYS
    assert set(small_config().recipe()) == keys - OPERATIONAL_TRAINING_KEYS


def test_checkpoint_of_another_recipe_is_not_resumed(tmp_path, splits):
    checkpoint = tmp_path / "candidate.pt"
    first = train_candidate(SPACE.decode(3), splits, small_config(epochs=2), checkpoint)
    assert torch.load(checkpoint, weights_only=True)["epoch"] == 1
    other = train_candidate(SPACE.decode(3), splits, small_config(epochs=2, lr=0.02), checkpoint)
    assert other.history[0]["val_loss"] != first.history[0]["val_loss"]  # trained from scratch


def _with_one_image_changed(splits):
    """The same dataset name and split sizes, one training image different."""
    images = splits.train_images.clone()
    images[0] = 255 - images[0]
    tensors = {name: getattr(splits, name).numpy() for name in random_nas.data._TENSOR_FIELDS}
    tensors["train_images"] = images.numpy()
    return dataclasses.replace(
        splits, train_images=images, sha256=random_nas.data.content_sha256(tensors)
    )


def test_checkpoint_of_other_data_or_precision_or_unreadable_is_ignored(
    tmp_path, few_splits, caplog
):
    splits = few_splits
    checkpoint = tmp_path / "candidate.pt"
    config = small_config(epochs=2)
    train_candidate(SPACE.decode(3), splits, config, checkpoint)
    fresh = train_candidate(SPACE.decode(3), _with_one_image_changed(splits), config)
    other_data = train_candidate(
        SPACE.decode(3), _with_one_image_changed(splits), config, checkpoint
    )
    assert "resumed" not in caplog.text and "ignoring checkpoint" in caplog.text
    assert [row["val_loss"] for row in other_data.history] == [
        row["val_loss"] for row in fresh.history
    ]

    # Saved in fp32, asked for in bf16 ("auto" resolving differently on another machine).
    train_candidate(SPACE.decode(3), splits, config, checkpoint)
    caplog.clear()
    bf16 = train_candidate(
        SPACE.decode(3), splits, small_config(epochs=2, precision="bf16"), checkpoint
    )
    assert bf16.metrics["precision"] == "bf16" and "ignoring checkpoint" in caplog.text

    # The right fingerprint, a state that does not fit (another layout of the same name).
    train_candidate(SPACE.decode(3), splits, config, checkpoint)
    state = torch.load(checkpoint, weights_only=True)
    state["model"] = {"0.weight": torch.zeros(1)}
    torch.save(state, checkpoint)
    caplog.clear()
    result = train_candidate(SPACE.decode(3), splits, config, checkpoint)
    assert [row["val_loss"] for row in result.history] == [
        row["val_loss"] for row in train_candidate(SPACE.decode(3), splits, config).history
    ]
    assert "does not fit" in caplog.text

    checkpoint.write_bytes(b"PK\x03\x04 truncated")
    caplog.clear()
    result = train_candidate(SPACE.decode(3), splits, config, checkpoint)
    assert result.status == "ok" and "cannot be read" in caplog.text


def test_a_candidate_error_is_a_failure_and_a_missing_device_is_not(monkeypatch, splits):
    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailableError, match="no CUDA device"):
            train_candidate(SPACE.decode(1), splits, small_config(device="cuda"))
    monkeypatch.setattr(random_nas.train, "build_model", out_of_memory)
    result = train_candidate(SPACE.decode(1), splits, small_config())
    assert result.status == "failed" and result.history == []
    assert result.metrics["error"].startswith("OutOfMemoryError: CUDA out of memory")
    assert result.metrics["failure_reason"] == "out of memory alone on its device (cpu)"


def test_every_outcome_has_one_record_with_the_same_fields(monkeypatch, splits):
    """ok, diverged and failed: the same fields, `epochs` (the recipe's) included, so that a
    failed training stays in its rung of successive halving."""
    config = small_config(epochs=2)
    data = {"name": "mnist5k", "split_seed": 0}
    ok = train_candidate(SPACE.decode(5), splits, config, data=data).metrics
    diverged = train_candidate(SPACE.decode(5), splits, small_config(epochs=2, lr=1e6)).metrics
    monkeypatch.setattr(random_nas.train, "build_model", lambda *a, **k: 1 / 0)
    with pytest.raises(EnvironmentFault) as error:  # not recognised as the candidate's
        train_candidate(SPACE.decode(5), splits, config)
    assert isinstance(error.value.__cause__, ZeroDivisionError)

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("injected")

    monkeypatch.setattr(random_nas.train, "build_model", out_of_memory)
    failed = train_candidate(SPACE.decode(5), splits, config, attempt=2).metrics
    assert set(ok) == set(diverged) == set(failed)
    assert [record["status"] for record in (ok, diverged, failed)] == ["ok", "diverged", "failed"]
    assert ok["epochs"] == diverged["epochs"] == failed["epochs"] == 2
    assert (ok["epochs_completed"], failed["epochs_completed"]) == (2, 0)
    assert failed["attempt"] == 2 and failed["params"] is None and failed["flops"] > 0
    assert math.isnan(failed["val_accuracy"]) and math.isnan(diverged["val_accuracy"])
    assert ok["error"] is None and failed["error"] == "OutOfMemoryError: injected"
    assert ok["recipe"]["dataset"]["split_seed"] == 0 and ok["hardware"] == failed["hardware"]
    correct = unpack_correct(ok["val_correct"], len(splits.val_labels))
    assert correct.mean() == ok["val_accuracy"] and failed["val_correct"] is None


def test_a_checkpoint_that_cannot_be_written_is_the_environments(monkeypatch, tmp_path, splits):
    def full_disk(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc] . PytorchStreamWriter failed")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(EnvironmentFault, match="PytorchStreamWriter"):
        train_candidate(SPACE.decode(2), splits, small_config(), tmp_path / "checkpoint.pt")


def test_a_training_process_imports_nothing_it_does_not_need(tmp_path, splits):
    """torch._dynamo alone costs about 2 s of every job's start; only `compile` needs it. The
    same process measures its training's peak memory, apart from the process's own."""
    save_splits(splits, tmp_path / "dataset.pt")
    training = {**default_config()["training"], "epochs": 1, "batch_size": 64}
    code = (
        "import json, resource, sys\n"
        "from random_nas.data import load_splits\n"
        "from random_nas.space import SearchSpace\n"
        "from random_nas.train import train_candidate\n"
        "from random_nas.training_config import TrainingConfig\n"
        f"splits = load_splits({str(tmp_path / 'dataset.pt')!r})\n"
        "arch = SearchSpace(4, (8, 16), (3, 5), (1, 2)).decode(3)\n"
        f"config = TrainingConfig.from_config({training!r}, 0)\n"
        "result = train_candidate(arch, splits, config)\n"
        "heavy = {'torch._dynamo', 'torchvision', 'pandas', 'matplotlib'} & set(sys.modules)\n"
        "assert not heavy, f'imported {heavy}'\n"
        "process_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "metrics = result.metrics\n"
        "print(json.dumps([metrics['seconds_to_first_step'], metrics['peak_memory_bytes'], "
        "process_peak]))\n"
    )
    started = time.perf_counter()
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    seconds_to_first_step, training_peak, process_peak = json.loads(output)
    assert 0 < seconds_to_first_step < time.perf_counter() - started
    # The training's own peak, not the process's: torch and the data are hundreds of MiB.
    assert 0 < training_peak < process_peak / 2


def test_the_hardware_line_names_the_kernel_limits_the_environment_set(monkeypatch):
    """A training computed as a CPU without AVX-512 would (its kernels limited by the
    environment) says so beside the CPU's own features."""
    from random_nas.versions import KERNEL_LIMITS, hardware

    for name in KERNEL_LIMITS:
        monkeypatch.delenv(name, raising=False)
    assert "kernels limited" not in hardware("cpu")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert hardware("cpu").endswith(
        "; kernels limited by ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2"
    )
