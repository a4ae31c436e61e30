"""The real `snakemake` on tiny configs, in a temporary copy of the workflow."""

import base64
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import (
    TINY_CONFIG,
    WORKFLOW_FILES,
    out_of_memory_for,
    receipt_of,
    run_for_table,
    run_snakemake,
    run_table,
    slowed_epochs,
    snakemake_command,
    store_entries,
    store_entry,
    write_config,
)

from random_nas.report_files import report_files
from random_nas.space import SearchSpace
from random_nas.store.entry import Store

TIMING_KEYS = {
    "train_seconds",
    "eval_seconds",
    "wall_seconds",
    "seconds_to_first_step",
    "images_per_second",
    "peak_memory_bytes",
}


def tiny(**changes) -> dict:
    config = json.loads(json.dumps(TINY_CONFIG))
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            config[section][name] = value
        else:
            config[section] = value
    return config


def tiny_arch_ids(config: dict) -> list[str]:
    space = SearchSpace.from_config(config["search_space"])
    return [
        arch.arch_id for arch in space.sample(config["num_architectures"], config.get("seed", 0))
    ]


def planned_jobs(workdir, configfile, *targets: str) -> dict[str, int]:
    """The job counts of a dry run (`snakemake -n`), by rule."""
    stdout = run_snakemake(workdir, configfile, "-n", *targets).stdout
    if "Nothing to be done" in stdout:
        return {}
    table = stdout.split("Job stats:")[1].split("\n\n")[0].splitlines()[3:]
    return {rule: int(count) for rule, count in (line.split() for line in table)}


def recorded(workdir, output) -> bool:
    """Whether Snakemake has recorded the job that wrote `output` as finished."""
    name = base64.urlsafe_b64encode(str(output.relative_to(workdir)).encode()).decode()
    return (workdir / ".snakemake" / "metadata" / name).exists()


def comparable(metrics_path) -> dict:
    metrics = json.loads(metrics_path.read_text())
    return {key: value for key, value in metrics.items() if key not in TIMING_KEYS}


def test_tiny_run_end_to_end_is_complete_and_reproducible(workdir, tmp_path_factory):
    configfile = write_config(workdir, TINY_CONFIG)
    run_snakemake(workdir, configfile, umask=0o002)
    run = workdir / "results" / "tiny"
    frame = pd.read_parquet(run / "candidates.parquet")
    assert sorted(frame["arch_id"]) == sorted(tiny_arch_ids(TINY_CONFIG))
    assert set(frame["status"]) == {"ok"}
    assert frame["val_accuracy"].between(0, 1).all() and (frame["flops"] > 0).all()
    # Written as open() would under the umask (group-writable here), not mkstemp's 0600; the
    # store's entries are published read-only (the umask's bits less every write bit).
    entries = store_entries(workdir)
    receipts = sorted(workdir.glob("results/receipts/store-*/*/*/*/seed_*/metrics.json"))
    assert len(entries) == 3 and len(receipts) == 3
    for path in [run / "candidates.parquet", run / "report" / "index.html", *receipts]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o664, path
    for path in entries:
        assert stat.S_IMODE(path.stat().st_mode) == 0o444, path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o555, path.parent
        assert path.read_bytes() == receipts[entries.index(path)].read_bytes()
    # Each row says what it is: the resolved recipe, the data's content hash, the machine.
    metrics = json.loads(entries[0].read_text())
    assert metrics["recipe"]["training"]["lr"] == 0.05 and metrics["recipe"]["seed"] == 0
    assert metrics["recipe"]["dataset"]["sizes"] == {"train": 400, "val": 200, "test": 200}
    assert len(metrics["recipe"]["dataset"]["sha256"]) == 64
    assert metrics["precision"] in ("fp32", "bf16") and metrics["hardware"]
    assert frame["hardware"].notna().all()
    for name in report_files(repeats=False, halving=False):  # curves of every training
        assert (run / "report" / name).stat().st_size > 0, name
    curves = pd.read_parquet(run / "curves.parquet")
    assert set(curves["arch_id"]) == set(frame["arch_id"]) and (curves["epoch"] == 1).all()
    entry = store_entry(workdir, TINY_CONFIG, frame["arch_id"][0]).parent
    assert (entry / "history.csv").read_text().startswith("epoch,")
    assert "epoch 1/1" in (entry / "train.log").read_text()
    assert "forked from the run's warm trainer" in (entry / "train.log").read_text()
    assert json.loads((entry.parent.parent / "recipe.json").read_text())["epochs"] == 1
    assert not list(workdir.glob("results/store/**/checkpoint.pt"))  # removed once done
    run_snakemake(workdir, configfile, "--report", "report.html")
    assert "cost_vs_accuracy.svg" in (workdir / "report.html").read_text()

    # Same config and seed in a second place, each training in its own process there (as on
    # a cluster): identical architecture files, identical metrics.
    other = tmp_path_factory.mktemp("again")
    for name in WORKFLOW_FILES:
        os.symlink(workdir / name, other / name)
    result = run_snakemake(
        other, write_config(other, TINY_CONFIG), env={"RANDOM_NAS_WARM_TRAINER": "0"}
    )
    output = result.stdout + result.stderr
    assert output.count("Each training starts its own process: RANDOM_NAS_WARM_TRAINER=0") == 1
    for path in (run / "architectures").glob("*.json"):
        assert path.read_bytes() == (other / "results/tiny/architectures" / path.name).read_bytes()
    for path in entries:
        assert comparable(path) == comparable(other / path.relative_to(workdir))
        assert (
            "in its own process"
            in (other / path.relative_to(workdir)).with_name("train.log").read_text()
        )

    # Nothing to redo, and operational changes plan no job at all (their keys given in
    # another order, as a merged YAML gives them; all at once: none can undo another's).
    assert planned_jobs(workdir, configfile) == {}
    changed = write_config(workdir, tiny(**OPERATIONAL_CHANGES), "operational.yaml")
    assert planned_jobs(workdir, changed) == {}
    # A cache gone from the store, or a newer trainer script (a git pull), retrains nothing.
    next(workdir.glob("results/store/*/dataset.pt")).unlink()
    (workdir / "scripts/train.py").touch()
    assert planned_jobs(workdir, configfile) == {}


