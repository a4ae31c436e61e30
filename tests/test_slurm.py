"""The cluster profile on a real single-node Slurm started here (as root, without systemd):
job arrays, grouped trainings, a cancelled array task; and what a GPU-sharing group asks
sbatch for, read from a recording sbatch (no GPU needed).

.ci/run installs Debian's slurm-wlm and munge; where Slurm cannot run (not root, packages
missing, another Slurm configured) the test is skipped with the reason, never passed. With
RANDOM_NAS_SLURM_RECORD=path the runs' submissions and wall times are written there as JSON
(benchmarks/slurm.py does that).
"""

from __future__ import annotations

import getpass
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_CONFIG, slowed_epochs, store_entries, store_entry, write_config

# One Slurm on this machine: its tests share one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("slurm")
SLURM_CONF = Path("/etc/slurm/slurm.conf")
CGROUP_CONF = Path("/etc/slurm/cgroup.conf")
MARKER = "# written by the random-nas Slurm test"


def _why_no_slurm() -> str | None:
    if os.geteuid() != 0:
        return "needs root to start munged, slurmctld and slurmd"
    missing = [
        tool
        for tool in ("munged", "slurmctld", "slurmd", "sbatch", "squeue")
        if not shutil.which(tool)
    ]
    if missing:
        return f"Slurm is not installed (missing {missing}; apt-get install slurm-wlm munge)"
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed"
    if SLURM_CONF.exists() and MARKER not in SLURM_CONF.read_text():
        return f"{SLURM_CONF} belongs to another Slurm; not overwriting it"
    return None


