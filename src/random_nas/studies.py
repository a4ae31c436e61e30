"""What a study.yaml holds, checked before anything is read; light to import (the workflow reads
study files when it is parsed; jsonschema comes with Snakemake)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from random_nas.files import InputFileError

# What a study.yaml holds: its question, and the runs it compares, as label: folder or as a
# list of folders (labelled by their names).
STUDY_SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string"},
        "runs": {
            "oneOf": [
                {
                    "type": "object",
                    "minProperties": 2,
                    "additionalProperties": {"type": "string"},
                },
                {"type": "array", "minItems": 2, "items": {"type": "string"}},
            ]
        },
    },
    "required": ["runs"],
    "additionalProperties": False,
}


def study_runs(study: Any, path: Path) -> dict[str, str]:
    """The runs a study names, label: folder, or an InputFileError naming what is wrong in
    one line (jsonschema comes with Snakemake)."""
    import jsonschema

    errors = list(jsonschema.Draft202012Validator(STUDY_SCHEMA).iter_errors(study))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        where = ".".join(map(str, error.absolute_path)) or "the file"
        if any(list(each.absolute_path)[:1] == ["runs"] for each in errors):
            problem = (
                "`runs:` names two or more run folders, as label: folder lines or as a list of "
                f"folders; found {json.dumps(study.get('runs'))}"
            )
        elif error.validator == "additionalProperties":
            unknown = sorted(set(study) - set(STUDY_SCHEMA["properties"]))
            problem = f"unknown key {', '.join(unknown)}; a study has `question:` and `runs:`"
        else:
            problem = f"{where}: {error.message}"
        raise InputFileError(f"study {path}: {problem}")
    runs = study["runs"]
    if isinstance(runs, list):
        labels = [Path(folder).name for folder in runs]
        if len(set(labels)) < len(labels):
            raise InputFileError(
                f"study {path}: two runs of the list share a folder name; label them "
                "(`label: folder` lines under `runs:`)"
            )
        return dict(zip(labels, runs, strict=True))
    return runs


def recipe_differences(first: Mapping[str, Any], second: Mapping[str, Any]) -> str:
    """The recipe keys two runs' trainings differ in, with their values ('' where none)."""

    def flat(recipe: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
        items: dict[str, Any] = {}
        for key, value in recipe.items():
            if isinstance(value, Mapping):
                items |= flat(value, f"{prefix}{key}.")
            else:
                items[f"{prefix}{key}"] = value
        return items

    a, b = flat(first), flat(second)
    return ", ".join(
        f"{key} ({a.get(key)!r} against {b.get(key)!r})"
        for key in sorted(set(a) | set(b))
        if a.get(key) != b.get(key)
    )


def study_tables(study_path: str | Path) -> list[str]:
    """The tables a study renders from: each of its runs' candidates.parquet, and trials.parquet
    where a run has one (so that the study re-renders when one of them changes)."""
    import yaml

    path = Path(study_path)
    try:
        study = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise InputFileError(f"study {path} could not be read: {error}") from None
    tables = []
    for folder in study_runs(study, path).values():
        tables.append(f"{folder}/candidates.parquet")
        if (Path(folder) / "trials.parquet").exists():
            tables.append(f"{folder}/trials.parquet")
    return tables


@dataclass(frozen=True)
class StudyRun:
    """What decides whether a run's draws compare with another's: the budget its statistics
    over draws use, the recipe its rows were trained under (epochs aside), and the seed it
    drew its architectures with."""

    epochs: int
    recipe: Mapping[str, Any]
    sampling_seed: int


def incomparable(runs: Mapping[str, StudyRun]) -> str | None:
    """Why the runs of a study (label: run) cannot be compared as independent samples of
    draws trained alike, in one line, or None: another budget or recipe than the first run's,
    or two runs drawn from one random stream (one sampling seed)."""
    (first, base), *others = runs.items()
    for label, run in others:
        if run.epochs != base.epochs:
            return (
                f"its runs differ in budget ({first!r} at {base.epochs} epochs, {label!r} at "
                f"{run.epochs}); a study compares draws trained alike"
            )
        if differing := recipe_differences(base.recipe, run.recipe):
            return (
                f"its runs differ in budget or recipe: {first!r} and {label!r} differ in "
                f"{differing}; a study compares draws trained alike"
            )
    drawn_with: dict[int, str] = {}
    for label, run in runs.items():
        if (other := drawn_with.setdefault(run.sampling_seed, label)) != label:
            return (
                f"runs {other!r} and {label!r} both drew their architectures with sampling seed "
                f"{run.sampling_seed}, from one random stream, so their draws are not "
                "independent samples; give one of them its own `sampling_seed` and train it"
            )
    return None
