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
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from random_nas.augment import augment_batch, normalize
from random_nas.checkpoint import checkpoint_fingerprint, load_checkpoint, save_checkpoint
from random_nas.data import Splits
from random_nas.faults import UNRECOGNISED, EnvironmentFault, TrainingStopped, classify
from random_nas.gauges import MemoryGauge, seconds_since_process_start
from random_nas.model import build_model, count_parameters
from random_nas.optim import SGD, AdamW
from random_nas.space import Architecture
from random_nas.training_config import (
    TrainingConfig,
    learning_rate,
    resolve_device,
    resolve_precision,
    set_tf32,
)
from random_nas.training_record import NAN, training_record
from random_nas.training_state import Training

logger = logging.getLogger(__name__)


def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    autocast_dtype: torch.dtype | None,
) -> tuple[float, float, torch.Tensor]:
    """Mean cross-entropy loss and accuracy over a whole split, and which images the model
    classified correctly (for paired comparisons of models scored on the same images)."""
    model.eval()
    loss_sum = torch.zeros((), device=images.device, dtype=torch.float64)
    correct = torch.zeros(len(labels), device=images.device, dtype=torch.bool)
    with torch.inference_mode(), _autocast(images.device, autocast_dtype):
        for start in range(0, len(labels), batch_size):
            logits = model(images[start : start + batch_size]).float()
            batch_labels = labels[start : start + batch_size]
            loss_sum += F.cross_entropy(logits, batch_labels, reduction="sum")
            correct[start : start + batch_size] = logits.argmax(1) == batch_labels
    return loss_sum.item() / len(labels), correct.sum().item() / len(labels), correct.cpu()


def _autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def _make_optimizer(model: nn.Module, config: TrainingConfig) -> SGD | AdamW:
    if config.optimizer == "sgd":
        return SGD(
            model.parameters(),
            momentum=config.momentum,
            nesterov=config.momentum > 0,
            weight_decay=config.weight_decay,
        )
    return AdamW(model.parameters(), weight_decay=config.weight_decay)


def set_up(arch: Architecture, splits: Splits, config: TrainingConfig) -> Training:
    """The device, the precision and the data on the device. Errors here are the
    environment's (no CUDA device, a precision the device lacks), never the candidate's."""
    device = resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    set_tf32(device, config.tf32)
    train_labels = splits.train_labels.to(device)
    batch_size = min(config.batch_size, len(train_labels))
    black = (torch.zeros(len(splits.mean)) - torch.tensor(splits.mean)) / torch.tensor(splits.std)
    return Training(
        arch=arch,
        config=config,
        splits=splits,
        device=device,
        precision=precision,
        generator=torch.Generator(device=device),
        train_images=normalize(splits.train_images, splits, device),
        train_labels=train_labels,
        val_images=normalize(splits.val_images, splits, device),
        val_labels=splits.val_labels.to(device),
        black=black.to(device),
        batch_size=batch_size,
        steps_per_epoch=len(train_labels) // batch_size,
        fingerprint=checkpoint_fingerprint(arch, config, splits, device, precision),
        memory=MemoryGauge(device),
    )


def build(run: Training, state: Mapping[str, Any] | None) -> None:
    """The model, optimiser and loss scaler from the seed, then the saved state of an
    interrupted training if it fits (a state that does not is ignored with a warning)."""
    config = run.config

    def fresh_start() -> None:
        torch.manual_seed(config.seed)
        run.generator.manual_seed(config.seed)
        model = build_model(run.arch, run.splits.in_channels, run.splits.num_classes)
        run.model = model.to(run.device, memory_format=torch.channels_last)
        run.params = count_parameters(run.model)
        run.optimizer = _make_optimizer(run.model, config)
        run.scaler = torch.amp.GradScaler(run.device.type, enabled=run.precision == "fp16")

    fresh_start()
    if state is not None:
        try:
            run.model.load_state_dict(state["model"])
            run.optimizer.load_state_dict(state["optimizer"])
            run.scaler.load_state_dict(state["scaler"])
            run.generator.set_state(state["generator"].to("cpu"))
            torch.set_rng_state(state["torch_rng"].to("cpu"))
            run.history, run.start_epoch = state["history"], state["epoch"]
            run.train_seconds, run.eval_seconds = state["train_seconds"], state["eval_seconds"]
            logger.info(
                "%s resumed from the checkpoint after epoch %d", run.arch.arch_id, run.start_epoch
            )
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            logger.warning(
                "ignoring the checkpoint: its state does not fit this training (%s); "
                "training from the start",
                error,
            )
            fresh_start()
    run.step_model = torch.compile(run.model) if config.compile else run.model


