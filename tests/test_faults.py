"""Whose fault an error is: only a fact about the architecture is published as `failed`."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import REPO, dataset_config, training_config

from random_nas.faults import CANDIDATE, ENVIRONMENT, UNRECOGNISED, classify

GiB = 2**30
SMALL_DATA = dataset_config(val_size=64, train_size=128, test_size=64)


@pytest.mark.parametrize(
    ("error", "device", "share", "kind", "reason"),
    [
        (torch.OutOfMemoryError("CUDA out of memory."), "cuda", 1, CANDIDATE, "alone"),
        (torch.OutOfMemoryError("CUDA out of memory."), "cuda", 3, ENVIRONMENT, "shared by 3"),
        (
            RuntimeError("CUDA error: an illegal memory access was encountered"),
            "cuda",
            1,
            ENVIRONMENT,
            "device or driver",
        ),
        (
            RuntimeError("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR"),
            "cuda",
            1,
            ENVIRONMENT,
            "device",
        ),
        (
            RuntimeError(
                "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). "
                "Kernel size can't be greater than actual input size"
            ),
            "cpu",
            1,
            CANDIDATE,
            "layers cannot compute",
        ),
        (
            RuntimeError(
                "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate "
                f"memory: you tried to allocate {20 * GiB} bytes. Error code 12"
            ),
            "cpu",
            1,
            CANDIDATE,
            "exceeds the job's memory limit",
        ),
        (
            RuntimeError(
                "DefaultCPUAllocator: can't allocate memory: you tried to allocate "
                f"{GiB} bytes. Error code 12"
            ),
            "cpu",
            1,
            ENVIRONMENT,
            "other processes",
        ),
        (
            RuntimeError("PytorchStreamWriter failed writing file"),
            "cpu",
            1,
            ENVIRONMENT,
            "a full disk or quota, or a failing disk",
        ),
        (OSError(28, "No space left on device"), "cpu", 1, ENVIRONMENT, "disk or quota is full"),
        (ZeroDivisionError("division by zero"), "cpu", 1, UNRECOGNISED, "not recognised"),
    ],
)
def test_only_a_fact_about_the_architecture_is_the_candidates(error, device, share, kind, reason):
    fault = classify(
        error, device_type=device, trainings_per_device=share, memory_limit_bytes=8 * GiB
    )
    assert fault.kind == kind and reason in fault.reason
    assert fault.error.startswith(type(error).__name__ + ": ")


def test_an_error_of_torch_compile_is_the_environments_by_its_class():
    compiler_error = type("InductorError", (RuntimeError,), {"__module__": "torch._inductor.exc"})
    fault = classify(
        compiler_error("InvalidCxxCompiler: No working C++ compiler found"), device_type="cpu"
    )
    assert fault.kind == ENVIRONMENT and "compiler" in fault.reason


def test_a_compiler_that_is_missing_publishes_nothing(tmp_path):
    """torch.compile raises its compiler's errors from the first forward pass, inside the
    training: a real broken compiler (not a mock) must not make the candidate `failed`."""
    code = (
        "from random_nas.data import prepare_splits\n"
        "from random_nas.faults import EnvironmentFault\n"
        "from random_nas.space import SearchSpace\n"
        "from random_nas.train import train_candidate\n"
        "from random_nas.training_config import TrainingConfig\n"
        "import json, sys\n"
        f"splits = prepare_splits({SMALL_DATA!r}, 0)\n"
        "config = json.loads(sys.argv[1])\n"
        "arch = SearchSpace(2, (8,), (3,), (1, 2)).decode(0)\n"
        "try:\n"
        "    result = train_candidate(arch, splits, TrainingConfig.from_config(config, 0))\n"
        "except EnvironmentFault as fault:\n"
        "    print('environment:', fault.fault.reason, '|', fault.fault.error)\n"
        "else:\n"
        "    print('published as', result.status, result.metrics['error'])\n"
    )
    settings = training_config(epochs=1, batch_size=32, compile=True, device="cpu")
    training = {k: v for k, v in dataclasses.asdict(settings).items() if k != "seed"}
    environment = {
        **os.environ,
        "CXX": "/nonexistent/g++",
        "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor"),
        "PYTHONPATH": str(REPO / "src"),
    }
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(training)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "environment: a compiler or backend error of torch.compile" in result.stdout
    assert "No working C++ compiler" in result.stdout


def _train_with(monkeypatch, tmp_path, function: str, error: BaseException):
    """Train a tiny candidate whose `function` of the trainer raises `error`."""
    import random_nas.train as trainer
    from random_nas.data import prepare_splits
    from random_nas.faults import EnvironmentFault
    from random_nas.space import SearchSpace

    def raising(*args, **kwargs):
        raise error

    monkeypatch.setattr(trainer, function, raising)
    arch = SearchSpace(2, (8,), (3,), (1, 2)).decode(0)
    config = training_config(epochs=2, batch_size=32, device="cpu", warmup_epochs=0)
    with pytest.raises(EnvironmentFault) as stopped:
        trainer.train_candidate(
            arch, prepare_splits(SMALL_DATA, 0), config, tmp_path / "claim" / "checkpoint.pt"
        )
    return stopped.value.fault


def test_an_unrecognised_error_is_called_so_and_keeps_its_traceback(monkeypatch, tmp_path, caplog):
    (tmp_path / "claim").mkdir()
    fault = _train_with(monkeypatch, tmp_path, "train_one_epoch", ZeroDivisionError("a bug"))
    assert fault.kind == UNRECOGNISED and "not recognised" in fault.reason
    assert "environment" not in fault.reason
    logged = caplog.text
    assert "Traceback (most recent call last)" in logged and "ZeroDivisionError: a bug" in logged


def test_a_full_disk_says_so_and_where(monkeypatch, tmp_path):
    (tmp_path / "claim").mkdir()
    full = OSError(28, "No space left on device")
    fault = _train_with(monkeypatch, tmp_path, "save_checkpoint", full)
    assert fault.kind == ENVIRONMENT
    assert f"writing to {tmp_path / 'claim'} failed (" in fault.reason
    assert "MiB free there now): the disk or quota is full" in fault.reason
