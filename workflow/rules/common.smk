# Input functions, from the run's plan (random_nas.plan, made and checked without Snakemake).
# Every cluster job parses this file again, so it stays cheap: the plan imports no torch, and
# sampling 10,000 ids takes milliseconds.
import json
import os
import re
import sys
from pathlib import Path

from snakemake.logging import logger

from random_nas.cluster import read_submission, submission_problem
from random_nas.config_files import config_file_problem
from random_nas.plan import ConfigError, plan_run, recorded_batch_size
from random_nas.plan_statement import (
    Statement,
    halving_later,
    hyperband_later,
    repeats_later,
    search_later,
    verification_estimate,
)
from random_nas.recipes import (
    RecipeRegistry,
    UnknownRecipe,
    canonical,
    data_recipe,
    run_identity,
    run_record_problem,
    sampling_seed,
    search_identity,
    table_config,
    training_recipe,
)
from random_nas.report_files import (
    PLOT_FORMATS,
    REPLAY_FILES,
    STRATEGY_STUDY_FILES,
    STUDY_FILES,
    report_files,
    report_plots,
    report_tables,
)
from random_nas.space import Architecture
from random_nas.studies import study_kind, study_tables
from random_nas.store.layout import (
    DATA_KEY_PATTERN,
    RECIPE_KEY_PATTERN,
    data_key,
    entry_dir,
    is_published,
    recipe_key,
    store_tag,
)
from random_nas.store.records import taken_out as store_traces

# Snakemake read them already; YAML keeps the last of a key given twice without a word.
for configfile_path in workflow.config_settings.configfiles or ():
    if (problem := config_file_problem(configfile_path)) is not None:
        raise WorkflowError(problem)
try:
    PLAN = plan_run(
        config,
        cores=workflow.resource_settings.cores,
        recorded_batch=recorded_batch_size(f"results/{config['run']}"),
    )
except ConfigError as error:
    raise WorkflowError(str(error)) from None
# The config the run's tables and records state (Snakemake's `config` stays as it was given).
RUN_CONFIG = PLAN.config
# Targets that leave the run's folder alone (Snakemake knows its targets only after parsing
# the workflow; the command line names them before). The run's plan is not theirs to state.
OTHER_TARGETS = {"verify_published", "published_reports", "study"}
TARGETS = OTHER_TARGETS & set(sys.argv[1:])
OTHERS_ONLY = bool(TARGETS)
if not OTHERS_ONLY and (refused := run_record_problem(PLAN.run_dir, RUN_CONFIG)):
    raise WorkflowError(refused)
for warning in PLAN.warnings:
    logger.warning(warning)
SCHEMA = workflow.current_basedir.join("../schemas/config.schema.yaml").get_path_or_uri(
    secret_free=True
)
RUN_DIR = PLAN.run_dir
STORE = PLAN.store
VERIFY_STORE = PLAN.verify_store
# This working directory's receipts of the store's entries it used: the train rule's outputs,
# where Snakemake's bookkeeping (incomplete markers, clean-up of failed jobs) may reach. One
# folder per store, `{store}` the hash of its real path: a run given another store asks it.
RECEIPTS = "results/receipts/{store}"
STORES = {store_tag(store): store for store in (STORE, VERIFY_STORE)}
SPACE = PLAN.space
ARCH_IDS = PLAN.arch_ids
REPEAT_SEEDS = PLAN.repeat_seeds
HALVING = PLAN.halving
HYPERBAND = PLAN.hyperband
LIVE = PLAN.live
DENSE_GRID = PLAN.dense_grid
LADDER = PLAN.ladder
BUDGETS = PLAN.budgets
BRACKETS = PLAN.brackets
RECIPES = RecipeRegistry(
    Path("results/published"), complete=lambda published: validate(published, SCHEMA)
)
RECIPES.search_folders.append(Path(PLAN.run_dir))
PUBLISHED_RUNS = RECIPES.published_names()
DATA_KEY = RECIPES.add(config, PLAN.trained_budgets)
RECIPES.add_draw(list(PLAN.sampled.values()))
RECIPE_KEYS = {
    budget: recipe_key(training_recipe(config, budget))
    for budget in PLAN.trained_budgets
}


def known(lookup, *keys):
    """A recipe or architecture the workflow knows by its keys, or the one line that says
    which key it does not know."""
    try:
        return lookup(*keys)
    except (UnknownRecipe, FileNotFoundError) as error:
        raise WorkflowError(str(error)) from None


def data_of(wildcards):
    return known(RECIPES.data_of, wildcards.data)


def training_of(wildcards):
    return known(RECIPES.training_of, wildcards.data, wildcards.recipe)


def architecture_of(wildcards):
    return known(RECIPES.architecture_of, wildcards.arch_id)


def entry(arch_id, epochs=None, seed=None):
    """The metrics file of one of this run's trainings in the store: the run's data and
    training recipe, at `epochs` (default training.epochs) and training `seed` (default the
    run's)."""
    epochs = config["training"]["epochs"] if epochs is None else epochs
    seed = config["seed"] if seed is None else seed
    return training_input(STORE, DATA_KEY, RECIPE_KEYS[epochs], arch_id, seed)


