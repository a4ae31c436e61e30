"""Train one candidate into its entry of the store: metrics, per-epoch history (rule `train`).

Two kinds of error, kept apart. A candidate whose own computation raises (out of memory, ...)
is a result: raised again while Snakemake has retries left, then recorded as `status: failed`
with its text. Anything else (no CUDA device, unreadable data, a bug) means the environment is
broken: the job fails, writes no metrics file, and the next run tries the candidate again.

The recipe comes as `params` (its hash is in the entry's path); operational settings are read
from the config, so that changing them retrains nothing.
"""

import csv
import io
import sys
from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)
import torch

from random_nas.data import EXPLAINED, prepared_splits
from random_nas.files import write_json, write_text
from random_nas.logs import log_to
from random_nas.space import Architecture
from random_nas.train import DeviceUnavailableError, TrainingConfig, train_candidate

logger = log_to(snakemake.log[0])
operational = snakemake.config["training"]
torch.set_num_threads(snakemake.threads)
arch = Architecture.from_dict(snakemake.params.architecture)
config = TrainingConfig.from_config(
    {**snakemake.params.training, "eval_batch_size": operational["eval_batch_size"]},
    snakemake.params.seed,
)
attempt, attempts = snakemake.resources.attempt, operational["retries"] + 1
entry = Path(snakemake.output.metrics).parent
# Beside the entry's outputs, so that it moves with them (a module's prefix, another store).
checkpoint = entry / "checkpoint.pt"
logger.info(
    "training %s (attempt %d of %d, %d threads, evaluation batches of %d): %s",
    arch.arch_id,
    attempt,
    attempts,
    snakemake.threads,
    config.eval_batch_size,
    arch,
)
try:
    location = {key: snakemake.config["dataset"][key] for key in ("root", "download")}
    splits = prepared_splits(Path(snakemake.input.data).parent, snakemake.params.dataset, location)
    write_json(entry.parent.parent / "recipe.json", snakemake.params.training, replace=False)
    result = train_candidate(
        arch, splits, config, checkpoint, data=snakemake.params.dataset, attempt=attempt
    )
except (*EXPLAINED, DeviceUnavailableError) as error:
    # A problem the message explains (and the workflow profile shows the log on failure):
    # one line a person acts on. Anything else is a bug and keeps its traceback.
    logger.error(
        "no result for %s: the environment is broken (not the candidate), so nothing is "
        "recorded and the next run trains it again: %s",
        arch.arch_id,
        error,
    )
    sys.exit(1)
except Exception:
    logger.exception(
        "no result for %s: the environment is broken (not the candidate), so nothing is "
        "recorded and the next run trains it again",
        arch.arch_id,
    )
    raise
if result.status == "failed" and attempt < attempts:
    logger.error(
        "attempt %d of %d failed (%s); Snakemake will retry",
        attempt,
        attempts,
        result.metrics["error"],
    )
    sys.exit(1)

buffer = io.StringIO()
writer = csv.DictWriter(buffer, fieldnames=list(result.history[0]) if result.history else ["epoch"])
writer.writeheader()
writer.writerows(result.history)
write_text(snakemake.output.history, buffer.getvalue())
write_json(snakemake.output.metrics, result.metrics)
if not operational["keep_checkpoints"]:
    checkpoint.unlink(missing_ok=True)
logger.info("%s: %s, val accuracy %s", arch.arch_id, result.status, result.metrics["val_accuracy"])
