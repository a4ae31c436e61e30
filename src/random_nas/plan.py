"""A run's plan, made when the workflow is parsed: its config checked, its draw, the budgets it
trains at, its rungs or brackets, where it trains (stdlib only, and jsonschema, which comes with
Snakemake, to name a config's fault). common.smk turns the plan into Snakemake's input
functions; this module is tested without Snakemake."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from random_nas.datasets import missing_dataset, split_problem
from random_nas.halving import Schedule, budget_ladder, hyperband_slices
from random_nas.recipes import draw_size, sampling_seed
from random_nas.space import SearchSpace, sampled_records
from random_nas.strategies.registry import is_live, replay_problem, strategy_problem

# Config keys renamed since a config of the older name may have been written: old: new.
RENAMED_KEYS = {"report.top_k": "report.ranking_rows"}


class ConfigError(ValueError):
    """A config the workflow cannot plan, in one line that names the key at fault."""


@dataclass(frozen=True)
class RunPlan:
    """What a run trains and where, before anything trains."""

    run_dir: str
    # The config as the run's tables and records state it: the given one, except that a live
    # search's batch size is the resolved one (what it asks depends on its batches).
    config: dict[str, Any]
    store: str
    # A verification retrains into a store of its own: the entries of the run it checks would
    # otherwise check the store against itself.
    verify_store: str
    space: SearchSpace
    # arch_id -> the contents of its architecture file, in draw order.
    sampled: dict[str, dict[str, Any]]
    # Successive halving, alone or in Hyperband's brackets: a run of rungs and trials.
    halving: bool
    hyperband: bool
    # An ask/tell strategy, searched batch by batch through checkpoints (random_nas.strategies).
    live: bool
    # Trainings a live search asks for at once (search.batch_size, or the cores given).
    batch_size: int
    dense_grid: bool
    # The budgets min_epochs × eta^r up to training.epochs: halving's rungs, a dense grid's.
    ladder: list[int]
    # The budgets the search ranks at: the ladder for halving, else training.epochs alone.
    budgets: list[int]
    # Hyperband's brackets over the draw: (first draw position, schedule) each.
    brackets: list[tuple[int, Schedule]]
    repeat_seeds: list[int]
    train_on_gpu: bool
    # Trainings side by side on one GPU (1 where there is no GPU to share).
    gpu_share: int
    # What the run should know but that does not stop it (a dataset not yet under its root).
    warnings: list[str]

    @property
    def arch_ids(self) -> list[str]:
        return list(self.sampled)

    @property
    def trained_budgets(self) -> list[int]:
        """Every budget the run trains at: its search's and, for a dense grid, the ladder's."""
        return sorted(set(self.budgets) | set(self.ladder if self.dense_grid else []))


def _dataset_warnings(dataset: Mapping[str, Any]) -> list[str]:
    """A split the dataset cannot give (refused), or files not yet under its root (a warning)."""
    if (problem := split_problem(dataset)) is not None:
        raise ConfigError(f"config {problem}")
    if not dataset["download"] and (missing := missing_dataset(dataset)):
        return [
            f"dataset {dataset['name']} is not under dataset.root: {missing} does not exist and "
            "dataset.download is false; trainings the store lacks will fail until it is there"
        ]
    return []


# What Snakemake's planning costs per training job (benchmarks/results/planning.md: 100,000
# candidates planned in 163 s at 2,551 MiB peak, AMD EPYC, 2 cores); a plan this large warns.
PLANNING_SECONDS_PER_JOB = 163.0 / 100_000
PLANNING_BYTES_PER_JOB = 2551 * 2**20 / 100_000
LARGE_PLAN_JOBS = 10_000


def _available_memory(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    with suppress(OSError, ValueError, IndexError):
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


def _scale_warnings(jobs: int, available: int | None = None) -> list[str]:
    """A plan of more training jobs than Snakemake plans in a few seconds: a warning with what
    it would take; refused where its planning alone would not fit this machine's memory."""
    if jobs <= LARGE_PLAN_JOBS:
        return []
    seconds, needed = jobs * PLANNING_SECONDS_PER_JOB, jobs * PLANNING_BYTES_PER_JOB
    cost = (
        f"planning {jobs:,} training jobs takes Snakemake about {seconds / 60:.0f} min and "
        f"{needed / 2**30:.1f} GiB before the first training (measured on a 2-core EPYC: "
        "benchmarks/results/planning.md)"
    )
    available = _available_memory() if available is None else available
    if available is not None and needed > available:
        raise ConfigError(
            f"config num_architectures: {cost}, more than the {available / 2**30:.1f} GiB "
            "this machine has free; plan fewer (several runs share the store)"
        )
    return [cost]


