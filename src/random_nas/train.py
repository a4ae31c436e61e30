"""Training one candidate: a short, visible loop over tensors held on the training device.

No DataLoader: the dataset is a few tensors, so each step indexes a batch out of them and
augments it batched. Each epoch ends with a validation pass and, when asked, a checkpoint
that lets a preempted job resume to the same final metrics.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import resource
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from random_nas.correctness import pack_correct
from random_nas.data import Splits
from random_nas.faults import UNRECOGNISED, EnvironmentFault, Fault, TrainingStopped, classify
from random_nas.files import atomic_path
from random_nas.model import build_model, count_parameters
from random_nas.optim import SGD, AdamW
from random_nas.recipes import NEUTRAL_TRAINING_VALUES, makes_the_result
from random_nas.space import Architecture
from random_nas.versions import hardware, package_versions

logger = logging.getLogger(__name__)

OPTIMIZERS = ("sgd", "adamw")
LR_SCHEDULES = ("cosine", "constant")
DEVICES = ("auto", "cpu", "cuda")
# The config's precision names, as recorded in every metrics file; fp32 means no autocast.
AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
# Part of a checkpoint's fingerprint: a checkpoint in an older layout is not resumed from.
CHECKPOINT_FORMAT = "checkpoint-v3"


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


def _normalize(images: torch.Tensor, splits: Splits, device: torch.device) -> torch.Tensor:
    mean = torch.tensor(splits.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(splits.std, device=device).view(1, -1, 1, 1)
    scaled = images.to(device, non_blocking=True).float().div_(255)
    return ((scaled - mean) / std).contiguous(memory_format=torch.channels_last)


def augment_batch(
    images: torch.Tensor,
    padding: int,
    flip: bool,
    generator: torch.Generator,
    fill: torch.Tensor | None = None,
) -> torch.Tensor:
    """Random translation by up to `padding` pixels and optional mirroring.

    The uncovered border takes `fill`, one value per channel: for normalised images, the
    normalised value of black, so that a translated image shows a black frame, as a real
    shifted photograph or digit would, and not the dataset's mean grey (zero after
    normalisation)."""
    batch, channels, height, width = images.shape
    device = images.device
    if padding:
        fill = torch.zeros(channels, device=device) if fill is None else fill
        padded = (
            fill.to(images.dtype)
            .view(1, channels, 1, 1)
            .expand(batch, channels, height + 2 * padding, width + 2 * padding)
            .clone()
        )
        padded[:, :, padding : padding + height, padding : padding + width] = images
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


def _process_memory_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


class MemoryGauge:
    """Peak memory of the training alone: what it adds on top of the process with its data
    already placed (the model, optimiser state, activations and workspace).

    CUDA: the peak of allocated tensor memory. CPU: the peak resident set size, reset through
    /proc/self/clear_refs (Linux); so it includes the allocator's caching, and where that reset
    is not allowed the process's whole peak is kept instead (a coarser, upper figure)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            self.baseline = torch.cuda.memory_allocated(device)
            return
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.baseline = (_process_memory_kib("VmRSS") or 0) * 1024
        except OSError:
            self.baseline = 0

    def peak_bytes(self) -> int:
        if self.device.type == "cuda":
            return int(torch.cuda.max_memory_allocated(self.device)) - self.baseline
        peak_kib = _process_memory_kib("VmHWM")
        if peak_kib is None:
            peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB
        return max(0, peak_kib * 1024 - self.baseline)


def _load_checkpoint(
    path: str | os.PathLike[str] | None, fingerprint: str, device: torch.device
) -> dict[str, Any] | None:
    """The saved state of an interrupted training of the same candidate, recipe, data,
    device type and precision, if there is one. Anything else is ignored with a warning,
    never loaded: a state saved on another device or precision has other shapes."""
    if path is None or not Path(path).exists():
        return None
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:
        logger.warning("ignoring checkpoint %s: it cannot be read (%s)", path, error)
        return None
    if not isinstance(state, dict) or state.get("fingerprint") != fingerprint:
        logger.warning(
            "ignoring checkpoint %s: it was saved for another candidate, recipe, dataset, "
            "device or precision; training from the start",
            path,
        )
        return None
    return state


