"""The report of a run, rendered from its results table alone (no training, no torch).

Output is deterministic: the same table gives byte-identical Markdown, CSV, HTML, SVG and PNG
files, so a regenerated report can be diffed against a published one.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns
import yaml

from random_nas.analysis import (
    COSTS,
    Fidelity,
    architecture_features,
    chance_warning,
    compare_distributions,
    edf_band,
    empirical_distribution,
    epochs_text,
    expected_best,
    fidelity,
    findings,
    halving_analysis,
    halving_findings,
    mixed_hardware,
    num_classes,
    pareto_front,
    rank_correlation_interval,
    ranked,
    scored_draws,
    seed_statistics,
    study_findings,
    train_images,
)
from random_nas.files import InputFileError, atomic_path, parse_with_context, write_text
from random_nas.layout import PLOT_FORMATS, REPLAY_FILES, STUDY_FILES, report_files
from random_nas.replay import (
    SELECTING,
    TEST,
    dense_grid,
    ladder,
    replay,
    replay_findings,
    run_on_grid,
)
from random_nas.results import read_table
from random_nas.settings import sampling_seed
from random_nas.studies import recipe_differences, study_runs
from random_nas.svg import stable_svg

# Units of each cost on the plots, as in the tables: (column scale, axis label).
COST_AXES = {
    "params": (1.0, "parameters"),
    "flops": (1e-6, "forward MFLOPs per image"),
    "train_seconds": (1.0, "training seconds"),
    "peak_memory_bytes": (1 / 2**20, "peak training memory (MiB)"),
}

# Where a dense grid's report points at the replay of strategies on it (rule `replay`).
REPLAY_LINK = "Search strategies replayed on this dense grid:"
_FIXED_METADATA = {
    "svg": {"Date": None, "Creator": None},
    "png": {"Software": None},
}


def _percent(value: float) -> str:
    return "" if pd.isna(value) else f"{100 * value:.2f}"


def _count(value: float) -> str:
    return "" if pd.isna(value) else f"{int(value):,}"


def _mega(value: float) -> str:
    return "" if pd.isna(value) else f"{value / 1e6:.2f}"


def _seconds(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.1f}"


DISPLAY_COLUMNS = {
    "rank": ("rank", str),
    "arch_id": ("arch_id", str),
    "val_accuracy": ("val acc %", _percent),
    "test_accuracy": ("test acc %", _percent),
    "params": ("params", _count),
    "flops": ("MFLOPs", _mega),
    "train_seconds": ("train s", _seconds),
    "peak_memory_bytes": ("peak MiB", lambda value: _mega(value * 1e6 / 2**20)),
}


def display(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Columns formatted for people: accuracy in percent, FLOPs in millions."""
    return pd.DataFrame(
        {DISPLAY_COLUMNS[name][0]: frame[name].map(DISPLAY_COLUMNS[name][1]) for name in columns}
    )


def winner_layers(row: pd.Series) -> pd.DataFrame:
    """The seed's output table: per layer, the number of filters, filter size and stride."""
    layers = int(row["num_layers"])
    table = pd.DataFrame(
        {
            "layer": range(1, layers + 1),
            "filters": [int(row[f"layer_{n:02d}_filters"]) for n in range(1, layers + 1)],
            "filter size": [
                f"{int(row[f'layer_{n:02d}_kernel_size'])}x{int(row[f'layer_{n:02d}_kernel_size'])}"
                for n in range(1, layers + 1)
            ],
            "stride": [int(row[f"layer_{n:02d}_stride"]) for n in range(1, layers + 1)],
        }
    )
    return table


def _markdown(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(none)\n"
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(map(str, values)) + " |" for values in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows]) + "\n"


def _html_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p>(none)</p>"
    return frame.to_html(index=False, border=0, classes="table", escape=True)


def _set_style() -> None:
    """One look for every plot, and SVG ids that do not change between renders."""
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams["svg.hashsalt"] = "random-nas"


