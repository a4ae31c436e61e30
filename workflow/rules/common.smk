# Parse-time helpers. Every cluster job parses this file again, so it stays cheap: the
# library's search-space module imports no torch, and sampling 10,000 ids takes milliseconds.
import json
import os
import re
from pathlib import Path

import yaml
from snakemake.logging import logger

from random_nas.cluster import read_submission, submission_problem
from random_nas.halving import hyperband_run_brackets, rung_budgets
from random_nas.layout import (
    PLOT_FORMATS,
    REPLAY_FILES,
    STUDY_FILES,
    report_files,
    report_plots,
    report_tables,
)
from random_nas.settings import (
    canonical,
    data_recipe,
    gpu_present,
    missing_dataset,
    sampling_seed,
    split_problem,
    table_config,
    training_recipe,
)
from random_nas.space import Architecture, SearchSpace, sampled_records
from random_nas.studies import study_tables
from random_nas.store import (
    DATA_KEY_PATTERN,
    RECIPE_KEY_PATTERN,
    data_key,
    entry_dir,
    recipe_key,
    store_tag,
)


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
if (problem := split_problem(config["dataset"])) is not None:
    raise WorkflowError(f"config {problem}")
if not config["dataset"]["download"] and (
    missing := missing_dataset(config["dataset"])
):
    logger.warning(
        f"dataset {config['dataset']['name']} is not under dataset.root: {missing} does not "
        "exist and dataset.download is false; trainings the store lacks will fail until it is "
        "there"
    )
SCHEMA = workflow.current_basedir.join("../schemas/config.schema.yaml").get_path_or_uri(
    secret_free=True
)
RUN_DIR = f"results/{config['run']}"
STORE = config["store"].rstrip("/")
# A verification retrains into a store of its own: the entries of the run it checks would
# otherwise check the store against itself.
VERIFY_STORE = config["verify"]["store"].rstrip("/")
# This working directory's receipts of the store's entries it used: the train rule's outputs,
# where Snakemake's bookkeeping (incomplete markers, clean-up of failed jobs) may reach. One
# folder per store, `{store}` the hash of its real path: a run given another store asks it.
RECEIPTS = "results/receipts/{store}"
STORES = {store_tag(store): store for store in (STORE, VERIFY_STORE)}
# arch_id -> the contents of its architecture file, in draw order.
SAMPLED = {
    record["arch_id"]: record
    for record in sampled_records(
        SPACE, config["num_architectures"], sampling_seed(config)
    )
}
ARCH_IDS = list(SAMPLED)
PUBLISHED_RUNS = sorted(
    path.parent.name for path in Path("results/published").glob("*/candidates.parquet")
)
# `auto` on a machine with a GPU trains on it, so it asks for the gpu resource as `cuda` does.
TRAIN_ON_GPU = config["training"]["device"] == "cuda" or (
    config["training"]["device"] == "auto" and gpu_present()
)
# Trainings side by side on one GPU (1 where there is no GPU to share).
GPU_SHARE = config["training"]["trainings_per_gpu"] if TRAIN_ON_GPU else 1
REPEAT_SEEDS = config["repeats"]["seeds"] if config["repeats"]["top_k"] > 0 else []
# Successive halving, alone or in Hyperband's brackets: a run of rungs and trials.
HALVING = config["search"]["strategy"] in ("successive_halving", "hyperband")
HYPERBAND = config["search"]["strategy"] == "hyperband"
DENSE_GRID = config["search"]["dense_grid"]
try:
    # The budgets min_epochs x eta^r up to training.epochs: halving's rungs, a dense grid's.
    LADDER = rung_budgets(
        config["search"]["min_epochs"],
        config["search"]["eta"],
        config["training"]["epochs"],
    )
except ValueError as error:
    if HALVING or DENSE_GRID:
        raise WorkflowError(f"config {error}")
    LADDER = [config["training"]["epochs"]]
