"""What every report's sentences share: counts, evidence names, warnings."""

from __future__ import annotations

import json

import pandas as pd

from random_nas.analysis.draws import (
    scored_draws,
)
from random_nas.analysis.replay import SELECTING, TEST


def epochs_text(count: int) -> str:
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def counting_note(diverged: int, failed: int) -> str:
    """How the one counting rule (analysis.draws.counted) took these trainings."""
    if not diverged and not failed:
        return "none diverged or failed"
    return f"{diverged} diverged, counted as chance; {failed} failed, left out"


# A run whose median draw scores within this of chance learned (next to) nothing.
NEAR_CHANCE = 0.05


def chance_warning(frame: pd.DataFrame, classes: int) -> str | None:
    """The warning for a run whose draws sit near chance, with the likely cause (too few
    optimiser steps for the batch size), or None. Over the measured draws of `frame` (one
    budget), diverged ones scored as chance."""
    scores = scored_draws(frame, classes)["score"]
    chance = 1 / classes
    if scores.empty or scores.median() > chance + NEAR_CHANCE:
        return None
    recipe = next(
        (json.loads(text) for text in frame.get("recipe", pd.Series(dtype=object)).dropna()), {}
    )
    training = recipe.get("training", {})
    images = recipe.get("dataset", {}).get("sizes", {}).get("train")
    cause = ""
    if images and training.get("batch_size") and training.get("epochs"):
        steps = -(-int(images) // int(training["batch_size"])) * int(training["epochs"])
        cause = (
            f" Likely cause: too few optimiser steps ({int(images):,} training images in "
            f"batches of {training['batch_size']} for {training['epochs']} epochs is {steps:,} "
            "steps); raise dataset.train_size or training.epochs, or lower training.batch_size."
        )
    return (
        f"Near chance: half of the {len(scores)} measured draws score at most "
        f"{100 * scores.median():.1f} % validation accuracy and the best "
        f"{100 * scores.max():.1f} %, where chance is {100 * chance:.1f} %: these trainings "
        f"barely learned, and their ranking says little about the architectures.{cause}"
    )


def mixed_hardware(frame: pd.DataFrame) -> str | None:
    """The warning for a table whose trainings ran on several device types or precisions (a
    store shared by a CPU and a GPU machine holds both under a recipe of `device: auto`), or
    None where every row resolved alike."""
    if frame.empty or not {"device", "precision"} <= set(frame.columns):
        return None
    kinds = (
        frame["device"].fillna("unknown").astype(str).str.split(":").str[0]
        + "/"
        + frame["precision"].fillna("unknown").astype(str)
    ).value_counts()
    if len(kinds) < 2:
        return None
    counts = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    return (
        f"Mixed hardware: these trainings resolved to several devices or precisions ({counts}), "
        "so differences between them are partly the hardware's; pin training.device and "
        "training.precision to compare one recipe."
    )


def _slashed(values, form: str) -> str:
    return " / ".join(form.format(value) for value in values)


def evidence_name(evidence: str) -> str:
    if evidence == SELECTING:
        return "the full-budget validation accuracy that chose"
    if evidence == TEST:
        return "the test accuracy"
    return f"the full-budget validation accuracy under training seed {evidence.split('_')[-1]}"
