# Parse-time helpers. Every cluster job parses this file again, so it stays cheap: the
# library's search-space module imports no torch, and sampling 10,000 ids takes milliseconds.
import json
from pathlib import Path

import yaml

from random_nas.halving import rung_budgets
from random_nas.layout import PLOT_FORMATS, PLOTS, REPORT_TABLES, report_files
from random_nas.settings import data_recipe, gpu_present, recipe, table_config
from random_nas.space import SearchSpace, sampled_records


def _search_space():
    try:
        space = SearchSpace.from_config(config["search_space"])
    except ValueError as error:
        raise WorkflowError(f"config search_space: {error}")
    if config["num_architectures"] > space.size:
        raise WorkflowError(
            f"config num_architectures is {config['num_architectures']}, but search_space "
            f"holds only {space.size} distinct architectures"
        )
    return space


SPACE = _search_space()
RUN_DIR = f"results/{config['run']}"
# arch_id -> the contents of its architecture file, in draw order.
SAMPLED = {
    record["arch_id"]: record
    for record in sampled_records(SPACE, config["num_architectures"], config["seed"])
}
ARCH_IDS = list(SAMPLED)
PUBLISHED_RUNS = sorted(
    path.parent.name for path in Path("results/published").glob("*/candidates.parquet")
)
_PUBLISHED_CONFIGS = {}
# `auto` on a machine with a GPU trains on it, so it asks for the gpu resource as `cuda` does.
TRAIN_ON_GPU = config["training"]["device"] == "cuda" or (
    config["training"]["device"] == "auto" and gpu_present()
)
# The time limit a cluster job asks for (minutes), doubled on each retry.
TRAIN_RUNTIME_MINUTES = (
    10 + config["training"]["minutes_per_epoch"] * config["training"]["epochs"]
)
# What a finished candidate depends on; Snakemake retrains when it changes. Operational
# settings (random_nas.settings) are read by the scripts from the config instead.
RECIPE = recipe(config)
# A repeat is the same recipe with another training seed (the data split stays the run's).
REPEAT_RECIPE = {**RECIPE, "seed": lambda wildcards: int(wildcards.seed)}
REPEAT_SEEDS = config["repeats"]["seeds"] if config["repeats"]["top_k"] > 0 else []
HALVING = config["search"]["strategy"] == "successive_halving"
try:
    BUDGETS = (
        rung_budgets(
            config["search"]["min_epochs"],
            config["search"]["eta"],
            config["training"]["epochs"],
        )
        if HALVING
        else [config["training"]["epochs"]]
    )
except ValueError as error:
    raise WorkflowError(f"config {error}")
if HALVING and REPEAT_SEEDS:
    raise WorkflowError(
        "config repeats.top_k is set, but repeated seeds are not supported with "
        "search.strategy successive_halving yet; set repeats.top_k: 0"
    )
if config["seed"] in REPEAT_SEEDS:
    raise WorkflowError(
        f"config repeats.seeds holds the run's own seed {config['seed']}: the first round "
        "already trains every candidate with it; list other seeds"
    )


wildcard_constraints:
    run=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    arch_id=r"[0-9a-f]{12}",
    seed=r"[0-9]+",
    rung=r"[1-9][0-9]*",
    budget=r"[0-9]+",
    name=r"[A-Za-z0-9][A-Za-z0-9_.-]*",


def sampled_architecture(wildcards):
    """The architecture a train job trains, as its architecture file records it.

    Train jobs take it as a parameter rather than reading the file: a dependency of N jobs on
    the one sample job would make Snakemake re-plan them all whenever N grows.
    """
    if wildcards.run != config["run"] or wildcards.arch_id not in SAMPLED:
        raise WorkflowError(
            f"architecture {wildcards.arch_id} is not among the {len(SAMPLED)} architectures "
            f"sampled for run {config['run']!r} (num_architectures, seed and search_space "
            "in the config decide which are)"
        )
    return SAMPLED[wildcards.arch_id]


