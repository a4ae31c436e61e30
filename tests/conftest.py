"""Shared fixtures: small real data, and a runner for the real `snakemake` in a temp copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ("Snakefile", "workflow", "scripts", "config", "profiles")

# A tiny run: 3 architectures of a 4-layer space, 1 epoch on a few hundred real MNIST images.
TINY_CONFIG = {
    "run": "tiny",
    "num_architectures": 3,
    "search_space": {
        "num_layers": 4,
        "filters": [8, 12],
        "kernel_sizes": [3, 5],
        "strides": [1, 2],
    },
    "dataset": {"val_size": 200, "train_size": 400, "test_size": 200},
    "training": {"epochs": 1, "batch_size": 64, "lr": 0.05, "warmup_epochs": 0},
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the workflow (not of results/) in a temporary directory."""
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    return tmp_path


def write_config(folder: Path, overrides: dict, name: str = "tiny.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(overrides))
    return path


def snakemake_command(
    configfile: Path, *args: str, extra_configfiles=(), cores: int = 2
) -> list[str]:
    """`--configfile` takes every value after it, so it comes last."""
    executable = Path(sys.executable).with_name("snakemake")
    configfiles = [str(configfile), *map(str, extra_configfiles)]
    return [str(executable), "--cores", str(cores), *args, "--configfile", *configfiles]


def run_snakemake(
    workdir: Path,
    configfile: Path,
    *args: str,
    check: bool = True,
    env: dict | None = None,
    extra_configfiles: list[Path] = (),
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        snakemake_command(configfile, *args, extra_configfiles=extra_configfiles),
        cwd=workdir,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stderr[-6000:]}")
    return result
