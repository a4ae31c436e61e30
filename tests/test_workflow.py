"""The real `snakemake` on tiny configs, in a temporary copy of the workflow."""

import base64
import json
import os
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import (
    TINY_CONFIG,
    out_of_memory_for,
    run_snakemake,
    snakemake_command,
    write_config,
)

from random_nas.layout import report_files
from random_nas.space import SearchSpace

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
    # Written as open() would under the umask (group-writable here), not mkstemp's 0600.
    for path in [
        run / "candidates.parquet",
        run / "report" / "index.html",
        *run.glob("candidates/*/metrics.json"),
    ]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o664, path
    # Each row says what it is: the resolved recipe, the data's content hash, the machine.
    metrics = json.loads(next(run.glob("candidates/*/metrics.json")).read_text())
    assert metrics["recipe"]["training"]["lr"] == 0.05 and metrics["recipe"]["seed"] == 0
    assert metrics["recipe"]["dataset"]["sizes"] == {"train": 400, "val": 200, "test": 200}
    assert len(metrics["recipe"]["dataset"]["sha256"]) == 64
    assert metrics["precision"] in ("fp32", "bf16") and metrics["hardware"]
    assert frame["hardware"].notna().all()
    for name in report_files():
        assert (run / "report" / name).stat().st_size > 0, name
    assert (
        (run / "candidates" / frame["arch_id"][0] / "history.csv").read_text().startswith("epoch,")
    )
    assert "epoch 1/1" in (run / "logs" / "train" / f"{frame['arch_id'][0]}.log").read_text()
    assert not list(run.glob("candidates/*/checkpoint.pt"))  # removed once each is done
    run_snakemake(workdir, configfile, "--report", "report.html")
    assert "cost_vs_accuracy.svg" in (workdir / "report.html").read_text()

    # Same config and seed in a second place: identical architecture files, identical metrics.
    other = tmp_path_factory.mktemp("again")
    for name in ("Snakefile", "workflow", "scripts", "config", "profiles"):
        os.symlink(workdir / name, other / name)
    run_snakemake(other, write_config(other, TINY_CONFIG))
    for path in (run / "architectures").glob("*.json"):
        assert path.read_bytes() == (other / "results/tiny/architectures" / path.name).read_bytes()
    for path in (run / "candidates").glob("*/metrics.json"):
        assert comparable(path) == comparable(other / path.relative_to(workdir))

    # Nothing to redo; operational changes retrain nothing (the table is re-collected, as its
    # metadata holds the config); a training change retrains.
    assert planned_jobs(workdir, configfile) == {}
    for key, value in OPERATIONAL_CHANGES.items():
        changed = write_config(workdir, tiny(**{key: value}), "operational.yaml")
        assert not {"train", "prepare_data"} & set(planned_jobs(workdir, changed)), key
    lr = write_config(workdir, tiny(training__lr=0.1), "lr.yaml")
    assert planned_jobs(workdir, lr)["train"] == 3
    more = write_config(workdir, tiny(num_architectures=5), "more.yaml")
    assert planned_jobs(workdir, more)["train"] == 2