BUDGETS = LADDER if HALVING else [config["training"]["epochs"]]
try:
    BRACKETS = (
        hyperband_run_brackets(
            config["num_architectures"],
            config["search"]["min_epochs"],
            config["search"]["eta"],
            config["training"]["epochs"],
        )
        if HYPERBAND
        else []
    )
except ValueError as error:
    raise WorkflowError(f"config search.strategy is 'hyperband': {error}")
if config["seed"] in REPEAT_SEEDS:
    raise WorkflowError(
        f"config repeats.seeds holds the run's own seed {config['seed']}: the first round "
        "already trains every candidate with it; list other seeds"
    )


class Recipes:
    """The data and training recipes this workflow knows, by their store keys: the run's own
    (at every budget it trains) and, read when first asked for, each published run's. A train
    job's wildcards name keys; its parameters are the recipes behind them."""

    def __init__(self):
        self.data = {}
        self.training = {}
        self.architectures = {}
        self.published = {}

    def add(self, run_config, budgets):
        data = data_recipe(run_config)
        key = data_key(data)
        self.data[key] = data
        for budget in budgets:
            training = training_recipe(run_config, budget)
            self.training[(key, recipe_key(training))] = training
        return key

    def published_config(self, name):
        """A published run's own committed config, with the schema's defaults for keys added
        since it was published (results/published/{name}/config.yaml)."""
        if name not in self.published:
            path = Path("results/published") / name / "config.yaml"
            if not path.exists():
                raise WorkflowError(
                    f"published run {name!r} has no config.yaml at {path}"
                )
            published = yaml.safe_load(path.read_text(encoding="utf-8"))
            validate(published, SCHEMA)
            self.add(published, published_budgets(published))
            space = SearchSpace.from_config(published["search_space"])
            for record in sampled_records(
                space, published["num_architectures"], sampling_seed(published)
            ):
                self.architectures.setdefault(record["arch_id"], record)
            self.published[name] = published
        return self.published[name]

    def _lookup(self, table, key, what):
        if key not in table:
            for name in PUBLISHED_RUNS:
                self.published_config(name)
        if key not in table:
            raise WorkflowError(
                f"{what} {key} is not one this workflow knows: the config names "
                f"{config['num_architectures']} architectures of run {config['run']!r} and its "
                "recipes, and each published run under results/published/ its own"
            )
        return table[key]

    def data_of(self, wildcards):
        return self._lookup(self.data, wildcards.data, "data recipe")

    def training_of(self, wildcards):
        return self._lookup(
            self.training, (wildcards.data, wildcards.recipe), "training recipe"
        )

    def architecture_of(self, wildcards):
        """The architecture a train job trains (arch_id, layers, dense). Train jobs take it
        as a parameter rather than reading the sample's files: a dependency of N jobs on the
        one sample job would make Snakemake re-plan them all whenever N grows."""
        record = SAMPLED.get(wildcards.arch_id) or self._lookup(
            self.architectures, wildcards.arch_id, "architecture"
        )
        return {
            "arch_id": record["arch_id"],
            "layers": record["layers"],
            "dense": record["dense"],
        }


def published_budgets(run_config):
    search = run_config["search"]
    if search["strategy"] != "random" or search["dense_grid"]:
        return rung_budgets(
            search["min_epochs"], search["eta"], run_config["training"]["epochs"]
        )
    return [run_config["training"]["epochs"]]


RECIPES = Recipes()
TRAINED_BUDGETS = sorted(set(BUDGETS) | set(LADDER if DENSE_GRID else []))
DATA_KEY = RECIPES.add(config, TRAINED_BUDGETS)
RECIPE_KEYS = {
    budget: recipe_key(training_recipe(config, budget)) for budget in TRAINED_BUDGETS
}


def entry(arch_id, epochs=None, seed=None):
    """The metrics file of one of this run's trainings in the store: the run's data and
    training recipe, at `epochs` (default training.epochs) and training `seed` (default the
    run's)."""
    epochs = config["training"]["epochs"] if epochs is None else epochs
    seed = config["seed"] if seed is None else seed
    return training_input(STORE, DATA_KEY, RECIPE_KEYS[epochs], arch_id, seed)


