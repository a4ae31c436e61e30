# The one training rule: every training a run, rung, repeat or verification asks for is an
# entry of the store, keyed by its data recipe, training recipe, architecture and seed. A job
# trains an entry the store lacks (under its claim, published once) and copies it into its
# receipt; one whose entry the store holds copies it alone. A receipt is no proof: where its
# entry was retired or removed since, the `taken_out` parameter changes and the job runs again.


import shlex

from snakemake_interface_executor_plugins.settings import DeploymentMethod

from random_nas import warm


def training_request(wildcards, output):
    """What a train job needs, as the first argument of its thin script (its attempt and
    time limit follow: Snakemake evaluates params once, resources at each attempt). Derived
    from the job's output, so Snakemake's params trigger compares the recipe params alone.
    """
    receipt = os.path.dirname(output[0])
    training = training_of(wildcards)
    request = {
        "store": job_store(wildcards, output),
        "data": wildcards.data,
        "recipe": wildcards.recipe,
        "architecture": architecture_of(wildcards),
        "seed": int(wildcards.seed),
        "training": training,
        "dataset": data_of(wildcards),
        "location": {key: config["dataset"][key] for key in ("root", "download")},
        "operational": {
            key: value
            for key, value in config["training"].items()
            if key not in training
        },
        "receipt": receipt,
        "log": os.path.join(receipt, "train.log"),
    }
    return json.dumps(request)


def in_conda():
    return DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method


TRAIN_SCRIPT = os.path.abspath(
    workflow.current_basedir.join("../../scripts/train.py").get_path_or_uri(
        secret_free=True
    )
)
# The train job's thin script, run by the Python of the job's environment (its conda
# environment's where Snakemake made one).
JOB_PYTHON = "python" if in_conda() else shlex.quote(sys.executable)
TRAIN_COMMAND = f"{JOB_PYTHON} {shlex.quote(TRAIN_SCRIPT)}"
WARM_TRAINER = {}


def start_warm_trainer():
    """A warm trainer for this run's local trainings (random_nas.warm), where it has any; one
    line where its trainings each start their own process instead."""
    if workflow.remote_exec or not any(
        job.rule.name == "train" or job.is_checkpoint
        for job in workflow.dag.needrun_jobs()
    ):
        return
    reason = warm.unavailable()
    if reason is None and not workflow.local_exec:
        reason = "they run on the cluster's nodes"
    if reason is None and in_conda():
        reason = "they run in the conda environment Snakemake made for them"
    if reason is not None:
        logger.info(f"Each training starts its own process: {reason}.")
        return
    src = str(Path(TRAIN_SCRIPT).parents[1] / "src")
    path, WARM_TRAINER["process"] = warm.start(os.getpid(), src)
    os.environ[warm.SOCKET_ENV] = path


def stop_warm_trainer():
    if "process" in WARM_TRAINER:
        warm.stop(WARM_TRAINER.pop("process"))


rule train:
    input:
        # The receipt of the data recipe's record, written once: a training depends on the
        # data's content (checked by its SHA-256), not on a file's age. The store's dataset.pt
        # is a cache, prepared again by the job where it is gone; were it the input, preparing
        # it again would mark every entry of the recipe out of date.
        data=ancient(f"{RECEIPTS}/{{data}}/data.json"),
    # The receipt of the entry: a copy of its metrics and history in this working directory.
    # The entry itself is published in the store by the job, once, and no rule owns it.
    output:
        metrics=f"{RECEIPTS}/{{data}}/{{recipe}}/{{arch_id}}/seed_{{seed}}/metrics.json",
        history=f"{RECEIPTS}/{{data}}/{{recipe}}/{{arch_id}}/seed_{{seed}}/history.csv",
    log:
        f"{RECEIPTS}/{{data}}/{{recipe}}/{{arch_id}}/seed_{{seed}}/train.log",
    benchmark:
        f"{RECEIPTS}/{{data}}/{{recipe}}/{{arch_id}}/seed_{{seed}}/benchmark.tsv"
    priority: training_priority
    retries: config["training"]["retries"]
    conda:
        "../envs/random_nas.yaml"
    threads: config["training"]["threads"]
    # Slurm gets --cpus-per-task from threads. Every resource costs Snakemake time per job
    # when it plans, so a GPU is declared only where it means something.
    resources:
        **training_gpu(),
        # A slot for a group's accounting: the cluster profile allows one per submission
        # (a local scope), so a group asks for one training's CPUs and memory and the sum
        # of its members' time limits, as its members run in turn.
        trainings=1,
        attempt=lambda wildcards, attempt: attempt,
        runtime=training_runtime,
        mem_mb=config["training"]["mem_mb"],
    params:
        training=training_of,
        seed=lambda wildcards: int(wildcards.seed),
        dataset=data_of,
        architecture=architecture_of,
        store=job_store,
        taken_out=taken_out,
        # The thin job's request (random_nas.warm: it hands its training to the run's
        # warm trainer where there is one, and trains itself elsewhere).
        request=training_request,
    shell:
        "{TRAIN_COMMAND} {params.request:q} {resources.attempt} {resources.runtime}"