OPERATIONAL_CHANGES = {
    "store": "results/store/",
    "training__threads": 2,
    "training__retries": 3,
    "training__keep_checkpoints": True,
    "training__eval_batch_size": 7,
    "training__minutes_per_epoch": 1,
    "training__trainings_per_gpu": 4,
    "dataset": {**TINY_CONFIG["dataset"], "root": "elsewhere", "download": True},
}


def test_operational_settings_take_effect(workdir):
    config = tiny(
        num_architectures=1,
        training__epochs=2,
        training__threads=2,
        training__eval_batch_size=7,
        training__keep_checkpoints=True,
        training__minutes_per_epoch=4,
    )
    configfile = write_config(workdir, config)
    (arch_id,) = tiny_arch_ids(config)
    assert "runtime=18" in run_snakemake(workdir, configfile, "-n").stdout  # 10 + 4 x 2
    run_for_table(workdir, configfile)
    candidate = store_entry(workdir, config, arch_id).parent
    assert json.loads((candidate / "metrics.json").read_text())["threads"] == 2
    assert "2 threads, evaluation batches of 7" in (candidate / "train.log").read_text()
    assert torch_load_epoch(candidate / "checkpoint.pt") == 1  # kept, and beside the outputs


def torch_load_epoch(path) -> int:
    import torch

    return torch.load(path, weights_only=True)["epoch"]


def test_failed_and_diverged_candidates_are_recorded_and_reported(workdir, tmp_path):
    config = tiny(num_architectures=2)
    failing = tiny_arch_ids(config)[0]
    configfile = write_config(workdir, config)
    result = run_snakemake(workdir, configfile, env=out_of_memory_for(failing, tmp_path / "oom"))
    metrics = json.loads(store_entry(workdir, config, failing).read_text())
    assert metrics["status"] == "failed" and metrics["attempt"] == 2  # retried once, then recorded
    assert metrics["epochs"] == 1 and metrics["epochs_completed"] == 0
    assert "OutOfMemoryError: injected: CUDA out of memory" in metrics["error"]
    assert "Trying to restart job" in result.stderr
    frame = pd.read_parquet(workdir / "results/tiny/candidates.parquet")
    assert sorted(frame["status"]) == ["failed", "ok"]
    assert (
        failing
        in (workdir / "results/tiny/report/ranking.md").read_text().split("Failed and diverged")[1]
    )

    diverging = write_config(workdir, tiny(run="diverging", training__lr=1e6), "diverging.yaml")
    run_snakemake(workdir, diverging)
    frame = pd.read_parquet(workdir / "results/diverging/candidates.parquet")
    assert set(frame["status"]) == {"diverged"} and frame["val_accuracy"].isna().all()
    assert (workdir / "results/diverging/report/index.html").exists()


def test_a_broken_environment_fails_loudly_records_nothing_and_is_retried(workdir):
    config = tiny(num_architectures=1, training__device="cuda", training__retries=0)
    configfile = write_config(workdir, config)
    (arch_id,) = tiny_arch_ids(config)
    result = run_for_table(workdir, configfile, check=False)
    assert result.returncode != 0
    assert "torch sees no CUDA device" in result.stderr  # on the console, not only in a log
    entry = store_entry(workdir, config, arch_id)
    log = receipt_of(entry, workdir).with_name("train.log").read_text()
    assert "the environment is at fault (not the candidate)" in log
    assert not entry.parent.exists()  # nothing published
    assert planned_jobs(workdir, configfile)["train"] == 1  # the next run tries it again


def warm_trainers_of(owner: int) -> list[int]:
    """The warm trainers (and their forks) that Snakemake process `owner` started, alive."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().decode().split("\0")
        except OSError:
            continue
        if "random_nas.warm" in arguments and str(owner) in arguments:
            found.append(int(cmdline.parent.name))
    return found


def _interruptible() -> None:
    """SIGINT as a terminal sends it, even where pytest runs in the background: a shell
    starts background commands with SIGINT ignored, and an ignored signal stays ignored
    across exec (seen: the run finished after the signal)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


