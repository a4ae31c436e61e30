"""A warm trainer: one process per run that has imported torch and the library once, from
which every local train job forks its training, so that a training pays for its own set-up
and arithmetic and not for starting Python and importing torch (about 2 s a job).

A job stays a job: Snakemake starts one thin process per training (scripts/train.py, stdlib
only), which hands its request, working directory, environment and console to the trainer over
a local socket and waits. The trainer forks; the fork is that job's training, running the same
code as a job in its own process would (random_nas.job.run_request), and the job exits with
its fork's status. A signal the job receives is passed on to its fork; a job killed hard
takes its fork with it (the fork watches its job's connection), and the trainer ends with the
Snakemake process that started it. Nothing here imports torch but the trainer itself.

Stdlib only, and Linux (fork, /proc, passing descriptors over a Unix socket).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

# The trainer's socket, as the environment of Snakemake's jobs names it.
SOCKET_ENV = "RANDOM_NAS_TRAINER"
# Set to 0 to have every local job train in its own process, as on a cluster.
SWITCH_ENV = "RANDOM_NAS_WARM_TRAINER"
# Imported by the trainer before it forks anything: what a training job would import.
PRELOADED = (
    "torch",
    "random_nas.data",
    "random_nas.job",
    "random_nas.model",
    "random_nas.space",
    "random_nas.train",
    "random_nas.training_config",
)
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)

# When the job a training belongs to started (seconds since the epoch), where that is not
# this process's own start: set in a fork of the warm trainer.
_job_started: float | None = None


def job_started_at() -> float | None:
    """When this training's job started (seconds since the epoch): its own process's start
    (Linux /proc), or the thin job's that handed it to a warm trainer; None where unknown."""
    if _job_started is not None:
        return _job_started
    try:
        # Field 22 of /proc/self/stat, counted after the parenthesised command name.
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except OSError:
        return None
    return time.time() - (uptime - start_ticks / os.sysconf("SC_CLK_TCK"))


def unavailable() -> str | None:
    """Why no warm trainer can run here, or None where one can."""
    if os.environ.get(SWITCH_ENV, "1") == "0":
        return f"{SWITCH_ENV}=0"
    if not sys.platform.startswith("linux") or not hasattr(socket, "send_fds"):
        return f"it needs Linux (this is {sys.platform})"
    return None


def start(owner: int, src: str) -> tuple[str, subprocess.Popen]:
    """Start a warm trainer that lives as long as process `owner` (Snakemake), importing the
    library from `src`; its socket's path, and the process."""
    folder = tempfile.mkdtemp(prefix="random-nas-trainer-")
    path = os.path.join(folder, "socket")
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])),
    }
    # Its own session: a signal reaches a training through its job alone, never twice.
    process = subprocess.Popen(
        [sys.executable, "-m", "random_nas.warm", path, str(owner)],
        env=environment,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not os.path.exists(path) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return path, process


def stop(process: subprocess.Popen) -> None:
    """End a warm trainer (its trainings are over: Snakemake has finished its jobs)."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


# The trainer


def serve(path: str, owner: int) -> None:
    """Accept jobs on `path` until process `owner` is gone or SIGTERM comes: fork a training
    for each, and tell each job how its training ended."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)  # jobs may connect now; they wait for the imports below
    listener.listen(128)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(0))
    for module in PRELOADED:  # no torch operation runs before a fork: no thread pool to copy
        __import__(module)
    woken, wake = os.pipe()
    os.set_blocking(wake, False)
    signal.set_wakeup_fd(wake)
    signal.signal(signal.SIGCHLD, lambda number, frame: None)
    trainings: dict[int, socket.socket] = {}
    try:
        while _alive(owner):
            ready = select.select([listener, woken], [], [], 0.5)[0]
            if woken in ready:
                os.read(woken, 4096)
            _report_ended(trainings)
            if listener in ready:
                inherited = [listener.fileno(), woken, wake]
                inherited += [connection.fileno() for connection in trainings.values()]
                _fork_training(listener.accept()[0], trainings, inherited)
    finally:
        os.remove(path)
        os.rmdir(os.path.dirname(path))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _send(connection: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # a job gone: its training followed it
        connection.sendall(json.dumps(message).encode() + b"\n")


def _report_ended(trainings: dict[int, socket.socket]) -> None:
    while trainings:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = trainings.pop(pid, None)
        if connection is not None:
            ended = (
                {"signal": os.WTERMSIG(status)}
                if os.WIFSIGNALED(status)
                else {"exit": os.waitstatus_to_exitcode(status)}
            )
            _send(connection, ended)
            connection.close()


def _fork_training(
    connection: socket.socket, trainings: dict[int, socket.socket], inherited: list[int]
) -> None:
    connection.settimeout(10)  # a job sends its request at once
    try:
        request, consoles = _receive_request(connection)
    except (OSError, ValueError) as error:
        _send(connection, {"refused": f"unreadable request: {error}"})
        connection.close()
        return
    pid = os.fork()
    if pid == 0:
        _train(connection, request, consoles, inherited)
    for descriptor in consoles:
        os.close(descriptor)
    trainings[pid] = connection
    _send(connection, {"pid": pid})


def _receive_request(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    message, consoles, _, _ = socket.recv_fds(connection, 1 << 16, 2)
    while not message.endswith(b"\n"):
        more = connection.recv(1 << 16)
        if not more:
            raise ValueError("the job closed its connection mid-request")
        message += more
    if len(consoles) != 2:
        raise ValueError(f"{len(consoles)} console descriptors where 2 are expected")
    return json.loads(message), consoles


def _train(
    connection: socket.socket, request: dict[str, Any], consoles: list[int], inherited: list[int]
) -> NoReturn:
    """The fork: become the job's training (its console, directory and environment), run it
    as a job in its own process would, and end with its status."""
    global _job_started
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for number, handler in (
            (signal.SIGCHLD, signal.SIG_DFL),
            (signal.SIGTERM, signal.SIG_DFL),
            (signal.SIGINT, signal.default_int_handler),
        ):
            signal.signal(number, handler)
        for descriptor in inherited:
            os.close(descriptor)
        os.dup2(consoles[0], 1)
        os.dup2(consoles[1], 2)
        for descriptor in consoles:
            os.close(descriptor)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["environment"])
        _job_started = request["started"]
        connection.settimeout(None)
        watcher = threading.Thread(target=_end_with_job, args=(connection, request["pid"]))
        watcher.daemon = True
        watcher.start()
        from random_nas.job import run_request

        code = run_request(request["job"], process="forked from the run's warm trainer")
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())
        _flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)  # ends as an interrupted process does
    except SystemExit as error:
        code = error.code if isinstance(error.code, int) else 1
    except BaseException:
        traceback.print_exc()
    _flush()
    os._exit(code)