def training_input(store, data, recipe, arch_id, seed):
    """The metrics file read for one training: this working directory's receipt of the
    store's entry, made by the train rule (which trains the entry only where the store lacks
    it). The same path whatever is on disk: the plan never depends on it."""
    receipts = RECEIPTS.format(store=store_tag(store))
    return f"{entry_dir(receipts, data, recipe, arch_id, seed)}/metrics.json"


def taken_out(wildcards):
    """When the job's entry was retired or removed from its store (`random-nas store retire`,
    `remove`), or `missing` where a receipt names an entry that left it without a trace (a
    folder deleted by hand): a parameter, so that a receipt made before the entry left the
    store is no proof of it, and Snakemake's params trigger trains the entry again."""
    store = STORES[wildcards.store]
    key = (
        f"{wildcards.data}/{wildcards.recipe}/{wildcards.arch_id}/seed_{wildcards.seed}"
    )
    if store not in TRACES:
        TRACES[store] = store_traces(store)
    traces = TRACES[store].get(key, [])
    # Not a function of `output`: Snakemake compares no such parameter for reruns.
    receipt = os.path.join(RECEIPTS.format(store=wildcards.store), key, "metrics.json")
    received = os.path.exists(receipt)
    if not traces and received and not is_published(os.path.join(store, key)):
        return ["missing"]
    return traces


# Each store's traces of entries taken out, read once, when a job first asks.
TRACES = {}


def job_store(wildcards, output):
    """The store as a job sees it. Under a module's prefix Snakemake moves the paths a rule
    declares (the job's receipt) but not the config's, so a relative store moves by the same
    prefix, as the rest of the run's files do."""
    prefix = output[0].partition(RECEIPTS.format(store=wildcards.store))[0]
    return os.path.join(prefix, STORES[wildcards.store])


# A dense grid: every draw at every budget of the ladder, the table a replay simulates on.
GRID_TRIALS = (
    [entry(arch_id, budget) for arch_id in ARCH_IDS for budget in LADDER]
    if DENSE_GRID
    else []
)


wildcard_constraints:
    arch_id=r"[0-9a-f]{12}",
    store=r"store-[0-9a-f]{8}",
    seed=r"[0-9]+",
    rung=r"[1-9][0-9]*",
    data=DATA_KEY_PATTERN,
    recipe=RECIPE_KEY_PATTERN,
    name=r"[A-Za-z0-9][A-Za-z0-9_.-]*",


def training_priority(wildcards):
    """Costliest trainings first, so that no long job starts last and runs alone at the end
    of a run (longest-processing-time-first). Forward MFLOPs at a reference 3x32x32 input
    times epochs: only the order matters."""
    arch = Architecture.from_dict(architecture_of(wildcards))
    return arch.forward_flops((3, 32, 32), 10) / 1e6 * training_of(wildcards)["epochs"]


def training_runtime(wildcards, attempt):
    """The time limit a cluster job asks for (minutes), from its own recipe's epochs; doubled
    on each retry. A group of trainings, which run in turn, asks for the sum of its members'
    (the `trainings` slot, one per submission, stacks them in series)."""
    epochs = training_of(wildcards)["epochs"]
    return attempt * (10 + config["training"]["minutes_per_epoch"] * epochs)


def training_gpu():
    """A training's GPU request: one GPU each or, where k trainings share one, `gres=gpu:1`,
    a string resource that a group of trainings asks for once (where it sums `gpu`), and
    `gpu_share=1`, which it sums (k in a group of k)."""
    if not PLAN.train_on_gpu:
        return {}
    if PLAN.gpu_share == 1:
        return {"gpu": 1}
    return {"gres": "gpu:1", "gpu_share": 1}


def check_cluster_submission():
    """Refuse, before the first submission, cluster flags under which trainings would wait
    forever or a GPU would be shared by the wrong number of trainings."""
    problem = submission_problem(read_submission(workflow), PLAN.gpu_share)
    if problem is not None:
        raise WorkflowError(problem)


def report_outputs(run_dir):
    """Every report file of the run: the report's, and a dense grid's replay."""
    files = [
        *report_files(bool(REPEAT_SEEDS), HALVING),
        *(REPLAY_FILES if DENSE_GRID else []),
    ]
    return [f"{run_dir}/report/{name}" for name in files]


def report_inputs(run_dir):
    """The tables a report renders from: the run's, and its repeats' when it has them."""
    tables = {
        "table": f"{run_dir}/candidates.parquet",
        "curves": f"{run_dir}/curves.parquet",
    }
    if REPEAT_SEEDS:
        tables["repeats"] = f"{run_dir}/repeats.parquet"
    if HALVING:
        tables["trials"] = f"{run_dir}/trials.parquet"
    if DENSE_GRID:
        tables["grid"] = f"{run_dir}/grid.parquet"
    return tables


# With search.compare_full_budget, every draw is also trained for the full budget: known when
# the workflow is parsed, so these trainings run alongside the rungs, not after the last one.
FULL_BUDGET_TRIALS = (
    [entry(arch_id, BUDGETS[-1]) for arch_id in ARCH_IDS]
    if HALVING and config["search"]["compare_full_budget"]
    else []
)
