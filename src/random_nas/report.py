"""The report of a run, rendered from its results table alone (no training, no torch).

Output is deterministic: the same table gives byte-identical Markdown, CSV, HTML, SVG and PNG
files, so a regenerated report can be diffed against a published one.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from random_nas.analysis import (
    COSTS,
    architecture_features,
    empirical_distribution,
    expected_max,
    pareto_front,
    rank_correlation,
    ranked,
)
from random_nas.files import atomic_path, write_text
from random_nas.layout import PLOT_FORMATS, PLOTS, report_files
from random_nas.results import read_table

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


class _Figures:
    """Saves figures in every format with fixed metadata, so renders are byte-identical."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.svg: dict[str, str] = {}

    def save(self, figure: plt.Figure, name: str) -> None:
        for fmt in PLOT_FORMATS:
            with atomic_path(self.folder / f"{name}.{fmt}") as temporary:
                figure.savefig(temporary, format=fmt, dpi=110, metadata=_FIXED_METADATA[fmt])
        self.svg[name] = base64.b64encode((self.folder / f"{name}.svg").read_bytes()).decode()
        plt.close(figure)


def _empty_note(axis: plt.Axes, text: str = "no successful candidates") -> None:
    axis.text(0.5, 0.5, text, ha="center", va="center", transform=axis.transAxes)


def plot_cost_vs_accuracy(ok: pd.DataFrame) -> plt.Figure:
    figure, axes = plt.subplots(1, len(COSTS), figsize=(4 * len(COSTS), 3.6), sharey=True)
    for axis, (cost, label) in zip(axes, COSTS.items(), strict=True):
        if ok.empty:
            _empty_note(axis)
        else:
            sns.scatterplot(
                data=ok, x=cost, y="val_accuracy", ax=axis, color="0.55", s=22, linewidth=0
            )
            front = pareto_front(ok, cost)
            axis.step(
                front[cost], front["val_accuracy"], where="post", color="C3", label="Pareto front"
            )
            axis.scatter(front[cost], front["val_accuracy"], color="C3", s=28, zorder=3)
            if cost in ("params", "flops"):
                axis.set_xscale("log")
        axis.set_xlabel(label)
        axis.set_ylabel("validation accuracy")
    if not ok.empty:
        axes[0].legend(loc="lower right")
    figure.suptitle("Validation accuracy against cost (red: not dominated)")
    figure.tight_layout()
    return figure


def plot_edf(ok: pd.DataFrame) -> plt.Figure:
    figure, axis = plt.subplots(figsize=(5.5, 3.8))
    if ok.empty:
        _empty_note(axis)
    else:
        edf = empirical_distribution(100 * (1 - ok["val_accuracy"].to_numpy()))
        axis.step(edf["value"], edf["fraction"], where="post", color="C0")
    axis.set_xlabel("validation error (%)")
    axis.set_ylabel("fraction of architectures")
    axis.set_title(f"Error EDF of the sampled space (n = {len(ok)})")
    figure.tight_layout()
    return figure


def plot_expected_max(curve: pd.DataFrame) -> plt.Figure:
    figure, axis = plt.subplots(figsize=(5.5, 3.8))
    if curve.empty:
        _empty_note(axis)
    else:
        samples, mean, spread = curve["samples"], 100 * curve["expected_max"], 100 * curve["std"]
        axis.plot(samples, mean, color="C2")
        axis.fill_between(
            samples, mean - spread, mean + spread, color="C2", alpha=0.25, linewidth=0
        )
        axis.set_xscale("log")
    axis.set_xlabel("architectures sampled (n)")
    axis.set_ylabel("expected best val accuracy (%)")
    axis.set_title("Random search: expected best of n (± 1 s.d.)")
    figure.tight_layout()
    return figure


