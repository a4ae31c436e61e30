"""Training one candidate: a short, visible loop over tensors held on the training device.

No DataLoader: the dataset is a few tensors, so each step indexes a batch out of them and
augments it batched. Each epoch ends with a validation pass and, when asked, a checkpoint
that lets a preempted job resume to the same final metrics.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import resource
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from random_nas.data import Splits
from random_nas.files import atomic_path
from random_nas.model import build_model, count_parameters
from random_nas.optim import SGD, AdamW
from random_nas.space import Architecture

logger = logging.getLogger(__name__)

OPTIMIZERS = ("sgd", "adamw")
LR_SCHEDULES = ("cosine", "constant")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")
# Part of a checkpoint's fingerprint: a checkpoint in an older layout is not resumed from.
CHECKPOINT_FORMAT = "checkpoint-v2"


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 3
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_schedule: str = "cosine"
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    augment: bool = False
    precision: str = "auto"
    device: str = "auto"
    seed: int = 0
    eval_batch_size: int = 1000
    compile: bool = False

    @classmethod
    def from_config(cls, training: Mapping[str, Any], seed: int) -> TrainingConfig:
        known = {name for name in cls.__dataclass_fields__ if name != "seed"}
        return cls(seed=seed, **{key: value for key, value in training.items() if key in known})


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("training.device is 'cuda' but torch sees no CUDA device")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32."""
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        # Without native bf16 instructions the CPU emulates bf16 and runs slower than fp32.
        return (
            torch.bfloat16
            if torch.backends.mkldnn.is_available() and cpu_has_native_bf16()
            else None
        )
    if name == "fp16" and device.type != "cuda":
        raise ValueError(
            "training.precision 'fp16' needs a CUDA device; use bf16 or fp32 on the CPU"
        )
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


def cpu_has_native_bf16() -> bool:
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@dataclass
class TrainResult:
    status: str  # ok | diverged
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)


