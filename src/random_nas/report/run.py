"""A run's report: its tables, plots and Findings in report/ beside its results table.

`render_report` reads the tables (`RunTables`), lets random_nas.analysis decide what each
statistic uses and says (`RunAnalysis`; both in random_nas.report.run_tables), writes the
CSV tables, draws the plots, and lays out the Markdown and HTML pages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from random_nas.analysis.draws import COSTS
from random_nas.files import atomic_path, write_text
from random_nas.findings import epochs_text
from random_nas.report.pages import (
    REPLAY_LINK,
    as_count,
    as_percent,
    as_seconds,
    display,
    html_page,
    markdown_table,
    winner_layers,
)
from random_nas.report.plots import (
    Figures,
    plot_choices,
    plot_cost_vs_accuracy,
    plot_curves,
    plot_edf,
    plot_expected_max,
    plot_seeds,
    plot_val_vs_test,
    set_style,
)
from random_nas.report.run_tables import (
    RunAnalysis,
    RunTables,
    analyse,
    strategy_name,
    strategy_settings,
)
from random_nas.report_files import report_files
from random_nas.results import report_setting

COST_COLUMNS = ["params", "flops", "train_seconds", "peak_memory_bytes"]
RANKING_COLUMNS = ["rank", "arch_id", "val_accuracy", "test_accuracy", *COST_COLUMNS]
# The sizes of random search at which the report's table gives the expected best.
MILESTONES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
# Learning curves drawn for a run that promotes nothing: its best few.
CURVES_SHOWN = 8

Section = tuple[str, pd.DataFrame]


def _write_tables(out: Path, analysis: RunAnalysis, sections: Mapping[str, bool]) -> None:
    """ranking.csv, pareto.csv, expected_max.csv, and seeds.csv and rungs.csv where the run
    has them: the numbers at full precision, for other tools."""
    pareto_rows = pd.concat(
        [front.assign(cost=cost) for cost, front in analysis.fronts.items()], ignore_index=True
    )
    rungs = analysis.halving.table if analysis.halving is not None else None
    tables = [
        ("ranking.csv", analysis.ok, RANKING_COLUMNS),
        ("pareto.csv", pareto_rows, ["cost", *RANKING_COLUMNS]),
        ("expected_max.csv", analysis.curve, list(analysis.curve.columns)),
        *(
            [("seeds.csv", analysis.seeds, list(analysis.seeds.columns))]
            if sections["repeats"]
            else []
        ),
        *([("rungs.csv", rungs, list(rungs.columns))] if rungs is not None else []),
    ]
    for file, rows, columns in tables:
        with atomic_path(out / file) as temporary:
            rows[columns].to_csv(temporary, index=False, float_format="%.6g")


def _draw_plots(out: Path, tables: RunTables, analysis: RunAnalysis) -> dict[str, str]:
    """Every plot of the report, in every format; returns each plot's SVG (base64) by name."""
    set_style()
    scored, ok = analysis.scored, analysis.ok
    best = float(scored["score"].max()) if not scored.empty else float("nan")
    figures = Figures(out)
    figures.save(plot_cost_vs_accuracy(ok), "cost_vs_accuracy")
    figures.save(plot_edf(scored), "edf")
    figures.save(plot_expected_max(analysis.curve, best), "expected_max")
    if tables.repeats is not None:
        selecting = int(tables.config.get("seed", 0))
        figures.save(plot_seeds(analysis.seeds, tables.repeats, selecting), "seeds")
    if tables.curves is not None:
        if analysis.halving is not None:
            shown, what = analysis.halving.promoted, "the promoted candidates"
        else:
            shown = set(ok["arch_id"].head(CURVES_SHOWN))
            what = f"the top {min(CURVES_SHOWN, len(ok))} candidates"
        figures.save(plot_curves(tables.curves, shown, what), "curves")
    figures.save(plot_choices(ok), "choices")
    correlation = analysis.correlation[0] if analysis.correlation else float("nan")
    figures.save(plot_val_vs_test(ok, correlation), "val_vs_test")
    return figures.svg


def _summary(name: str, tables: RunTables, analysis: RunAnalysis) -> dict[str, str]:
    frame, metadata, fidelity = tables.frame, tables.metadata, analysis.fidelity
    config = tables.config
    counts = frame["status"].value_counts()
    precisions = sorted(frame["precision"].dropna().unique()) if "precision" in frame else []
    machines = metadata.get("machines") or []
    summary = {
        "run": name,
        "search strategy": strategy_settings(config),
        "dataset": config.get("dataset", {}).get("name", "?"),
        "search space size": f"{metadata.get('space_size', 0):,}",
        "architectures sampled": str(len(frame)),
        "ok / diverged / failed": " / ".join(
            str(counts.get(status, 0)) for status in ("ok", "diverged", "failed")
        ),
        "draws measured (diverged as chance)": (
            f"{len(analysis.scored)} at {epochs_text(fidelity.draw_epochs)}"
        ),
        "epochs of the ranked trainings": str(fidelity.ranked_epochs),
        "seed": str(config.get("seed", "?")),
        "precision": ", ".join(precisions) or "?",
        "hardware": "; ".join(machines) or "not recorded",
        "total training hours (every training)": f"{fidelity.train_seconds / 3600:.2f}",
    }
    ok = fidelity.ranked[fidelity.ranked["status"] == "ok"]
    if not ok.empty:
        summary["best val accuracy %"] = as_percent(ok["val_accuracy"].max())
        summary["median val accuracy % (ok)"] = as_percent(ok["val_accuracy"].median())
    return summary


