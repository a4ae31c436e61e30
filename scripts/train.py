"""Make sure one training is in the store, then write this working directory's receipt of it:
a copy of its metrics and per-epoch history (rule `train`; random_nas.job does the work).

The recipe comes as `params` (its hash is in the entry's path); operational settings (the
store's location among them) are read from the config or given as params that are functions
of the job's output, so that changing them retrains nothing.
"""

import sys
from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)

from random_nas.job import JobFailed, TrainingJob
from random_nas.logs import log_to
from random_nas.store.entry import EntryDamaged, Store, WaitLimitReached
from random_nas.store.layout import StorePathError

logger = log_to(snakemake.log[0])
job = TrainingJob(
    store=Store(snakemake.params.store),
    data=snakemake.wildcards.data,
    recipe=snakemake.wildcards.recipe,
    architecture=snakemake.params.architecture,
    seed=snakemake.params.seed,
    training=snakemake.params.training,
    dataset=snakemake.params.dataset,
    location={key: snakemake.config["dataset"][key] for key in ("root", "download")},
    operational=snakemake.config["training"],
    attempt=snakemake.resources.attempt,
    runtime_minutes=snakemake.resources.runtime,
)
try:
    job.run(Path(snakemake.output.metrics).parent)
except JobFailed:
    sys.exit(1)
except (WaitLimitReached, StorePathError, EntryDamaged) as error:
    logger.error("%s: %s", job.label, error)
    sys.exit(1)