def _flush() -> None:
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


def _end_with_job(connection: socket.socket, job: int) -> None:
    """The training lives as its job does: stopped while the job is stopped (Ctrl-Z, SIGSTOP;
    the job continues it), and ended at once, as in its own process, where the job's
    connection ends (the job killed, or Snakemake killed): a job sends nothing after its
    request."""
    with contextlib.suppress(OSError):
        while not select.select([connection], [], [], 0.25)[0] or connection.recv(4096):
            if _stopped(job):
                os.kill(os.getpid(), signal.SIGSTOP)
    os.kill(os.getpid(), signal.SIGKILL)


def _stopped(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("T", "t")


# The job's side


def train_through(path: str, job: dict[str, Any]) -> int | None:
    """Hand `job` to the warm trainer at `path` and wait for its training: the status the job
    ends with, or None where the trainer cannot be reached (the job trains itself)."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    request = {
        "job": job,
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "environment": dict(os.environ),
        "started": job_started_at(),
    }
    payload = json.dumps(request).encode() + b"\n"
    try:
        connection.connect(path)
        sent = socket.send_fds(connection, [payload], [sys.stdout.fileno(), sys.stderr.fileno()])
        connection.sendall(payload[sent:])
        replies = _replies(connection)
        first = next((reply for reply in replies if reply is not None), {})
    except (OSError, ValueError):
        return None
    if "pid" not in first:
        print(f"the warm trainer refused this job: {first}", file=sys.stderr)
        return None
    training = first["pid"]
    for number in _FORWARDED:
        signal.signal(number, lambda number, frame: _pass_on(training, number))
    ended: dict[str, Any] = {}
    for reply in replies:
        if reply is not None:
            ended = reply
            break
        # This job runs: so does its training (stopped with it, and continued now if this
        # job was continued since).
        _pass_on(training, signal.SIGCONT)
    if "signal" in ended:  # end as the training did, for Snakemake to see
        if ended["signal"] != signal.SIGKILL:
            signal.signal(ended["signal"], signal.SIG_DFL)
        os.kill(os.getpid(), ended["signal"])
    if "exit" not in ended:
        print("the warm trainer ended before this job's training did", file=sys.stderr)
        return 1
    return int(ended["exit"])


def _replies(connection: socket.socket) -> Iterator[dict[str, Any] | None]:
    """The trainer's replies, one JSON object a line, and None for each second without one;
    until the trainer closes the connection."""
    connection.settimeout(1.0)
    buffer = b""
    while True:
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield json.loads(line)
        try:
            more = connection.recv(4096)
        except TimeoutError:
            yield None
            continue
        if not more:
            return
        buffer += more


def _pass_on(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