HALVING = {"strategy": "successive_halving", "min_epochs": 2, "eta": 3}
# Budgets of 2 and 6 epochs: bracket 0 trains 3 draws for 2 epochs and the best for 6,
# bracket 1 two more draws for 6.
HYPERBAND = {"strategy": "hyperband", "min_epochs": 2, "eta": 3}


@pytest.mark.parametrize(
    ("signal_number", "search"),
    [
        (signal.SIGINT, {}),
        (signal.SIGTERM, {}),
        (signal.SIGTERM, HALVING),
        (signal.SIGTERM, HYPERBAND),
    ],
    ids=["SIGINT", "SIGTERM", "SIGTERM-halving", "SIGTERM-hyperband"],
)
def test_killed_run_resumes_and_loses_nothing(workdir, tmp_path, signal_number, search):
    # Enough draws that some wait when the signal comes (Hyperband: one iteration, 3 + 2),
    # and epochs slowed by a wait (not by arithmetic) so that the signal finds trainings
    # running; the resumed run trains at full speed.
    draws = 5 if search == HYPERBAND else 6
    config = tiny(num_architectures=draws, training__epochs=6, search=search)
    configfile = write_config(workdir, config)
    run = workdir / "results" / "tiny"
    store = workdir / "results" / "store"
    # Halving: rung 0 trains the 6 draws, rung 1 the best two; Hyperband 3 + 1 and 2.
    total = {"random": 6, "successive_halving": 8, "hyperband": 6}[search.get("strategy", "random")]
    console = (workdir / "console.txt").open("w")
    process = subprocess.Popen(
        snakemake_command(configfile),
        cwd=workdir,
        stdout=console,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_interruptible,
        env={**os.environ, **slowed_epochs(1.0, tmp_path / "slowed")},
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        done = [
            path for path in store_entries(workdir) if recorded(workdir, receipt_of(path, workdir))
        ]
        checkpoints = list(store.rglob("checkpoint.pt"))  # in a private folder
        if done and checkpoints:
            break
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the run never reached a finished candidate and a checkpoint")
    os.killpg(process.pid, signal_number)  # the whole process group, as Ctrl-C does
    process.wait(timeout=300)  # the jobs it was running end first; slower on a loaded machine
    console.close()
    assert not warm_trainers_of(process.pid)  # nor its trainings, children of the trainer
    assert not (run / "candidates.parquet").exists()
    # The workflow's last word (before Snakemake's log hint): what happened, how to go on.
    said = (workdir / "console.txt").read_text().splitlines()
    assert (
        sum(line.startswith("The run was interrupted; run the same command again") for line in said)
        == 1
    )
    for path in store_entries(workdir):
        json.loads(path.read_text())  # whole, never truncated
    finished = {path: path.stat().st_mtime_ns for path in store_entries(workdir)}
    assert 1 <= len(finished) < total

    run_snakemake(workdir, configfile)
    frame = pd.read_parquet(run / "candidates.parquet")
    assert len(frame) == draws and set(frame["status"]) == {"ok"}
    assert len(store_entries(workdir)) == total
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in finished.items())
    logs = "".join(path.read_text() for path in store.glob("*/*/*/*/train.log"))
    assert "resumed from" in logs


# One refusal from the schema and one from the plan, end to end (every other refusal is
# checked in-process, as the Snakefile makes it: tests/test_plan.py).
REFUSED_END_TO_END = [
    ({"trainig": {"epochs": 3}}, "trainig"),
    ({"num_architectures": 5000}, "holds only 4096"),
]


@pytest.mark.parametrize(("overrides", "named"), REFUSED_END_TO_END)
def test_bad_config_is_rejected_before_any_job_naming_the_key(workdir, overrides, named):
    base = write_config(workdir, TINY_CONFIG, "base.yaml")
    bad = workdir / "bad.yaml"
    bad.write_text(yaml.safe_dump(overrides))
    result = run_snakemake(workdir, base, check=False, extra_configfiles=[bad])
    assert result.returncode != 0
    assert named in result.stderr + result.stdout
    assert not (workdir / "results").exists()


def test_missing_dataset_is_warned_in_a_dry_run_and_named_in_one_line(workdir):
    configfile = write_config(
        workdir, tiny(dataset={"name": "cifar10", "root": "nowhere", "val_size": 10})
    )
    planned = run_snakemake(workdir, configfile, "-n")
    assert "nowhere/cifar-10-batches-py/data_batch_1 does not exist" in (
        planned.stdout + planned.stderr
    )
    result = run_snakemake(workdir, configfile, check=False)
    assert result.returncode != 0
    console = [line for line in result.stderr.splitlines() if "nowhere/cifar-10-batches-py" in line]
    assert console and "Traceback" not in result.stderr  # the one line, not the traceback
    (log,) = workdir.glob("results/receipts/store-*/*/prepare_data.log")
    assert "ERROR CIFAR-10 not found: nowhere/cifar-10-batches-py lacks" in log.read_text()


