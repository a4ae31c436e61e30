# Parse-time helpers. Every cluster job parses this file again, so it stays cheap: the
# library's search-space module imports no torch, and sampling 10,000 ids takes milliseconds.
from pathlib import Path

from random_nas.layout import PLOT_FORMATS, PLOTS, REPORT_TABLES, report_files
from random_nas.settings import data_recipe, gpu_present, recipe
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


wildcard_constraints:
    run=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    arch_id=r"[0-9a-f]{12}",


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
