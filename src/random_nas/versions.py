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


def hardware(device_type: str) -> str:
    """Where a result was computed, as one line: the CPU model and logical CPU count, and for a
    CUDA training the GPU model, how many the process saw and torch's CUDA version."""
    text = f"{cpu_model()} ({os.cpu_count()} CPUs)"
    if device_type == "cuda":
        import torch

        count = torch.cuda.device_count()
        text += (
            f"; {torch.cuda.get_device_name(0)} (1 used of {count} GPUs; CUDA {torch.version.cuda})"
        )
    return text
