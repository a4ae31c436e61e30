"""Every plot of the reports, and its caption (captions/{plot}.rst, which the HTML pages and
`snakemake --report` both show), saved with fixed metadata and CPU-independent SVG."""

from __future__ import annotations

import base64
from importlib.resources import files
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns

from random_nas.analysis.draws import (
    COSTS,
    architecture_features,
    empirical_distribution,
    pareto_front,
)
from random_nas.analysis.replay import SELECTING, TEST
from random_nas.files import atomic_path
from random_nas.report_files import PLOT_FORMATS
from random_nas.svg import stable_svg

# Units of each cost on the plots, as in the tables: (column scale, axis label).
COST_AXES = {
    "params": (1.0, "parameters"),
    "flops": (1e-6, "forward MFLOPs per image"),
    "train_seconds": (1.0, "training seconds"),
    "peak_memory_bytes": (1 / 2**20, "peak training memory (MiB)"),
}


_FIXED_METADATA = {
    "svg": {"Date": None, "Creator": None},
    "png": {"Software": None},
}


def set_style() -> None:
    """One look for every plot, and SVG ids that do not change between renders."""
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams["svg.hashsalt"] = "random-nas"


class Figures:
    """Saves figures in every format with fixed metadata and CPU-independent SVG, so renders
    are byte-identical here and elsewhere."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.svg: dict[str, str] = {}

    def save(self, figure: plt.Figure, name: str) -> None:
        for fmt in PLOT_FORMATS:
            with atomic_path(self.folder / f"{name}.{fmt}") as temporary:
                figure.savefig(temporary, format=fmt, dpi=110, metadata=_FIXED_METADATA[fmt])
                if fmt == "svg":
                    temporary.write_text(stable_svg(temporary.read_text(encoding="utf-8")))
        self.svg[name] = base64.b64encode((self.folder / f"{name}.svg").read_bytes()).decode()
        plt.close(figure)


def _empty_note(axis: plt.Axes, text: str = "no successful candidates") -> None:
    axis.text(0.5, 0.5, text, ha="center", va="center", transform=axis.transAxes)


def plot_cost_vs_accuracy(ok: pd.DataFrame) -> plt.Figure:
    figure, axes = plt.subplots(1, len(COSTS), figsize=(14, 4), sharey=True)
    for axis, (cost, (scale, label)) in zip(axes, COST_AXES.items(), strict=True):
        if ok.empty:
            _empty_note(axis)
        else:
            x, y = scale * ok[cost], 100 * ok["val_accuracy"]
            axis.scatter(x, y, color="0.55", s=22, linewidth=0)
            front = pareto_front(ok, cost)
            fx, fy = scale * front[cost], 100 * front["val_accuracy"]
            axis.step(fx, fy, where="post", color="C3", label="Pareto front")
            axis.scatter(fx, fy, color="C3", s=28, zorder=3)
            if cost in ("params", "flops"):
                axis.set_xscale("log")
                label_log_axis(axis.xaxis, float(x.min()), float(x.max()))
        axis.set_xlabel(label)
    axes[0].set_ylabel("validation accuracy (%)")
    if not ok.empty:
        # Beside the title, where it covers no point.
        figure.legend(*axes[0].get_legend_handles_labels(), loc="upper left", frameon=False)
    figure.suptitle("Validation accuracy against cost (red: not dominated)")
    figure.tight_layout()
    return figure


def _compact(value: float) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


# Tick mantissas on a log axis: 1-2-5 where the data span decades, finer steps where they span
# less than one (matplotlib's own locator then labels every multiple, and the labels collide).
_LOG_STEPS = (
    (1.0, 2.0, 5.0),
    (1.0, 1.5, 2.0, 3.0, 5.0, 7.0),
    (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0),
)


def label_log_axis(axis: matplotlib.axis.Axis, low: float, high: float) -> None:
    """At most six compact labels (300k, 1.2M) on a log axis over [low, high]."""
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0:
        return
    for steps in _LOG_STEPS:
        ticks = [
            step * 10.0**power
            for power in range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
            for step in steps
            if low <= step * 10.0**power <= high
        ]
        if len(ticks) >= 3:
            break
    while len(ticks) > 6:
        ticks = ticks[::2]
    axis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: _compact(value)))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def plot_edf(scored: pd.DataFrame) -> plt.Figure:
    figure, axis = plt.subplots(figsize=(7, 4.5))
    if scored.empty:
        _empty_note(axis, "no measured candidates")
    else:
        edf = empirical_distribution(100 * (1 - scored["score"].to_numpy()))
        axis.step(edf["value"], edf["fraction"], where="post", color="C0")
        spread = edf["value"].max() - edf["value"].min()
        axis.set_xlim(0, min(100, edf["value"].max() + max(0.05 * spread, 0.2)))
    axis.set_ylim(0, 1.02)
    axis.set_xlabel("validation error (%)")
    axis.set_ylabel("fraction of architectures")
    axis.set_title(f"Error EDF of the sampled space (n = {len(scored)} measured draws)")
    figure.tight_layout()
    return figure


def plot_expected_max(curve: pd.DataFrame, best: float) -> plt.Figure:
    figure, axis = plt.subplots(figsize=(7, 4.5))
    if curve.empty:
        _empty_note(axis, "no measured candidates")
    else:
        n = curve["n"]
        axis.fill_between(
            n,
            100 * curve["band_low"],
            100 * curve["band_high"],
            color="C2",
            alpha=0.25,
            linewidth=0,
            label="5th–95th percentile",
        )
        axis.plot(n, 100 * curve["expected_best"], color="C2", label="expected (unbiased)")
        axis.plot(
            n,
            100 * curve["with_replacement"],
            color="0.4",
            linestyle="--",
            linewidth=1,
            label="with replacement (Dodge et al.)",
        )
        axis.axhline(100 * best, color="C3", linewidth=0.8, linestyle=":", label="best observed")
        axis.set_xscale("log")
        label_log_axis(axis.xaxis, float(n.min()), float(n.max()))
        axis.legend(loc="lower right", fontsize="small")
    axis.set_xlabel("architectures sampled (n)")
    axis.set_ylabel("best validation accuracy (%)")
    axis.set_title("Random search: best of n draws without replacement")
    figure.tight_layout()
    return figure


def plot_seeds(
    seeds: pd.DataFrame, repeats: pd.DataFrame | None, selecting_seed: int = 0
) -> plt.Figure:
    figure, axis = plt.subplots(figsize=(7, 4.5))
    if repeats is None or seeds.empty:
        _empty_note(axis, "no repeated seeds in this run (config repeats.top_k)")
        axis.set_xticks([])
    else:
        order = list(seeds["arch_id"])
        ok = repeats[repeats["status"] == "ok"]
        place = {arch_id: i for i, arch_id in enumerate(order)}
        chose = ok["seed"] == selecting_seed
        axis.scatter(ok.loc[~chose, "arch_id"].map(place), 100 * ok.loc[~chose, "val_accuracy"],
                     color="0.5", s=16, label="another seed")  # fmt: skip
        axis.scatter(ok.loc[chose, "arch_id"].map(place), 100 * ok.loc[chose, "val_accuracy"],
                     color="C3", marker="x", s=28, zorder=3,
                     label=f"seed {selecting_seed}, which selected them")  # fmt: skip
        axis.errorbar(
            range(len(order)),
            100 * seeds["val_mean"],
            yerr=100 * seeds["val_sd"].fillna(0),
            fmt="o",
            color="C0",
            capsize=3,
            label="mean ± 1 s.d. of the other seeds",
        )
        axis.set_xticks(range(len(order)), order, rotation=60, ha="right", fontsize="x-small")
        axis.legend(loc="lower left", fontsize="small")
    axis.set_ylabel("validation accuracy (%)")
    axis.set_title("Top candidates retrained with other seeds (best mean first)")
    figure.tight_layout()
    return figure


def plot_curves(
    curves: pd.DataFrame | None, promoted: set[str], what: str = "the promoted candidates"
) -> plt.Figure:
    figure, axis = plt.subplots(figsize=(7, 4.5))
    if curves is None or not promoted:
        _empty_note(axis, "no learning curves to show")
    else:
        shown = curves[curves["arch_id"].isin(promoted)]
        for color, (arch_id, trainings) in enumerate(shown.groupby("arch_id", sort=True)):
            for budget, curve in trainings.groupby("budget"):
                axis.plot(
                    curve["epoch"],
                    100 * curve["val_accuracy"],
                    color=f"C{color % 10}",
                    marker="o",
                    markersize=3,
                    linewidth=1 + budget / shown["budget"].max(),
                    label=arch_id if budget == trainings["budget"].max() else None,
                )
        axis.legend(fontsize="x-small", loc="lower right", ncol=2)
        axis.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axis.set_xlabel("epoch")
    axis.set_ylabel("validation accuracy (%)")
    axis.set_title(f"Learning curves of {what} (one line per budget)")
    figure.tight_layout()
    return figure


# The fewest candidates a box of the architecture-property plot stands on.
BOXED = 3


def plot_choices(ok: pd.DataFrame) -> plt.Figure:
    features = architecture_features(ok) if not ok.empty else pd.DataFrame()
    names = list(features.columns) or ["stride-2 layers"]
    figure, axes = plt.subplots(1, len(names), figsize=(3.5 * len(names), 4), sharey=True)
    axes = np.atleast_1d(axes)
    for axis, name in zip(axes, names, strict=True):
        if features.empty:
            _empty_note(axis)
        else:
            accuracy = "validation accuracy (%)"
            data = pd.DataFrame({name: features[name], accuracy: 100 * ok["val_accuracy"]})
            axes_of = {"data": data, "x": name, "y": accuracy, "ax": axis}
            if data[name].nunique() <= 12:
                # A box of one or two points says nothing a point does not: boxes where a
                # value holds three or more, every point shown.
                order = sorted(data[name].unique())
                counts = data[name].value_counts()
                boxed = data[data[name].map(counts) >= BOXED]
                sns.boxplot(data=boxed, x=name, y=accuracy, ax=axis, order=order, color="C0",
                            fliersize=0)  # fmt: skip
                axes_of["order"] = order
                np.random.seed(0)  # seaborn jitters with numpy's global generator
                sns.stripplot(**axes_of, color="0.2", size=2.5, jitter=0.2)
            else:
                sns.scatterplot(**axes_of, color="C0", s=14, linewidth=0)
        axis.set_xlabel(name)
    figure.suptitle("Validation accuracy by architecture property")
    figure.tight_layout()
    return figure


def plot_val_vs_test(ok: pd.DataFrame, correlation: float) -> plt.Figure:
    figure, axis = plt.subplots(figsize=(5.5, 5))
    if ok.empty:
        _empty_note(axis)
    else:
        val, test = 100 * ok["val_accuracy"], 100 * ok["test_accuracy"]
        axis.scatter(val, test, s=18, linewidth=0, color="C0")
        low = float(min(val.min(), test.min())) - 1
        high = min(100.0, float(max(val.max(), test.max())) + 1)
        axis.plot([low, high], [low, high], color="0.6", linestyle="--", linewidth=1)
        axis.set_xlim(low, high)
        axis.set_ylim(low, high)
    axis.set_xlabel("validation accuracy (%)")
    axis.set_ylabel("test accuracy (%)")
    axis.set_title(f"Validation vs test (Spearman ρ = {correlation:.3f})")
    figure.tight_layout()
    return figure


def labelled(figure: plt.Figure, axis: plt.Axes, x: str, y: str, title: str) -> plt.Figure:
    """A figure with its axes' labels, title and legend (lower right), laid out."""
    axis.set_xlabel(x)
    axis.set_ylabel(y)
    axis.set_title(title)
    axis.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    return figure


