"""The warm trainer (random_nas.warm): a training forked from it is the training a job in its
own process makes, bit for bit; a crash, a kill or an interrupt of one training touches no
other; and no process outlives the job or the run it belongs to."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, TINY_CONFIG, _with_fault, full_config

from random_nas import warm
from random_nas.recipes import data_recipe, training_recipe
from random_nas.space import SearchSpace, sampled_records
from random_nas.store.layout import data_key, entry_dir, recipe_key

# Every test here starts a warm trainer, a process of its own.
pytestmark = pytest.mark.slow

TRAIN_SCRIPT = REPO / "scripts" / "train.py"
# Measured, not computed: what differs between two equal trainings.
TIMINGS = ("seconds", "per_second", "memory")
# Each epoch of a job whose environment names a wait waits that long first (set in the
# trainer's modules, read from the job's environment: one trainer serves both kinds of job).
EPOCH_WAIT = "RANDOM_NAS_TEST_EPOCH_WAIT"
_WAITING_EPOCHS = f"""    import time

    time.sleep(float(os.environ.get({EPOCH_WAIT!r}, "0")))
    return original(*args, **kwargs)"""


@pytest.fixture(scope="module")
def trainer(tmp_path_factory):
    """A warm trainer owned by this test process, as a run's Snakemake owns one."""
    hook = _with_fault(
        tmp_path_factory.mktemp("hook"), "random_nas.train", "train_one_epoch", _WAITING_EPOCHS
    )
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = hook["PYTHONPATH"]
    try:
        path, process = warm.start(os.getpid(), str(REPO / "src"))
    finally:
        os.environ.pop("PYTHONPATH") if before is None else os.environ.update(PYTHONPATH=before)
    yield path, process
    warm.stop(process)


def training_request(folder: Path, draw: int = 0, epochs: int = 1) -> dict:
    """A train job's request, as the train rule writes it, for draw `draw` of the tiny
    config, its store and receipt under `folder`."""
    config = full_config({**TINY_CONFIG, "training": {**TINY_CONFIG["training"], "epochs": epochs}})
    space = SearchSpace.from_config(config["search_space"])
    architecture = sampled_records(space, draw + 1, config["seed"])[draw]
    training = training_recipe(config)
    receipt = folder / "receipt"
    return {
        "store": str(folder / "store"),
        "data": data_key(data_recipe(config)),
        "recipe": recipe_key(training),
        "architecture": architecture,
        "seed": config["seed"],
        "training": training,
        "dataset": data_recipe(config),
        "location": {key: config["dataset"][key] for key in ("root", "download")},
        "operational": {k: v for k, v in config["training"].items() if k not in training},
        "receipt": str(receipt),
        "log": str(receipt / "train.log"),
    }


