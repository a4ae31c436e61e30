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
if PLAN.live:
    # What a live search asks depends on its batches: the resolved size is part of its table.
    config["search"]["batch_size"] = PLAN.batch_size
# Targets that leave the run's folder alone (Snakemake knows its targets only after parsing
# the workflow; the command line names them before). The run's plan is not theirs to state.
OTHER_TARGETS = {"verify_published", "published_reports", "study"}
TARGETS = OTHER_TARGETS & set(sys.argv[1:])
OTHERS_ONLY = bool(TARGETS)
if not OTHERS_ONLY and (refused := run_record_problem(PLAN.run_dir, config)):
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


def published_entry(name, arch_id, epochs):
    """The metrics file, in the verification's store, of a published run's candidate
    retrained at `epochs` under the run's own config."""
    published = known(RECIPES.published_config, name)
    data = data_key(data_recipe(published))
    recipe = recipe_key(training_recipe(published, epochs))
    return training_input(VERIFY_STORE, data, recipe, arch_id, published["seed"])


# Every study.yaml under results/, one or two folders down (results/published/* among them):
# studies of search spaces, and studies of strategies.
STUDIES = sorted(
    str(path.parent)
    for pattern in ("results/*/study.yaml", "results/*/*/study.yaml")
    for path in Path().glob(pattern)
)
STRATEGY_STUDIES = [
    folder for folder in STUDIES if study_kind(f"{folder}/study.yaml") == "strategies"
]
SPACE_STUDIES = [folder for folder in STUDIES if folder not in STRATEGY_STUDIES]


def ready_study_reports(wildcards):
    """The report of every study whose runs all have their tables; a study still missing
    some (a comparison stopped half-way) is left out, saying so, rather than failing all.
    """
    ready = []
    for folder in STUDIES:
        try:
            tables = study_tables(f"{folder}/study.yaml")
        except ValueError:
            tables = []  # its render names what is wrong
        missing = [table for table in tables if not Path(table).exists()]
        if missing:
            # Printed: Snakemake's quiet console drops what its logger says at this point.
            print(
                f"study {folder} is left out: {len(missing)} of its runs' tables are not "
                f"made yet ({missing[0]}); for a study of strategies, `random-nas compare "
                f"{folder}/study.yaml` makes them",
                file=sys.stderr,
            )
        else:
            ready.append(f"{folder}/report/study.md")
    return ready


def study_inputs(wildcards):
    """The tables a study renders from, or the one line that says what is wrong with it."""
    folder = getattr(wildcards, "study", None) or wildcards.strategy_study
    try:
        return study_tables(f"{folder}/study.yaml")
    except ValueError as error:
        raise WorkflowError(str(error)) from None


wildcard_constraints:
    # Only the folders that hold a study.yaml: a run's own report files are the report rule's.
    study="|".join(map(re.escape, SPACE_STUDIES)) or r"(?!)",
    strategy_study="|".join(map(re.escape, STRATEGY_STUDIES)) or r"(?!)",
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


def picked(checkpoint_job):
    """What a checkpoint picked (its output holds the architectures as `arch_ids`)."""
    with open(checkpoint_job.output[0], encoding="utf-8") as handle:
        return json.load(handle)


def repeated_metrics(wildcards):
    """The trainings of the candidates the checkpoint picked, at the full budget: the first
    round's seed, then every extra seed (so repeats.parquet holds every seed of each).
    """
    arch_ids = picked(checkpoints.select_repeats.get())["arch_ids"]
    return [
        entry(arch_id, seed=seed)
        for arch_id in arch_ids
        for seed in [config["seed"], *REPEAT_SEEDS]
    ]


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


def replay_tables(wildcards):
    """What the replay reads: the dense grid, and the repeats at other seeds (held-out
    evidence for its picks) where the run has them."""
    tables = {"grid": f"{RUN_DIR}/grid.parquet"}
    if REPEAT_SEEDS:
        tables["repeats"] = f"{RUN_DIR}/repeats.parquet"
    return tables


