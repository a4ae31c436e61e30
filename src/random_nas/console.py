"""The lines a run prints when it ends (stdlib only: the workflow's `onsuccess` and `onerror`
call them): where its reports are, or whether it was interrupted and how to go on."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

# What Snakemake logs when Ctrl-C or SIGTERM stops it (9.x).
INTERRUPTED = (
    "Terminating processes on user request",
    "Will exit after finishing currently running jobs",
)
RESUME = (
    "run the same command again to resume: finished trainings are kept in the store, and "
    "interrupted ones resume from their last epoch checkpoint"
)


def stopped_line(log_paths: Iterable[str], log_roots: Iterable[str] = (), since: float = 0) -> str:
    """How the run stopped: interrupted (and how to resume), or which jobs failed, each with
    its log and error (the console hides Snakemake's own job blocks, errors included)."""
    text = ""
    for path in log_paths:
        try:
            text += Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    if any(marker in text for marker in INTERRUPTED):
        return f"The run was interrupted; {RESUME}."
    failures = failed_jobs(log_roots, since)
    if not failures:
        return (
            "The run stopped: a job failed (run again with --quiet host to see Snakemake's "
            f"account of each job); fix the cause and {RESUME}."
        )
    return "\n".join(
        [f"The run stopped: {len(failures)} job(s) failed; fix the cause and {RESUME}.", *failures]
    )


def failed_jobs(log_roots: Iterable[str], since: float) -> list[str]:
    """'log: last error' for each job log under `log_roots` written since `since` (seconds
    since the epoch) whose last record is an error."""
    failures = []
    for root in log_roots:
        for path in sorted(Path(root).rglob("*.log")):
            try:
                if path.stat().st_mtime < since:
                    continue
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            # A record starts with its date; a traceback's lines follow the error's record.
            records = [line for line in lines if line[:1].isdigit()]
            if records and " ERROR " in records[-1]:
                failures.append(f"  {path}: {records[-1].split(' ERROR ', 1)[1]}")
    return failures


def written_reports(run: str, run_dir: str, since: float) -> list[str]:
    """What to point at after a run, written since `since` (seconds since the epoch): the
    run's report, the published runs' and the verifications' verdicts."""
    candidates = [
        (f"The report of run {run!r}", Path(f"{run_dir}/report/index.html")),
        *(
            (f"The published report of {path.parent.parent.name!r}", path)
            for path in sorted(Path("results/published").glob("*/report/index.html"))
        ),
        *(
            (f"The verification of {path.parent.name!r}", path)
            for path in sorted(Path("results/verify").glob("*/verification.md"))
        ),
    ]
    return [
        f"{what}: {path}"
        for what, path in candidates
        if path.exists() and path.stat().st_mtime >= since
    ]


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc), children first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], list(children.get(pid, []))
    while queue:
        child = queue.pop(0)
        found.append(child)
        queue += children.get(child, [])
    return found


def _forward(number: int) -> None:
    import os

    for pid in _descendants(os.getpid()):
        try:
            os.kill(pid, number)
        except (ProcessLookupError, PermissionError):
            continue


def forward_interrupts() -> None:
    """Pass an interrupt or a SIGTERM sent to Snakemake alone (`kill -INT`, `kill`, a
    scheduler's) on to the jobs it runs, as Ctrl-C does to the whole terminal's process group:
    Snakemake's local executor otherwise waits for every running training to finish. An
    interrupted training keeps its epoch checkpoint and publishes nothing; the next run
    resumes it. Snakemake sets its own SIGTERM handler once it schedules (its graceful exit),
    so that handler is wrapped where this version has it."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGINT)

    def forward(number: int, frame: object) -> None:
        _forward(number)
        if callable(previous):
            previous(number, frame)
        else:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, forward)
    try:
        from snakemake.scheduling.job_scheduler import JobScheduler
    except ImportError:
        return
    graceful = getattr(JobScheduler, "exit_gracefully", None)
    if graceful is None or getattr(graceful, "forwards", False):
        return

    def exit_gracefully(self: object, *args: object) -> None:
        _forward(signal.SIGTERM)
        graceful(self, *args)

    exit_gracefully.forwards = True  # type: ignore[attr-defined]
    JobScheduler.exit_gracefully = exit_gracefully