def _wait_for(check, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    reason = _why_no_slurm()
    if reason:
        print(f"SKIPPED Slurm test: {reason}")
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("slurm")
    host = socket.gethostname()
    cpus = os.cpu_count() or 1
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 - 1024
    # The job-step plugin drops SLURM_CONF inside jobs, so the config must sit at the default path.
    SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
    SLURM_CONF.write_text(
        f"""{MARKER}
ClusterName=randomnas
SlurmctldHost={host}
SlurmUser={getpass.getuser()}
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/spool
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=300
NodeName={host} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
    )
    wrote_cgroup = not CGROUP_CONF.exists()
    if wrote_cgroup:  # where no cgroup v2 hierarchy is mounted, slurmd needs v1
        CGROUP_CONF.write_text(f"{MARKER}\nCgroupPlugin=cgroup/v1\n")
    munge_run = Path("/run/munge")
    munge_run.mkdir(parents=True, exist_ok=True)
    shutil.chown(munge_run, "munge", "munge")
    daemons = []
    try:
        if subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode != 0:
            daemons.append(subprocess.Popen(["munged", "--foreground", "--force"]))
            _wait_for(lambda: (munge_run / "munge.socket.2").exists(), "munged")
        for daemon in ("slurmctld", "slurmd"):
            log = open(state / f"{daemon}.out", "w")  # noqa: SIM115 (closed with the process)
            daemons.append(subprocess.Popen([daemon, "-D"], stdout=log, stderr=subprocess.STDOUT))
        _wait_for(
            lambda: (
                "idle"
                in subprocess.run(
                    ["sinfo", "-h", "-o", "%t"], capture_output=True, text=True
                ).stdout
            ),
            "an idle Slurm node",
        )
        yield state
    finally:
        for process in reversed(daemons):  # only what this test started, by PID
            process.terminate()
        for process in daemons:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        SLURM_CONF.unlink(missing_ok=True)
        if wrote_cgroup:
            CGROUP_CONF.unlink(missing_ok=True)


SLURM_FLAGS = [
    # No accounting on this one-node cluster: ask squeue, not sacct, for job states.
    "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
    "--slurm-no-account", "--slurm-logdir", "results/logs/slurm",
    # Snakemake's account of each job, which the workflow profile keeps off the console.
    "--quiet", "host",
]  # fmt: skip


def slurm_snakemake(configfile: Path, *args: str) -> list[str]:
    """The cluster profile's command; under the slurm executor Snakemake ignores SIGTERM."""
    snakemake = Path(sys.executable).with_name("snakemake")
    return [
        "timeout", "-k", "10", "400", str(snakemake), "--profile", "profiles/slurm",
        *SLURM_FLAGS, *args, "--configfile", str(configfile),
    ]  # fmt: skip


ARRAYS = ("--slurm-array-jobs", "train")


def submissions(state: Path) -> int:
    """sbatch calls the controller has taken so far (an array is one)."""
    return (state / "slurmctld.log").read_text().count("_slurm_rpc_submit_batch_job: JobId=")


def record(name: str, **measures) -> None:
    path = os.environ.get("RANDOM_NAS_SLURM_RECORD")
    if path:
        records = json.loads(Path(path).read_text()) if Path(path).exists() else {}
        Path(path).write_text(json.dumps({**records, name: measures}, indent=1))


def run_on_slurm(workdir: Path, state: Path, configfile: Path, *args: str, check=True):
    before, started = submissions(state), time.monotonic()
    result = subprocess.run(
        slurm_snakemake(configfile, *args), cwd=workdir, capture_output=True, text=True
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 or not check, output[-6000:]
    return output, submissions(state) - before, time.monotonic() - started


SMALL = {
    **TINY_CONFIG,
    "num_architectures": 5,
    "dataset": {"val_size": 100, "train_size": 200, "test_size": 100},
}


def complete_table(workdir: Path, rows: int) -> pd.DataFrame:
    frame = pd.read_parquet(workdir / "results/tiny/candidates.parquet")
    assert len(frame) == rows and set(frame["status"]) == {"ok"}
    return frame


def test_trainings_go_to_slurm_in_job_arrays(workdir, slurm_cluster):
    configfile = write_config(workdir, {**SMALL, "repeats": {"top_k": 1, "seeds": [1]}})
    output, submitted, seconds = run_on_slurm(
        workdir, slurm_cluster, configfile, *ARRAYS, "--slurm-array-limit", "2"
    )
    complete_table(workdir, 5)
    assert len(pd.read_parquet(workdir / "results/tiny/repeats.parquet")) == 2
    # The 5 draws as arrays of at most 2 (2 + 2 + 1), then the repeat's one training alone:
    # one submission per array limit, where one per training would be 6.
    assert submitted == 3 + 1, output[-3000:]
    logs = sorted((workdir / "results/logs/slurm/rule_train").glob("*_*.log"))
    assert len(logs) == 5  # one log per array task, named JOBID_TASK
    record("arrays", trainings=6, submissions=submitted, seconds=round(seconds, 1))
    assert (workdir / "results/tiny/report/index.html").exists()


def _spans(workdir: Path) -> dict[str, tuple[str, str]]:
    """When each training of the store ran: the first and last time stamps of its own log."""
    spans = {}
    for log in sorted((workdir / "results/store").glob("*/*/*/seed_*/train.log")):
        stamps = [line[:19] for line in log.read_text().splitlines() if line[:2] == "20"]
        spans[log.parts[-3]] = (stamps[0], stamps[-1])
    return spans


def _overlap(first: tuple[str, str], second: tuple[str, str]) -> bool:
    return first[0] < second[1] and second[0] < first[1]


def test_small_trainings_grouped_k_per_submission(workdir, slurm_cluster):
    # Trainings of several seconds each, so that their logs' time stamps can show an overlap.
    training = {**TINY_CONFIG["training"], "epochs": 3, "threads": 2, "mem_mb": 3000}
    dataset = {"val_size": 100, "train_size": 1000, "test_size": 100}
    configfile = write_config(workdir, {**SMALL, "training": training, "dataset": dataset})
    output, submitted, seconds = run_on_slurm(
        workdir, slurm_cluster, configfile, "--groups", "train=pack", "--group-components",
        "pack=2", "--verbose",
    )  # fmt: skip
    complete_table(workdir, 5)
    assert submitted == 3, output[-3000:]  # ceil(5 / 2) group jobs
    calls = [line for line in output.splitlines() if line.startswith("sbatch call:")]
    pairs = [call for call in calls if len(re.findall(r"\btrain:\w+=", call)) == 2]
    assert len(calls) == 3 and len(pairs) == 2, output[-3000:]
    # What a group of 2 asks for is what its members use, one after the other: one
    # training's CPUs (threads 2) and memory, and the sum of their time limits (10 + 10 x 3
    # epochs each). Watching upstream (snakemake-executor-plugin-slurm#469): the job step runs
    # a group's members with --jobs 1, one at a time; the day a release runs them side by
    # side, this fails and groups can ask for the sum of their CPUs again.
    for call in pairs:
        assert "--cpus-per-task=2" in call and "--mem 3000" in call and " -t 80 " in call, call
        assert "--jobs 1 --mode 'remote'" in call, (
            "plugin#469 changed: group members no longer run one at a time"
        )
    # Measured from the trainings' own logs: a group's two members never overlap.
    spans = _spans(workdir)
    members = [re.findall(r"arch_id=([0-9a-f]{12})", call) for call in pairs]
    overlapping = sum(_overlap(spans[first], spans[second]) for first, second in members)
    assert len(spans) == 5 and overlapping == 0, (members, spans)
    record(
        "groups of 2",
        trainings=5,
        submissions=submitted,
        seconds=round(seconds, 1),
        overlapping_members=overlapping,
        request=" ".join(pairs[0].split(" -t ")[1].split()[:5]),
    )


def _later_array_task_of(arch_id: str) -> str | None:
    """The array task (JOBID_TASK) training `arch_id` on this node, read from the training
    process's environment, unless it is its array's first task: in plugin 2.8 every task
    checks the first one's outputs (snakemake-executor-plugin-slurm issue 447), so cancelling
    the first fails them all, which is why arrays are not the profile's default."""
    for process in Path("/proc").glob("[0-9]*"):
        try:
            command = (process / "cmdline").read_bytes().split(b"\0")
            environ = dict(
                line.split(b"=", 1)
                for line in (process / "environ").read_bytes().split(b"\0")
                if b"=" in line
            )
        except OSError:  # ended meanwhile
            continue
        own_job = any(f"arch_id={arch_id}".encode() in part for part in command)
        task = environ.get(b"SLURM_ARRAY_TASK_ID", b"1").decode()
        if own_job and b"--slurm-jobstep-array-execs" not in b" ".join(command) and task != "1":
            return f"{environ[b'SLURM_ARRAY_JOB_ID'].decode()}_{task}"
    return None


# Three trainings of ten epochs, kept alive long enough to be cancelled mid-way by a wait
# before each epoch (sbatch exports the environment), not by arithmetic. No retry: the run
# ends with the cancelled training failed, and the next run resubmits it (a retry would
# resubmit it alone within the same run).
LONG = {
    **TINY_CONFIG,
    "num_architectures": 3,
    "dataset": {"val_size": 200, "train_size": 800, "test_size": 200},
    "training": {**TINY_CONFIG["training"], "epochs": 10, "retries": 0},
}


def _start_arrays(workdir: Path, configfile: Path, *args: str) -> subprocess.Popen:
    slowed = slowed_epochs(1.5, workdir / "slowed")
    return subprocess.Popen(
        slurm_snakemake(configfile, *ARRAYS, *args), cwd=workdir, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env={**os.environ, **slowed},
    )  # fmt: skip


def test_a_cancelled_array_task_is_resubmitted_alone_and_resumes(workdir, slurm_cluster):
    config = LONG
    configfile = write_config(workdir, config)
    process = _start_arrays(workdir, configfile)
    deadline, task = time.monotonic() + 300, None
    while task is None and time.monotonic() < deadline:
        # An unfinished training's checkpoint lies in the entry's private folder.
        store = workdir / "results/store"
        for checkpoint in store.glob("*/*/*/.seed_0.training/*/checkpoint.pt"):
            if not checkpoint.with_name("metrics.json").exists():
                arch_id = checkpoint.parent.parent.parent.name
                task = _later_array_task_of(arch_id)
                if task:
                    break
        time.sleep(0.2)
    if task is None:
        process.kill()
        pytest.fail("no array task reached its first epoch checkpoint")
    subprocess.run(["scancel", task], check=True)  # as a node lost mid-array would end it
    output = process.communicate(timeout=400)[0]
    assert process.returncode != 0, output[-3000:]
    cancelled = store_entry(workdir, config, arch_id)
    assert not cancelled.exists()
    finished = {path: path.stat().st_mtime_ns for path in store_entries(workdir)}
    assert len(finished) == 2, output[-3000:]

    output, submitted, _ = run_on_slurm(workdir, slurm_cluster, configfile, *ARRAYS)
    assert submitted == 1, output[-3000:]  # that training alone
    complete_table(workdir, 3)
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in finished.items())
    assert "resumed from the checkpoint after epoch" in cancelled.with_name("train.log").read_text()


def test_upstream_every_array_task_is_checked_against_the_first_tasks_outputs(
    workdir, slurm_cluster
):
    """Watching upstream, snakemake-executor-plugin-slurm#447 (open in 2.8.0): every task of
    an array is checked against its first task's outputs, so cancelling the first task fails
    the tasks that finished. The day a release checks each task's own outputs this fails, and
    arrays can become the profile's default. Since the shared store, the finished trainings
    are kept: Snakemake deletes only their receipts."""
    configfile = write_config(workdir, LONG)
    process = _start_arrays(workdir, configfile, "--latency-wait", "5")
    deadline, first = time.monotonic() + 300, None
    while first is None and time.monotonic() < deadline:
        running = subprocess.run(
            ["squeue", "-h", "-t", "R", "-o", "%i"], capture_output=True, text=True
        ).stdout.split()
        first = next((task for task in running if task.endswith("_1")), None)
        time.sleep(0.5)
    if first is None:
        process.kill()
        pytest.fail("the array's first task never ran")
    time.sleep(3)  # into its training, while the other tasks train too
    subprocess.run(["scancel", first], check=True)
    output = process.communicate(timeout=400)[0]
    published = store_entries(workdir)
    failed = output.count("Error in rule train")
    assert len(published) == 2, output[-3000:]  # the other two tasks finished their trainings
    assert failed == 3, (
        "plugin#447 looks fixed: only the cancelled task failed, so arrays could become the "
        f"profile's default (failed: {failed})"
    )


RECORDING_SBATCH = """#!/bin/sh
echo "$*" >> "{calls}"
echo $$
"""


@pytest.fixture
def recording_sbatch(tmp_path):
    """sbatch, squeue and friends that record what they are asked and run nothing."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.skip("snakemake-executor-plugin-slurm is not installed")
    bin_dir, calls = tmp_path / "bin", tmp_path / "sbatch_calls"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(RECORDING_SBATCH.format(calls=calls))
    for tool in ("squeue", "sacct", "sacctmgr", "scontrol", "sinfo"):
        (bin_dir / tool).write_text("#!/bin/sh\nexit 0\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, calls


def submit_to_recording_sbatch(workdir, configfile, env, calls, *args, expect=0):
    """Run the cluster profile until `expect` sbatch calls are recorded (or Snakemake ends)."""
    process = subprocess.Popen(
        slurm_snakemake(configfile, *args), cwd=workdir, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if expect and calls.exists() and len(calls.read_text().splitlines()) >= expect:
            break
        time.sleep(0.2)
    if process.poll() is None:
        os.killpg(process.pid, 9)
    output = process.communicate()[0]
    return output, calls.read_text().splitlines() if calls.exists() else []


def test_k_trainings_share_one_gpu_per_submission(workdir, recording_sbatch):
    env, calls = recording_sbatch
    training = {**TINY_CONFIG["training"], "device": "cuda", "threads": 2, "mem_mb": 3000}
    config = {**SMALL, "num_architectures": 4, "training": {**training, "trainings_per_gpu": 2}}
    configfile = write_config(workdir, config)
    output, sbatch = submit_to_recording_sbatch(
        workdir, configfile, env, calls, "--groups", "train=gpu", "--group-components", "gpu=2",
        expect=2,
    )  # fmt: skip
    assert len(sbatch) == 2, output[-3000:]
    # No warm trainer on the login node: the run says so once.
    assert output.count("Each training starts its own process: they run on the cluster") == 1
    for call in sbatch:
        assert "--gres=gpu:1" in call and "--gpus" not in call  # one GPU for the pair
        # The pair trains in turn: one training's CPUs and memory, the sum of their limits.
        assert "--cpus-per-task=2" in call and "--mem 3000" in call
        assert "-t 40 " in call  # 2 x (10 + 10 x 1 epoch)
        assert len(re.findall(r"\btrain:\w+=", call)) == 2


def test_cluster_flags_that_would_strand_or_misshare_trainings_are_refused(
    workdir, recording_sbatch
):
    env, calls = recording_sbatch
    configfile = write_config(workdir, SMALL)
    output, sbatch = submit_to_recording_sbatch(
        workdir, configfile, env, calls, *ARRAYS, "--jobs", "2"
    )
    assert "--jobs 2 is below the 5 trainings" in output and "--batch collect=i/3" in output
    shared = {**SMALL["training"], "device": "cuda", "trainings_per_gpu": 4}
    configfile = write_config(workdir, {**SMALL, "training": shared})
    output, more = submit_to_recording_sbatch(workdir, configfile, env, calls)
    assert "pass --groups train=gpu --group-components gpu=4" in output
    assert sbatch == more == []  # refused before anything was submitted
    assert not (workdir / "results/tiny/architectures").exists()  # nor run