def test_damaged_files_are_named_or_rewritten_and_unknown_candidates_refused(workdir):
    config = tiny(num_architectures=2, training__retries=0)
    configfile = write_config(workdir, config)
    run_for_table(workdir, configfile)
    first, second = tiny_arch_ids(config)
    metrics = store_entry(workdir, config, second)
    trained = metrics.stat().st_mtime_ns

    # An architecture file is the record of the draw, read by no rule: rewriting it retrains
    # nothing.
    architecture = workdir / f"results/tiny/architectures/{first}.json"
    intact = architecture.read_bytes()
    architecture.write_bytes(intact[:40])
    run_for_table(workdir, configfile, "--forcerun", "sample")
    assert architecture.read_bytes() == intact and metrics.stat().st_mtime_ns == trained

    receipt = receipt_of(metrics, workdir)
    receipt.write_text(receipt.read_text()[:60])
    result = run_for_table(workdir, configfile, "--forcerun", "collect", check=False)
    assert result.returncode != 0
    assert f"metrics file {receipt.relative_to(workdir)} is corrupt or truncated" in result.stderr

    unknown = str(receipt.relative_to(workdir)).replace(second, "0123456789ab")
    result = run_snakemake(workdir, configfile, "-n", unknown, check=False)
    assert result.returncode != 0
    assert "architecture 0123456789ab is not one this workflow knows" in result.stdout


def test_repeated_seeds_train_the_best_and_grow_with_only_what_is_new(workdir):
    config = tiny(repeats={"top_k": 2, "seeds": [1, 2]})
    configfile = write_config(workdir, config)
    run_snakemake(workdir, configfile)
    run = workdir / "results" / "tiny"
    candidates = pd.read_parquet(run / "candidates.parquet")
    best_two = list(
        candidates.sort_values(["val_accuracy", "flops", "arch_id"], ascending=[False, True, True])[
            "arch_id"
        ][:2]
    )
    repeats = pd.read_parquet(run / "repeats.parquet")
    assert sorted(zip(repeats["arch_id"], repeats["seed"], strict=True)) == sorted(
        (arch_id, seed) for arch_id in best_two for seed in (0, 1, 2)
    )
    first = repeats[repeats["seed"] == 0].set_index("arch_id")
    assert (
        first["val_accuracy"] == candidates.set_index("arch_id").loc[best_two, "val_accuracy"]
    ).all()
    again = json.loads(store_entry(workdir, config, best_two[0], seed=1).read_text())
    original = json.loads(store_entry(workdir, config, best_two[0]).read_text())
    assert again["recipe"]["seed"] == 1 and original["recipe"]["seed"] == 0
    assert again["recipe"]["dataset"] == original["recipe"]["dataset"]  # the same split
    assert again["train_loss"] != original["train_loss"]  # another seed, another training
    assert len(pd.read_csv(run / "report/seeds.csv")) == 2
    assert "pooled seed-to-seed standard deviation" in (run / "report/ranking.md").read_text()

    done = {path: path.stat().st_mtime_ns for path in store_entries(workdir)}
    more_seeds = write_config(workdir, tiny(repeats={"top_k": 2, "seeds": [1, 2, 3]}), "s.yaml")
    assert planned_jobs(workdir, more_seeds)["train"] == 2  # the new seed of the two
    run_snakemake(workdir, more_seeds)
    more_k = write_config(workdir, tiny(repeats={"top_k": 3, "seeds": [1, 2, 3]}), "top3.yaml")
    run_snakemake(workdir, more_k)
    assert len(pd.read_parquet(run / "repeats.parquet")) == 12
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in done.items())
    assert len(store_entries(workdir, "*/*/*/seed_[123]")) == 9  # each (candidate, seed) once

    own_seed = write_config(workdir, tiny(repeats={"top_k": 2, "seeds": [0, 1]}), "own.yaml")
    result = run_snakemake(workdir, own_seed, "-n", check=False)
    assert result.returncode != 0
    assert "repeats.seeds holds the run's own seed 0" in result.stdout + result.stderr


def _publish(workdir, run: str, name: str, overrides: dict) -> Path:
    """Copy a finished run into results/published/{name}/ as a published run is committed: its
    tables and its full validated config."""
    from snakemake.utils import update_config, validate

    config = yaml.safe_load((workdir / "config/config.yaml").read_text())
    update_config(config, overrides)
    validate(config, str(workdir / "workflow/schemas/config.schema.yaml"))
    folder = workdir / "results/published" / name
    folder.mkdir(parents=True)
    for table in ("candidates.parquet", "repeats.parquet"):
        if (workdir / "results" / run / table).exists():
            shutil.copy(workdir / "results" / run / table, folder / table)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