def verification_metrics(wildcards):
    """The published run's candidates that the checkpoint picked, retrained in the store at
    the budget each was published at."""
    selected = picked(checkpoints.select_verification.get(name=wildcards.name))
    return [
        published_entry(wildcards.name, arch_id, epochs)
        for arch_id, epochs in zip(
            selected["arch_ids"], selected["epochs"], strict=True
        )
    ]


def rung_members(rung):
    """The architectures rung `rung` of successive halving trains: every draw for rung 0 (so
    that a dry run shows its trainings), else what the checkpoint decided."""
    if rung == 0:
        return ARCH_IDS
    return picked(checkpoints.rung.get(rung=str(rung)))["arch_ids"]


def previous_rung_metrics(wildcards):
    """What the checkpoint of a rung decides from: the previous rung's results."""
    rung = int(wildcards.rung)
    return [entry(arch_id, BUDGETS[rung - 1]) for arch_id in rung_members(rung - 1)]


def bracket_members(bracket, rung):
    """The architectures rung `rung` of Hyperband's bracket `bracket` trains: the bracket's
    slice of the draw for rung 0, else what the checkpoint decided."""
    start, rungs = BRACKETS[bracket]
    if rung == 0:
        return ARCH_IDS[start : start + rungs[0][0]]
    decided = checkpoints.bracket_rung.get(bracket=str(bracket), rung=str(rung))
    return picked(decided)["arch_ids"]


def previous_bracket_metrics(wildcards):
    """What the checkpoint of a bracket's rung decides from: its previous rung's results."""
    bracket, rung = int(wildcards.bracket), int(wildcards.rung)
    budget = BRACKETS[bracket][1][rung - 1][1]
    return [entry(arch_id, budget) for arch_id in bracket_members(bracket, rung - 1)]


def trial_inputs():
    """Every training of the rungs of successive halving, or of each of Hyperband's brackets,
    as their checkpoints decide: one input function per bracket, so that each bracket's
    pending checkpoint is asked for on its own. Every bracket's rung 0 (known when the
    workflow is parsed) is then in a dry run and trains at once, and no bracket waits for
    another's checkpoints."""

    def bracket_trials(bracket):
        _, rungs = BRACKETS[bracket]
        return lambda wildcards: [
            entry(arch_id, budget)
            for rung, (_, budget) in enumerate(rungs)
            for arch_id in bracket_members(bracket, rung)
        ]

    if HYPERBAND:
        return {
            f"bracket_{number}": bracket_trials(number)
            for number in range(len(BRACKETS))
        }
    return {
        "rungs": lambda wildcards: [
            entry(arch_id, budget)
            for rung, budget in enumerate(BUDGETS)
            for arch_id in rung_members(rung)
        ]
    }


# With search.compare_full_budget, every draw is also trained for the full budget: known when
# the workflow is parsed, so these trainings run alongside the rungs, not after the last one.
FULL_BUDGET_TRIALS = (
    [entry(arch_id, BUDGETS[-1]) for arch_id in ARCH_IDS]
    if HALVING and config["search"]["compare_full_budget"]
    else []
)


def searched_batch(number):
    """A live search's batch `number` (once its checkpoint has asked the strategy): its
    proposals, whose architectures the train jobs are then given."""
    with open(
        checkpoints.ask.get(batch=str(number)).output[0], encoding="utf-8"
    ) as handle:
        record = json.load(handle)
    RECIPES.add_draw(record["proposals"])
    return record


def batch_file(number):
    return f"{RUN_DIR}/search/batch_{number}.json"


def asked_before(wildcards):
    """What the checkpoint asking batch k rebuilds the strategy from: every earlier batch and
    the trainings it asked for."""
    batches, metrics = [], []
    for number in range(int(wildcards.batch)):
        record = searched_batch(number)
        batches.append(batch_file(number))
        metrics += [
            entry(item["arch_id"], item["epochs"]) for item in record["proposals"]
        ]
    return {"batches": batches, "metrics": metrics}


