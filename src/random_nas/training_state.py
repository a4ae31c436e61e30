"""One training between its steps, as a plain record: what set-up placed on the device, the
model and optimiser once built, and what the epochs so far measured. The loop
(random_nas.train), the checkpoint and the record read it; none of them owns it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from random_nas.data import Splits
from random_nas.gauges import MemoryGauge
from random_nas.optim import SGD, AdamW
from random_nas.space import Architecture
from random_nas.training_config import AUTOCAST_DTYPES, TrainingConfig


@dataclass
class Training:
    """One training between its steps: what `set_up` placed on the device, the model and
    optimiser once built, and what the epochs so far measured."""

    arch: Architecture
    config: TrainingConfig
    splits: Splits
    device: torch.device
    precision: str
    generator: torch.Generator
    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor
    black: torch.Tensor
    batch_size: int
    steps_per_epoch: int
    fingerprint: str
    memory: MemoryGauge
    model: nn.Module | None = None
    step_model: nn.Module | None = None
    optimizer: SGD | AdamW | None = None
    scaler: torch.amp.GradScaler | None = None
    params: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    start_epoch: int = 0
    train_seconds: float = 0.0
    eval_seconds: float = 0.0
    seconds_to_first_step: float | None = None
    val_correct: torch.Tensor | None = None

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return AUTOCAST_DTYPES[self.precision]
