"""A store's own files and a command's arguments are checked before they can delete anything:
no path is followed out of the store, a held claim is kept and said to be held, and the
store's settings are validated where they are read, naming their file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from test_entry import ENTRY, finish

from random_nas.cli import main as cli
from random_nas.files import InputFileError
from random_nas.store.entry import Store, WaitLimitReached
from random_nas.store.layout import StorePathError, private_dir
from random_nas.store.records import entry_problems


def outside_folder(tmp_path: Path) -> Path:
    """A colleague's folder outside the store, with a file and a folder in it."""
    outside = tmp_path / "colleague"
    (outside / "thesis").mkdir(parents=True)
    (outside / "thesis" / "chapter1.tex").write_text("years of work")
    (outside / "notes.txt").write_text("notes")
    return outside


def unchanged(outside: Path) -> bool:
    return (outside / "thesis" / "chapter1.tex").read_text() == "years of work" and (
        outside / "notes.txt"
    ).read_text() == "notes"


def test_a_claims_folder_linked_out_of_the_store_is_refused_and_nothing_outside_is_deleted(
    tmp_path,
):
    root, outside = tmp_path / "store", outside_folder(tmp_path)
    entry = root / ENTRY
    entry.parent.mkdir(parents=True)
    Path(private_dir(str(entry))).symlink_to(outside, target_is_directory=True)
    store = Store(root)
    with pytest.raises(StorePathError, match=r"\.seed_0\.training is a link"):
        store.obtain(entry, lambda claim: finish(claim.folder))
    assert unchanged(outside)
    # `store clean` removes the link alone.
    assert cli(["store", "clean", "--store", str(root)]) == 0
    assert unchanged(outside) and not Path(private_dir(str(entry))).exists()


def test_an_entrys_folder_linked_out_of_the_store_is_neither_read_nor_written(tmp_path):
    root, outside = tmp_path / "store", outside_folder(tmp_path)
    recipe = (root / ENTRY).parents[1]
    recipe.parent.mkdir(parents=True)
    recipe.symlink_to(outside, target_is_directory=True)
    with pytest.raises(StorePathError, match="is a link"):
        Store(root).obtain(root / ENTRY, lambda claim: finish(claim.folder))
    assert unchanged(outside) and sorted(p.name for p in outside.iterdir()) == [
        "notes.txt",
        "thesis",
    ]


@pytest.mark.parametrize("name", ["../colleague/thesis/seed_0", "a/../../colleague/x/seed_0"])
def test_a_name_leading_out_of_the_store_removes_nothing(tmp_path, capsys, name):
    root, outside = tmp_path / "store", outside_folder(tmp_path)
    (outside / "thesis" / "seed_0").mkdir()
    root.mkdir()
    assert cli(["store", "remove", "--store", str(root), name]) == 1
    assert "is not an entry's name" in capsys.readouterr().err
    assert unchanged(outside) and (outside / "thesis" / "seed_0").is_dir()


def test_store_clean_beside_a_held_claim_keeps_it_and_says_so(tmp_path, capsys):
    root = tmp_path / "store"
    store = Store(root)
    with store.claim(root / ENTRY) as claim:
        assert cli(["store", "clean", "--store", str(root)]) == 0
        assert claim.folder.is_dir() and claim.holds()
        assert "kept " in capsys.readouterr().out
        # Retiring or removing a held entry is refused naming the holder, and leaves no trace.
        with pytest.raises(WaitLimitReached, match="is still being trained by"):
            store.retire(root / ENTRY, "a test")
        assert not list((root / "retired").glob("*")) if (root / "retired").exists() else True


@pytest.mark.parametrize("value", [0, -5, "abc", None, True, float("inf")])
def test_store_settings_are_checked_where_they_are_read_naming_the_file(tmp_path, value):
    root = tmp_path / "store"
    root.mkdir()
    (root / "store.json").write_text(json.dumps({"lease_seconds": value}))
    with pytest.raises(InputFileError, match=r"store\.json: lease_seconds is"):
        Store(root)


def test_a_commands_error_is_one_line_and_debug_shows_its_traceback(tmp_path, capsys):
    root = tmp_path / "store"
    root.mkdir()
    (root / "store.json").write_text('{"lease_seconds": 0}')
    arguments = ["store", "clean", "--store", str(root)]
    assert cli(arguments) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--debug" in error and "store.json" in error
    with pytest.raises(InputFileError, match="lease_seconds is 0"):
        cli(["--debug", *arguments])


KILLED_AT = {
    # Its result written whole, its checkpoint gone, not yet renamed onto the entry.
    "before publishing": "claim.Claim.publish = lambda self: os.kill(os.getpid(), 9)",
    # Renamed onto the entry, before its folder is made read-only and its lock released.
    "after the rename": (
        "original = claim.read_only\n"
        "claim.read_only = lambda path: os.kill(os.getpid(), 9) "
        "if path.name == 'seed_0' else original(path)"
    ),
}