OPERATIONAL_CHANGES = {
    "training__threads": 2,
    "training__retries": 3,
    "training__keep_checkpoints": True,
    "training__eval_batch_size": 7,
    "training__minutes_per_epoch": 1,
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
    target = f"results/tiny/candidates/{arch_id}/metrics.json"
    assert "runtime=18" in run_snakemake(workdir, configfile, "-n", target).stdout  # 10 + 4 x 2
    run_snakemake(workdir, configfile)
    candidate = workdir / "results/tiny/candidates" / arch_id
    assert json.loads((candidate / "metrics.json").read_text())["threads"] == 2
    assert (
        "2 threads, evaluation batches of 7"
        in (workdir / f"results/tiny/logs/train/{arch_id}.log").read_text()
    )
    assert torch_load_epoch(candidate / "checkpoint.pt") == 1  # kept, and beside the outputs


def torch_load_epoch(path) -> int:
    import torch

    return torch.load(path, weights_only=True)["epoch"]


def test_failed_and_diverged_candidates_are_recorded_and_reported(workdir, tmp_path):
    config = tiny(num_architectures=2)
    failing = tiny_arch_ids(config)[0]
    configfile = write_config(workdir, config)
    result = run_snakemake(workdir, configfile, env=out_of_memory_for(failing, tmp_path / "oom"))
    metrics = json.loads((workdir / f"results/tiny/candidates/{failing}/metrics.json").read_text())
    assert metrics["status"] == "failed" and metrics["attempt"] == 2  # retried once, then recorded
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
    result = run_snakemake(workdir, configfile, check=False)
    assert result.returncode != 0
    assert "torch sees no CUDA device" in result.stderr  # on the console, not only in a log
    assert (
        "environment is broken" in (workdir / f"results/tiny/logs/train/{arch_id}.log").read_text()
    )
    assert not (workdir / f"results/tiny/candidates/{arch_id}/metrics.json").exists()
    assert planned_jobs(workdir, configfile)["train"] == 1  # the next run tries it again


HALVING = {"strategy": "successive_halving", "min_epochs": 2, "eta": 3}


@pytest.mark.parametrize(
    ("signal_number", "search"),
    [(signal.SIGINT, {}), (signal.SIGTERM, {}), (signal.SIGTERM, HALVING)],
    ids=["SIGINT", "SIGTERM", "SIGTERM-halving"],
)
def test_killed_run_resumes_and_loses_nothing(workdir, signal_number, search):
    config = tiny(
        num_architectures=4,
        training__epochs=6,
        dataset={"val_size": 200, "train_size": 800, "test_size": 200},
        search=search,
    )
    configfile = write_config(workdir, config)
    run = workdir / "results" / "tiny"
    trainings = "trials/*/*" if search else "candidates/*"
    total = 4 + 1 if search else 4  # halving: rung 0 trains the 4 draws, rung 1 the best one
    process = subprocess.Popen(
        snakemake_command(configfile),
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        done = [path for path in run.glob(f"{trainings}/metrics.json") if recorded(workdir, path)]
        checkpoints = list(run.glob(f"{trainings}/checkpoint.pt"))
        if done and checkpoints:
            break
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the run never reached a finished candidate and a checkpoint")
    os.killpg(process.pid, signal_number)  # the whole process group, as Ctrl-C does
    process.wait(timeout=120)
    assert not (run / "candidates.parquet").exists()
    for path in run.glob(f"{trainings}/metrics.json"):
        json.loads(path.read_text())  # whole, never truncated
    finished = {
        path: path.stat().st_mtime_ns
        for path in run.glob(f"{trainings}/metrics.json")
        if recorded(workdir, path)
    }
    assert 1 <= len(finished) < total

    run_snakemake(workdir, configfile)
    frame = pd.read_parquet(run / "candidates.parquet")
    assert len(frame) == 4 and set(frame["status"]) == {"ok"}
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in finished.items())
    logs = "".join(path.read_text() for path in run.glob("logs/train/*.log"))
    assert "resumed from" in logs


BAD_CONFIGS = [
    ({"num_architectures": 0}, "num_architectures"),
    ({"num_architectures": "many"}, "num_architectures"),
    ({"num_architectures": 5000}, "holds only 4096"),
    ({"search_space": {"filters": []}}, "filters"),
    ({"search_space": {"strides": [1, 1]}}, "strides"),
    ({"search_space": {"kernel_sizes": [3, 4]}}, "kernel_sizes"),
    ({"dataset": {"name": "imagenet"}}, "mnist5k"),
    ({"training": {"device": "tpu"}}, "device"),
    ({"training": {"epochs": "three"}}, "epochs"),
    ({"training": {"epoch": 3}}, "epoch"),
    ({"trainig": {"epochs": 3}}, "trainig"),
    ({"run": "../elsewhere"}, "run"),
    ({"run": "a/b"}, "run"),
]


@pytest.mark.parametrize(("overrides", "named"), BAD_CONFIGS)
def test_bad_config_is_rejected_before_any_job_naming_the_key(workdir, overrides, named):
    base = write_config(workdir, TINY_CONFIG, "base.yaml")
    bad = workdir / "bad.yaml"
    bad.write_text(yaml.safe_dump(overrides))
    result = run_snakemake(workdir, base, check=False, extra_configfiles=[bad])
    assert result.returncode != 0
    assert named in result.stderr + result.stdout
    assert not (workdir / "results").exists()


def test_missing_dataset_error_says_where_to_put_it(workdir):
    configfile = write_config(
        workdir, tiny(dataset={"name": "cifar10", "root": "nowhere", "val_size": 10})
    )
    result = run_snakemake(workdir, configfile, check=False)
    assert result.returncode != 0
    assert "nowhere/cifar-10-batches-py" in result.stderr


def test_damaged_files_are_named_or_rewritten_and_unknown_candidates_refused(workdir):
    config = tiny(num_architectures=2, training__retries=0)
    configfile = write_config(workdir, config)
    run_snakemake(workdir, configfile)
    first, second = tiny_arch_ids(config)
    metrics = workdir / f"results/tiny/candidates/{second}/metrics.json"
    trained = metrics.stat().st_mtime_ns

    # An architecture file is the record of the draw, read by no rule: rewriting it retrains
    # nothing.
    architecture = workdir / f"results/tiny/architectures/{first}.json"
    intact = architecture.read_bytes()
    architecture.write_bytes(intact[:40])
    run_snakemake(workdir, configfile, "--forcerun", "sample")
    assert architecture.read_bytes() == intact and metrics.stat().st_mtime_ns == trained

    metrics.write_text(metrics.read_text()[:60])
    result = run_snakemake(workdir, configfile, "--forcerun", "collect", check=False)
    assert result.returncode != 0
    assert f"metrics file {metrics.relative_to(workdir)} is corrupt or truncated" in result.stderr

    result = run_snakemake(
        workdir, configfile, "-n", "results/tiny/candidates/0123456789ab/metrics.json", check=False
    )
    assert result.returncode != 0
    assert "architecture 0123456789ab is not among the 2 architectures sampled" in result.stdout


def test_repeated_seeds_train_the_best_and_grow_with_only_what_is_new(workdir):
    config = tiny(repeats={"top_k": 2, "seeds": [1]})
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
        (arch_id, seed) for arch_id in best_two for seed in (0, 1)
    )
    first = repeats[repeats["seed"] == 0].set_index("arch_id")
    assert (
        first["val_accuracy"] == candidates.set_index("arch_id").loc[best_two, "val_accuracy"]
    ).all()
    again = json.loads((run / f"repeats/{best_two[0]}/seed_1/metrics.json").read_text())
    original = json.loads((run / f"candidates/{best_two[0]}/metrics.json").read_text())
    assert again["recipe"]["seed"] == 1 and original["recipe"]["seed"] == 0
    assert again["recipe"]["dataset"] == original["recipe"]["dataset"]  # the same split
    assert again["train_loss"] != original["train_loss"]  # another seed, another training
    assert len(pd.read_csv(run / "report/seeds.csv")) == 2
    assert "pooled seed-to-seed standard deviation" in (run / "report/ranking.md").read_text()

    done = {path: path.stat().st_mtime_ns for path in run.glob("*/*/seed_*/metrics.json")}
    more_seeds = write_config(workdir, tiny(repeats={"top_k": 2, "seeds": [1, 2]}), "seeds.yaml")
    planned = planned_jobs(workdir, more_seeds)
    assert planned["train_repeat"] == 2 and "train" not in planned
    run_snakemake(workdir, more_seeds)
    more_k = write_config(workdir, tiny(repeats={"top_k": 3, "seeds": [1, 2]}), "top3.yaml")
    run_snakemake(workdir, more_k)
    assert len(pd.read_parquet(run / "repeats.parquet")) == 9
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in done.items())
    assert len(list(run.glob("logs/train/*_seed_*.log"))) == 6  # each (candidate, seed) once

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