def _files(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def _train_jobs_with(stdout: str, setting: str) -> list[str]:
    """The outputs of the planned train jobs (a dry run's text) whose resources hold `setting`."""
    jobs = [block for block in stdout.split("rule ")[1:] if block.startswith("train:")]
    return [
        block.split("output: ")[1].split(",")[0]
        for block in jobs
        if setting in next(line for line in block.splitlines() if "resources:" in line)
    ]


def test_verify_published_retrains_into_its_own_store_and_flags_an_altered_value(workdir, tmp_path):
    config = tiny(run="pub", training__precision="fp32", repeats={"top_k": 3, "seeds": [1, 2]})
    configfile = write_config(workdir, config)
    run_snakemake(workdir, configfile)
    _publish(workdir, "pub", "pub", config)
    altered = _publish(workdir, "pub", "altered", config)
    table = pq.read_table(altered / "candidates.parquet")
    frame = table.to_pandas()
    winner = frame.sort_values(["val_accuracy", "flops", "arch_id"], ascending=[False, True, True])[
        "arch_id"
    ].iloc[0]
    frame.loc[frame["arch_id"] == winner, "val_accuracy"] += 0.2
    pq.write_table(
        pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False),
        altered / "candidates.parquet",
    )
    before = _files(workdir / "results/published")
    trained = {path: path.stat().st_mtime_ns for path in store_entries(workdir)}

    # A verification retrains into a store of its own, though the run's store holds the
    # trainings: bit for bit on the same machine.
    result = run_snakemake(workdir, configfile, "verify_published")
    assert (result.stdout + result.stderr).count(
        "rule train:"
    ) == 3  # the two published copies share their trainings
    assert {path: path.stat().st_mtime_ns for path in store_entries(workdir)} == trained
    assert len(list((workdir / "results/verify/store").glob("*/*/*/seed_0/metrics.json"))) == 3
    verified = pd.read_csv(workdir / "results/verify/pub/verification.csv")
    assert len(verified) == 3 and winner in set(verified["arch_id"])
    assert verified["exact"].all() and verified["agrees"].all()
    assert (verified["reference_seeds"] == 2).all()  # judged on the seeds that did not select
    assert (verified["hardware"] == verified["published_hardware"]).all()
    verdict = (workdir / "results/verify/pub/verification.md").read_text()
    assert "3 of 3 retrained candidates agree" in verdict and "seeds other than" in verdict
    assert "0 of 3 were already in the store" in verdict
    assert "consistent with the published table" in verdict
    flagged = pd.read_csv(workdir / "results/verify/altered/verification.csv").set_index("arch_id")
    assert not flagged.loc[winner, "agrees"] and flagged["agrees"].sum() == 2
    assert flagged.loc[winner, "selection_gap"] > flagged.loc[winner, "selection_allowance"]
    altered_verdict = (workdir / "results/verify/altered/verification.md").read_text()
    assert "1 published value(s) sit above their evidence" in altered_verdict
    assert "does not hold here" in altered_verdict
    assert _files(workdir / "results/published") == before  # nothing there changed
    assert planned_jobs(workdir, configfile, "verify_published") == {}  # nothing to redo

    # Pointed at the run's store, it finds the run's own trainings, and says so.
    own = write_config(workdir, {**config, "verify": {"store": "results/store"}}, "own.yaml")
    result = run_snakemake(workdir, own, "verify_published")
    assert "rule train:" not in result.stdout + result.stderr
    verdict = (workdir / "results/verify/pub/verification.md").read_text()
    assert "3 of 3 were already in the store" in verdict

    # A retraining that fails is a disagreement, never dropped.
    broken = write_config(workdir, {**config, "verify": {"store": "results/broken"}}, "b.yaml")
    run_snakemake(workdir, broken, "verify_published", env=out_of_memory_for(winner, tmp_path))
    failed = pd.read_csv(workdir / "results/verify/pub/verification.csv").set_index("arch_id")
    assert failed.loc[winner, "status"] == "failed" and not failed.loc[winner, "agrees"]
    verdict = (workdir / "results/verify/pub/verification.md").read_text()
    assert "1 retraining(s) failed, each a disagreement" in verdict
    assert "does not hold here" in verdict

    # A verification training is the train rule: a site's resources reach it, and its time
    # limit follows the published recipe's epochs (1: 10 + 10 x 1 minutes), not the config's.
    fresh = {
        **config,
        "verify": {"store": "results/fresh"},
        "training": {**config["training"], "epochs": 5},
    }
    result = run_snakemake(
        workdir,
        write_config(workdir, fresh, "fresh.yaml"),
        "-n",
        "verify_published",
        "--set-resources",
        "train:gpu_model=x",
    )
    planned = _train_jobs_with(result.stdout + result.stderr, "gpu_model=x")
    assert len(planned) == 3
    assert planned == _train_jobs_with(result.stdout + result.stderr, "runtime=20,")