def _normalize(images: torch.Tensor, splits: Splits, device: torch.device) -> torch.Tensor:
    mean = torch.tensor(splits.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(splits.std, device=device).view(1, -1, 1, 1)
    scaled = images.to(device, non_blocking=True).float().div_(255)
    return ((scaled - mean) / std).contiguous(memory_format=torch.channels_last)


def augment_batch(
    images: torch.Tensor, padding: int, flip: bool, generator: torch.Generator
) -> torch.Tensor:
    """Random translation by up to `padding` pixels (zero fill) and optional mirroring."""
    batch, _, height, width = images.shape
    device = images.device
    if padding:
        padded = F.pad(images, (padding,) * 4)
        offsets = torch.randint(0, 2 * padding + 1, (2, batch), device=device, generator=generator)
        rows = (offsets[0, :, None] + torch.arange(height, device=device))[:, None, :, None]
        cols = (offsets[1, :, None] + torch.arange(width, device=device))[:, None, None, :]
        images = padded[
            torch.arange(batch, device=device)[:, None, None, None],
            torch.arange(images.shape[1], device=device)[None, :, None, None],
            rows,
            cols,
        ]
    if flip:
        mirrored = torch.rand(batch, device=device, generator=generator) < 0.5
        images = torch.where(mirrored[:, None, None, None], images.flip(3), images)
    return images.contiguous(memory_format=torch.channels_last)


def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    autocast_dtype: torch.dtype | None,
) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy over a whole split."""
    model.eval()
    loss_sum = torch.zeros((), device=images.device, dtype=torch.float64)
    correct = torch.zeros((), device=images.device, dtype=torch.int64)
    with torch.inference_mode(), _autocast(images.device, autocast_dtype):
        for start in range(0, len(labels), batch_size):
            logits = model(images[start : start + batch_size]).float()
            batch_labels = labels[start : start + batch_size]
            loss_sum += F.cross_entropy(logits, batch_labels, reduction="sum")
            correct += (logits.argmax(1) == batch_labels).sum()
    return loss_sum.item() / len(labels), correct.item() / len(labels)


def _autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def learning_rate(config: TrainingConfig, step: int, steps_per_epoch: int) -> float:
    """The learning rate of optimiser step `step` (from 0): linear warmup, then cosine or flat."""
    total = config.epochs * steps_per_epoch
    warmup = round(config.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    if config.lr_schedule == "constant":
        return config.lr
    return config.lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def _make_optimizer(model: nn.Module, config: TrainingConfig) -> SGD | AdamW:
    if config.optimizer == "sgd":
        return SGD(
            model.parameters(),
            momentum=config.momentum,
            nesterov=config.momentum > 0,
            weight_decay=config.weight_decay,
        )
    return AdamW(model.parameters(), weight_decay=config.weight_decay)


def seconds_since_process_start() -> float | None:
    """Wall seconds since this process started (Linux /proc), or None where that is unknown."""
    try:
        # Field 22 of /proc/self/stat, counted after the parenthesised command name.
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except OSError:
        return None
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def peak_memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _load_checkpoint(
    path: str | os.PathLike[str] | None, fingerprint: str, device: torch.device
) -> dict[str, Any] | None:
    """The saved state of an interrupted run of the same candidate and recipe, if any."""
    if path is None or not Path(path).exists():
        return None
    state = torch.load(path, map_location=device, weights_only=True)
    if state.get("fingerprint") != fingerprint:
        logger.warning("ignoring %s: it was saved for another training recipe", path)
        return None
    return state


def train_candidate(
    arch: Architecture,
    splits: Splits,
    config: TrainingConfig,
    checkpoint_path: str | os.PathLike[str] | None = None,
) -> TrainResult:
    """Train `arch` on the training split; report validation (model selection) and test metrics."""
    device = resolve_device(config.device)
    autocast_dtype = resolve_precision(config.precision, device)
    torch.manual_seed(config.seed)
    generator = torch.Generator(device=device).manual_seed(config.seed)

    model = build_model(arch, splits.in_channels, splits.num_classes)
    params = count_parameters(model)
    flops = arch.forward_flops(tuple(splits.train_images.shape[1:]), splits.num_classes)
    model = model.to(device, memory_format=torch.channels_last)
    optimizer = _make_optimizer(model, config)

    train_images = _normalize(splits.train_images, splits, device)
    train_labels = splits.train_labels.to(device)
    num_train = len(train_labels)
    batch_size = min(config.batch_size, num_train)
    steps_per_epoch = num_train // batch_size
    scaler = torch.amp.GradScaler(device.type, enabled=autocast_dtype == torch.float16)
    step_model = torch.compile(model) if config.compile else model

    history: list[dict[str, Any]] = []
    train_seconds = eval_seconds = 0.0
    start_epoch = 0
    fingerprint = f"{CHECKPOINT_FORMAT} {arch.arch_id} {config} {splits.sizes()}"
    state = _load_checkpoint(checkpoint_path, fingerprint, device)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        generator.set_state(state["generator"].to("cpu"))
        torch.set_rng_state(state["torch_rng"].to("cpu"))
        history, start_epoch = state["history"], state["epoch"]
        train_seconds, eval_seconds = state["train_seconds"], state["eval_seconds"]
        logger.info("resumed from %s after epoch %d", checkpoint_path, start_epoch)

    status = "ok"
    seconds_to_first_step = None
    val_images = _normalize(splits.val_images, splits, device)
    val_labels = splits.val_labels.to(device)
    for epoch in range(start_epoch, config.epochs):
        step_model.train()
        loss_sum = torch.zeros((), device=device, dtype=torch.float64)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        epoch_start = time.perf_counter()
        order = torch.randperm(num_train, device=device, generator=generator)
        for step in range(steps_per_epoch):
            batch = order[step * batch_size : (step + 1) * batch_size]
            images, labels = train_images[batch], train_labels[batch]
            if config.augment:
                images = augment_batch(
                    images, splits.crop_padding, splits.horizontal_flip, generator
                )
            with _autocast(device, autocast_dtype):
                logits = step_model(images)
                loss = F.cross_entropy(
                    logits.float(), labels, label_smoothing=config.label_smoothing
                )
            lr = learning_rate(config, epoch * steps_per_epoch + step, steps_per_epoch)
            model.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer, lr=lr)
            scaler.update()
            loss_sum += loss.detach() * len(labels)
            correct += (logits.detach().argmax(1) == labels).sum()
            if epoch == start_epoch and step == 0:
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                seconds_to_first_step = seconds_since_process_start()
        trained = steps_per_epoch * batch_size
        train_loss = loss_sum.item() / trained  # .item() waits for the device, so timing is fair
        epoch_seconds = time.perf_counter() - epoch_start
        train_seconds += epoch_seconds
        val_loss, val_accuracy = evaluate(
            step_model, val_images, val_labels, config.eval_batch_size, autocast_dtype
        )
        eval_seconds += time.perf_counter() - epoch_start - epoch_seconds
        history.append(
            {
                "epoch": epoch + 1,
                "train_loss": train_loss,
                "train_accuracy": correct.item() / trained,
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
                "lr": lr,
                "train_seconds": epoch_seconds,
                "images_per_second": trained / epoch_seconds,
            }
        )
        logger.info(
            "epoch %d/%d  train loss %.4f  val loss %.4f  val acc %.4f  %.0f img/s",
            epoch + 1,
            config.epochs,
            train_loss,
            val_loss,
            val_accuracy,
            trained / epoch_seconds,
        )
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            status = "diverged"
            logger.warning("loss is not finite after epoch %d: stopping (diverged)", epoch + 1)
            break
        if checkpoint_path is not None and epoch + 1 < config.epochs:
            with atomic_path(checkpoint_path) as temporary:
                torch.save(
                    {
                        "fingerprint": fingerprint,
                        "epoch": epoch + 1,
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scaler": scaler.state_dict(),
                        "generator": generator.get_state(),
                        "torch_rng": torch.get_rng_state(),
                        "history": history,
                        "train_seconds": train_seconds,
                        "eval_seconds": eval_seconds,
                    },
                    temporary,
                )

    test_start = time.perf_counter()
    if status == "ok":
        test_images = _normalize(splits.test_images, splits, device)
        test_loss, test_accuracy = evaluate(
            step_model,
            test_images,
            splits.test_labels.to(device),
            config.eval_batch_size,
            autocast_dtype,
        )
    else:
        test_loss = test_accuracy = float("nan")
    last = history[-1] if history else {}
    epochs_done = len(history)
    metrics = {
        "status": status,
        "val_accuracy": last.get("val_accuracy", float("nan")) if status == "ok" else float("nan"),
        "val_loss": last.get("val_loss", float("nan")),
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "train_loss": last.get("train_loss", float("nan")),
        "train_accuracy": last.get("train_accuracy", float("nan")),
        "params": params,
        "flops": flops,
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds + time.perf_counter() - test_start,
        "images_per_second": epochs_done * steps_per_epoch * batch_size / train_seconds
        if train_seconds
        else float("nan"),
        "seconds_to_first_step": seconds_to_first_step,
        "threads": torch.get_num_threads(),
        "peak_memory_bytes": peak_memory_bytes(device),
        "epochs": config.epochs,
        "epochs_completed": epochs_done,
        "device": device.type,
        "precision": "fp32"
        if autocast_dtype is None
        else str(autocast_dtype).removeprefix("torch."),
    }
    return TrainResult(status=status, metrics=metrics, history=history)
