# The train job's command, and the run's warm trainer (random_nas.warm): a job hands its
# training to it where there is one, and trains itself elsewhere.


import shlex

from snakemake_interface_executor_plugins.settings import DeploymentMethod

from random_nas import warm


def training_command(wildcards, output):
    """The train job's thin script and what it needs, as its first argument (its attempt
    and time limit follow: Snakemake evaluates params once, resources at each attempt).
    Derived from the job's output, so Snakemake's params trigger compares the recipe params
    alone."""
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
    return f"{TRAIN_COMMAND} {shlex.quote(json.dumps(request))}"


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
