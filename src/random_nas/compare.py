"""`random-nas compare STUDY.yaml`: run every search of a study of strategies (each strategy
with each sampling seed, a run of the study's common config), one Snakemake invocation after
another sharing the store, then render the study. A search already finished is planned as
nothing; one interrupted resumes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from random_nas.files import InputFileError, write_text
from random_nas.studies import StrategyStudy, is_strategy_study, read_study, strategy_study

# Snakemake's options for a dry run: its searches only plan, and there is nothing to render.
DRY_RUN = {"-n", "--dry-run", "--dryrun"}


def run_config(study: StrategyStudy, label: str, seed: int) -> dict[str, Any]:
    """The overrides of one search: the study's common config, its run name, sampling seed
    and strategy settings."""
    path = Path(study.config)
    if not path.is_file():
        raise InputFileError(
            f"study {study.path}: config {path} does not exist (looked in {path.absolute()}: "
            "a study's config is resolved from the working directory)"
        )
    common = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        **common,
        "run": study.run_name(label, seed),
        "sampling_seed": seed,
        "search": {**common.get("search", {}), **study.strategies[label]},
    }


def search_problems(study: StrategyStudy) -> list[str]:
    """What stops any search of the study, one line each, checked before the first trains:
    every strategy named resolves (a file of one's own exists and defines its class, a
    library it drives is installed) and takes the settings given."""
    from random_nas.strategies.registry import strategy_problem

    problems = []
    for label in study.strategies:
        search = run_config(study, label, study.sampling_seeds[0])["search"]
        problem = strategy_problem(search.get("strategy", "random"), search.get("settings") or {})
        if problem is not None:
            problems.append(f"study {study.path}: strategy {label!r}: {problem}")
    return problems


def write_run_configs(study: StrategyStudy) -> list[Path]:
    """Each search's config file, under the study's folder (configs/{run}.yaml), a sampling
    seed's searches together: a comparison stopped early leaves every strategy with as many
    repetitions."""
    written = []
    for seed in study.sampling_seeds:
        for label in study.strategies:
            path = study.path.parent / "configs" / f"{study.run_name(label, seed)}.yaml"
            text = yaml.safe_dump(run_config(study, label, seed), sort_keys=False)
            write_text(path, f"# Written by `random-nas compare {study.path}`.\n{text}")
            written.append(path)
    return written


def _run_searches(
    study: StrategyStudy,
    snakemake_args: Sequence[str],
    run: Callable[[list[str]], int],
) -> int:
    """Each search of the study's sampling seeds in turn (one already finished plans
    nothing); the first failing search's exit code, or 0."""
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    configs = write_run_configs(study)
    for number, config in enumerate(configs, start=1):
        print(f"search {number} of {len(configs)}: {config.stem}", flush=True)
        code = run([snakemake, *snakemake_args, "--configfile", str(config)])
        if code != 0:
            print(f"search {config.stem} stopped (exit {code}); the same command resumes it")
            return code
    return 0


def compare(
    study_path: Path,
    snakemake_args: Sequence[str],
    run: Callable[[list[str]], int] = lambda command: subprocess.call(command),
) -> int:
    """Run every search of the study in turn, stage by stage where it grows (until every
    verdict on test is decided or its cap), then render it; the first failing search's exit
    code (its Snakemake's account above), or 0."""
    study = read_study(study_path)
    if not is_strategy_study(study):
        raise InputFileError(f"study {study_path} is not a study of strategies (kind: strategies)")
    checked = strategy_study(study, study_path)
    if problems := search_problems(checked):
        raise InputFileError("; ".join(problems) + " (nothing was trained)")
    from random_nas.report.strategies import render_strategy_study, undecided

    stages = checked.stages()
    for number, seeds in enumerate(stages, start=1):
        if code := _run_searches(replace(checked, sampling_seeds=seeds), snakemake_args, run):
            return code
        if DRY_RUN & set(snakemake_args):
            grows = f"; it may grow to {len(stages[-1])} seeds" if len(stages) > 1 else ""
            print(f"a dry run: the study renders once its searches have run{grows} ({study_path})")
            return 0
        if number == len(stages):
            break
        if not (open_questions := undecided(replace(checked, sampling_seeds=seeds))):
            print(f"every verdict on test is decided after {len(seeds)} sampling seeds")
            break
        print(
            f"look {number} of {checked.looks}, {len(seeds)} sampling seeds: "
            f"{', '.join(open_questions)} inconclusive; {checked.step} more seeds",
            flush=True,
        )
    for path in render_strategy_study(study_path):
        print(path)
    return 0
