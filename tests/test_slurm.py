"""The cluster profile on a real single-node Slurm started here (as root, without systemd).

.ci/run installs Debian's slurm-wlm and munge; where Slurm cannot run (not root, packages
missing, another Slurm configured) the test is skipped with the reason, never passed.
"""

from __future__ import annotations

import getpass
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_CONFIG, write_config

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


@pytest.fixture
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


def test_tiny_run_through_the_slurm_profile(workdir, slurm_cluster):
    configfile = write_config(workdir, {**TINY_CONFIG, "repeats": {"top_k": 1, "seeds": [1]}})
    snakemake = Path(sys.executable).with_name("snakemake")
    command = [
        "timeout", "-k", "10", "400",  # under the slurm executor Snakemake ignores SIGTERM
        str(snakemake), "--profile", "profiles/slurm", "--configfile", str(configfile),
        "--slurm-logdir", "results/tiny/logs/slurm",
        # No accounting on this one-node cluster: ask squeue, not sacct, for job states.
        "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
        "--slurm-no-account", "--slurm-keep-successful-logs",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    frame = pd.read_parquet(workdir / "results/tiny/candidates.parquet")
    assert len(frame) == 3 and set(frame["status"]) == {"ok"}
    submitted = [line for line in output.splitlines() if "submitted with SLURM jobid" in line]
    # Every training job, the repeated seed's included, and only those (the rest are localrules).
    assert len(submitted) == 4
    assert len(pd.read_parquet(workdir / "results/tiny/repeats.parquet")) == 2
    for arch_id in frame["arch_id"]:
        logs = list((workdir / "results/tiny/logs/slurm/rule_train").glob(f"*{arch_id}*/*.log"))
        assert logs and logs[0].stem.isdigit(), f"no Slurm job log for {arch_id}"
    assert (workdir / "results/tiny/report/index.html").exists()