def plot_choices(ok: pd.DataFrame) -> plt.Figure:
    features = architecture_features(ok) if not ok.empty else pd.DataFrame()
    names = list(features.columns) or ["stride-2 layers"]
    figure, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names), 3.4), sharey=True)
    axes = np.atleast_1d(axes)
    for axis, name in zip(axes, names, strict=True):
        if features.empty:
            _empty_note(axis)
        else:
            data = pd.DataFrame({name: features[name], "val acc %": 100 * ok["val_accuracy"]})
            if data[name].nunique() <= 12:
                sns.boxplot(data=data, x=name, y="val acc %", ax=axis, color="C0", fliersize=0)
                np.random.seed(0)  # seaborn jitters with numpy's global generator
                sns.stripplot(
                    data=data, x=name, y="val acc %", ax=axis, color="0.2", size=2.5, jitter=0.2
                )
            else:
                sns.scatterplot(
                    data=data, x=name, y="val acc %", ax=axis, color="C0", s=14, linewidth=0
                )
        axis.set_xlabel(name)
    figure.suptitle("Validation accuracy by architecture property")
    figure.tight_layout()
    return figure


def plot_val_vs_test(ok: pd.DataFrame, correlation: float) -> plt.Figure:
    figure, axis = plt.subplots(figsize=(4.6, 4.2))
    if ok.empty:
        _empty_note(axis)
    else:
        sns.scatterplot(
            x=100 * ok["val_accuracy"], y=100 * ok["test_accuracy"], ax=axis, s=18, linewidth=0
        )
        low = 100 * float(min(ok["val_accuracy"].min(), ok["test_accuracy"].min()))
        axis.plot([low, 100], [low, 100], color="0.6", linestyle="--", linewidth=1)
    axis.set_xlabel("validation accuracy (%)")
    axis.set_ylabel("test accuracy (%)")
    axis.set_title(f"Validation vs test (Spearman ρ = {correlation:.3f})")
    figure.tight_layout()
    return figure


def _summary(frame: pd.DataFrame, metadata: Mapping[str, Any], name: str) -> dict[str, str]:
    config = metadata.get("config", {})
    counts = frame["status"].value_counts()
    ok = frame[frame["status"] == "ok"]
    summary = {
        "run": name,
        "dataset": config.get("dataset", {}).get("name", "?"),
        "search space size": f"{metadata.get('space_size', 0):,}",
        "architectures sampled": str(len(frame)),
        "ok / diverged / failed": " / ".join(
            str(counts.get(status, 0)) for status in ("ok", "diverged", "failed")
        ),
        "epochs per candidate": str(config.get("training", {}).get("epochs", "?")),
        "seed": str(config.get("seed", "?")),
        "total training hours": f"{frame['train_seconds'].sum() / 3600:.2f}",
    }
    if not ok.empty:
        best = ok["val_accuracy"].max()
        val_size = config.get("dataset", {}).get("val_size")
        summary["best val accuracy %"] = _percent(best)
        if val_size:
            # One training seed per candidate: the validation set's own sampling error is the
            # least noise there is between two candidates' accuracies.
            standard_error = (best * (1 - best) / val_size) ** 0.5
            summary["± binomial s.e. of that %"] = _percent(standard_error)
        summary["median val accuracy %"] = _percent(ok["val_accuracy"].median())
    return summary