def start_job(request: dict, trainer_path: str | None, **environment: str) -> subprocess.Popen:
    """A train job as Snakemake starts one: the thin script, its request its one argument."""
    Path(request["receipt"]).mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key != warm.SOCKET_ENV}
    env.update(environment)
    if trainer_path is not None:
        env[warm.SOCKET_ENV] = trainer_path
    return subprocess.Popen(
        [sys.executable, str(TRAIN_SCRIPT), json.dumps(request), "1", "20"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def entry(request: dict) -> Path:
    return Path(
        entry_dir(
            request["store"],
            request["data"],
            request["recipe"],
            request["architecture"]["arch_id"],
            request["seed"],
        )
    )


def measured_away(entry_folder: Path) -> tuple[dict, list[dict]]:
    """An entry's metrics and history without what is measured of the machine."""
    metrics = json.loads((entry_folder / "metrics.json").read_text())
    with open(entry_folder / "history.csv") as handle:
        history = list(csv.DictReader(handle))
    keep = lambda key: not any(word in key for word in TIMINGS)  # noqa: E731
    return (
        {key: value for key, value in metrics.items() if keep(key)},
        [{key: value for key, value in row.items() if keep(key)} for row in history],
    )


def trainings_of(trainer_process: subprocess.Popen) -> list[int]:
    """The trainer's forks alive now."""
    children = Path(f"/proc/{trainer_process.pid}/task/{trainer_process.pid}/children")
    return [int(pid) for pid in children.read_text().split()]


def state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def wait_for(check, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds} s for {what}")
        time.sleep(0.05)


def test_a_training_forked_from_the_warm_trainer_is_bit_identical_to_one_in_its_own_process(
    tmp_path, trainer
):
    path, _ = trainer
    own, forked = training_request(tmp_path / "own"), training_request(tmp_path / "forked")
    for request, trainer_path in ((own, None), (forked, path)):
        job = start_job(request, trainer_path)
        output = job.communicate(timeout=300)[0]
        assert job.returncode == 0, output
    assert measured_away(entry(forked)) == measured_away(entry(own))
    assert "in its own process" in Path(own["log"]).read_text()
    assert "forked from the run's warm trainer" in Path(forked["log"]).read_text()
    # The receipt is the job's, written where the job was started.
    receipt = json.loads((Path(forked["receipt"]) / "metrics.json").read_text())
    assert (
        receipt["val_accuracy"]
        == json.loads((entry(own) / "metrics.json").read_text())["val_accuracy"]
    )
    # Start to first step counts from the thin job's own start.
    started = json.loads((entry(forked) / "metrics.json").read_text())["seconds_to_first_step"]
    assert 0 < started < 60


def test_a_training_killed_or_crashed_touches_no_other_and_its_job_ends_as_it_did(
    tmp_path, trainer
):
    path, process = trainer
    slow = {EPOCH_WAIT: "2"}
    survivor_request = training_request(tmp_path / "survivor", draw=0, epochs=2)
    killed_request = training_request(tmp_path / "killed", draw=1, epochs=2)
    killed = start_job(killed_request, path, **slow)
    wait_for(lambda: len(trainings_of(process)) == 1, "a training forked")
    [victim] = trainings_of(process)
    survivor = start_job(survivor_request, path, **slow)
    wait_for(lambda: len(trainings_of(process)) == 2, "a second training forked")
    os.kill(victim, signal.SIGKILL)  # as the kernel's out-of-memory killer ends one
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL  # Snakemake sees the job die as it did
    output = survivor.communicate(timeout=300)[0]
    assert survivor.returncode == 0, output
    assert (entry(survivor_request) / "metrics.json").exists()
    assert not (entry(killed_request) / "metrics.json").exists()
    # A training that raises is its job's failure, nothing more: the trainer serves the next.
    request = training_request(tmp_path / "raising", draw=2)
    del request["seed"]
    raising = start_job(request, path)
    output = raising.communicate(timeout=120)[0]
    assert raising.returncode == 1 and "KeyError: 'seed'" in output, output
    assert process.poll() is None  # the trainer lives on


def test_an_interrupt_or_a_stop_reaches_the_training_and_a_job_killed_hard_leaves_none(
    tmp_path, trainer
):
    path, process = trainer
    slow = {EPOCH_WAIT: "30"}
    interrupted = start_job(training_request(tmp_path / "interrupted", epochs=2), path, **slow)
    wait_for(lambda: len(trainings_of(process)) == 1, "the training forked")
    time.sleep(1)  # into its first epoch's wait
    interrupted.send_signal(signal.SIGINT)  # as Ctrl-C reaches Snakemake's jobs
    output = interrupted.communicate(timeout=60)[0]
    assert interrupted.returncode == -signal.SIGINT, output
    log = Path(training_request(tmp_path / "interrupted", epochs=2)["log"]).read_text()
    assert "interrupted: nothing of this job is published" in log
    wait_for(lambda: not trainings_of(process), "the interrupted training's end")

    # A job stopped (Ctrl-Z, SIGSTOP) stops its training; continued, it continues it.
    stopped = start_job(training_request(tmp_path / "stopped"), path, **{EPOCH_WAIT: "3"})
    wait_for(lambda: len(trainings_of(process)) == 1, "the training forked")
    [training] = trainings_of(process)
    stopped.send_signal(signal.SIGSTOP)
    wait_for(lambda: state(training) == "T", "the training to stop with its job", 5)
    time.sleep(4)  # past its epoch's wait: it would have finished, had it run
    assert state(training) == "T" and stopped.poll() is None
    stopped.send_signal(signal.SIGCONT)
    output = stopped.communicate(timeout=120)[0]
    assert stopped.returncode == 0, output

    hard = start_job(training_request(tmp_path / "hard", epochs=2), path, **slow)
    wait_for(lambda: len(trainings_of(process)) == 1, "the training forked")
    hard.kill()
    hard.wait()
    wait_for(lambda: not trainings_of(process), "the training of a job killed hard to end", 10)


def test_the_warm_trainer_ends_with_the_run_that_started_it(tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    path, process = warm.start(owner.pid, str(REPO / "src"))
    assert os.path.exists(path)
    owner.kill()  # Snakemake killed hard: no onsuccess, no onerror
    owner.wait()
    process.wait(timeout=30)
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))
