"""The cluster refusals, decided without Snakemake; and the Snakemake internals they read,
checked against Snakemake's own classes so that an upgrade that renames one fails here."""

import dataclasses
import inspect

import pytest

from random_nas.cluster import Submission, submission_problem


def submission(**changes) -> Submission:
    fields = {
        "local": False,
        "jobs": 100,
        "train_group": None,
        "group_size": 1,
        "array_rules": frozenset(),
        "trainings": 5,
    }
    return Submission(**{**fields, **changes})


def test_flags_that_strand_or_misshare_trainings_are_named():
    assert submission_problem(submission(), 1) is None
    assert submission_problem(submission(local=True, jobs=1, trainings=9), 4) is None
    stranded = submission(jobs=2, array_rules=frozenset({"train"}))
    assert "--jobs 2 is below the 5 trainings" in submission_problem(stranded, 1)
    assert "--batch collect=i/3" in submission_problem(stranded, 1)
    assert "pass --groups train=gpu --group-components gpu=4" in submission_problem(submission(), 4)
    misfit = submission(train_group="gpu", group_size=2)
    assert "in group 'gpu' of 2 per submission" in submission_problem(misfit, 4)
    assert submission_problem(submission(train_group="gpu", group_size=4), 4) is None


def test_the_snakemake_internals_read_still_exist():
    import snakemake.api  # noqa: F401  (imports the workflow module without a circle)
    from snakemake.dag import DAG
    from snakemake.settings.types import GroupSettings
    from snakemake.workflow import Workflow

    message = "Snakemake renamed what random_nas.cluster.read_submission reads: update it"
    for name in ("local_exec", "nodes", "dag"):
        assert isinstance(inspect.getattr_static(Workflow, name, None), property), message
    fields = {field.name for field in dataclasses.fields(Workflow)}
    assert {"group_settings", "executor_settings"} <= fields, message
    assert {"overwrite_groups", "group_components"} <= {
        field.name for field in dataclasses.fields(GroupSettings)
    }, message
    assert callable(getattr(DAG, "needrun_jobs", None)), message
    slurm = pytest.importorskip("snakemake_executor_plugin_slurm")
    assert "array_jobs" in {f.name for f in dataclasses.fields(slurm.ExecutorSettings)}, message