@pytest.mark.parametrize("moment", KILLED_AT)
def test_a_kill_at_a_moment_of_publishing_is_resumed_without_training_again(tmp_path, moment):
    root = tmp_path / "store"
    code = "\n".join(
        [
            "import os",
            "from pathlib import Path",
            "from random_nas.store import claim, entry",
            KILLED_AT[moment],
            "def train(claim):",
            "    (claim.folder / 'history.csv').write_text('epoch\\n1\\n')",
            "    (claim.folder / 'metrics.json').write_text('{\"status\": \"ok\"}')",
            f"entry.Store({str(root)!r}).obtain({str(root / ENTRY)!r}, train)",
        ]
    )
    killed = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(REPO / "src")}
    )
    assert killed.returncode == -9
    store, trainings = Store(root), []
    assert store.holder(root / ENTRY) is None  # its holder died on this host: seen dead
    outcome = store.obtain(root / ENTRY, lambda claim: trainings.append(claim))
    assert trainings == [] and outcome in ("trained", "found")
    assert (root / ENTRY / "history.csv").read_text() == "epoch\n1\n"
    assert entry_problems(root / ENTRY) == []
    cli(["store", "clean", "--store", str(root)])
    assert not list(root.glob("*/*/*/.seed_0.*"))


def test_counts_say_what_was_done(tmp_path, capsys, monkeypatch):
    from random_nas.job import received_from_store

    # A receipt's job log says whether the store had the entry (a verification counts them).
    log = tmp_path / "train.log"
    log.write_text("x seed 0 at 1 epoch is in the store (/s/e): nothing to train\n")
    assert received_from_store(log) and not received_from_store(tmp_path / "none.log")
    log.write_text("training x seed 0 at 1 epoch (attempt 1 of 1)\n")
    assert not received_from_store(log)
    # `random-nas status` counts the batches that asked for trainings, not the one that ended.
    search = tmp_path / "results/live/search"
    search.mkdir(parents=True)
    (search.parent / "run.json").write_text("{}")
    for number, proposals in enumerate([[{"arch_id": "a"}], [{"arch_id": "b"}], []]):
        record = {"batch": number, "done": not proposals, "proposals": proposals}
        (search / f"batch_{number}.json").write_text(json.dumps(record))
    monkeypatch.chdir(tmp_path)
    assert cli(["status", "--store", str(tmp_path / "store")]) == 0
    assert "; 2 search batches asked" in capsys.readouterr().out


def _other_host_available() -> bool:
    probe = ["unshare", "--uts", "sh", "-c", "hostname probe-host"]
    return shutil.which("unshare") is not None and subprocess.run(probe).returncode == 0


@pytest.mark.skipif(not _other_host_available(), reason="no UTS namespace for a second host")
def test_a_lock_left_by_a_dead_host_under_another_lease_is_held_then_broken(tmp_path, capsys):
    """store.json's lease changed while a host that died held a lock: the lock counts as held
    until it has gone unrenewed for both leases, then `store clean` and a claim break it."""
    root = tmp_path / "store"
    root.mkdir()
    (root / "store.json").write_text('{"lease_seconds": 1}')
    code = (
        "from random_nas.store.entry import Store\nimport time\n"
        f"with Store({str(root)!r}).claim({str(root / ENTRY)!r}):\n"
        "    print('held', flush=True)\n    time.sleep(600)\n"
    )
    command = [sys.executable, "-c", code]
    holder = subprocess.Popen(
        ["unshare", "--uts", "sh", "-c", 'hostname gone-host && exec "$@"', "x", *command],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    (root / "store.json").write_text('{"lease_seconds": 2}')
    store = Store(root)
    with pytest.raises(WaitLimitReached, match="gone-host"), store.claim(root / ENTRY, 0):
        pass
    time.sleep(2.5)
    assert cli(["store", "clean", "--store", str(root)]) == 0
    assert "removed mnist5k-0123456789/e1-0123456789/0123456789ab/.seed_0.training" in (
        capsys.readouterr().out
    )
    assert not list(root.glob("*/*/*/.seed_0.lock"))
    assert store.obtain(root / ENTRY, lambda claim: finish(claim.folder)) == "trained"


@pytest.mark.parametrize(
    ("column", "value", "named"),
    [
        ("arch_id", "../../../escaped", "arch_id '../../../escaped' is not its architecture's"),
        ("recipe", json.dumps({"seed": "0/../../x"}), "seed '0/../../x' is not an integer"),
    ],
)
def test_a_tables_row_that_would_name_a_path_out_of_the_store_is_refused(
    tmp_path, column, value, named
):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from random_nas.migrate import import_run

    published = tmp_path / "published"
    published.mkdir()
    source = REPO / "results/published/mnist5k-grid27"
    shutil.copy(source / "candidates.parquet", published)
    table = pq.read_table(source / "trials.parquet")
    values = table[column].to_pylist()
    if column == "recipe":
        value = json.dumps({**json.loads(values[0]), "seed": json.loads(value)["seed"]})
    table = table.set_column(
        table.schema.get_field_index(column), column, pa.array([value, *values[1:]], pa.string())
    )
    pq.write_table(table, published / "trials.parquet")
    with pytest.raises(InputFileError, match=named):
        import_run(published, tmp_path / "store", from_tables=True)
    outside = {path for path in tmp_path.rglob("*") if "store" not in path.parts}
    assert all(path.is_relative_to(published) for path in outside if path != published)
