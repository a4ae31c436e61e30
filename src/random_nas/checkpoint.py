"""The epoch checkpoint a preempted training resumes from: saved whole after each epoch into
its claim's folder, and loaded only where it was saved for the same candidate, recipe, seed,
data, device type and precision (its fingerprint)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from random_nas.files import atomic_path

if TYPE_CHECKING:
    from random_nas.data import Splits
    from random_nas.space import Architecture
    from random_nas.training_config import TrainingConfig
    from random_nas.training_state import Training

logger = logging.getLogger(__name__)

# Part of a checkpoint's fingerprint: a checkpoint in an older layout is not resumed from.
CHECKPOINT_FORMAT = "checkpoint-v3"


def load_checkpoint(
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