def test_verify_published_agrees_exactly_here_and_flags_an_altered_value(workdir):
    config = tiny(run="pub", training__precision="fp32", repeats={"top_k": 3, "seeds": [1]})
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
    before = {
        path: path.read_bytes()
        for path in (workdir / "results/published").rglob("*")
        if path.is_file()
    }

    run_snakemake(workdir, configfile, "verify_published")
    verified = pd.read_csv(workdir / "results/verify/pub/verification.csv")
    assert len(verified) == 3 and winner in set(verified["arch_id"])
    assert verified["exact"].all() and verified["agrees"].all()  # the same machine, bit for bit
    assert (verified["hardware"] == verified["published_hardware"]).all()
    verdict = (workdir / "results/verify/pub/verification.md").read_text()
    assert "3 of 3 retrained candidates agree" in verdict and "seed-to-seed" in verdict
    flagged = pd.read_csv(workdir / "results/verify/altered/verification.csv").set_index("arch_id")
    assert not flagged.loc[winner, "agrees"] and flagged["agrees"].sum() == 2
    after = {
        path: path.read_bytes()
        for path in (workdir / "results/published").rglob("*")
        if path.is_file()
    }
    assert after == before  # nothing under results/published/ changed
    assert not {"verify_train", "verification"} & set(
        planned_jobs(workdir, configfile, "verify_published")
    )  # running it again retrains nothing


