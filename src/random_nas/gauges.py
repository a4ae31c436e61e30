"""What a training job measures of its own process: how long it took to start, and the peak
memory of its training above what it held before (Linux /proc; None where unknown)."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import torch

from random_nas.warm import job_started_at


def seconds_since_process_start() -> float | None:
    """Wall seconds since this training's job started (its own process's start, or the thin
    job's that handed it to a warm trainer), or None where that is unknown."""
    started = job_started_at()
    return None if started is None else time.time() - started


def _process_memory_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


class MemoryGauge:
    """Peak memory of the training alone: what it adds on top of the process with its data
    already placed (the model, optimiser state, activations and workspace).

    CUDA: the peak of allocated tensor memory. CPU: the peak resident set size, reset through
    /proc/self/clear_refs (Linux); so it includes the allocator's caching, and where that reset
    is not allowed the process's whole peak is kept instead (a coarser, upper figure)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            self.baseline = torch.cuda.memory_allocated(device)
            return
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.baseline = (_process_memory_kib("VmRSS") or 0) * 1024
        except OSError:
            self.baseline = 0

    def peak_bytes(self) -> int:
        if self.device.type == "cuda":
            return int(torch.cuda.max_memory_allocated(self.device)) - self.baseline
        peak_kib = _process_memory_kib("VmHWM")
        if peak_kib is None:
            peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB
        return max(0, peak_kib * 1024 - self.baseline)
