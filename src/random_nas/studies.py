"""What a study.yaml holds, checked before anything is read; light to import (the workflow reads
study files when it is parsed; jsonschema comes with Snakemake)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from random_nas.files import InputFileError
from random_nas.recipes import differences

# What a study.yaml holds: its question, and the runs it compares, as label: folder or as a
# list of folders (labelled by their names).
STUDY_SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string"},
        "delta": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
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
            problem = (
                f"unknown key {', '.join(unknown)}; a study has `question:`, `runs:` and `delta:`"
            )
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
    return differences(first, second)


def study_tables(study_path: str | Path) -> list[str]:
    """The tables a study renders from: each of its runs' candidates.parquet, and trials.parquet
    (and, for a study of strategies, repeats.parquet) where a run has one, so that the study
    re-renders when one of them changes."""
    path = Path(study_path)
    study = read_study(path)
    if is_strategy_study(study):
        return [
            f"{folder}/{table}"
            for _, _, folder in strategy_study(study, path).grown().searches()
            for table in ("candidates.parquet", "trials.parquet", "repeats.parquet")
            if table == "candidates.parquet" or (folder / table).exists()
        ]
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


# A study of search strategies: each strategy (label: its `search` settings) searched with
# every sampling seed, each search a run of the common config; compared at equal compute.
STRATEGY_STUDY_SCHEMA = {
    "type": "object",
    "properties": {
        "kind": {"const": "strategies"},
        "question": {"type": "string"},
        "config": {"type": "string"},
        "sampling_seeds": {
            "type": "array",
            "minItems": 2,
            "uniqueItems": True,
            "items": {"type": "integer", "minimum": 0},
        },
        "strategies": {
            "type": "object",
            "minProperties": 2,
            "additionalProperties": {"type": "object"},
        },
        "baseline": {"type": "string"},
        "delta": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "compute": {"enum": ["flops", "trainings"]},
        "sequential": {
            "type": "object",
            "properties": {
                "step": {"type": "integer", "minimum": 1},
                "up_to": {"type": "integer", "minimum": 3},
            },
            "required": ["step", "up_to"],
            "additionalProperties": False,
        },
    },
    "required": ["kind", "config", "sampling_seeds", "strategies"],
    "additionalProperties": False,
}


DEFAULT_DELTA = 0.003


def _slug(label: str) -> str:
    return "".join(char if char.isalnum() else "-" for char in label.lower()).strip("-")


@dataclass(frozen=True)
class StrategyStudy:
    """A study of strategies: which searches it compares, and where their runs lie (a
    published study keeps its runs' tables under its own `runs/`, else `results/{run}`)."""

    path: Path
    question: str
    config: str
    sampling_seeds: tuple[int, ...]
    strategies: Mapping[str, Mapping[str, Any]]
    baseline: str
    # The margin within which a difference is called equivalent, and the power is stated
    # against (a fraction): 0.3 points unless set, about one training's seed noise on mnist5k.
    delta: float = DEFAULT_DELTA
    # How equal compute is counted: `flops` (a training costs its epochs times its FLOPs, so
    # that proposing bigger networks is not free) or `trainings` (each full training one).
    compute: str = "flops"
    # A study that grows: `step` more sampling seeds at a time, after the listed ones, until
    # every verdict on test is decided or `up_to` seeds have searched (0: it does not grow).
    step: int = 0
    up_to: int = 0
    # How many of planned_seeds study.yaml lists (the first stage), and every seed it may
    # search (the listed ones where it does not grow).
    listed: int = 0
    planned_seeds: tuple[int, ...] = ()

    @property
    def looks(self) -> int:
        """How many times the study may judge: once, or at each stage of its growth."""
        extra = max(self.up_to - len(self.first_seeds), 0)
        return 1 + (-(-extra // self.step) if self.step else 0)

    @property
    def first_seeds(self) -> tuple[int, ...]:
        return self.planned_seeds[: self.listed] if self.planned_seeds else self.sampling_seeds

    def stages(self) -> list[tuple[int, ...]]:
        """The sampling seeds each look judges: the listed ones, then `step` more each."""
        stages = [self.first_seeds]
        while self.step and len(stages[-1]) < len(self.planned_seeds):
            stages.append(self.planned_seeds[: len(stages[-1]) + self.step])
        return stages

    def grown(self) -> StrategyStudy:
        """The study over the seeds of its last stage whose every search has a table (the
        listed seeds where none has more)."""
        for seeds in reversed(self.stages()[1:]):
            if all(_has_table(self.run_folder(label, seed))
                   for label in self.strategies for seed in seeds):  # fmt: skip
                return replace(self, sampling_seeds=seeds)
        return replace(self, sampling_seeds=self.first_seeds)

    @property
    def name(self) -> str:
        return self.path.parent.name

    def run_name(self, label: str, seed: int) -> str:
        return f"{self.name}-{_slug(label)}-s{seed}"

    def run_folder(self, label: str, seed: int) -> Path:
        own = self.path.parent / "runs" / self.run_name(label, seed)
        return own if own.is_dir() else Path("results") / self.run_name(label, seed)

    def searches(self) -> list[tuple[str, int, Path]]:
        """Every search: its strategy's label, its sampling seed and its run's folder."""
        return [
            (label, seed, self.run_folder(label, seed))
            for label in self.strategies
            for seed in self.sampling_seeds
        ]


def read_study(study_path: str | Path) -> Any:
    """A study.yaml's contents, or an InputFileError naming the file."""
    import yaml

    path = Path(study_path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise InputFileError(f"study {path} could not be read: {error}") from None


def is_strategy_study(study: Any) -> bool:
    return isinstance(study, Mapping) and study.get("kind") == "strategies"


def strategy_study(study: Any, path: Path) -> StrategyStudy:
    """A study of strategies, checked: one InputFileError line naming what is wrong."""
    import jsonschema

    errors = list(jsonschema.Draft202012Validator(STRATEGY_STUDY_SCHEMA).iter_errors(study))
    if errors:
        # Every error at once, a key that is not allowed first: a misspelt `stratgies` is
        # named as such, not only as the `strategies` it leaves missing.
        errors.sort(
            key=lambda error: (
                error.validator != "additionalProperties",
                list(map(str, error.path)),
            )
        )
        raise InputFileError(
            f"study {path}: "
            + "; ".join(
                f"{'.'.join(map(str, error.absolute_path)) or 'the file'}: {error.message}"
                for error in errors
            )
        )
    baseline = study.get("baseline", next(iter(study["strategies"])))
    if baseline not in study["strategies"]:
        raise InputFileError(
            f"study {path}: baseline {baseline!r} is not one of its strategies "
            f"({', '.join(study['strategies'])})"
        )
    return StrategyStudy(
        path,
        study.get("question", ""),
        study["config"],
        tuple(study["sampling_seeds"]),
        study["strategies"],
        baseline,
        float(study.get("delta", DEFAULT_DELTA)),
        study.get("compute", "flops"),
        *_growth(study, path),
    )


def _growth(study: Mapping[str, Any], path: Path) -> tuple[int, int, int, tuple[int, ...]]:
    """A study's step, cap, listed seeds and every seed it may search (the listed ones, then
    the integers after the largest, as many as the cap allows)."""
    listed = tuple(study["sampling_seeds"])
    if "sequential" not in study:
        return 0, 0, len(listed), listed
    step, up_to = study["sequential"]["step"], study["sequential"]["up_to"]
    if up_to <= len(listed):
        raise InputFileError(
            f"study {path}: sequential.up_to ({up_to}) must exceed the {len(listed)} sampling "
            "seeds listed, which are its first stage"
        )
    more = tuple(range(max(listed) + 1, max(listed) + 1 + up_to - len(listed)))
    return step, up_to, len(listed), listed + more


def _has_table(folder: Path) -> bool:
    return (folder / "candidates.parquet").exists()


def study_kind(study_path: str | Path) -> str:
    """`strategies` for a study of strategies, else `spaces` (a file that cannot be read is
    left to the render, which names what is wrong)."""
    try:
        return "strategies" if is_strategy_study(read_study(study_path)) else "spaces"
    except InputFileError:
        return "spaces"
