"""Cluster flags the workflow refuses before the first submission, decided from what it reads
of Snakemake (all of which stands in `read_submission`, checked against Snakemake's own
classes by tests/test_cluster.py, so that an upgrade that renames them fails loudly there).
Stdlib only: the workflow's `onstart` calls it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Submission:
    """How this invocation submits trainings."""

    local: bool  # no executor: nothing is submitted
    jobs: int  # --jobs
    train_group: str | None  # the group the train rule is put in (--groups train=NAME)
    group_size: int  # trainings per group job (--group-components NAME=k; 1 without a group)
    array_rules: frozenset[str]  # --slurm-array-jobs
    trainings: int  # train jobs this invocation runs


def read_submission(workflow: Any) -> Submission:
    """Every Snakemake internal the cluster checks read (Snakemake 9.x, Slurm plugin 2.x)."""
    groups = workflow.group_settings
    group = groups.overwrite_groups.get("train")
    arrays = getattr(workflow.executor_settings, "array_jobs", None) or ""
    local = workflow.local_exec
    return Submission(
        local=local,
        jobs=workflow.nodes,
        train_group=group,
        group_size=groups.group_components.get(group, 1) if group else 1,
        array_rules=frozenset(name.strip() for name in arrays.replace(";", ",").split(",")),
        trainings=0
        if local
        else sum(job.rule.name == "train" for job in workflow.dag.needrun_jobs()),
    )


def submission_problem(submission: Submission, gpu_share: int) -> str | None:
    """Why these flags would strand trainings or misshare a GPU, in one line, or None."""
    if submission.local:
        return None
    if gpu_share > 1 and (submission.train_group is None or submission.group_size != gpu_share):
        where = (
            "not grouped"
            if submission.train_group is None
            else f"in group {submission.train_group!r} of {submission.group_size} per submission"
        )
        return (
            f"training.trainings_per_gpu is {gpu_share}, but the train rule is {where}: pass "
            f"--groups train=gpu --group-components gpu={gpu_share}"
        )
    arrays = submission.array_rules & {"train", "all"}
    if submission.train_group is None and arrays and submission.trainings > submission.jobs:
        # The Slurm plugin (2.8) holds back a rule's ready jobs until all of them have
        # arrived or an array is full: capped by --jobs, they never all arrive.
        parts = -(-submission.trainings // submission.jobs)
        return (
            f"--jobs {submission.jobs} is below the {submission.trainings} trainings this run "
            "submits as job arrays at once, which the Slurm plugin would hold back forever: "
            f"raise --jobs to {submission.trainings}, or run it in parts with --batch "
            f"collect=i/{parts} for i = 1, 2, ..."
        )
    return None