def test_successive_halving_promotes_the_best_and_a_rung_is_a_plain_training(workdir):
    config = tiny(
        num_architectures=9,
        training__epochs=4,
        search={"strategy": "successive_halving", "min_epochs": 1, "eta": 2},
    )
    configfile = write_config(workdir, config)
    planned = planned_jobs(workdir, configfile)
    assert planned["train_trial"] == 9 and "train" not in planned  # rung 0 before any training
    run_snakemake(workdir, configfile)
    run = workdir / "results/tiny"
    trials = pd.read_parquet(run / "trials.parquet")
    assert trials.groupby("epochs").size().to_dict() == {1: 9, 2: 4, 4: 2}  # budgets 1, 2, 4
    for rung, budget in ((1, 1), (2, 2)):
        earlier = trials[trials["epochs"] == budget].sort_values(
            ["val_accuracy", "flops", "arch_id"], ascending=[False, True, True]
        )
        promoted = json.loads((run / f"rungs/rung_{rung}.json").read_text())["arch_ids"]
        assert promoted == list(earlier["arch_id"][: max(1, len(earlier) // 2)])
    candidates = pd.read_parquet(run / "candidates.parquet")
    assert len(candidates) == 9
    highest = trials.groupby("arch_id")["epochs"].max()
    assert (candidates.set_index("arch_id")["epochs"].sort_index() == highest).all()
    curves = pd.read_parquet(run / "curves.parquet")
    assert len(curves) == 9 * 1 + 4 * 2 + 2 * 4
    assert set(curves.columns) >= {"arch_id", "budget", "epoch", "val_accuracy", "lr"}
    assert len(pd.read_csv(run / "report/rungs.csv")) == 3

    # A rung's training is the plain training at that budget: same numbers as a random run
    # with training.epochs = 1, in another run folder.
    plain = write_config(
        workdir, tiny(run="plain", num_architectures=9, training__epochs=1), "plain.yaml"
    )
    run_snakemake(workdir, plain)
    for path in (workdir / "results/plain/candidates").glob("*/metrics.json"):
        rung_zero = run / f"trials/{path.parent.name}/epochs_1/metrics.json"
        assert comparable(path) == comparable(rung_zero)


BAD_SEARCHES = [
    (
        {"strategy": "hyperband"},
        "search.strategy is 'hyperband'; allowed: random, successive_halving",
    ),
    ({"strategy": "successive_halving", "eta": 1}, "search.eta"),
    ({"strategy": "successive_halving", "min_epochs": 5}, "search.min_epochs is 5"),
]


@pytest.mark.parametrize(("search", "named"), BAD_SEARCHES)
def test_bad_search_settings_are_refused_before_any_job(workdir, search, named):
    configfile = write_config(workdir, tiny(search=search, training__epochs=3))
    result = run_snakemake(workdir, configfile, "-n", check=False)
    assert result.returncode != 0 and named in result.stdout + result.stderr
    with_repeats = write_config(
        workdir, tiny(search={"strategy": "successive_halving"}, repeats={"top_k": 2}), "r.yaml"
    )
    result = run_snakemake(workdir, with_repeats, "-n", check=False)
    assert result.returncode != 0 and "repeats.top_k" in result.stdout + result.stderr