def train_one_epoch(run: Training, epoch: int) -> dict[str, Any]:
    """One pass over the training split in a seeded order, then the validation pass; the
    epoch's row of history.csv."""
    config, device, model = run.config, run.device, run.step_model
    model.train()
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    correct = torch.zeros((), device=device, dtype=torch.int64)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    epoch_start = time.perf_counter()
    order = torch.randperm(len(run.train_labels), device=device, generator=run.generator)
    for step in range(run.steps_per_epoch):
        batch = order[step * run.batch_size : (step + 1) * run.batch_size]
        images, labels = run.train_images[batch], run.train_labels[batch]
        if config.augment:
            images = augment_batch(
                images,
                run.splits.crop_padding,
                run.splits.horizontal_flip,
                run.generator,
                run.black,
            )
        lr = learning_rate(config, epoch * run.steps_per_epoch + step, run.steps_per_epoch)
        with _autocast(device, run.autocast_dtype):
            logits = model(images)
            loss = F.cross_entropy(logits.float(), labels, label_smoothing=config.label_smoothing)
        run.model.zero_grad(set_to_none=True)
        run.scaler.scale(loss).backward()
        run.scaler.step(run.optimizer, lr=lr)
        run.scaler.update()
        loss_sum += loss.detach() * len(labels)
        correct += (logits.detach().argmax(1) == labels).sum()
        if epoch == run.start_epoch and step == 0:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            run.seconds_to_first_step = seconds_since_process_start()
    trained = run.steps_per_epoch * run.batch_size
    train_loss = loss_sum.item() / trained  # .item() waits for the device: fair timing
    epoch_seconds = time.perf_counter() - epoch_start
    run.train_seconds += epoch_seconds
    val_loss, val_accuracy, run.val_correct = evaluate(
        model, run.val_images, run.val_labels, config.eval_batch_size, run.autocast_dtype
    )
    run.eval_seconds += time.perf_counter() - epoch_start - epoch_seconds
    row = {
        "epoch": epoch + 1,
        "train_loss": train_loss,
        "train_accuracy": correct.item() / trained,
        "val_loss": val_loss,
        "val_accuracy": val_accuracy,
        "lr": lr,
        "train_seconds": epoch_seconds,
        "images_per_second": trained / epoch_seconds,
    }
    run.history.append(row)
    return row


def score_test_split(run: Training) -> tuple[float, float, torch.Tensor]:
    """Loss, accuracy and per-image correctness on the test split: reported, never selected
    on (the correctness pairs two models' test scores on the same images)."""
    test_images = normalize(run.splits.test_images, run.splits, run.device)
    return evaluate(
        run.step_model,
        test_images,
        run.splits.test_labels.to(run.device),
        run.config.eval_batch_size,
        run.autocast_dtype,
    )


@dataclass
class TrainResult:
    status: str  # ok | diverged | failed
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)


def _epochs(
    run: Training,
    checkpoint_path: str | os.PathLike[str] | None,
    on_epoch: Callable[[int], None] | None,
) -> str:
    """The epochs left to train, each checkpointed for a preempted job to resume; `ok`, or
    `diverged` where a loss stops being finite."""
    config = run.config
    for epoch in range(run.start_epoch, config.epochs):
        row = train_one_epoch(run, epoch)
        # Named by architecture: parallel trainings interleave their lines on the console.
        logger.info(
            "%s epoch %d/%d  train loss %.4f  val loss %.4f  val acc %.4f  %.0f img/s",
            run.arch.arch_id,
            row["epoch"],
            config.epochs,
            row["train_loss"],
            row["val_loss"],
            row["val_accuracy"],
            row["images_per_second"],
        )
        if not (math.isfinite(row["train_loss"]) and math.isfinite(row["val_loss"])):
            logger.warning("loss is not finite after epoch %d: stopping (diverged)", epoch + 1)
            return "diverged"
        # Whoever watches the training (the store's claim) may stop it before it writes more.
        if on_epoch is not None:
            on_epoch(epoch + 1)
        if checkpoint_path is not None and epoch + 1 < config.epochs:
            save_checkpoint(run, checkpoint_path)
    return "ok"


def train_candidate(
    arch: Architecture,
    splits: Splits,
    config: TrainingConfig,
    checkpoint_path: str | os.PathLike[str] | None = None,
    *,
    data: Mapping[str, Any] | None = None,
    attempt: int = 1,
    on_epoch: Callable[[int], None] | None = None,
    trainings_per_device: int = 1,
    memory_limit_bytes: int | None = None,
) -> TrainResult:
    """Train `arch` on the training split; its record holds validation (model selection) and
    test metrics. An error that is a fact about the candidate (random_nas.faults) comes back
    `failed`, with the error and the reason it is the candidate's in its record; any other
    raises EnvironmentFault, and nothing was measured. `data` is the data recipe the splits
    were prepared from (recorded); `on_epoch` is called after each epoch with the epochs done
    and may stop the training by raising TrainingStopped; `trainings_per_device` and
    `memory_limit_bytes` say what the device is shared with and what the job may use."""
    started = time.perf_counter()
    run = set_up(arch, splits, config)
    state = load_checkpoint(checkpoint_path, run.fingerprint, run.device)
    status, fault, test = "ok", None, (NAN, NAN, None)
    try:
        build(run, state)
        status = _epochs(run, checkpoint_path, on_epoch)
        if status == "ok":
            test = score_test_split(run)
    except TrainingStopped:
        raise
    except Exception as error:
        fault = classify(
            error,
            device_type=run.device.type,
            trainings_per_device=trainings_per_device,
            memory_limit_bytes=memory_limit_bytes,
            folder=None if checkpoint_path is None else Path(checkpoint_path).parent,
        )
        if fault.kind == UNRECOGNISED:
            logger.error("an unrecognised error stopped the training:", exc_info=error)
        if not fault.is_the_candidates:
            raise EnvironmentFault(fault) from error
        status = "failed"
        logger.warning("the candidate's own computation failed (%s): %s", fault.reason, fault.error)
    record = training_record(
        run,
        status,
        test=test,
        failure=fault,
        attempt=attempt,
        wall_seconds=time.perf_counter() - started,
        data=data,
    )
    return TrainResult(status=status, metrics=record, history=run.history)
