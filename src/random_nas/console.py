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


def stopped_line(log_paths: Iterable[str]) -> str:
    """One line: interrupted (and how to resume), or which jobs failed (and where to look)."""
    text = ""
    for path in log_paths:
        try:
            text += Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    if any(marker in text for marker in INTERRUPTED):
        return f"The run was interrupted; {RESUME}."
    return (
        "The run stopped: a job failed (its error is above, its log named there); fix the "
        f"cause and {RESUME}."
    )


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