class _Figures:
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
                _label_log_axis(axis.xaxis, float(x.min()), float(x.max()))
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


def _label_log_axis(axis: matplotlib.axis.Axis, low: float, high: float) -> None:
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
        axis.set_xlim(0, min(100, edf["value"].max() + 5))
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
        _label_log_axis(axis.xaxis, float(n.min()), float(n.max()))
        axis.legend(loc="lower right", fontsize="small")
    axis.set_xlabel("architectures sampled (n)")
    axis.set_ylabel("best validation accuracy (%)")
    axis.set_title("Random search: best of n draws without replacement")
    figure.tight_layout()
    return figure


def plot_seeds(seeds: pd.DataFrame, repeats: pd.DataFrame | None) -> plt.Figure:
    figure, axis = plt.subplots(figsize=(7, 4.5))
    if repeats is None or seeds.empty:
        _empty_note(axis, "no repeated seeds in this run (config repeats.top_k)")
        axis.set_xticks([])
    else:
        order = list(seeds["arch_id"])
        ok = repeats[repeats["status"] == "ok"]
        positions = ok["arch_id"].map({arch_id: i for i, arch_id in enumerate(order)})
        axis.scatter(positions, 100 * ok["val_accuracy"], color="0.5", s=16, label="one seed")
        axis.errorbar(
            range(len(order)),
            100 * seeds["val_mean"],
            yerr=100 * seeds["val_sd"].fillna(0),
            fmt="o",
            color="C0",
            capsize=3,
            label="mean ± 1 s.d.",
        )
        axis.set_xticks(range(len(order)), order, rotation=60, ha="right", fontsize="x-small")
        axis.legend(loc="lower left", fontsize="small")
    axis.set_ylabel("validation accuracy (%)")
    axis.set_title("Top candidates retrained with other seeds (best mean first)")
    figure.tight_layout()
    return figure


def plot_curves(curves: pd.DataFrame | None, promoted: set[str]) -> plt.Figure:
    figure, axis = plt.subplots(figsize=(7, 4.5))
    if curves is None or not promoted:
        _empty_note(axis, "not a successive-halving run (config search.strategy)")
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
    axis.set_title("Learning curves of the promoted candidates (one line per budget)")
    figure.tight_layout()
    return figure


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
                sns.boxplot(**axes_of, color="C0", fliersize=0)
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


def _summary(
    frame: pd.DataFrame,
    metadata: Mapping[str, Any],
    name: str,
    scored: pd.DataFrame,
    budgets: Fidelity,
) -> dict[str, str]:
    config = metadata.get("config", {})
    counts = frame["status"].value_counts()
    precisions = sorted(frame["precision"].dropna().unique()) if "precision" in frame else []
    machines = metadata.get("machines") or []
    summary = {
        "run": name,
        "dataset": config.get("dataset", {}).get("name", "?"),
        "search space size": f"{metadata.get('space_size', 0):,}",
        "architectures sampled": str(len(frame)),
        "ok / diverged / failed": " / ".join(
            str(counts.get(status, 0)) for status in ("ok", "diverged", "failed")
        ),
        "draws measured (diverged as chance)": (
            f"{len(scored)} at {epochs_text(budgets.draws_epochs)}"
        ),
        "epochs of the ranked trainings": str(budgets.ranked_epochs),
        "seed": str(config.get("seed", "?")),
        "precision": ", ".join(precisions) or "?",
        "hardware": "; ".join(machines) or "not recorded",
        "total training hours (every training)": f"{budgets.train_seconds / 3600:.2f}",
    }
    ok = budgets.ranked[budgets.ranked["status"] == "ok"]
    if not ok.empty:
        best = ok["val_accuracy"].max()
        summary["best val accuracy %"] = _percent(best)
        summary["median val accuracy % (ok)"] = _percent(ok["val_accuracy"].median())
    return summary