def test_successive_halving_on_the_store_of_a_plain_run(workdir, tmp_path):
    plain = tiny(run="plain", num_architectures=9, training__epochs=1)
    failing = tiny_arch_ids(plain)[4]
    run_snakemake(
        workdir,
        write_config(workdir, plain, "plain.yaml"),
        env=out_of_memory_for(failing, tmp_path / "oom"),
    )
    config = tiny(
        num_architectures=9,
        training__epochs=3,
        search={"strategy": "successive_halving", "min_epochs": 1, "eta": 3},
        repeats={"top_k": 1, "seeds": [1]},
    )
    configfile = write_config(workdir, config)
    # Rung 0 is the plain run's trainings at 1 epoch, the failed one included: nothing to train.
    assert "train" not in planned_jobs(workdir, configfile)
    run_snakemake(workdir, configfile)
    run = workdir / "results/tiny"
    trials = pd.read_parquet(run / "trials.parquet")
    assert trials.groupby("epochs").size().to_dict() == {1: 9, 3: 3}  # budgets 1, 3
    assert trials.set_index("arch_id").loc[failing, ["status", "epochs"]].tolist() == ["failed", 1]
    rung_zero = trials[(trials["epochs"] == 1) & (trials["status"] == "ok")].sort_values(
        ["val_accuracy", "flops", "arch_id"], ascending=[False, True, True]
    )
    promoted = json.loads((run / "rungs/rung_1.json").read_text())["arch_ids"]
    assert promoted == list(rung_zero["arch_id"][: 9 // 3])
    # The report rebuilds the rungs the checkpoints made, the failed draw counted in rung 0.
    assert pd.read_csv(run / "report/rungs.csv")["candidates"].tolist() == [9, 3]
    # No statistic mixes budgets: the ranking is the top rung at 3 epochs, the draws' EDF and
    # expected best are rung 0 at 1 epoch, and the compute is every training.
    ranking = pd.read_csv(run / "report/ranking.csv")
    assert sorted(ranking["arch_id"]) == sorted(promoted)
    report = (run / "report/ranking.md").read_text()
    assert "The best of the 3 ok architectures at 3 epochs" in report
    assert "8 draws are measured at 1 epoch (0 diverged, scored as chance); 1 failed" in report
    candidates = pd.read_parquet(run / "candidates.parquet")
    highest = trials.groupby("arch_id")["epochs"].max()
    assert (candidates.set_index("arch_id")["epochs"].sort_index() == highest).all()
    curves = pd.read_parquet(run / "curves.parquet")
    assert len(curves) == 8 * 1 + 3 * 3  # the failed training has no epoch
    assert set(curves.columns) >= {"arch_id", "budget", "epoch", "val_accuracy", "lr"}
    # Repeats of a halving run: its top rung's best, at the full budget.
    repeats = pd.read_parquet(run / "repeats.parquet")
    best = (
        trials[trials["epochs"] == 3]
        .sort_values(["val_accuracy", "flops", "arch_id"], ascending=[False, True, True])["arch_id"]
        .iloc[0]
    )
    assert sorted(zip(repeats["arch_id"], repeats["seed"], repeats["epochs"], strict=True)) == [
        (best, 0, 3),
        (best, 1, 3),
    ]
    seconds = (
        trials["train_seconds"].sum() + repeats.loc[repeats["seed"] == 1, "train_seconds"].sum()
    )
    hours = f"| total training hours (every training) | {seconds / 3600:.2f} |"
    assert hours in report

    # A trial and a repeat are trainings of the one rule: a site's resources reach both.
    # (Snakemake remakes a missing input only for a job that runs: the table is forced.)
    for missing, table in (
        (store_entry(workdir, config, best, seed=1), "collect_repeats"),
        (store_entry(workdir, config, promoted[1], epochs=3), "collect_trials"),
    ):
        Store(workdir / "results/store").remove(missing.parent)
        receipt_of(missing, workdir).unlink()
        result = run_snakemake(
            workdir, configfile, "-n", "--forcerun", table, "--set-resources", "train:gpu_model=x"
        )
        planned = _train_jobs_with(result.stdout + result.stderr, "gpu_model=x")
        assert planned == [str(receipt_of(missing, workdir).relative_to(workdir))]


def test_bad_search_settings_are_refused_by_a_dry_run(workdir):
    configfile = write_config(workdir, tiny(search={"strategy": "hyperband"}, training__epochs=3))
    result = run_snakemake(workdir, configfile, "-n", check=False)
    assert result.returncode != 0
    assert "but Hyperband's brackets take 3 + 2 = 5 draws" in result.stdout + result.stderr


def test_runs_share_the_store_and_a_recipe_change_adds_entries(workdir):
    # Tables for targets: no assertion here reads a report.
    first = tiny(run="first", num_architectures=3)
    run_snakemake(workdir, write_config(workdir, first, "first.yaml"), run_table("first"))
    kept = _files(workdir / "results/store")
    # A second run name with an overlapping draw trains only what the store lacks.
    second = write_config(workdir, tiny(run="second", num_architectures=5), "second.yaml")
    assert planned_jobs(workdir, second, run_table("second"))["train"] == 2
    run_snakemake(workdir, second, run_table("second"))
    assert len(store_entries(workdir)) == 5
    rows = pd.read_parquet(workdir / "results/second/candidates.parquet")
    assert rows["draw"].tolist() == list(range(5)) and set(rows["status"]) == {"ok"}
    assert all(_files(workdir / "results/store")[path] == data for path, data in kept.items())

    # Another recipe is other entries: the old ones stay byte for byte, and the first run's
    # view of them is still whole (nothing to redo there).
    changed = write_config(
        workdir, tiny(run="first-lr", num_architectures=3, training__lr=0.1), "lr.yaml"
    )
    assert planned_jobs(workdir, changed, run_table("first-lr"))["train"] == 3
    run_snakemake(workdir, changed, run_table("first-lr"))
    assert len(store_entries(workdir)) == 8
    assert all(_files(workdir / "results/store")[path] == data for path, data in kept.items())
    assert len(list(workdir.glob("results/store/*/e1-*/recipe.json"))) == 2
    assert planned_jobs(workdir, second, run_table("second")) == {}


def test_other_data_under_a_recipe_is_refused_in_one_line(workdir):
    from test_data import write_mnist_raw

    from random_nas.data import prepare_splits

    mnist5k = prepare_splits(
        {"name": "mnist5k", "root": "", "download": False, "val_size": 500, "train_size": None,
         "test_size": 500},
        0,
    )  # fmt: skip
    raw = workdir / "digits/MNIST/raw"

    def write_digits(first: int) -> None:
        images, labels = mnist5k.train_images[:, 0].numpy(), mnist5k.train_labels.numpy()
        write_mnist_raw(raw, "train", images[first : first + 700], labels[first : first + 700])
        test_images, test_labels = mnist5k.test_images[:200, 0], mnist5k.test_labels[:200]
        write_mnist_raw(raw, "t10k", test_images.numpy(), test_labels.numpy())

    write_digits(0)
    dataset = {"name": "mnist", "root": "digits", "val_size": 200, "train_size": 400}
    config = tiny(num_architectures=1, dataset=dataset, training__retries=0)
    run_snakemake(workdir, write_config(workdir, config))
    kept = {path: data for path, data in _files(workdir / "results/store").items()}
    del kept[next(workdir.glob("results/store/*/dataset.pt"))]  # a cache, removed below

    # Other files under dataset.root, the prepared cache gone: the next training refuses them.
    write_digits(100)
    next(workdir.glob("results/store/*/dataset.pt")).unlink()
    more = write_config(workdir, tiny(num_architectures=2, dataset=dataset), "more.yaml")
    result = run_snakemake(workdir, more, check=False)
    assert result.returncode != 0
    line = next(line for line in result.stderr.splitlines() if "the prepared data hashes" in line)
    assert line.count("data recipe mnist-") == 1 and "were trained on" in line
    assert "put back the files under dataset.root" in line
    assert not list(workdir.glob("results/store/*/dataset.pt"))  # the cache is not remade
    assert all(_files(workdir / "results/store")[path] == data for path, data in kept.items())


def test_an_old_run_folder_is_imported_into_the_store_and_not_retrained(workdir):
    """Before the store, a run kept its trainings in results/{run}/candidates/{arch_id}/ with
    their draw; that layout is made here from real trainings, then imported."""
    from random_nas.cli import main

    config = tiny(repeats={"top_k": 1, "seeds": [1]})
    configfile = write_config(workdir, config)
    run_snakemake(workdir, configfile)
    store = workdir / "results/store"
    trained = {path.relative_to(store): path.read_bytes() for path in store_entries(workdir)}
    old = workdir / "results/old"
    for position, arch_id in enumerate(tiny_arch_ids(config)):
        for seed, folder in ((0, f"candidates/{arch_id}"), (1, f"repeats/{arch_id}/seed_1")):
            entry = store_entry(workdir, config, arch_id, seed=seed)
            if not entry.exists():
                continue
            metrics = json.loads(entry.read_text())
            metrics["recipe"]["dataset"].pop("split_seed")
            (old / folder).mkdir(parents=True)
            (old / folder / "metrics.json").write_text(
                json.dumps({**metrics, "draw": position, "index": position})
            )
            shutil.copy(entry.with_name("history.csv"), old / folder / "history.csv")
    shutil.copy(workdir / "results/tiny/candidates.parquet", old / "candidates.parquet")
    shutil.rmtree(store)
    shutil.rmtree(workdir / "results/receipts")  # the run then reads the store's entries

    assert main(["migrate", str(old), "--store", str(store)]) == 0
    assert {path.relative_to(store): path.read_bytes() for path in store_entries(workdir)} == {
        path: json.dumps(json.loads(data), indent=2).encode() + b"\n"
        for path, data in trained.items()
    }
    assert "train" not in planned_jobs(workdir, configfile)
    assert (
        main(["migrate", str(old), "--store", str(store)]) == 0
    )  # again: every entry already there


def test_every_hyperband_bracket_trains_its_rung_zero_at_once(workdir):
    """Each bracket's rung 0 is known when the workflow is parsed: the dry run holds all of
    them, and each bracket asks for its own next checkpoint, not waiting on another's."""
    from random_nas.halving import hyperband_slices

    config = tiny(
        num_architectures=17,
        training__epochs=9,
        search={"strategy": "hyperband", "min_epochs": 1, "eta": 3},
    )
    brackets = hyperband_slices(17, 1, 3, 9)
    planned = planned_jobs(workdir, write_config(workdir, config))
    assert planned["train"] == sum(rungs[0][0] for _, rungs in brackets) == 17
    assert planned["bracket_rung"] == sum(len(rungs) > 1 for _, rungs in brackets) == 2


def test_the_documented_tiny_config_learns(workdir):
    text = (workdir / "config/README.md").read_text()
    block = text.split("```yaml\n# tiny.yaml")[1].split("```")[0]
    configfile = workdir / "tiny.yaml"
    configfile.write_text(block.split("\n", 1)[1])
    result = run_snakemake(workdir, configfile)
    assert "Near chance" not in result.stderr
    frame = pd.read_parquet(workdir / "results/tiny/candidates.parquet")
    assert frame["val_accuracy"].median() > 0.5
    assert "Near chance" not in (workdir / "results/tiny/report/ranking.md").read_text()

    # Too few optimiser steps: the console and the report say so first.
    starved = write_config(workdir, tiny(run="starved", training__batch_size=128), "starved.yaml")
    result = run_snakemake(workdir, starved)
    assert "Near chance: half of the 3 measured draws" in result.stderr
    findings = (workdir / "results/starved/report/ranking.md").read_text().split("## Findings")[1]
    assert findings.split("\n- ")[1].startswith("Near chance")


def test_a_halving_report_reads_as_halving_and_repeats_its_own_pick(workdir):
    """With the full-budget comparison every draw trains at the full budget too; halving's
    report still names halving first, and its repeats retrain halving's pick (its top rung's
    best), not the best full-budget training that halving never promoted."""
    from random_nas.analysis.fidelity import strategy_picks
    from random_nas.results import read_table

    config = tiny(
        num_architectures=9,
        training__epochs=3,
        search={"strategy": "successive_halving", "min_epochs": 1, "eta": 3,
                "compare_full_budget": True},
        repeats={"top_k": 1, "seeds": [1]},
        dataset={"val_size": 200, "train_size": 600, "test_size": 200},
    )  # fmt: skip
    run_snakemake(workdir, write_config(workdir, config))
    run = workdir / "results/tiny"
    table, metadata = read_table(run / "trials.parquet")
    pick = strategy_picks(table.to_pandas(), metadata["config"]).iloc[0]["arch_id"]
    repeats = pd.read_parquet(run / "repeats.parquet")
    assert set(repeats["arch_id"]) == {pick}
    report = (run / "report/ranking.md").read_text()
    assert report.startswith("# Successive halving report: tiny")
    assert (
        "| search strategy | Successive halving (eta 3, min_epochs 1, full budget 3 epochs) |"
        in report
    )
    findings = report.split("## Findings\n")[1].splitlines()
    first = next(line for line in findings if line.startswith("- ") and "Near chance" not in line)
    assert first.startswith(f"- Successive halving picks {pick}, the best of its top rung's")
    assert (
        "<title>Successive halving report: tiny</title>" in (run / "report/index.html").read_text()
    )


def test_a_run_name_reused_with_another_recipe_is_refused_naming_the_keys(workdir):
    # Made for its table alone, the run is recorded all the same.
    config = tiny(num_architectures=2)
    configfile = write_config(workdir, config)
    run_for_table(workdir, configfile)
    other = write_config(workdir, tiny(num_architectures=2, training__batch_size=32), "other.yaml")
    result = run_snakemake(workdir, other, "-n", check=False)
    assert result.returncode != 0
    assert "config run 'tiny': results/tiny/ holds that run made with another recipe" in (
        result.stdout + result.stderr
    )
    assert "training.batch_size (64 against 32)" in result.stdout + result.stderr
    # More draws of the same recipe extend the run; its own config plans nothing.
    more = write_config(workdir, tiny(num_architectures=3), "more.yaml")
    assert planned_jobs(workdir, more)["train"] == 1
    assert "Nothing to be done" in run_for_table(workdir, configfile, "-n").stdout


def test_the_console_shows_the_trainings_lines_not_every_jobs_block(workdir):
    """By the workflow profile: no job blocks of inputs and outputs, each training named with
    its seed and budget, its epochs visible."""
    config = tiny(num_architectures=2, repeats={"top_k": 1, "seeds": [1]})
    configfile = write_config(workdir, config)
    command = [str(Path(sys.executable).with_name("snakemake")), "--cores", "2",
               "--configfile", str(configfile)]  # fmt: skip
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600)
    console = result.stdout + result.stderr
    assert result.returncode == 0, console[-3000:]
    assert "rule train:" not in console and "    output:" not in console
    arch_ids = tiny_arch_ids(config)
    for arch_id in arch_ids:
        assert f"training {arch_id} seed 0 at 1 epoch (attempt" in console
    assert re.search(r"training [0-9a-f]{12} seed 1 at 1 epoch \(attempt", console)  # the repeat
    assert f"{arch_ids[0]} epoch 1/1  train loss" in console
