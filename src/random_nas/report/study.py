"""A study of several runs: report/ beside its study.yaml (study.md, study.csv, the EDFs and
the expected best of n)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import yaml

from random_nas.analysis.draws import compare_distributions, scored_draws
from random_nas.analysis.fidelity import choose_fidelity
from random_nas.files import InputFileError, atomic_path, parse_with_context, write_text
from random_nas.findings import study_findings
from random_nas.recipes import sampling_seed
from random_nas.report.plots import Figures, set_style
from random_nas.report.study_plots import plot_study_edfs, plot_study_expected
from random_nas.report_files import STUDY_FILES
from random_nas.results import num_classes, read_table
from random_nas.studies import DEFAULT_DELTA, StudyRun, incomparable, study_runs


def _study_run(folder: Path) -> tuple[pd.DataFrame, int, StudyRun]:
    """A run's scored draws at the one budget its statistics use (by the one counting rule),
    how many of its draws failed there and are left out, and what decides whether it compares
    with another: that budget, the recipe its rows were trained under, and the seed it drew
    its architectures with."""
    table, metadata = read_table(folder / "candidates.parquet")
    config = metadata.get("config", {})
    frame = table.to_pandas()
    trials_path = folder / "trials.parquet"
    trials = read_table(trials_path)[0].to_pandas() if trials_path.exists() else None
    epochs = int(config["training"]["epochs"])
    fidelity = choose_fidelity(frame, trials, None, epochs, int(config.get("seed", 0)))
    classes = num_classes(frame, config["dataset"]["name"])
    scored = scored_draws(fidelity.draw_trainings, classes)
    recipe = json.loads(frame["recipe"].dropna().iloc[0])
    recipe = {**recipe, "training": {**recipe["training"], "epochs": 0}}
    failed = int((fidelity.draw_trainings["status"] == "failed").sum())
    return scored, failed, StudyRun(fidelity.draw_epochs, recipe, sampling_seed(config))


def render_study(study_path: str | os.PathLike[str]) -> list[Path]:
    """Render a study (study.yaml: its question and runs, label: run folder) into `report/`
    beside it, from the runs' committed tables; returns the paths written."""
    study_path = Path(study_path)
    study = parse_with_context(
        study_path, "study", lambda: yaml.safe_load(study_path.read_text(encoding="utf-8"))
    )
    folders = study_runs(study, study_path)
    runs, failed, about = {}, {}, {}
    for label, folder in folders.items():
        if not (Path(folder) / "candidates.parquet").exists():
            raise InputFileError(
                f"{study_path}: run {label!r} has no table at {folder}/candidates.parquet"
            )
        runs[label], failed[label], about[label] = _study_run(Path(folder))
    if (problem := incomparable(about)) is not None:
        raise InputFileError(f"{study_path}: {problem}")
    (first, base), *others = runs.items()
    delta = float(study.get("delta", DEFAULT_DELTA))
    comparisons = {
        label: compare_distributions(
            base["score"].to_numpy(),
            scored["score"].to_numpy(),
            delta=delta,
            comparisons=len(others),
        )
        for label, scored in others
    }
    out = study_path.parent / "report"
    out.mkdir(parents=True, exist_ok=True)
    set_style()
    figures = Figures(out)
    figures.save(plot_study_edfs(runs), "edf")
    figures.save(plot_study_expected(runs), "expected_max")
    epochs = about[first].epochs
    streams = {label: run.sampling_seed for label, run in about.items()}
    lines = study_findings(runs, epochs, streams, failed, comparisons)
    rows = []
    for label, scored in runs.items():
        row = {
            "run": label,
            "folder": folders[label],
            "draws": len(scored),
            "median_val_accuracy": float(scored["score"].median()),
            "best_val_accuracy": float(scored["score"].max()),
        }
        row.update({f"vs_first_{key}": value for key, value in comparisons.get(label, {}).items()})
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
