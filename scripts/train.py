"""Train one candidate and write its metrics and per-epoch history (rule `train`).

A training error is raised again while Snakemake has retries left; on the last attempt it is
recorded as `status: failed` with its text, so that collect and report still complete.
"""

import csv
import io
import os
import time
import traceback
from pathlib import Path

import torch

from random_nas.data import load_splits
from random_nas.files import write_json, write_text
from random_nas.logs import log_to
from random_nas.space import Architecture
from random_nas.train import TrainingConfig, train_candidate
from random_nas.versions import package_versions

logger = log_to(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
record = snakemake.params.architecture
arch = Architecture.from_dict(record)
config = TrainingConfig.from_config(snakemake.params.training, snakemake.params.seed)
attempt, attempts = snakemake.resources.attempt, snakemake.params.retries + 1
checkpoint = Path(snakemake.params.checkpoint)
logger.info("training %s (attempt %d of %d): %s", record["arch_id"], attempt, attempts, arch)

started = time.perf_counter()
try:
    if os.environ.get("RANDOM_NAS_FAIL_ARCH") == record["arch_id"]:
        raise RuntimeError("injected failure (RANDOM_NAS_FAIL_ARCH)")
    result = train_candidate(arch, load_splits(snakemake.input.dataset), config, checkpoint)
    metrics, history = result.metrics, result.history
except Exception as error:
    if attempt < attempts:
        logger.exception("attempt %d of %d failed; Snakemake will retry", attempt, attempts)
        raise
    logger.exception("last attempt failed: recording the candidate as failed")
    metrics = {"status": "failed", "error": "".join(traceback.format_exception_only(error)).strip()}
    history = []

metrics = {
    "arch_id": record["arch_id"],
    "draw": record.get("draw"),
    "index": record.get("index"),
    "layers": record["layers"],
    "dense": record.get("dense", []),
    **metrics,
    "attempt": attempt,
    "wall_seconds": time.perf_counter() - started,
    "versions": package_versions("torch"),
}
buffer = io.StringIO()
writer = csv.DictWriter(buffer, fieldnames=list(history[0]) if history else ["epoch"])
writer.writeheader()
writer.writerows(history)
write_text(snakemake.output.history, buffer.getvalue())
write_json(snakemake.output.metrics, metrics)
if not snakemake.params.keep_checkpoint:
    checkpoint.unlink(missing_ok=True)
logger.info(
    "%s: %s, val accuracy %s", record["arch_id"], metrics["status"], metrics.get("val_accuracy")
)