def _expected_best_table(curve: pd.DataFrame) -> pd.DataFrame:
    milestones = curve[curve["n"].isin([*MILESTONES, len(curve)])]
    return pd.DataFrame(
        {
            "n": milestones["n"].astype(int),
            "expected best val acc %": milestones["expected_best"].map(as_percent),
            "5th–95th percentile %": [
                f"{as_percent(low)}–{as_percent(high)}"
                for low, high in zip(milestones["band_low"], milestones["band_high"], strict=True)
            ],
            "with replacement %": milestones["with_replacement"].map(as_percent),
        }
    )


def _seeds_table(seeds: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arch_id": seeds["arch_id"],
            "val acc % (selecting seed)": seeds.get("val_first_seed", pd.Series(dtype=float)).map(
                as_percent
            ),
            "other seeds": seeds["seeds"].map(as_count),
            "val acc % mean (other seeds)": seeds["val_mean"].map(as_percent),
            "val s.d.": seeds["val_sd"].map(as_percent),
            "test acc % mean (other seeds)": seeds["test_mean"].map(as_percent),
        }
    )


def _rungs_table(rungs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            **({"bracket": rungs["bracket"].map(str)} if "bracket" in rungs else {}),
            "rung": rungs["rung"].map(str),
            "epochs": rungs["epochs"].map(str),
            "candidates": rungs["candidates"].map(str),
            "best val acc %": rungs["best_val_accuracy"].map(as_percent),
            "median val acc %": rungs["median_val_accuracy"].map(as_percent),
            "epoch-images": rungs["epoch_images"].map(as_count),
            "train s": rungs["train_seconds"].map(as_seconds),
        }
    )


def _failures_table(frame: pd.DataFrame) -> pd.DataFrame:
    not_ok = frame[frame["status"] != "ok"].sort_values("arch_id")
    return pd.DataFrame(
        {
            "arch_id": not_ok["arch_id"],
            "status": not_ok["status"],
            "epochs done": not_ok["epochs_completed"].map(as_count),
            "reason": not_ok["error"]
            .fillna("non-finite loss")
            .map(lambda text: text.splitlines()[-1] if text else ""),
        }
    )


def _sections(
    name: str, tables: RunTables, analysis: RunAnalysis, ranking_rows: int
) -> tuple[list[Section], list[Section]]:
    """The page's tables: above the plots, what the run found; below them, the detail."""
    ok = analysis.ok
    summary = _summary(name, tables, analysis)
    upper = [
        ("Summary", pd.DataFrame({"": list(summary), "value": list(summary.values())})),
        (
            f"Top {ranking_rows} by validation accuracy",
            display(ok.head(ranking_rows), RANKING_COLUMNS),
        ),
        (
            "Best architecture, per layer",
            winner_layers(ok.iloc[0]) if not ok.empty else pd.DataFrame(),
        ),
    ]
    if tables.repeats is not None:
        upper.append(("Repeated seeds of the top candidates", _seeds_table(analysis.seeds)))
    if analysis.halving is not None:
        upper.append(("Successive halving: rungs", _rungs_table(analysis.halving.table)))
    lower = [
        *(
            (f"Pareto front: accuracy vs {label}", display(analysis.fronts[cost], RANKING_COLUMNS))
            for cost, label in COSTS.items()
        ),
        (
            "Expected best validation accuracy of random search with n samples",
            _expected_best_table(analysis.curve),
        ),
        ("Failed and diverged candidates (not ranked)", _failures_table(tables.frame)),
    ]
    return upper, lower


def render_report(
    table_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    ranking_rows: int | None = None,
    repeats_path: str | os.PathLike[str] | None = None,
    trials_path: str | os.PathLike[str] | None = None,
    curves_path: str | os.PathLike[str] | None = None,
    grid_path: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Render every report file from the results table (and the repeated seeds' table, and
    a successive-halving run's trials and curves, and a dense grid, where there are); returns
    the paths written. `ranking_rows` defaults to the `report.ranking_rows` of the config
    stored in the table."""
    tables = RunTables.read(table_path, repeats_path, trials_path, curves_path, grid_path)
    ranking_rows = ranking_rows or report_setting(tables.config, "ranking_rows", 10)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = tables.config.get("run") or out.parent.name
    analysis = analyse(tables, table_path)
    _write_tables(out, analysis, tables.sections)
    svgs = _draw_plots(out, tables, analysis)
    upper, lower = _sections(name, tables, analysis, ranking_rows)
    markdown = [f"# {strategy_name(tables.config)} report: {name}\n", "## Findings\n"]
    markdown += [f"- {line}" for line in analysis.statements] + [""]
    for title, section in upper + lower:
        markdown += [f"## {title}\n", markdown_table(section)]
    replay = tables.grid is not None
    if replay:
        markdown += [
            f"{REPLAY_LINK} [replay.md](replay.md) ([plot](replay.svg), [table](replay.csv)).\n"
        ]
    write_text(out / "ranking.md", "\n".join(markdown))
    title = f"{strategy_name(tables.config)} report: {name}"
    page = html_page(title, analysis.statements, upper, lower, svgs, replay)
    write_text(out / "index.html", page)
    return [out / file for file in report_files(**tables.sections)]