def render_report(
    table_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    top_k: int | None = None,
    repeats_path: str | os.PathLike[str] | None = None,
    trials_path: str | os.PathLike[str] | None = None,
    curves_path: str | os.PathLike[str] | None = None,
    grid_path: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Render every report file from the results table (and the repeated seeds' table, and
    a successive-halving run's trials and curves, where there are); returns the paths written.

    `top_k` defaults to the `report.top_k` of the config stored in the table."""
    table, metadata = read_table(table_path)
    config = metadata.get("config", {})
    top_k = top_k or config.get("report", {}).get("top_k", 10)
    frame = table.to_pandas()
    repeats = read_table(repeats_path)[0].to_pandas() if repeats_path else None
    trials = read_table(trials_path)[0].to_pandas() if trials_path else None
    curves = pd.read_parquet(curves_path) if curves_path else None
    grid = read_table(grid_path)[0].to_pandas() if grid_path else None
    promoted: set[str] = set()
    rungs_frame = pd.DataFrame(columns=["rung", "epochs", "candidates", "best_val_accuracy"])
    correlations, comparison = pd.DataFrame(), None
    if trials is not None:
        halving = halving_analysis(trials, config)
        promoted, rungs_frame = halving.promoted, halving.table
        correlations, comparison = halving.correlations, halving.comparison
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = config.get("run") or out.parent.name
    _set_style()

    selecting_seed = int(config.get("seed", 0))
    epochs = config.get("training", {}).get("epochs") or frame["epochs"].max()
    if pd.isna(epochs):
        raise InputFileError(f"results table {table_path} records no epochs in its config or rows")
    budgets = fidelity(frame, trials, repeats, int(epochs), selecting_seed, grid)
    ok = ranked(budgets.ranked)
    classes = num_classes(frame, config.get("dataset", {}).get("name"))
    scored = scored_draws(budgets.draws, classes)
    cost_columns = ["params", "flops", "train_seconds", "peak_memory_bytes"]
    ranking_columns = ["rank", "arch_id", "val_accuracy", "test_accuracy", *cost_columns]
    fronts = {cost: pareto_front(ok, cost) for cost in COSTS}
    pareto_rows = pd.concat(
        [front.assign(cost=cost) for cost, front in fronts.items()], ignore_index=True
    )
    curve = expected_best(scored["score"].to_numpy())
    seeds = (
        seed_statistics(repeats, selecting_seed)
        if repeats is not None
        else pd.DataFrame(columns=["arch_id", "seeds", "val_mean", "val_sd", "test_mean"])
    )
    has = {"repeats": repeats is not None, "halving": trials is not None}
    tables = [
        ("ranking.csv", ok, ranking_columns),
        ("pareto.csv", pareto_rows, ["cost", *ranking_columns]),
        ("expected_max.csv", curve, list(curve.columns)),
        *([("seeds.csv", seeds, list(seeds.columns))] if has["repeats"] else []),
        *([("rungs.csv", rungs_frame, list(rungs_frame.columns))] if has["halving"] else []),
    ]
    for file, rows, columns in tables:
        with atomic_path(out / file) as temporary:
            rows[columns].to_csv(temporary, index=False, float_format="%.6g")

    correlation = rank_correlation_interval(ok["val_accuracy"], ok["test_accuracy"])
    best = float(scored["score"].max()) if not scored.empty else float("nan")
    figures = _Figures(out)
    figures.save(plot_cost_vs_accuracy(ok), "cost_vs_accuracy")
    figures.save(plot_edf(scored), "edf")
    figures.save(plot_expected_max(curve, best), "expected_max")
    if has["repeats"]:
        figures.save(plot_seeds(seeds, repeats), "seeds")
    if has["halving"]:
        figures.save(plot_curves(curves, promoted), "curves")
    figures.save(plot_choices(ok), "choices")
    figures.save(
        plot_val_vs_test(ok, correlation[0] if correlation else float("nan")), "val_vs_test"
    )

    not_ok = frame[frame["status"] != "ok"].sort_values("arch_id")
    failures = pd.DataFrame(
        {
            "arch_id": not_ok["arch_id"],
            "status": not_ok["status"],
            "epochs done": not_ok["epochs_completed"].map(_count),
            "reason": not_ok["error"]
            .fillna("non-finite loss")
            .map(lambda text: text.splitlines()[-1] if text else ""),
        }
    )
    top = display(ok.head(top_k), ranking_columns)
    winner = winner_layers(ok.iloc[0]) if not ok.empty else pd.DataFrame()
    front_tables = {cost: display(front, ranking_columns) for cost, front in fronts.items()}
    milestones = curve[curve["n"].isin([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, len(curve)])]
    curve_table = pd.DataFrame(
        {
            "n": milestones["n"].astype(int),
            "expected best val acc %": milestones["expected_best"].map(_percent),
            "5th–95th percentile %": [
                f"{_percent(low)}–{_percent(high)}"
                for low, high in zip(milestones["band_low"], milestones["band_high"], strict=True)
            ],
            "with replacement %": milestones["with_replacement"].map(_percent),
        }
    )
    seeds_table = pd.DataFrame(
        {
            "arch_id": seeds["arch_id"],
            "val acc % (selecting seed)": seeds.get("val_first_seed", pd.Series(dtype=float)).map(
                _percent
            ),
            "other seeds": seeds["seeds"].map(_count),
            "val acc % mean (other seeds)": seeds["val_mean"].map(_percent),
            "val s.d.": seeds["val_sd"].map(_percent),
            "test acc % mean": seeds["test_mean"].map(_percent),
        }
    )
    summary = _summary(frame, metadata, name, scored, budgets)
    statements = findings(
        ok,
        scored,
        curve,
        repeats,
        config.get("dataset", {}).get("val_size"),
        correlation,
        selecting_seed,
        budgets,
    )
    if trials is not None:
        statements += halving_findings(rungs_frame, correlations, comparison)
    warnings = [
        chance_warning(budgets.draws, classes),
        mixed_hardware(pd.concat([frame, trials, repeats])),
    ]
    statements = [warning for warning in warnings if warning is not None] + statements
    rung_display = pd.DataFrame(
        {
            **({"bracket": rungs_frame["bracket"].map(str)} if "bracket" in rungs_frame else {}),
            "rung": rungs_frame["rung"].map(str),
            "epochs": rungs_frame["epochs"].map(str),
            "candidates": rungs_frame["candidates"].map(str),
            "best val acc %": rungs_frame["best_val_accuracy"].map(_percent),
            "median val acc %": rungs_frame.get("median_val_accuracy", pd.Series(dtype=float)).map(
                _percent
            ),
            "epoch-images": rungs_frame.get("epoch_images", pd.Series(dtype=float)).map(_count),
            "train s": rungs_frame.get("train_seconds", pd.Series(dtype=float)).map(_seconds),
        }
    )

    # Above the plots: what the run found; below them: the detail tables.
    upper = [
        ("Summary", pd.DataFrame({"": list(summary), "value": list(summary.values())})),
        (f"Top {top_k} by validation accuracy", top),
        ("Best architecture, per layer", winner),
        *([("Repeated seeds of the top candidates", seeds_table)] if has["repeats"] else []),
        *([("Successive halving: rungs", rung_display)] if has["halving"] else []),
    ]
    lower = [
        *(
            (f"Pareto front: accuracy vs {label}", front_tables[cost])
            for cost, label in COSTS.items()
        ),
        ("Expected best validation accuracy of random search with n samples", curve_table),
        ("Failed and diverged candidates (not ranked)", failures),
    ]
    markdown = [f"# Random search report: {name}\n", "## Findings\n"]
    markdown += [f"- {line}" for line in statements] + [""]
    for title, section in upper + lower:
        markdown += [f"## {title}\n", _markdown(section)]
    replay = grid is not None
    if replay:
        markdown += [
            f"{REPLAY_LINK} [replay.md](replay.md) ([plot](replay.svg), [table](replay.csv)).\n"
        ]
    write_text(out / "ranking.md", "\n".join(markdown))
    write_text(out / "index.html", _html_page(name, statements, upper, lower, figures.svg, replay))
    return [out / file for file in report_files(**has)]


_PLOT_CAPTIONS = {
    "cost_vs_accuracy": (
        "Validation accuracy against each cost; the red steps join the Pareto front "
        "(no other candidate is both cheaper and more accurate)."
    ),
    "edf": (
        "Empirical distribution of validation error over the measured draws (diverged ones "
        "count as chance): the fraction of the space below each error (Radosavovic et al., "
        "2019). A curve further left is a better space."
    ),
    "expected_max": (
        "Best validation accuracy of a random search with n samples, drawn without replacement "
        "from this run's measured draws: the unbiased expectation (Tang et al., 2020) with the "
        "5th–95th percentiles of the best of n, and Dodge et al.'s with-replacement estimate "
        "(dashed), which is biased low. A flat end means more samples would barely help."
    ),
    "seeds": (
        "The top candidates trained again with other seeds: each seed's validation accuracy "
        "(grey) and the mean ± 1 standard deviation (blue), best mean first."
    ),
    "curves": (
        "Validation accuracy per epoch of the candidates successive halving promoted, one line "
        "per training (thicker: a larger budget); each budget has its own learning-rate "
        "schedule, so a longer training is not the continuation of a shorter one."
    ),
    "choices": "Validation accuracy by summary properties of the per-layer choices.",
    "val_vs_test": (
        "Validation against test accuracy of each candidate; the ranking uses validation only."
    ),
}


def _html_page(
    name: str,
    statements: list[str],
    upper: list[tuple[str, pd.DataFrame]],
    lower: list[tuple[str, pd.DataFrame]],
    svgs: Mapping[str, str],
    replay: bool = False,
) -> str:
    body = [f"<h1>Random search report: {html.escape(name)}</h1>", "<h2>Findings</h2><ul>"]
    body += [f"<li>{html.escape(line)}</li>" for line in statements] + ["</ul>"]
    if replay:
        body.append(
            f'<p>{html.escape(REPLAY_LINK)} <a href="replay.md">replay.md</a> (<a '
            'href="replay.svg">plot</a>, <a href="replay.csv">table</a>).</p>'
        )
    for title, section in upper:
        body += [f"<h2>{html.escape(title)}</h2>", _html_table(section)]
    for plot, svg in svgs.items():
        body += [
            f'<figure><img alt="{plot}" src="data:image/svg+xml;base64,{svg}">',
            f"<figcaption>{html.escape(_PLOT_CAPTIONS[plot])}</figcaption></figure>",
        ]
    for title, section in lower:
        body += [f"<h2>{html.escape(title)}</h2>", _html_table(section)]
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:0.5em auto}td,th{padding:2px 10px;"
        "text-align:right;border-bottom:1px solid #ddd}figure{margin:2em auto;text-align:center}"
        "img{max-width:100%}figcaption{color:#555;font-size:0.9em;max-width:800px;"
        "margin:0.3em auto}li{margin:0.3em 0}"
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>Random search report: {html.escape(name)}</title><style>{style}</style></head>"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _labelled(figure: plt.Figure, axis: plt.Axes, x: str, y: str, title: str) -> plt.Figure:
    """A figure with its axes' labels, title and legend (lower right), laid out."""
    axis.set_xlabel(x)
    axis.set_ylabel(y)
    axis.set_title(title)
    axis.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    return figure


STRATEGY_LABELS = {
    "random_search": "random search",
    "successive_halving": "successive halving",
    "hyperband": "Hyperband",
}


def plot_replay(table: pd.DataFrame, full_training: int, runs: pd.DataFrame) -> plt.Figure:
    """Best accuracy reached against compute, per strategy, on held-out test accuracy (mean,
    5th–95th percentile of the paired searches) and, dashed, on the validation accuracy that
    chose the pick; with the real runs' points on test accuracy."""
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for number, (strategy, label) in enumerate(STRATEGY_LABELS.items()):
        rows = table[table["strategy"] == strategy]
        if rows.empty:
            continue
        color = f"C{number}"
        held_out = rows[rows["evidence"] == TEST]
        trainings = held_out["compute_epoch_images"] / full_training
        axis.fill_between(trainings, 100 * held_out["p05"], 100 * held_out["p95"], color=color,
                          alpha=0.15, linewidth=0)  # fmt: skip
        axis.plot(trainings, 100 * held_out["mean_best_accuracy"], color=color, marker="o",
                  markersize=3, label=f"{label}: test (mean, 5th–95th pct.)")  # fmt: skip
        chose = rows[rows["evidence"] == SELECTING]
        axis.plot(chose["compute_epoch_images"] / full_training,
                  100 * chose["mean_best_accuracy"], color=color, linestyle="--",
                  linewidth=1, label=f"{label}: validation that chose")  # fmt: skip
    for marker, run in zip("XP", runs.itertuples(), strict=False):
        axis.scatter(run.compute_epoch_images / full_training, 100 * run.test_accuracy,
                     color="black", marker=marker, zorder=3, label=run.label)  # fmt: skip
    axis.set_xscale("log", base=2)
    points = pd.concat([table["compute_epoch_images"], runs["compute_epoch_images"]])
    if not points.empty:
        _label_log_axis(axis.xaxis, points.min() / full_training, points.max() / full_training)
    return _labelled(
        figure,
        axis,
        "compute (full-budget trainings' worth of epoch-images)",
        "accuracy of the pick (%)",
        "Strategies replayed on the dense grid",
    )


def render_replay(
    grid_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    repeats_path: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Replay the strategies on a dense grid's table (its config says the ladder, eta, seed
    and simulations), the grid's repeats at other seeds as held-out evidence where given:
    replay.csv, replay.md and the plot, with this run's own searches as points."""
    table, metadata = read_table(grid_path)
    config = metadata.get("config", {})
    trials = table.to_pandas()
    repeats = read_table(repeats_path)[0].to_pandas() if repeats_path else None
    if repeats is not None:
        repeats = repeats[repeats["seed"] != config["seed"]]
    budgets = ladder(config)
    images = train_images(trials)
    classes = num_classes(trials, config["dataset"]["name"])
    grid = dense_grid(trials, budgets, images, classes, repeats)
    search = config["search"]
    simulations = int(config.get("report", {}).get("replay_simulations", 1000))
    replayed = replay(grid, search["eta"], search["min_epochs"], simulations, int(config["seed"]))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "replay.csv") as temporary:
        replayed.to_csv(temporary, index=False, float_format="%.6g")
    full_training = budgets[-1] * images
    _set_style()
    best = int(np.argmax(grid.outcome))
    points = [(f"random search, all {grid.size} draws", grid.size * budgets[-1], best)]
    halving = run_on_grid(grid, search["strategy"], search["eta"])
    if halving:
        points.append((f"this run's halving of {grid.size}", *halving))
    runs = pd.DataFrame(
        [
            {
                "label": label,
                "compute_epoch_images": epochs * images,
                "test_accuracy": grid.scores[TEST][pick],
            }
            for label, epochs, pick in points
        ]
    )
    _Figures(out).save(plot_replay(replayed, full_training, runs), "replay")
    lines = replay_findings(replayed, grid, full_training)
    write_text(
        out / "replay.md",
        f"# Strategies replayed on the dense grid of {config.get('run')}\n\n## Findings\n\n"
        + "".join(f"- {line}\n" for line in lines),
    )
    return [out / name for name in REPLAY_FILES]


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
    _label_log_axis(axis.xaxis, 100 * points[points > 0].min(), 100 * points.max())
    return _labelled(
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
    _label_log_axis(axis.xaxis, 1, largest)
    return _labelled(
        figure,
        axis,
        "architectures sampled (n)",
        "best validation accuracy (%)",
        "Expected best of n draws (unbiased; 5th–95th percentile)",
    )


def _study_run(folder: Path) -> tuple[pd.DataFrame, int, dict, int]:
    """A run's scored draws at the one budget its statistics use, that budget, the recipe its
    rows were trained under, and the seed it drew its architectures with."""
    table, metadata = read_table(folder / "candidates.parquet")
    config = metadata.get("config", {})
    frame = table.to_pandas()
    trials_path = folder / "trials.parquet"
    trials = read_table(trials_path)[0].to_pandas() if trials_path.exists() else None
    epochs = int(config["training"]["epochs"])
    budgets = fidelity(frame, trials, None, epochs, int(config.get("seed", 0)))
    scored = scored_draws(budgets.draws, num_classes(frame, config["dataset"]["name"]))
    recipe = json.loads(frame["recipe"].dropna().iloc[0])
    recipe = {**recipe, "training": {**recipe["training"], "epochs": 0}}
    return scored, budgets.draws_epochs, recipe, sampling_seed(config)


def render_study(study_path: str | os.PathLike[str]) -> list[Path]:
    """Render a study (study.yaml: its question and runs, label: run folder) into `report/`
    beside it, from the runs' committed tables; returns the paths written."""
    study_path = Path(study_path)
    study = parse_with_context(
        study_path, "study", lambda: yaml.safe_load(study_path.read_text(encoding="utf-8"))
    )
    folders = study_runs(study, study_path)
    runs, budgets, recipes, streams = {}, {}, {}, {}
    for label, folder in folders.items():
        if not (Path(folder) / "candidates.parquet").exists():
            raise InputFileError(
                f"{study_path}: run {label!r} has no table at {folder}/candidates.parquet"
            )
        runs[label], budgets[label], recipes[label], streams[label] = _study_run(Path(folder))
    (first, first_budget), *others = budgets.items()
    for label, budget in others:
        if budget != first_budget:
            raise InputFileError(
                f"{study_path}: its runs differ in budget ({first!r} at {first_budget} epochs, "
                f"{label!r} at {budget}); a study compares draws trained alike"
            )
        if differing := recipe_differences(recipes[first], recipes[label]):
            raise InputFileError(
                f"{study_path}: its runs differ in budget or recipe: {first!r} and {label!r} "
                f"differ in {differing}; a study compares draws trained alike"
            )
    drawn_with: dict[int, str] = {}
    for label, stream in streams.items():
        if (other := drawn_with.setdefault(stream, label)) != label:
            raise InputFileError(
                f"{study_path}: runs {other!r} and {label!r} both drew their architectures with "
                f"sampling seed {stream}, from one random stream, so their draws are not "
                "independent samples; give one of them its own `sampling_seed` and train it"
            )
    epochs = next(iter(budgets.values()))
    out = study_path.parent / "report"
    out.mkdir(parents=True, exist_ok=True)
    _set_style()
    figures = _Figures(out)
    figures.save(plot_study_edfs(runs), "edf")
    figures.save(plot_study_expected(runs), "expected_max")
    lines = study_findings(runs, epochs, streams)
    base = runs[first]["score"].to_numpy()
    rows = []
    for number, (label, scored) in enumerate(runs.items()):
        row = {
            "run": label,
            "folder": folders[label],
            "draws": len(scored),
            "median_val_accuracy": float(scored["score"].median()),
            "best_val_accuracy": float(scored["score"].max()),
        }
        if number:
            difference = compare_distributions(base, scored["score"].to_numpy())
            row.update({f"vs_first_{key}": value for key, value in difference.items()})
        rows.append(row)
    with atomic_path(out / "study.csv") as temporary:
        pd.DataFrame(rows).to_csv(temporary, index=False, float_format="%.6g")
    write_text(
        out / "study.md",
        f"# Study: {study.get('question', study_path.parent.name)}\n\n## Findings\n\n"
        + "".join(f"- {line}\n" for line in lines)
        + "\n![Error EDFs](edf.svg)\n\n![Expected best of n](expected_max.svg)\n",
    )
    return [out / name for name in STUDY_FILES]