def render_report(
    table_path: str | os.PathLike[str], out_dir: str | os.PathLike[str], top_k: int | None = None
) -> list[Path]:
    """Render every report file from the results table; returns the paths written.

    `top_k` defaults to the `report.top_k` of the config stored in the table."""
    table, metadata = read_table(table_path)
    top_k = top_k or metadata.get("config", {}).get("report", {}).get("top_k", 10)
    frame = table.to_pandas()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = metadata.get("config", {}).get("run") or out.parent.name
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams["svg.hashsalt"] = "random-nas"

    ok = ranked(frame)
    cost_columns = ["params", "flops", "train_seconds", "peak_memory_bytes"]
    ranking_columns = ["rank", "arch_id", "val_accuracy", "test_accuracy", *cost_columns]
    fronts = {cost: pareto_front(ok, cost) for cost in COSTS}
    pareto_rows = pd.concat(
        [front.assign(cost=cost) for cost, front in fronts.items()], ignore_index=True
    )
    for file, rows, columns in (
        ("ranking.csv", ok, ranking_columns),
        ("pareto.csv", pareto_rows, ["cost", *ranking_columns]),
    ):
        with atomic_path(out / file) as temporary:
            rows[columns].to_csv(temporary, index=False, float_format="%.6g")

    curve = expected_max(ok["val_accuracy"].to_numpy())
    correlation = rank_correlation(ok["val_accuracy"], ok["test_accuracy"])
    figures = _Figures(out)
    figures.save(plot_cost_vs_accuracy(ok), "cost_vs_accuracy")
    figures.save(plot_edf(ok), "edf")
    figures.save(plot_expected_max(curve), "expected_max")
    figures.save(plot_choices(ok), "choices")
    figures.save(plot_val_vs_test(ok, correlation), "val_vs_test")

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
    milestones = curve[
        curve["samples"].isin([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, len(curve)])
    ]
    curve_table = pd.DataFrame(
        {
            "n": milestones["samples"].astype(int),
            "expected best val acc %": milestones["expected_max"].map(_percent),
            "s.d. %": milestones["std"].map(_percent),
        }
    )
    summary = _summary(frame, metadata, name)

    sections = [
        ("Summary", pd.DataFrame({"": list(summary), "value": list(summary.values())})),
        (f"Top {top_k} by validation accuracy", top),
        ("Best architecture, per layer", winner),
        *(
            (f"Pareto front: accuracy vs {label}", front_tables[cost])
            for cost, label in COSTS.items()
        ),
        ("Expected best validation accuracy of random search with n samples", curve_table),
        ("Failed and diverged candidates (not ranked)", failures),
    ]
    correlation_line = (
        f"Spearman rank correlation of validation and test accuracy: {correlation:.3f}"
    )
    markdown = [f"# Random search report: {name}\n"]
    for title, section in sections:
        markdown += [f"## {title}\n", _markdown(section)]
    markdown += [f"\n{correlation_line}\n"]
    write_text(out / "ranking.md", "\n".join(markdown))
    write_text(out / "index.html", _html_page(name, sections, correlation_line, figures.svg))
    return [out / file for file in report_files()]


_PLOT_CAPTIONS = {
    "cost_vs_accuracy": (
        "Validation accuracy against each cost; the red steps join the Pareto front "
        "(no other candidate is both cheaper and more accurate)."
    ),
    "edf": (
        "Empirical distribution of validation error over the sampled architectures: the "
        "fraction of the space below each error (Radosavovic et al., 2019). A curve further "
        "left is a better space."
    ),
    "expected_max": (
        "Expected best validation accuracy of a random search with n samples, drawn from this "
        "run's results (Dodge et al., 2019); the band is ± 1 standard deviation. A flat end "
        "means more samples would barely help."
    ),
    "choices": "Validation accuracy by summary properties of the per-layer choices.",
    "val_vs_test": (
        "Validation against test accuracy of each candidate; the ranking uses validation only."
    ),
}


def _html_page(
    name: str,
    sections: list[tuple[str, pd.DataFrame]],
    correlation_line: str,
    svgs: Mapping[str, str],
) -> str:
    body = [f"<h1>Random search report: {html.escape(name)}</h1>"]
    for title, section in sections[:3]:
        body += [f"<h2>{html.escape(title)}</h2>", _html_table(section)]
    for plot in PLOTS:
        body += [
            f'<figure><img alt="{plot}" src="data:image/svg+xml;base64,{svgs[plot]}">',
            f"<figcaption>{html.escape(_PLOT_CAPTIONS[plot])}</figcaption></figure>",
        ]
        if plot == "val_vs_test":
            body.append(f"<p>{html.escape(correlation_line)}</p>")
    for title, section in sections[3:]:
        body += [f"<h2>{html.escape(title)}</h2>", _html_table(section)]
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:0.5em 0}td,th{padding:2px 10px;text-align:right;"
        "border-bottom:1px solid #ddd}img{max-width:100%}figcaption{color:#555;font-size:0.9em}"
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>Random search report: {html.escape(name)}</title><style>{style}</style></head>"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
