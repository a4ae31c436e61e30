"""One train job (rule `train`): make sure its entry is in the store, then write this working
directory's receipt of it.

The entry's life is the store's (random_nas.store.entry): this module says what a claim trains and
how a job reports it. A job whose entry is published only copies it, without importing torch.
An environment fault (random_nas.faults) publishes nothing and fails the job in one line; a
candidate's own failure is published as `failed` once Snakemake's retries are spent.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from random_nas.faults import disk_fault
from random_nas.files import write_json, write_text
from random_nas.logs import also_log_to, log_to
from random_nas.store.claim import Claim, ClaimLost
from random_nas.store.entry import EntryDamaged, Holder, Store, WaitLimitReached, write_receipt
from random_nas.store.layout import StorePathError, entry_dir

logger = logging.getLogger(__name__)


# What a job's log says where it trained nothing: read back by received_from_store.
FOUND_WORDS = "is in the store"
LOST_WORDS = "was published by another job first"


def received_from_store(log: str | Path) -> bool:
    """Whether the train job that wrote `log` (its receipt's train.log) found its entry in
    the store, or saw another job publish it first, rather than training it."""
    try:
        text = Path(log).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return FOUND_WORDS in text or LOST_WORDS in text


class JobFailed(RuntimeError):
    """The job fails with this one line (already logged); nothing was published."""


def wait_allowance(runtime_minutes: float, minutes_per_epoch: float, epochs: int) -> float:
    """Seconds a job may wait for another holder of its entry: its own time limit less the
    time it would need to train the entry itself, should that holder be gone (at least one
    minute)."""
    return max(60.0, 60.0 * (runtime_minutes - minutes_per_epoch * epochs))


@dataclass
class TrainingJob:
    """What one train job is asked for: the entry's key and recipes, and how to run it."""

    store: Store
    data: str
    recipe: str
    architecture: Mapping[str, Any]
    seed: int
    training: Mapping[str, Any]
    dataset: Mapping[str, Any]
    # The config's operational settings: dataset location, threads, retries, checkpoints,
    # time and memory limits, GPU sharing (none of them changes the result).
    location: Mapping[str, Any]
    operational: Mapping[str, Any]
    attempt: int = 1
    runtime_minutes: float | None = None
    # Which process trains: the job's own, or a fork of the run's warm trainer.
    process: str = "in its own process"

    @property
    def entry(self) -> Path:
        return Path(
            entry_dir(str(self.store.root), self.data, self.recipe, self.arch_id, self.seed)
        )

    @property
    def arch_id(self) -> str:
        return str(self.architecture["arch_id"])

    @property
    def label(self) -> str:
        """How the console names this training: architecture, seed and budget."""
        epochs = int(self.training["epochs"])
        return f"{self.arch_id} seed {self.seed} at {epochs} epoch{'s' * (epochs != 1)}"

    def run(self, receipt: Path) -> str:
        """Make sure the entry is published, then copy it into `receipt`; what was done."""
        epochs = self.training["epochs"]
        minutes_per_epoch = self.operational["minutes_per_epoch"]
        wait = (
            None
            if self.runtime_minutes is None
            else wait_allowance(self.runtime_minutes, minutes_per_epoch, epochs)
        )

        def waiting(holder: Holder | None) -> None:
            limit = "as long as it takes" if wait is None else f"up to {wait:.0f} s"
            logger.info(
                "%s is being trained by %s; waiting %s for its result",
                self.label,
                holder or "another job",
                limit,
            )

        def lost(loss: ClaimLost) -> None:
            logger.warning(
                "%s: this job's claim was taken over (%s); it stops, writes nothing more into "
                "the store and takes the other holder's result",
                self.label,
                loss,
            )

        outcome = self.store.obtain(
            self.entry,
            self._train,
            wait_seconds=wait,
            on_wait=waiting,
            on_loss=lost,
            epoch_limit_seconds=60.0 * minutes_per_epoch,
        )
        if outcome == "found":
            logger.info("%s %s (%s): nothing to train", self.label, FOUND_WORDS, self.entry)
        elif outcome == "lost":
            logger.info("%s %s: its entry stands", self.label, LOST_WORDS)
        write_receipt(self.entry, receipt)
        return outcome

    def _train(self, claim: Claim) -> None:
        """Train the entry into the claim's folder (the caller publishes it)."""
        with also_log_to(claim.folder / "train.log"):
            result = self._result(claim)
            if result.status == "failed" and self.attempt < self.attempts:
                logger.error(
                    "%s: attempt %d of %d failed (%s); Snakemake will retry",
                    self.label,
                    self.attempt,
                    self.attempts,
                    result.metrics["error"],
                )
                raise JobFailed(result.metrics["error"])
            try:
                self._write_entry(claim, result)
            except OSError as error:
                if (full := disk_fault(error, claim.folder)) is None:
                    raise
                logger.error("no result for %s: %s; nothing is published", self.label, full)
                raise JobFailed(full) from error
            if not self.operational["keep_checkpoints"]:
                claim.checkpoint.unlink(missing_ok=True)
            logger.info(
                "%s: %s, val accuracy %s",
                self.label,
                result.status,
                result.metrics["val_accuracy"],
            )

    @staticmethod
    def _write_entry(claim: Claim, result: Any) -> None:
        """The entry's files in the claim's folder: its per-epoch history and its record."""
        buffer = io.StringIO()
        fields = list(result.history[0]) if result.history else ["epoch"]
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        writer.writerows(result.history)
        write_text(claim.folder / "history.csv", buffer.getvalue(), make_parent=False)
        write_json(claim.folder / "metrics.json", result.metrics, make_parent=False)

    @property
    def attempts(self) -> int:
        return self.operational["retries"] + 1

    def _result(self, claim: Claim) -> Any:
        import torch

        from random_nas.data import EXPLAINED, prepared_splits
        from random_nas.faults import UNRECOGNISED, EnvironmentFault
        from random_nas.space import Architecture
        from random_nas.train import train_candidate
        from random_nas.training_config import DeviceUnavailableError, TrainingConfig

        threads = self.operational["threads"]
        torch.set_num_threads(threads)
        config = TrainingConfig.from_config(
            {**self.training, "eval_batch_size": self.operational["eval_batch_size"]}, self.seed
        )
        arch = Architecture.from_dict(self.architecture)
        logger.info(
            "training %s (attempt %d of %d, %d threads, evaluation batches of %d, %s): %s",
            self.label,
            self.attempt,
            self.attempts,
            threads,
            config.eval_batch_size,
            self.process,
            arch,
        )
        try:
            splits = prepared_splits(self.entry.parents[2], self.dataset, self.location)
            write_json(self.entry.parents[1] / "recipe.json", dict(self.training), replace=False)
            return train_candidate(
                arch,
                splits,
                config,
                claim.checkpoint,
                data=self.dataset,
                attempt=self.attempt,
                on_epoch=lambda done: claim.progress(done, config.epochs),
                trainings_per_device=self.operational["trainings_per_gpu"],
                memory_limit_bytes=int(self.operational["mem_mb"]) * 2**20,
            )
        except (*EXPLAINED, DeviceUnavailableError, EnvironmentFault) as error:
            # A claim taken over while this job was stopped fails its next write: not a fault.
            claim.check()
            # One line a person acts on (the workflow profile shows the log on failure).
            unrecognised = isinstance(error, EnvironmentFault) and error.fault.kind == UNRECOGNISED
            blame = (
                "the error is not recognised as the candidate's or the environment's (its "
                "traceback is in the log above)"
                if unrecognised
                else "the environment is at fault (not the candidate)"
            )
            message = (
                f"no result for {self.label}: {error}; {blame}, so nothing is published and "
                "the next run trains it again"
            )
            logger.error("%s", message)
            raise JobFailed(message) from error


def run_request(request: Mapping[str, Any], process: str = "in its own process") -> int:
    """A train job's whole work, from the request the train rule gives its script (the
    entry's key and recipes, the config's operational settings, the job's attempt, time limit,
    receipt folder and log), trained by `process`: the status the job ends with."""
    job_logger = log_to(request["log"])
    job = TrainingJob(
        store=Store(request["store"]),
        data=request["data"],
        recipe=request["recipe"],
        architecture=request["architecture"],
        seed=request["seed"],
        training=request["training"],
        dataset=request["dataset"],
        location=request["location"],
        operational=request["operational"],
        attempt=request["attempt"],
        runtime_minutes=request["runtime_minutes"],
        process=process,
    )
    try:
        job.run(Path(request["receipt"]))
    except JobFailed:
        return 1
    except (WaitLimitReached, StorePathError, EntryDamaged) as error:
        job_logger.error("%s: %s", job.label, error)
        return 1
    return 0
