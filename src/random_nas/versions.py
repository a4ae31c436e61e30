"""Versions and hardware of what produced a result, recorded with every metrics file and table."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import random_nas


def package_versions(*packages: str) -> dict[str, str]:
    found = {"python": platform.python_version(), "random_nas": random_nas.__version__}
    for package in packages:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


# The instruction-set extensions that decide which CPU kernels run (oneDNN picks AMX, then
# AVX512-BF16, then AVX-512, then AVX2): the same model name can hide different ones in a VM.
KERNEL_FEATURES = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "asimd",
    "sve",
)


def cpu_features(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """Which of KERNEL_FEATURES this CPU reports (Linux /proc/cpuinfo flags), in that order."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return []
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            flags.update(line.split(":", 1)[1].split())
            break
    return [feature for feature in KERNEL_FEATURES if feature in flags]


# Settings that limit the instruction sets of torch's own kernels, oneDNN's and MKL's below what
# the CPU has (set to compute as a CPU without AVX-512 would): a row names them where they apply.
KERNEL_LIMITS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


def hardware(device_type: str) -> str:
    """Where a result was computed, as one line: the CPU model, logical CPU count and kernel
    features (and the limits the environment set on them), and for a CUDA training the GPU
    model, how many the process saw and torch's CUDA version."""
    features = cpu_features()
    text = f"{cpu_model()} ({os.cpu_count()} CPUs{'; ' + ' '.join(features) if features else ''})"
    limits = [f"{name}={os.environ[name]}" for name in KERNEL_LIMITS if os.environ.get(name)]
    if limits:
        text += f"; kernels limited by {' '.join(limits)}"
    if device_type == "cuda":
        import torch

        count = torch.cuda.device_count()
        text += (
            f"; {torch.cuda.get_device_name(0)} (1 used of {count} GPUs; CUDA {torch.version.cuda})"
        )
    return text
