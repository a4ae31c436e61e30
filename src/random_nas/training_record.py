"""A training's record, the metrics file of its store entry: what it scored on validation
and test (with which images it got right), its costs, where and how it trained, and why it
failed where it did (random_nas.faults)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from random_nas.correctness import pack_correct
from random_nas.faults import Fault
from random_nas.versions import hardware, package_versions

if TYPE_CHECKING:
    from random_nas.training_state import Training

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
