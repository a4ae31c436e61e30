"""The line a run prints when it stops before finishing (stdlib only: the workflow's `onerror`
calls it), so that a person knows whether it was interrupted and how to go on."""

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
