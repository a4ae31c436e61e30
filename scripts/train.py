"""Train one candidate and write its metrics and per-epoch history (rule `train`).

Two kinds of error, kept apart. A candidate whose own training raises (out of memory, ...) is
a result: raised again while Snakemake has retries left, then recorded as `status: failed`
with its text. Anything else (no CUDA device, unreadable data, a bug) means the environment is
broken: the job fails, writes no metrics file, and the next run tries the candidate again.

The recipe comes as `params` (Snakemake retrains when it changes); operational settings are
read from the config, so that changing them retrains nothing.
"""

import csv
import io
import time
from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)
import torch

from random_nas.data import load_splits
from random_nas.files import write_json, write_text
from random_nas.logs import log_to
from random_nas.space import Architecture
from random_nas.train import (
    CandidateFailure,
    TrainingConfig,
    resolve_device,
    resolve_precision,
    train_candidate,
)
from random_nas.versions import hardware, package_versions

logger = log_to(snakemake.log[0])
operational = snakemake.config["training"]
torch.set_num_threads(snakemake.threads)
record = snakemake.params.architecture
arch = Architecture.from_dict(record)
config = TrainingConfig.from_config(
    {**snakemake.params.training, "eval_batch_size": operational["eval_batch_size"]},
    snakemake.params.seed,
)
attempt, attempts = snakemake.resources.attempt, operational["retries"] + 1
# Beside the job's outputs, so that it moves with them (a module's prefix, another run name).
checkpoint = Path(snakemake.output.metrics).with_name("checkpoint.pt")
logger.info(
    "training %s (attempt %d of %d, %d threads, evaluation batches of %d): %s",
    record["arch_id"],
    attempt,
    attempts,
    snakemake.threads,
    config.eval_batch_size,
    arch,
)

started = time.perf_counter()
try:
    splits = load_splits(snakemake.input.dataset)
    device = resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    result = train_candidate(arch, splits, config, checkpoint)
    metrics, history = result.metrics, result.history
except CandidateFailure as failure:
    if attempt < attempts:
        logger.exception("attempt %d of %d failed; Snakemake will retry", attempt, attempts)
        raise
    logger.exception("last attempt failed: recording the candidate as failed")
    metrics = {
        "status": "failed",
        "error": str(failure),
        "device": device.type,
        "precision": precision,
    }
    history = []
except Exception:
    logger.exception(
        "no result for %s: the environment is broken (not the candidate); nothing is recorded "
        "and the next run trains it again",
        record["arch_id"],
    )
    raise

metrics = {
    "arch_id": record["arch_id"],
    "draw": record.get("draw"),
    "index": record.get("index"),
    "layers": record["layers"],
    "dense": record.get("dense", []),
    **metrics,
    "attempt": attempt,
    "wall_seconds": time.perf_counter() - started,
    "hardware": hardware(device.type),
    "recipe": {
        "training": config.recipe(),
        "seed": config.seed,
        "dataset": {
            "name": splits.name,
            "num_classes": splits.num_classes,
            "sizes": splits.sizes(),
            "sha256": splits.sha256,
        },
    },
    "versions": package_versions("torch"),
}
buffer = io.StringIO()
writer = csv.DictWriter(buffer, fieldnames=list(history[0]) if history else ["epoch"])
writer.writeheader()
writer.writerows(history)
write_text(snakemake.output.history, buffer.getvalue())
write_json(snakemake.output.metrics, metrics)
if not operational["keep_checkpoints"]:
    checkpoint.unlink(missing_ok=True)
logger.info(
    "%s: %s, val accuracy %s", record["arch_id"], metrics["status"], metrics.get("val_accuracy")
)