def training_priority(wildcards):
    """Costliest candidates first, so that no long job starts last and runs alone at the end
    of a run (longest-processing-time-first). Forward MFLOPs at a reference 3x32x32 input:
    only the order matters."""
    index = sampled_architecture(wildcards)["index"]
    return SPACE.decode(index).forward_flops((3, 32, 32), 10) / 1e6


def report_outputs(run_dir):
    return [f"{run_dir}/report/{name}" for name in report_files()]


def picked(checkpoint_job):
    """The architectures a checkpoint picked (its output holds them as `arch_ids`)."""
    with open(checkpoint_job.output[0], encoding="utf-8") as handle:
        return json.load(handle)["arch_ids"]


def repeated_metrics(wildcards):
    """The metrics of the candidates the checkpoint picked: the first round's, then one per
    extra seed (so repeats.parquet holds every seed of each)."""
    arch_ids = picked(checkpoints.select_repeats.get())
    return [f"{RUN_DIR}/candidates/{arch_id}/metrics.json" for arch_id in arch_ids] + [
        f"{RUN_DIR}/repeats/{arch_id}/seed_{seed}/metrics.json"
        for arch_id in arch_ids
        for seed in REPEAT_SEEDS
    ]


def report_inputs(run_dir):
    """The tables a report renders from: the run's, and its repeats' when it has them."""
    tables = {"table": f"{run_dir}/candidates.parquet"}
    if REPEAT_SEEDS:
        tables["repeats"] = f"{run_dir}/repeats.parquet"
    if HALVING:
        tables["trials"] = f"{run_dir}/trials.parquet"
        tables["curves"] = f"{run_dir}/curves.parquet"
    return tables


def published_config(name):
    """A published run's own committed config (results/published/{name}/config.yaml)."""
    if name not in _PUBLISHED_CONFIGS:
        path = Path("results/published") / name / "config.yaml"
        if not path.exists():
            raise WorkflowError(f"published run {name!r} has no config.yaml at {path}")
        _PUBLISHED_CONFIGS[name] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return _PUBLISHED_CONFIGS[name]


def published_architecture(wildcards):
    """An architecture of a published run, re-drawn from its config (seed, space, N)."""
    config = published_config(wildcards.name)
    space = SearchSpace.from_config(config["search_space"])
    for record in sampled_records(space, config["num_architectures"], config["seed"]):
        if record["arch_id"] == wildcards.arch_id:
            return record
    raise WorkflowError(
        f"architecture {wildcards.arch_id} is not among the architectures of published run "
        f"{wildcards.name!r}"
    )


def verification_metrics(wildcards):
    """The retrained candidates the checkpoint picked for a published run."""
    return [
        f"results/verify/{wildcards.name}/candidates/{arch_id}/metrics.json"
        for arch_id in picked(checkpoints.select_verification.get(name=wildcards.name))
    ]


def trial_path(arch_id, budget):
    return f"{RUN_DIR}/trials/{arch_id}/epochs_{budget}/metrics.json"


def rung_members(rung):
    """The architectures rung `rung` of successive halving trains: every draw for rung 0 (so
    that a dry run shows its trainings), else what the checkpoint decided."""
    if rung == 0:
        return ARCH_IDS
    return picked(checkpoints.rung.get(rung=str(rung)))


def previous_rung_metrics(wildcards):
    """What the checkpoint of a rung decides from: the previous rung's results."""
    rung = int(wildcards.rung)
    return [
        trial_path(arch_id, BUDGETS[rung - 1]) for arch_id in rung_members(rung - 1)
    ]


def rung_trials(wildcards):
    """Every training of the rungs of successive halving, as their checkpoints decide."""
    return [
        trial_path(arch_id, budget)
        for rung, budget in enumerate(BUDGETS)
        for arch_id in rung_members(rung)
    ]


# With search.compare_full_budget, every draw is also trained for the full budget: known when
# the workflow is parsed, so these trainings run alongside the rungs, not after the last one.
FULL_BUDGET_TRIALS = (
    [trial_path(arch_id, BUDGETS[-1]) for arch_id in ARCH_IDS]
    if HALVING and config["search"]["compare_full_budget"]
    else []
)