def training_input(store, data, recipe, arch_id, seed):
    """The metrics file read for one training: this working directory's receipt where
    it has one; else the store's published entry where there is one, a plain input that no
    job makes and Snakemake never deletes (a dry run then lists only what the store lacks);
    else the receipt that the train rule will make."""
    receipts = RECEIPTS.format(store=store_tag(store))
    receipt = f"{entry_dir(receipts, data, recipe, arch_id, seed)}/metrics.json"
    published = f"{entry_dir(store, data, recipe, arch_id, seed)}/metrics.json"
    if not Path(receipt).exists() and Path(published).exists():
        return published
    return receipt


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
    published = RECIPES.published_config(name)
    data = data_key(data_recipe(published))
    recipe = recipe_key(training_recipe(published, epochs))
    return training_input(VERIFY_STORE, data, recipe, arch_id, published["seed"])


# Every study.yaml under results/, one or two folders down (results/published/* among them).
STUDIES = sorted(
    str(path.parent)
    for pattern in ("results/*/study.yaml", "results/*/*/study.yaml")
    for path in Path().glob(pattern)
)


def study_inputs(wildcards):
    """The tables a study renders from, or the one line that says what is wrong with it."""
    try:
        return study_tables(f"{wildcards.study}/study.yaml")
    except ValueError as error:
        raise WorkflowError(str(error)) from None


wildcard_constraints:
    # Only the folders that hold a study.yaml: a run's own report files are the report rule's.
    study="|".join(map(re.escape, STUDIES)) or r"(?!)",
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
    arch = Architecture.from_dict(RECIPES.architecture_of(wildcards))
    return (
        arch.forward_flops((3, 32, 32), 10)
        / 1e6
        * RECIPES.training_of(wildcards)["epochs"]
    )


def training_runtime(wildcards, attempt):
    """The time limit a cluster job asks for (minutes), from its own recipe's epochs; doubled
    on each retry. A group of trainings, which run in turn, asks for the sum of its members'
    (the `trainings` slot, one per submission, stacks them in series)."""
    epochs = RECIPES.training_of(wildcards)["epochs"]
    return attempt * (10 + config["training"]["minutes_per_epoch"] * epochs)


def training_gpu():
    """A training's GPU request: one GPU each or, where k trainings share one, `gres=gpu:1`,
    a string resource that a group of trainings asks for once (where it sums `gpu`), and
    `gpu_share=1`, which it sums (k in a group of k)."""
    if not TRAIN_ON_GPU:
        return {}
    if GPU_SHARE == 1:
        return {"gpu": 1}
    return {"gres": "gpu:1", "gpu_share": 1}


def check_cluster_submission():
    """Refuse, before the first submission, cluster flags under which trainings would wait
    forever or a GPU would be shared by the wrong number of trainings."""
    problem = submission_problem(read_submission(workflow), GPU_SHARE)
    if problem is not None:
        raise WorkflowError(problem)


def written_reports(since):
    """What to point at after a run, written since `since` (seconds since the epoch): the
    run's report, the published runs' and the verifications' verdicts."""
    candidates = [
        (f"The report of run {config['run']!r}", Path(f"{RUN_DIR}/report/index.html")),
        *(
            (f"The published report of {path.parent.parent.name!r}", path)
            for path in sorted(Path("results/published").glob("*/report/index.html"))
        ),
        *(
            (f"The verification of {path.parent.name!r}", path)
            for path in sorted(Path("results/verify").glob("*/verification.md"))
        ),
    ]
    return [
        f"{what}: {path}"
        for what, path in candidates
        if path.exists() and path.stat().st_mtime >= since
    ]


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
    tables = {"table": f"{run_dir}/candidates.parquet"}
    if REPEAT_SEEDS:
        tables["repeats"] = f"{run_dir}/repeats.parquet"
    if HALVING:
        tables["trials"] = f"{run_dir}/trials.parquet"
        tables["curves"] = f"{run_dir}/curves.parquet"
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
