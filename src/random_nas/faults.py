"""Whose fault an error is: the candidate's (a fact about the architecture, published as
`status: failed`), the environment's (nothing published; the next run trains it again), or
not recognised (nothing published either, and its traceback kept: it may be a bug).

The store publishes an entry once, for every colleague and every later run, so only what
would happen again on any sound machine is the candidate's: its own out-of-memory when it
trains alone on its device, or layers that cannot compute on the input. A compiler or backend
error, a CUDA or driver error, an out-of-memory on a device that other trainings share, and
a full disk are the environment's. Classified by what was raised, never by where:
`torch.compile` raises its compiler's errors lazily, from the first forward pass.

Stdlib only (torch's exception classes are recognised by name: importing torch._dynamo to
compare classes would cost every job two seconds).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from dataclasses import dataclass

CANDIDATE = "candidate"
ENVIRONMENT = "environment"
# Neither: a bug (of this project, a strategy, a library) or a fault nobody named yet. Nothing
# is published, as for the environment's, and the traceback is kept in the training's log.
UNRECOGNISED = "unrecognised"

# Raised by torch.compile's tracer and backends (Inductor's missing C++ compiler among them).
_COMPILER_MODULES = ("torch._dynamo", "torch._inductor", "triton")
_DEVICE_ERRORS = re.compile(
    r"CUDA error|CUDA driver|cuDNN error|CUDNN_STATUS|CUBLAS_STATUS|cuBLAS|NCCL|"
    r"illegal memory access|device-side assert|no kernel image|driver version|"
    r"unspecified launch failure|ECC error|MPS backend|HIP error",
    re.IGNORECASE,
)
# What a network's own layers raise when they cannot compute on the input it is given.
_SHAPE_ERRORS = re.compile(
    r"Kernel size can't be greater than actual input size|Output size is too small|"
    r"Calculated (padded )?(input|output) size|shapes cannot be multiplied|size mismatch|"
    r"must match the size of tensor",
    re.IGNORECASE,
)
_CPU_ALLOCATION = re.compile(r"can't allocate memory: you tried to allocate (\d+) bytes")
# What torch's writer says when a file it writes cannot grow (a full disk, a quota).
_WRITE_FAILED = re.compile(r"unexpected pos|PytorchStreamWriter failed writing|No space left")


@dataclass(frozen=True)
class Fault:
    """An error classified: whose it is, why (one phrase), and the error as `Type: message`."""

    kind: str  # CANDIDATE | ENVIRONMENT | UNRECOGNISED
    reason: str
    error: str

    @property
    def is_the_candidates(self) -> bool:
        return self.kind == CANDIDATE


class EnvironmentFault(RuntimeError):
    """A training stopped by its environment, not its candidate: nothing is published."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"{fault.reason}: {fault.error}")
        self.fault = fault


def _raised_by(error: BaseException, modules: tuple[str, ...]) -> bool:
    return any(kind.__module__.startswith(modules) for kind in type(error).__mro__)


def _chain(error: BaseException) -> list[BaseException]:
    """The error and those it was raised from or during, innermost last."""
    chain: list[BaseException] = []
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def disk_fault(error: BaseException, folder: str | os.PathLike[str] | None) -> str | None:
    """Why a write failed, where it did for want of space: the folder and what its file
    system has free (None where the error is no failed write)."""
    full = any(
        getattr(link, "errno", None) in (errno.ENOSPC, errno.EDQUOT) for link in _chain(error)
    )
    if not full and not any(_WRITE_FAILED.search(str(link)) for link in _chain(error)):
        return None
    where = "its folder" if folder is None else str(folder)
    try:
        free = shutil.disk_usage(folder).free if folder is not None else None
    except OSError:
        free = None
    room = "" if free is None else f" ({free / 2**20:.1f} MiB free there now)"
    cause = "the disk or quota is full" if full else "a full disk or quota, or a failing disk"
    return f"writing to {where} failed{room}: {cause}"


def _is_out_of_memory(error: BaseException) -> bool:
    return any(kind.__name__ == "OutOfMemoryError" for kind in type(error).__mro__)


def classify(
    error: BaseException,
    *,
    device_type: str,
    trainings_per_device: int = 1,
    memory_limit_bytes: int | None = None,
    folder: str | os.PathLike[str] | None = None,
) -> Fault:
    """Whose fault `error`, raised while a candidate was built, trained or evaluated, is.

    `trainings_per_device`: how many trainings share its GPU (training.trainings_per_gpu);
    `memory_limit_bytes`: the job's own memory limit (training.mem_mb), against which a CPU
    allocation that failed is judged: one larger than the limit fails anywhere, a smaller one
    failed because the machine's memory was taken by others; `folder`: where the training
    writes, named (with the space left there) where a write failed."""
    text = f"{type(error).__name__}: {error}".strip()
    first_line = text.splitlines()[0] if text else type(error).__name__

    def fault(kind: str, reason: str) -> Fault:
        return Fault(kind, reason, first_line)

    if (full := disk_fault(error, folder)) is not None:
        return fault(ENVIRONMENT, full)
    if _raised_by(error, _COMPILER_MODULES):
        return fault(ENVIRONMENT, "a compiler or backend error of torch.compile")
    if _is_out_of_memory(error):
        if device_type == "cuda" and trainings_per_device > 1:
            return fault(
                ENVIRONMENT,
                f"out of memory on a GPU shared by {trainings_per_device} trainings "
                "(training.trainings_per_gpu): another training may hold the memory",
            )
        return fault(CANDIDATE, f"out of memory alone on its device ({device_type})")
    message = str(error)
    if _DEVICE_ERRORS.search(message):
        return fault(ENVIRONMENT, "a device or driver error")
    if (allocation := _CPU_ALLOCATION.search(message)) is not None:
        asked = int(allocation.group(1))
        if memory_limit_bytes is not None and asked > memory_limit_bytes:
            return fault(
                CANDIDATE,
                f"one allocation of {asked / 2**30:.1f} GiB exceeds the job's memory limit "
                f"({memory_limit_bytes / 2**30:.1f} GiB, training.mem_mb)",
            )
        return fault(
            ENVIRONMENT,
            f"the machine's memory ran out under an allocation of {asked / 2**30:.1f} GiB that "
            "fits the job's limit: other processes hold the rest",
        )
    if isinstance(error, RuntimeError) and _SHAPE_ERRORS.search(message):
        return fault(CANDIDATE, "its layers cannot compute on the input")
    return fault(
        UNRECOGNISED,
        "not recognised (a bug or an unnamed fault; its traceback is in the training's log), "
        "so nothing is published",
    )


class TrainingStopped(Exception):
    """Raised by whoever watches a training (the store's claim on its entry) to stop it: it
    passes through classification untouched, for it says nothing of the candidate."""
