"""The life of one store entry: claimed, trained in the claim's own folder, checked, published
by a rename that may lose a race, released; waiting with a limit; taken out with a trace."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO

from random_nas.cli import main as cli
from random_nas.store.claim import ClaimLost
from random_nas.store.entry import Store, WaitLimitReached
from random_nas.store.layout import is_published, lock_file
from random_nas.store.records import entry_problems, taken_out

ENTRY = "mnist5k-0123456789/e1-0123456789/0123456789ab/seed_0"


def store_with_lease(root: Path, seconds: float) -> Store:
    root.mkdir(parents=True, exist_ok=True)
    (root / "store.json").write_text(json.dumps({"lease_seconds": seconds}))
    return Store(root)


def finish(folder: Path, text: str = "{}") -> None:
    """Write an entry's files into a claim's folder, as a training does."""
    (folder / "metrics.json").write_text(text)
    (folder / "history.csv").write_text("epoch\n")


def private_folders(root: Path) -> list[Path]:
    return sorted(root.glob("*/*/*/.seed_*.training"))


def holder_process(root: Path, seconds: float, *lines: str) -> subprocess.Popen:
    """A process that claims ENTRY of the store at `root`, says so, and holds it."""
    code = "\n".join(
        [
            "import sys, time",
            "from random_nas.store.entry import Store",
            f"with Store({str(root)!r}).claim({str(root / ENTRY)!r}) as claim:",
            "    print('held', claim.folder, flush=True)",
            *(f"    {line}" for line in lines),
            f"    time.sleep({seconds})",
        ]
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )


def test_an_entry_is_published_once_whole_and_read_only(tmp_path):
    store = Store(tmp_path)
    entry = tmp_path / ENTRY
    with store.claim(entry) as claim:
        finish(claim.folder)
        assert claim.publish()
    assert is_published(entry) and not private_folders(tmp_path)
    assert oct(entry.stat().st_mode & 0o222) == "0o0"
    names = sorted(path.name for path in entry.iterdir())
    assert names == ["checksums.json", "history.csv", "metrics.json"]
    assert entry_problems(entry) == []  # the checksums match the files
    # A second claim (a host whose cached listing hid the entry) loses the rename: it drops
    # its folder and the published entry stands.
    with store.claim(entry) as claim:
        finish(claim.folder, '{"other": 1}')
        assert not claim.publish()
    assert (entry / "metrics.json").read_text() == "{}" and not private_folders(tmp_path)


def test_a_rename_that_loses_a_race_takes_the_published_entry(tmp_path):
    store, entry = Store(tmp_path), tmp_path / ENTRY

    def train(claim):
        finish(claim.folder, '{"mine": 1}')
        # Meanwhile another host, whose lease this one did not see, published the entry.
        other = tmp_path / "other"
        other.mkdir()
        finish(other, '{"theirs": 1}')
        os.rename(other, entry)

    assert store.obtain(entry, train) == "lost"
    assert json.loads((entry / "metrics.json").read_text()) == {"theirs": 1}
    assert not private_folders(tmp_path)


def test_a_waiting_job_waits_for_its_holder_and_a_dead_holder_is_broken(tmp_path):
    store, entry = Store(tmp_path), tmp_path / ENTRY
    process = holder_process(tmp_path, 2)
    assert process.stdout.readline().startswith("held")
    waited_for, started = [], time.monotonic()
    with store.claim(entry, on_wait=waited_for.append):
        waited = time.monotonic() - started
    process.wait()
    assert waited > 1 and waited_for[0].pid == process.pid
    # A holder killed while it trains leaves its lock and folder: the next claim breaks the
    # lock at once and adopts the checkpoint the dead claim left.
    process = holder_process(
        tmp_path,
        60,
        "(claim.folder / 'checkpoint.pt').write_bytes(b'epoch 1')",
        "print('checkpointed', flush=True)",
    )
    assert process.stdout.readline().startswith("held")
    assert process.stdout.readline() == "checkpointed\n"  # killed after, never before
    process.kill()
    process.wait()
    assert Path(lock_file(str(entry))).exists()
    started = time.monotonic()
    with store.claim(entry) as claim:
        assert time.monotonic() - started < 5
        assert claim.checkpoint.read_bytes() == b"epoch 1"
        assert [path.name for path in claim.folder.parent.iterdir()] == [claim.folder.name]


def test_a_waiting_job_gives_up_at_its_limit_naming_the_holder(tmp_path):
    store, entry = Store(tmp_path), tmp_path / ENTRY
    process = holder_process(tmp_path, 30)
    try:
        assert process.stdout.readline().startswith("held")
        started = time.monotonic()
        with pytest.raises(WaitLimitReached) as error:
            store.obtain(entry, lambda claim: None, wait_seconds=1.5)
        assert 1.4 < time.monotonic() - started < 10
        message = str(error.value)
        assert f"{socket.gethostname()}:{process.pid} since 20" in message
        assert "waited 2 s" in message and "random-nas store list" in message
    finally:
        process.kill()


def test_a_stopped_holder_loses_its_claim_and_writes_nothing_more(tmp_path):
    """A holder stopped past its lease (a suspended job) is taken over; once it runs again its
    claim says so at its next check, and its folder, cleared by the new holder, is not made
    again."""
    store = store_with_lease(tmp_path / "store", 1.0)
    entry = store.root / ENTRY
    process = holder_process(
        store.root,
        0,
        "print('stopping', flush=True)",
        "import os, signal; os.kill(os.getpid(), signal.SIGSTOP)",
        "from random_nas.store.claim import ClaimLost",
        "try:",
        "    claim.progress(1, 3)",
        "except ClaimLost:",
        "    print('lost', claim.folder.exists(), flush=True)",
    )
    assert process.stdout.readline().startswith("held")
    assert process.stdout.readline() == "stopping\n"
    time.sleep(0.2)
    with store.claim(entry) as claim:  # taken over once the stopped lease expires
        finish(claim.folder)
        os.kill(process.pid, signal.SIGCONT)
        assert process.stdout.readline() == "lost False\n"
        assert claim.publish()
    process.wait(timeout=30)
    assert not private_folders(store.root)


def test_a_lost_claim_inside_obtain_takes_the_new_holders_entry(tmp_path):
    store = store_with_lease(tmp_path / "store", 1.0)
    entry = store.root / ENTRY
    losses = []

    def train(claim):
        os.remove(lock_file(str(entry)))  # as a takeover would leave it: not ours any more
        other = tmp_path / "other"
        other.mkdir()
        finish(other, '{"theirs": 1}')
        os.rename(other, entry)
        claim.progress(1, 3)

    assert store.obtain(entry, train, on_loss=losses.append) == "found"
    assert isinstance(losses[0], ClaimLost) and not private_folders(store.root)


def test_a_holder_whose_heartbeat_runs_without_progress_shows_in_the_listing(tmp_path, capsys):
    store = Store(tmp_path)
    entry = tmp_path / ENTRY
    with store.claim(entry, epoch_limit_seconds=0.5) as claim:
        claim.progress(1, 9)
        assert cli(["store", "list", "--store", str(tmp_path)]) == 0
        assert "epoch 1/9" in capsys.readouterr().out
        time.sleep(1)
        assert cli(["store", "list", "--store", str(tmp_path)]) == 0
        listed = capsys.readouterr().out
    assert f"training {ENTRY}: held by {socket.gethostname()}:{os.getpid()} since" in listed
    assert "NO PROGRESS" in listed and "heartbeat runs" in listed


def test_an_entry_found_wrong_is_retired_by_name_or_query_with_a_trace(tmp_path, capsys):
    store = Store(tmp_path)
    names = []
    for arch_id, error in (("0123456789ab", "InductorError: no compiler"), ("ba9876543210", None)):
        entry = tmp_path / ENTRY.replace("0123456789ab", arch_id)
        with store.claim(entry) as claim:
            status = "failed" if error else "ok"
            record = {"arch_id": arch_id, "layers": [], "status": status, "error": error}
            finish(claim.folder, json.dumps(record))
            claim.publish()
        names.append(str(entry.relative_to(tmp_path)))
    arguments = ["store", "retire", "--store", str(tmp_path)]
    with pytest.raises(SystemExit):  # no reason: refused by the command line
        cli([*arguments, "--failed-matching", "Inductor"])
    assert "--reason" in capsys.readouterr().err
    assert cli([*arguments, "--failed-matching", "Inductor", "--reason", "no compiler"]) == 0
    assert f"retired {names[0]}" in capsys.readouterr().out
    assert not (tmp_path / names[0]).exists() and (tmp_path / names[1]).exists()
    record = json.loads(next((tmp_path / "retired").glob("*/retired.json")).read_text())
    assert record["entry"] == names[0] and record["reason"] == "no compiler"
    assert record["action"] == "retired" and "@" in record["by"] and record["date"]
    assert len(list((tmp_path / "retired").glob("*/entry/metrics.json"))) == 1
    # Removal by name only, with a trace too; a wrong name removes nothing.
    assert cli(["store", "remove", "--store", str(tmp_path), "nonsense"]) == 1
    assert "is not an entry's name" in capsys.readouterr().err
    assert cli(["store", "remove", "--store", str(tmp_path), names[1]]) == 0
    assert sorted(taken_out(tmp_path)) == sorted(names)


def test_the_version_and_the_status_say_what_is_here(tmp_path, capsys, monkeypatch):
    assert __import__("random_nas").__version__ in cli_version(capsys)
    store = Store(tmp_path / "store")
    entry = store.root / ENTRY
    (tmp_path / "results/tiny").mkdir(parents=True)
    (tmp_path / "results/tiny/run.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    with store.claim(entry, epoch_limit_seconds=60) as claim:
        claim.progress(2, 5)
        assert cli(["status", "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "run tiny: drawn " in out and "table collected not yet" in out
    assert f"training {ENTRY}: held by" in out and "epoch 2/5" in out


def cli_version(capsys) -> str:
    with pytest.raises(SystemExit):
        cli(["--version"])
    return capsys.readouterr().out