def checkpoint_fingerprint(
    arch: Architecture, config: TrainingConfig, splits: Splits, device: torch.device, precision: str
) -> str:
    """What a checkpoint must have been saved for to be resumed: the candidate, the recipe and
    seed, the dataset's content, the resolved device type and precision, the format."""
    return json.dumps(
        {
            "format": CHECKPOINT_FORMAT,
            "arch_id": arch.arch_id,
            "recipe": config.recipe(),
            "seed": config.seed,
            "dataset": splits.sha256,
            "device": device.type,
            "precision": precision,
        },
        sort_keys=True,
    )


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
        train_images=_normalize(splits.train_images, splits, device),
        train_labels=train_labels,
        val_images=_normalize(splits.val_images, splits, device),
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


def save_checkpoint(run: Training, path: str | os.PathLike[str]) -> None:
    """The state after the epochs so far, which a preempted job resumes from (into a folder
    that must exist: a claim's, never made again once a later claim cleared it)."""
    with atomic_path(path, make_parent=False) as temporary:
        torch.save(
            {
                "fingerprint": run.fingerprint,
                "epoch": len(run.history),
                "model": run.model.state_dict(),
                "optimizer": run.optimizer.state_dict(),
                "scaler": run.scaler.state_dict(),
                "generator": run.generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "history": run.history,
                "train_seconds": run.train_seconds,
                "eval_seconds": run.eval_seconds,
            },
            temporary,
        )


def score_test_split(run: Training) -> tuple[float, float, torch.Tensor]:
    """Loss, accuracy and per-image correctness on the test split: reported, never selected
    on (the correctness pairs two models' test scores on the same images)."""
    test_images = _normalize(run.splits.test_images, run.splits, run.device)
    return evaluate(
        run.step_model,
        test_images,
        run.splits.test_labels.to(run.device),
        run.config.eval_batch_size,
        run.autocast_dtype,
    )


NAN = float("nan")


def training_record(
    run: Training,
    status: str,
    *,
    test: tuple[float, float, torch.Tensor | None] = (NAN, NAN, None),
    failure: Fault | None = None,
    attempt: int = 1,
    wall_seconds: float = NAN,
    data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The metrics record of a training, one set of fields for every outcome (ok, diverged,
    failed): what was not measured is NaN or None (written as null), never missing."""
    last = run.history[-1] if run.history else {}
    splits, config = run.splits, run.config
    epochs_done = len(run.history)
    trained_images = epochs_done * run.steps_per_epoch * run.batch_size
    dataset = {
        "name": splits.name,
        "num_classes": splits.num_classes,
        "sizes": splits.sizes(),
        "sha256": splits.sha256,
    }
    if data is not None:
        dataset["split_seed"] = data["split_seed"]
    return {
        **run.arch.to_dict(),
        "arch_id": run.arch.arch_id,
        "status": status,
        "val_accuracy": last.get("val_accuracy", NAN) if status == "ok" else NAN,
        "val_loss": last.get("val_loss", NAN),
        "val_correct": pack_correct(run.val_correct.numpy()) if status == "ok" else None,
        "test_accuracy": test[1],
        "test_loss": test[0],
        "test_correct": None if test[2] is None else pack_correct(test[2].numpy()),
        "train_loss": last.get("train_loss", NAN),
        "train_accuracy": last.get("train_accuracy", NAN),
        "params": run.params,
        "flops": run.arch.forward_flops(tuple(splits.train_images.shape[1:]), splits.num_classes),
        "train_seconds": run.train_seconds,
        "eval_seconds": run.eval_seconds,
        "wall_seconds": wall_seconds,
        "images_per_second": trained_images / run.train_seconds if run.train_seconds else NAN,
        "seconds_to_first_step": run.seconds_to_first_step,
        "threads": torch.get_num_threads(),
        "peak_memory_bytes": run.memory.peak_bytes(),
        "epochs": config.epochs,
        "epochs_completed": epochs_done,
        "device": run.device.type,
        "precision": run.precision,
        "tf32": config.tf32 and run.device.type == "cuda",
        "hardware": hardware(run.device.type),
        "recipe": {"training": config.recipe(), "seed": config.seed, "dataset": dataset},
        "attempt": attempt,
        "error": None if failure is None else failure.error,
        "failure_reason": None if failure is None else failure.reason,
        "versions": package_versions("torch"),
    }


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
    state = _load_checkpoint(checkpoint_path, run.fingerprint, run.device)
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