STRATEGY_LABELS = {
    "random_search": "random search",
    "successive_halving": "synchronous halving",
    "hyperband": "Hyperband",
    "asha": "ASHA (Syne Tune)",
    "regularized_evolution": "regularized evolution",
    "local_search": "local search",
    "tpe": "TPE",
}
# Each strategy its own marker, and its points nudged apart on the log axis, so that two that
# score alike at one compute do not hide one another.
MARKERS = "osD^vP*"
NUDGE = 1.04


def plot_replay(table: pd.DataFrame, full_training: int, runs: pd.DataFrame) -> plt.Figure:
    """Best accuracy reached against compute, per strategy, on held-out test accuracy (mean,
    5th–95th percentile of the paired searches) and, dashed, on the validation accuracy that
    chose the pick; with the real runs' points on test accuracy."""
    figure, axis = plt.subplots(figsize=(7, 4.5))
    strategies = list(dict.fromkeys(table["strategy"]))
    for number, strategy in enumerate(strategies):
        rows = table[table["strategy"] == strategy]
        label, color = STRATEGY_LABELS.get(strategy, strategy), f"C{number}"
        nudge = NUDGE ** (number - (len(strategies) - 1) / 2)
        held_out = rows[rows["evidence"] == TEST]
        trainings = held_out["compute_epoch_images"] / full_training * nudge
        axis.fill_between(trainings, 100 * held_out["p05"], 100 * held_out["p95"], color=color,
                          alpha=0.12, linewidth=0)  # fmt: skip
        axis.plot(trainings, 100 * held_out["mean_best_accuracy"], color=color,
                  marker=MARKERS[number % len(MARKERS)], markersize=4,
                  label=f"{label}: test (mean, 5th–95th pct.)")  # fmt: skip
        chose = rows[rows["evidence"] == SELECTING]
        axis.plot(chose["compute_epoch_images"] / full_training * nudge,
                  100 * chose["mean_best_accuracy"], color=color, linestyle="--",
                  linewidth=1, label=f"{label}: validation that chose")  # fmt: skip
    for marker, run in zip("XP", runs.itertuples(), strict=False):
        axis.scatter(run.compute_epoch_images / full_training, 100 * run.test_accuracy,
                     color="black", marker=marker, zorder=3, label=run.label)  # fmt: skip
    axis.set_xscale("log", base=2)
    points = pd.concat([table["compute_epoch_images"], runs["compute_epoch_images"]])
    if not points.empty:
        label_log_axis(axis.xaxis, points.min() / full_training, points.max() / full_training)
    return labelled(
        figure,
        axis,
        "compute (full-budget trainings' worth of epoch-images)",
        "accuracy of the pick (%)",
        "Strategies replayed on the dense grid",
    )


