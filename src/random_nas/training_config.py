"""A training's settings and where it runs: the recipe of the validated config's `training`
section, its device and precision resolved on this machine, and its learning-rate schedule."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from random_nas.recipes import NEUTRAL_TRAINING_VALUES, makes_the_result

logger = logging.getLogger(__name__)

OPTIMIZERS = ("sgd", "adamw")
LR_SCHEDULES = ("cosine", "constant")
DEVICES = ("auto", "cpu", "cuda")
# The config's precision names, as recorded in every metrics file; fp32 means no autocast.
AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class TrainingConfig:
    """The training settings of one candidate, as the validated config's `training` section
    gives them (the schema holds the defaults and meanings; this class keeps none of its own)."""

    epochs: int
    batch_size: int
    optimizer: str
    lr: float
    momentum: float
    weight_decay: float
    lr_schedule: str
    warmup_epochs: float
    label_smoothing: float
    augment: bool
    precision: str
    device: str
    seed: int
    compile: bool
    tf32: bool
    # Operational: how a result is computed, not what it is (evaluation is per image).
    eval_batch_size: int

    @classmethod
    def from_config(cls, training: Mapping[str, Any], seed: int) -> TrainingConfig:
        """From the config's `training` section or a stored recipe; its cluster-only keys are
        not the trainer's. A key that a recipe leaves out at its neutral value (one added
        after the recipe was stored: NEUTRAL_TRAINING_VALUES) is read as that value."""
        known = {name for name in cls.__dataclass_fields__ if name != "seed"}
        values = {**NEUTRAL_TRAINING_VALUES, **training}
        return cls(seed=seed, **{key: value for key, value in values.items() if key in known})

    def recipe(self) -> dict[str, Any]:
        """The training settings a result depends on (operational ones left out)."""
        return {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if name != "seed" and makes_the_result(name, getattr(self, name))
        }


class DeviceUnavailableError(RuntimeError):
    """The configured device is not there (no CUDA device for `training.device: cuda`)."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError(
            "training.device is 'cuda' but torch sees no CUDA device on this machine "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}, "
            f"torch built for CUDA {torch.version.cuda})"
        )
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> str:
    """The precision to train in, in the config's names: `fp32`, `bf16` or `fp16`.

    `auto` follows the device: on a GPU, bf16 where it computes bf16 natively (Ampere and
    later), else fp16 with loss scaling (emulated bf16 is slower than fp32); on a CPU, fp32.
    bf16 autocast on the CPU is unsafe as a default: on a Xeon with native bf16 (AMX), 11 of
    the default run's 20 candidates diverged to NaN in bf16, none in fp32 (same draw)."""
    if name == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"
        return "fp32"
    if name == "fp16" and device.type != "cuda":
        raise ValueError(
            "training.precision 'fp16' needs a CUDA device; use bf16 or fp32 on the CPU"
        )
    if name not in AUTOCAST_DTYPES:
        raise ValueError(f"training.precision {name!r} is not one of auto, fp32, bf16, fp16")
    return name


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN computes bf16 natively on this CPU (the benchmarks report it)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def set_tf32(device: torch.device, enabled: bool) -> None:
    """TF32 matmuls and convolutions on Ampere+ GPUs: an explicit choice, never a default
    (torch enables it for cuDNN convolutions unless told otherwise)."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = enabled
        torch.backends.cudnn.allow_tf32 = enabled


def learning_rate(config: TrainingConfig, step: int, steps_per_epoch: int) -> float:
    """The learning rate of optimiser step `step` (from 0): linear warmup, then cosine or flat."""
    total = config.epochs * steps_per_epoch
    warmup = round(config.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    if config.lr_schedule == "constant":
        return config.lr
    return config.lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
