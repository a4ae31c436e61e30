"""Train one candidate into its entry of the store, then write this working directory's
receipt of it: a copy of its metrics and per-epoch history (rule `train`).

The entry belongs to the store, which other working directories and machines share: it is
trained under its lock in a private folder and published once, read-only (random_nas.entry).
A job that finds the entry published, or published while it waited for the lock, trains
nothing and only writes the receipt. Snakemake owns the receipt alone, so no clean-up of a
failed or incomplete job in any working directory deletes an entry.

Two kinds of error, kept apart. A candidate whose own computation raises (out of memory, ...)
is a result: raised again while Snakemake has retries left, then recorded as `status: failed`
with its text. Anything else (no CUDA device, unreadable data, a bug) means the environment is
broken: the job fails, publishes nothing, and the next run tries the candidate again; the
private folder keeps its epoch checkpoint for it.

The recipe comes as `params` (its hash is in the entry's path); operational settings (the
store's location among them) are read from the config or given as params that are
functions of the job's output, so that changing them retrains nothing.
"""

import csv
import io
import sys
from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)
import torch

from random_nas.data import EXPLAINED, prepared_splits
from random_nas.entry import entry_lock, is_published, private_folder, publish, write_receipt
from random_nas.files import write_json, write_text
from random_nas.logs import also_log_to, log_to
from random_nas.space import Architecture
from random_nas.store import entry_dir
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
key = [snakemake.wildcards[name] for name in ("data", "recipe", "arch_id", "seed")]
receipt = Path(snakemake.output.metrics).parent
entry = Path(entry_dir(snakemake.params.store, *key))


def train_and_publish() -> None:
    """Train the entry in its private folder and publish it (the caller holds its lock)."""
    private = private_folder(entry)
    checkpoint = private / "checkpoint.pt"
    with also_log_to(private / "train.log"):
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
            splits = prepared_splits(entry.parents[2], snakemake.params.dataset, location)
            write_json(entry.parents[1] / "recipe.json", snakemake.params.training, replace=False)
            result = train_candidate(
                arch, splits, config, checkpoint, data=snakemake.params.dataset, attempt=attempt
            )
        except (*EXPLAINED, DeviceUnavailableError) as error:
            # A problem the message explains (and the workflow profile shows the log on
            # failure): one line a person acts on. Anything else is a bug and keeps its
            # traceback.
            logger.error(
                "no result for %s: the environment is broken (not the candidate), so nothing "
                "is recorded and the next run trains it again: %s",
                arch.arch_id,
                error,
            )
            sys.exit(1)
        except Exception:
            logger.exception(
                "no result for %s: the environment is broken (not the candidate), so nothing "
                "is recorded and the next run trains it again",
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
        fields = list(result.history[0]) if result.history else ["epoch"]
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        writer.writerows(result.history)
        write_text(private / "history.csv", buffer.getvalue())
        write_json(private / "metrics.json", result.metrics)
        if not operational["keep_checkpoints"]:
            checkpoint.unlink(missing_ok=True)
        logger.info(
            "%s: %s, val accuracy %s", arch.arch_id, result.status, result.metrics["val_accuracy"]
        )
    publish(private, entry)


def waiting(holder: str) -> None:
    logger.info("%s is being trained by %s; waiting for its result", arch.arch_id, holder)


if is_published(entry):
    logger.info("%s is in the store already (%s): nothing to train", arch.arch_id, entry)
else:
    with entry_lock(entry, on_wait=waiting):
        if is_published(entry):
            logger.info("%s was published while this job waited: nothing to train", arch.arch_id)
        else:
            train_and_publish()
write_receipt(entry, receipt)