def searched(wildcards):
    """Every batch of a live search and its trainings, batch by batch until one ends it."""
    batches, metrics, number = [], [], 0
    while True:
        record = searched_batch(number)
        batches.append(batch_file(number))
        if record["done"]:
            return {"batches": batches, "metrics": metrics}
        metrics += [
            entry(item["arch_id"], item["epochs"]) for item in record["proposals"]
        ]
        number += 1


def store_entry_of(receipt):
    """The store entry a receipt (results/receipts/{store}/.../metrics.json) is a copy of."""
    tag, _, key = receipt.removeprefix("results/receipts/").partition("/")
    return os.path.join(STORES[tag], os.path.dirname(key))


def trainings_named_now():
    """Every training the plan names before any checkpoint runs (receipt paths)."""
    if DENSE_GRID:
        named = list(GRID_TRIALS)
    elif HYPERBAND:
        named = [
            entry(arch_id, rungs[0][1])
            for start, rungs in BRACKETS
            for arch_id in ARCH_IDS[start : start + rungs[0][0]]
        ]
    elif HALVING:
        named = [entry(arch_id, BUDGETS[0]) for arch_id in ARCH_IDS]
    elif LIVE:
        # The batches asked so far (a search interrupted mid-way has some to finish).
        named = [
            entry(item["arch_id"], item["epochs"])
            for record in batch_records()
            for item in record["proposals"]
        ]
    else:
        named = [entry(arch_id) for arch_id in ARCH_IDS]
    return list(dict.fromkeys(named + FULL_BUDGET_TRIALS))


def trainings_later():
    """What each checkpoint may add, at most."""
    later = []
    if HYPERBAND:
        later += hyperband_later(BRACKETS)
    elif HALVING:
        later += halving_later(len(ARCH_IDS), BUDGETS, config["search"]["eta"])
    elif LIVE:
        later += search_later(
            config["num_architectures"],
            searched_so_far(),
            PLAN.batch_size,
            config["training"]["epochs"],
        )
    return later + repeats_later(
        config["repeats"]["top_k"] if REPEAT_SEEDS else 0,
        REPEAT_SEEDS,
        config["training"]["epochs"],
    )


def batch_records():
    """A live search's batch files on disk, in order (read for the plan statement)."""
    records = []
    for path in Path(RUN_DIR).glob("search/batch_*.json"):
        with open(path, encoding="utf-8") as handle:
            records.append(json.load(handle))
    return sorted(records, key=lambda record: record["batch"])


def searched_so_far():
    """Trainings' worth a live search has asked for, by its batch files on disk."""
    return max(
        (
            record["spent_before"] + len(record["proposals"])
            for record in batch_records()
        ),
        default=0.0,
    )


def plan_lines():
    """The run's plan, stated (random_nas.plan_statement)."""
    statement = Statement(
        config["run"],
        [(receipt, store_entry_of(receipt)) for receipt in trainings_named_now()],
        trainings_later(),
    )
    return statement.lines()


def next_batch_lines():
    """A live search's next step, for a dry run: the batch still training, or the next batch
    to be asked. A dry run never calls the strategy: what it proposes is asked of it, with a
    time limit, when the run starts."""
    records = batch_records()
    if records and records[-1]["done"]:
        return [f"  the search ended after batch {len(records) - 2}"]
    receipts = [
        entry(item["arch_id"], item["epochs"])
        for record in records
        for item in record["proposals"]
    ]
    missing = [receipt for receipt in receipts if not Path(receipt).exists()]
    if missing:
        return [
            f"  batch {len(records) - 1} still trains {len(missing)} of its trainings"
        ]
    return [
        f"  next: batch {len(records)}, up to {PLAN.batch_size} trainings, asked of "
        f"{config['search']['strategy']} when the run starts (a dry run never asks it)"
    ]


if workflow.output_settings.dryrun:
    if not OTHERS_ONLY:
        for line in plan_lines() + (next_batch_lines() if LIVE else []):
            logger.info(line)
    if "verify_published" in TARGETS:
        for line in verification_estimate(
            Path("results/published"), config["verify"]["k"]
        ):
            logger.info(line)
