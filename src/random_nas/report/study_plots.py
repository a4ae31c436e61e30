"""The plots of studies: a study of spaces' error EDFs and expected best of n, and a study of
strategies' anytime curves with each strategy's paired difference from the baseline."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from random_nas.analysis.draws import edf_band, expected_best
from random_nas.report.plots import label_log_axis, labelled


def plot_study_edfs(runs: Mapping[str, pd.DataFrame]) -> plt.Figure:
    """The runs' validation-error EDFs, each with its 90 % bootstrap band."""
    figure, axis = plt.subplots(figsize=(7, 4.5))
    errors = {label: 1 - scored["score"].to_numpy() for label, scored in runs.items()}
    points = np.unique(np.concatenate(list(errors.values())))
    for number, (label, error) in enumerate(errors.items()):
        band = edf_band(error, points, seed=number)
        color = f"C{number}"
        axis.fill_between(100 * band["value"], band["low"], band["high"], step="post",
                          color=color, alpha=0.2, linewidth=0)  # fmt: skip
        axis.step(100 * band["value"], band["fraction"], where="post", color=color,
                  label=f"{label} ({len(error)} draws)")  # fmt: skip
    axis.set_xscale("log")
    label_log_axis(axis.xaxis, 100 * points[points > 0].min(), 100 * points.max())
    return labelled(
        figure,
        axis,
        "validation error (%)",
        "fraction of draws with lower error",
        "Error EDFs (pointwise 90 % bootstrap bands)",
    )


def plot_study_expected(runs: Mapping[str, pd.DataFrame]) -> plt.Figure:
    """The runs' unbiased expected best of n, each with its 5th–95th percentile band."""
    figure, axis = plt.subplots(figsize=(7, 4.5))
    largest = 1
    for number, (label, scored) in enumerate(runs.items()):
        curve = expected_best(scored["score"].to_numpy())
        largest = max(largest, len(curve))
        color = f"C{number}"
        axis.fill_between(curve["n"], 100 * curve["band_low"], 100 * curve["band_high"],
                          color=color, alpha=0.15, linewidth=0)  # fmt: skip
        axis.plot(curve["n"], 100 * curve["expected_best"], color=color, label=label)
    axis.set_xscale("log")
    label_log_axis(axis.xaxis, 1, largest)
    return labelled(
        figure,
        axis,
        "architectures sampled (n)",
        "best validation accuracy (%)",
        "Expected best of n draws (unbiased; 5th–95th percentile)",
    )


def _curve(axis: plt.Axes, color: str, label: str, curve: pd.DataFrame) -> None:
    axis.fill_between(curve["compute"], 100 * curve["low"], 100 * curve["high"], color=color,
                      alpha=0.12, linewidth=0)  # fmt: skip
    axis.plot(curve["compute"], 100 * curve["mean"], color=color, label=label)


def plot_anytime(
    curves: Mapping[str, Mapping[str, pd.DataFrame]],
    differences: Mapping[str, Mapping[str, pd.DataFrame]],
    unit: str,
    baseline: str,
) -> plt.Figure:
    """Each strategy against compute spent, one column per evidence (the validation accuracy
    that chose its pick, then the test accuracy that did not): above, its pick's mean over
    searches with a pointwise 95 % t interval; below, its paired difference from the
    baseline with a 95 % band simultaneous over compute (a strategy keeps its colour)."""
    columns = len(curves)
    figure, axes = plt.subplots(2, columns, figsize=(7 * columns, 8.5), sharex=True,
                                squeeze=False)  # fmt: skip
    colours = {label: f"C{n}" for n, label in enumerate(next(iter(curves.values())))}
    for column, (title, by_strategy) in enumerate(curves.items()):
        above, below = axes[:, column]
        for label, curve in by_strategy.items():
            _curve(above, colours[label], label, curve)
        for label, curve in differences[title].items():
            _curve(below, colours[label], label, curve)
        below.axhline(0, color="0.4", linewidth=0.8)
        above.set_title(f"{title}\n(pointwise 95 % t interval)")
        above.set_ylabel("pick's accuracy (%)")
        below.set_title(f"minus {baseline}, paired by sampling seed\n"
                        "(95 % band simultaneous over compute)")  # fmt: skip
        below.set_ylabel("difference (points)")
        below.set_xlabel(f"compute spent ({unit})")
    axes[0, 0].legend(loc="lower right")
    figure.suptitle("Best so far against compute (mean over searches)")
    figure.tight_layout()
    return figure