def plot_replay_differences(table: pd.DataFrame, full_training: int) -> plt.Figure:
    """Each strategy's mean paired difference from random search on test against compute,
    with its family-level interval, beside the margin of "equivalent"."""
    figure, axis = plt.subplots(figsize=(7, 4.5))
    judged = table[(table["evidence"] == TEST) & table["family_low"].notna()]
    strategies = [name for name in dict.fromkeys(table["strategy"]) if name != "random_search"]
    for number, strategy in enumerate(strategies, start=1):
        rows = judged[judged["strategy"] == strategy]
        nudge = NUDGE ** (number - len(strategies) / 2)
        middle = 100 * rows["mean_difference"]
        axis.errorbar(rows["compute_epoch_images"] / full_training * nudge, middle,
                      yerr=[middle - 100 * rows["family_low"], 100 * rows["family_high"] - middle],
                      color=f"C{number}", marker=MARKERS[number % len(MARKERS)], markersize=4,
                      capsize=2, label=STRATEGY_LABELS.get(strategy, strategy))  # fmt: skip
    delta = 100 * judged["delta"].iloc[0] if len(judged) else 0.0
    axis.axhspan(-delta, delta, color="grey", alpha=0.15, linewidth=0, label="± the margin")
    axis.axhline(0, color="black", linewidth=0.8)
    if len(judged):  # with no resamples nothing is judged: an empty frame
        axis.set_xscale("log", base=2)
        computes = judged["compute_epoch_images"] / full_training
        label_log_axis(axis.xaxis, computes.min(), computes.max())
    return labelled(
        figure,
        axis,
        "compute (full-budget trainings' worth of epoch-images)",
        "test: difference from random search (points)",
        "Each strategy's paired difference from random search",
    )


def caption(plot: str) -> str:
    """The caption of `plot`, from captions/{plot}.rst, on one line."""
    text = files("random_nas.report").joinpath("captions", f"{plot}.rst").read_text("utf-8")
    return " ".join(text.split())