def _check_strategies(config: Mapping[str, Any]) -> None:
    """The search strategy and its settings, and what a dense grid replays."""
    search = config["search"]
    if (problem := strategy_problem(search["strategy"], search["settings"])) is not None:
        raise ConfigError(problem)
    if is_live(search["strategy"]) and search["dense_grid"]:
        raise ConfigError(
            f"config search.dense_grid trains every draw at every budget, which a search by "
            f"{search['strategy']!r} does not draw: replay strategies on a grid of its own run"
        )
    enumerated = draw_size(config) == SearchSpace.from_config(config["search_space"]).size
    for name in config["report"]["replay_strategies"] if search["dense_grid"] else ():
        if (problem := replay_problem(name, enumerated)) is not None:
            raise ConfigError(problem)


def recorded_batch_size(run_dir: str | Path) -> int | None:
    """The batch size a live search's first batch was asked with (its batch file records
    it), so that a resume, a dry run or a cluster job given other cores asks as it did."""
    with suppress(OSError, ValueError, AttributeError):
        record = json.loads(Path(run_dir, "search", "batch_0.json").read_text(encoding="utf-8"))
        size = record.get("batch_size")
        return size if isinstance(size, int) and not isinstance(size, bool) else None
    return None


def plan_run(
    config: Mapping[str, Any],
    gpu: bool | None = None,
    cores: int | None = None,
    recorded_batch: int | None = None,
) -> RunPlan:
    """The plan of a validated config, or a ConfigError naming the key at fault. `gpu`: whether
    this machine shows a GPU (default: `gpu_present()`); `cores`: the cores Snakemake was
    given (a live search's default batch size: as many trainings as run at once), unless
    `recorded_batch`, the size its first batch was asked with, says otherwise."""
    try:
        space = SearchSpace.from_config(config["search_space"])
    except ValueError as error:
        raise ConfigError(f"config search_space: {error}") from None
    count = space.size if config["num_architectures"] == "all" else config["num_architectures"]
    if count > space.size:
        raise ConfigError(
            f"config num_architectures is {config['num_architectures']}, but search_space "
            f"holds only {space.size} distinct architectures"
        )
    warnings = _dataset_warnings(config["dataset"])
    search, training = config["search"], config["training"]
    _check_strategies(config)
    live = is_live(search["strategy"])
    batch_size = (
        search["batch_size"] or recorded_batch or max(1, (cores or 1) // training["threads"])
    )
    halving = search["strategy"] in ("successive_halving", "hyperband")
    hyperband = search["strategy"] == "hyperband"
    try:
        ladder = budget_ladder(search["min_epochs"], search["eta"], training["epochs"])
    except ValueError as error:
        if halving or search["dense_grid"]:
            raise ConfigError(f"config {error}") from None
        ladder = [training["epochs"]]
    try:
        brackets = (
            hyperband_slices(count, search["min_epochs"], search["eta"], training["epochs"])
            if hyperband
            else []
        )
    except ValueError as error:
        raise ConfigError(f"config {error}") from None
    repeat_seeds = config["repeats"]["seeds"] if config["repeats"]["top_k"] > 0 else []
    if config["seed"] in repeat_seeds:
        raise ConfigError(
            f"config repeats.seeds holds the run's own seed {config['seed']}: the first round "
            "already trains every candidate with it; list other seeds"
        )
    jobs = count * (len(ladder) if search["dense_grid"] else 1)
    if config["num_architectures"] == "all" and jobs > LARGE_PLAN_JOBS:
        epochs = count * (sum(ladder) if search["dense_grid"] else training["epochs"])
        raise ConfigError(
            f"config num_architectures is 'all': search_space holds {space.size:,} "
            f"architectures, {jobs:,} trainings ({epochs:,} epochs of training) to enumerate, "
            f"more than the {LARGE_PLAN_JOBS:,} a run plans in seconds; enumerate a smaller "
            "space (fewer layers or choices), or draw a number of its architectures"
        )
    warnings += _scale_warnings(jobs)
    # `auto` on a machine with a GPU trains on it, so it asks for the gpu resource as `cuda`.
    train_on_gpu = training["device"] == "cuda" or (
        training["device"] == "auto" and (gpu_present() if gpu is None else gpu)
    )
    records = sampled_records(space, count, sampling_seed(config))
    stated = json.loads(json.dumps(config))
    stated["num_architectures"] = count
    if live:
        stated["search"]["batch_size"] = batch_size
    return RunPlan(
        run_dir=f"results/{config['run']}",
        config=stated,
        store=config["store"].rstrip("/"),
        verify_store=config["verify"]["store"].rstrip("/"),
        space=space,
        sampled={record["arch_id"]: record for record in records},
        halving=halving,
        hyperband=hyperband,
        live=live,
        batch_size=batch_size,
        dense_grid=search["dense_grid"],
        ladder=ladder,
        budgets=ladder if halving else [training["epochs"]],
        brackets=brackets,
        repeat_seeds=repeat_seeds,
        train_on_gpu=train_on_gpu,
        gpu_share=training["trainings_per_gpu"] if train_on_gpu else 1,
        warnings=warnings,
    )


def gpu_present(
    driver_gpus: Path = Path("/proc/driver/nvidia/gpus"), environ: Mapping[str, str] = os.environ
) -> bool:
    """Whether this machine shows an NVIDIA GPU to its processes, known without importing torch:
    the driver lists one and CUDA_VISIBLE_DEVICES does not hide them all."""
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    try:
        return any(driver_gpus.iterdir())
    except OSError:
        return False


def schema_defaults(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The config that the schema's `default:` keys make: every key, at its default."""
    return {
        key: schema_defaults(node) if "properties" in node else node["default"]
        for key, node in schema["properties"].items()
    }


def _key(path: Any) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)[1:]


def _described(schema: Mapping[str, Any]) -> str:
    """One alternative of a key's schema in words: `an integer of at least 1`, `'all'`."""
    if "const" in schema:
        return repr(schema["const"])
    words = f"a{'n' * schema['type'].startswith(('a', 'i', 'o'))} {schema['type']}"
    return words + (f" of at least {schema['minimum']}" if "minimum" in schema else "")


def config_problem(config: Mapping[str, Any], schema: Mapping[str, Any]) -> str:
    """One line that names the config key at fault and what it may be, for a config the schema
    refuses (jsonschema comes with Snakemake; imported only when there is a problem)."""
    import jsonschema

    error = jsonschema.exceptions.best_match(
        jsonschema.validators.validator_for(schema)(schema).iter_errors(config)
    )
    if error is None:
        return "config is valid"
    where = _key(error.absolute_path)
    prefix = f"{where}." if where else ""
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema["properties"]))
        renamed = [prefix + key for key in unknown if prefix + key in RENAMED_KEYS]
        if renamed:
            return f"config key {renamed[0]} is now called {RENAMED_KEYS[renamed[0]]}"
        return (
            f"config key {', '.join(prefix + key for key in unknown)} is unknown; the keys "
            f"{'under ' + where if where else 'at the top'} are: "
            f"{', '.join(error.schema['properties'])}"
        )
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"config {where} is {error.instance!r}; allowed: {allowed}"
    if error.validator == "oneOf":
        allowed = " or ".join(_described(choice) for choice in error.validator_value)
        return f"config {where} is {error.instance!r}; it may be {allowed}"
    if error.validator == "not" and error.validator_value == {"multipleOf": 2}:
        return f"config {where} is {error.instance}; it must be odd"
    if error.validator == "not":
        return (
            f"config {where} is {error.instance!r}, which is not allowed ({error.validator_value})"
        )
    return f"config {where or '(top level)'}: {error.message}"
