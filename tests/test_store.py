"""The store shared by working directories, machines and later versions: one training per
entry, entries no Snakemake bookkeeping can delete, keys that last, and a look at the store."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import (
    TINY_CONFIG,
    WORKFLOW_FILES,
    copy_repository,
    counting_trainings,
    default_config,
    run_for_table,
    run_snakemake,
    snakemake_command,
    store_entry,
    write_config,
)

from random_nas.cli import main as cli
from random_nas.recipes import data_recipe, training_recipe
from random_nas.space import SearchSpace
from random_nas.store.layout import data_key, recipe_key

# What a table row says of a training, less how long it took and where the table was made.
SAME_TRAINING = ["arch_id", "status", "val_accuracy", "test_accuracy", "val_loss", "params"]


def tiny(store: Path, **changes) -> dict:
    config = json.loads(json.dumps(TINY_CONFIG))
    config["store"] = str(store)
    for section, value in changes.items():
        if isinstance(value, dict) and isinstance(config.get(section), dict):
            config[section] = {**config[section], **value}
        else:
            config[section] = value
    return config


def arch_ids(config: dict) -> list[str]:
    space = SearchSpace.from_config(config["search_space"])
    return [arch.arch_id for arch in space.sample(config["num_architectures"], 0)]


def entry_files(store: Path) -> dict[Path, tuple[bytes, int]]:
    """Every file of every published entry, with its bytes and mtime."""
    return {
        path: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(store.glob("*/*/*/seed_*/*"))
    }


def trained(counter: Path) -> list[str]:
    return counter.read_text().split()


def test_the_default_recipe_keys_are_pinned():
    # A change here renames every entry of every store: it must be deliberate, with a note.
    config = default_config()
    assert data_key(data_recipe(config)) == "mnist5k-2da6b6c336"
    assert recipe_key(training_recipe(config)) == "e3-686ff976c2"
    assert [recipe_key(training_recipe(config, epochs)) for epochs in (1, 9)] == [
        "e1-2ca785ce23",
        "e9-e23929bff7",
    ]


def _start(
    workdir: Path, configfile: Path, environment: dict, host: str | None = None
) -> subprocess.Popen:
    """Snakemake in the background, in a session of its own; on another host name (a UTS
    namespace, as a second machine sharing the store's file system) where `host` is given."""
    command = snakemake_command(configfile)
    if host is not None:
        command = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host, *command]
    return subprocess.Popen(
        command,
        cwd=workdir,
        env={**os.environ, **environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _other_hosts_available() -> bool:
    probe = ["unshare", "--uts", "sh", "-c", "hostname probe-host"]
    return shutil.which("unshare") is not None and subprocess.run(probe).returncode == 0


@pytest.mark.skipif(
    not _other_hosts_available(), reason="no UTS namespace (unshare --uts) for a second host"
)
def test_two_hosts_sharing_a_store_at_once_train_each_entry_once(tmp_path):
    """A second host sees the first's claims only through their lease markers (it cannot ask
    whether a process of another host lives): alice on this host, bob on another at once."""
    store = tmp_path / "shared-store"
    first, second = (copy_repository(tmp_path / name) for name in ("alice", "bob"))
    environment, counter = counting_trainings(tmp_path / "hook")
    # Overlapping draws: bob's 5 begin with alice's 4 (draws are prefix-stable).
    alice = tiny(store, num_architectures=4)
    bob = tiny(store, num_architectures=5)
    runs = [
        _start(first, write_config(first, alice), environment),
        _start(second, write_config(second, bob), environment, host="bob-host"),
    ]
    for process in runs:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-4000:]
    assert sorted(trained(counter)) == sorted(arch_ids(bob))  # each of the 5 entries once
    tables = [
        pd.read_parquet(folder / "results/tiny/candidates.parquet")[SAME_TRAINING]
        .sort_values("arch_id")
        .reset_index(drop=True)
        for folder in (first, second)
    ]
    shared = tables[1][tables[1]["arch_id"].isin(tables[0]["arch_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(tables[0], shared)
    # Each directory holds its receipts; the store one entry per training, nothing unfinished.
    assert len(list(store.glob("*/*/*/seed_0/metrics.json"))) == 5
    assert not list(store.glob("*/*/*/.seed_*"))


def test_a_holder_stopped_past_its_lease_is_taken_over_and_changes_nothing(tmp_path):
    """A suspended job (SIGSTOP past the store's lease) while a second working directory
    takes its entry over, resumes from its checkpoint and publishes: once it runs again the
    stopped job stops training, writes nothing into the store and takes the published entry."""
    store = tmp_path / "shared-store"
    store.mkdir()
    (store / "store.json").write_text(json.dumps({"lease_seconds": 3}))
    first, second = (copy_repository(tmp_path / name) for name in ("alice", "bob"))
    environment, counter = counting_trainings(tmp_path / "hook")
    config = tiny(
        store,
        num_architectures=1,
        training={"epochs": 30},
        dataset={"val_size": 200, "train_size": 1600, "test_size": 200},
    )
    stopped = _start(first, write_config(first, config), environment)
    deadline = time.monotonic() + 300
    while not list(store.glob("*/*/*/.seed_0.training/*/checkpoint.pt")):
        if time.monotonic() > deadline:
            stopped.kill()
            pytest.fail("alice's training never reached its first checkpoint")
        time.sleep(0.05)
    os.killpg(stopped.pid, signal.SIGSTOP)
    try:
        time.sleep(4)  # past the lease: alice's heartbeat is stopped too
        run_for_table(second, write_config(second, config), env=environment)
        published = entry_files(store)
        assert len(published) == 4  # metrics.json, history.csv, train.log, checksums.json
        log = next(path for path in published if path.name == "train.log").read_text()
        assert re.search(r"resumed from the checkpoint after epoch [1-9]", log)
    finally:
        os.killpg(stopped.pid, signal.SIGCONT)
    _, stderr = stopped.communicate(timeout=300)
    assert stopped.returncode == 0, stderr[-4000:]
    assert "this job's claim was taken over" in stderr
    assert entry_files(store) == published  # every byte and mtime
    assert not list(store.glob("*/*/*/.seed_*.training"))
    assert len(trained(counter)) == 2  # alice's start, bob's resumption
    tables = [
        pd.read_parquet(folder / "results/tiny/candidates.parquet") for folder in (first, second)
    ]
    pd.testing.assert_frame_equal(tables[0][SAME_TRAINING], tables[1][SAME_TRAINING])


def test_a_run_killed_in_one_directory_is_finished_from_another_and_kept(tmp_path):
    store = tmp_path / "shared-store"
    first, second = (copy_repository(tmp_path / name) for name in ("alice", "bob"))
    environment, counter = counting_trainings(tmp_path / "hook")
    config = tiny(
        store,
        num_architectures=6,
        training={"epochs": 6},
        dataset={"val_size": 200, "train_size": 800, "test_size": 200},
    )
    configfile = write_config(first, config)
    process = _start(first, configfile, environment)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        published = list(store.glob("*/*/*/seed_0/metrics.json"))
        if published and list(store.rglob("checkpoint.pt")):
            break
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the run never reached a published entry and a checkpoint")
    os.killpg(process.pid, signal.SIGTERM)
    process.communicate(timeout=300)
    assert 1 <= len(list(store.glob("*/*/*/seed_0/metrics.json"))) < 6

    run_for_table(second, write_config(second, config), env=environment)
    logs = "".join(path.read_text() for path in store.glob("*/*/*/seed_0/train.log"))
    # Alice's killed training, finished by bob, says which architecture it resumed.
    assert re.search(r"[0-9a-f]{12} resumed from the checkpoint after epoch [1-5]", logs)
    finished = entry_files(store)
    before = len(trained(counter))

    run_for_table(first, configfile, env=environment)
    assert len(trained(counter)) == before  # alice trains nothing
    assert entry_files(store) == finished  # bytes and mtimes
    assert set(pd.read_parquet(first / "results/tiny/candidates.parquet")["status"]) == {"ok"}


def test_a_failing_run_in_one_directory_leaves_the_others_entries(tmp_path):
    store = tmp_path / "shared-store"
    first, second = (copy_repository(tmp_path / name) for name in ("alice", "bob"))
    alice = tiny(store, num_architectures=2)
    run_for_table(first, write_config(first, alice))
    kept = entry_files(store)
    # Bob's environment is broken and he forces every training of his (overlapping) draw.
    environment, _ = counting_trainings(tmp_path / "hook", broken=True)
    bob = write_config(second, tiny(store, num_architectures=3, training={"retries": 0}))
    result = run_for_table(
        second, bob, "--forcerun", "train", "--keep-going", env=environment, check=False
    )
    assert result.returncode != 0 and "injected: the environment is broken" in result.stderr
    assert entry_files(store) == kept
    assert run_for_table(first, write_config(first, alice), "-n").stdout.count("rule train") == 0


def test_a_training_key_added_at_its_neutral_value_plans_nothing(tmp_path):
    """An upgrade that adds a training key: with the key registered at the value that trains
    as before, nothing is renamed, retrained or collected again; without, every entry is."""
    workdir = copy_repository(tmp_path / "upgrade", WORKFLOW_FILES)
    store = tmp_path / "store"
    configfile = write_config(workdir, tiny(store, num_architectures=2))
    run_for_table(workdir, configfile)

    schema_path = workdir / "workflow/schemas/config.schema.yaml"
    schema = yaml.safe_load(schema_path.read_text())
    schema["properties"]["training"]["properties"]["dropout"] = {"type": "number", "default": 0.0}
    schema_path.write_text(yaml.safe_dump(schema, sort_keys=False))
    result = run_for_table(workdir, configfile, "-n", check=False)
    # Unregistered, the key makes a new recipe: the run's folder holds the old one.
    assert result.returncode != 0
    assert "training.dropout (unset (its default) against 0.0)" in result.stdout

    recipes = workdir / "src/random_nas/recipes.py"
    text = recipes.read_text()
    assert "NEUTRAL_TRAINING_VALUES: dict[str, Any] = {}" in text
    recipes.write_text(
        text.replace(
            "NEUTRAL_TRAINING_VALUES: dict[str, Any] = {}",
            'NEUTRAL_TRAINING_VALUES: dict[str, Any] = {"dropout": 0.0}',
        )
    )
    assert "Nothing to be done" in run_for_table(workdir, configfile, "-n").stdout
    # At another value the key makes a recipe of its own.
    other = write_config(
        workdir, tiny(store, run="dropout", num_architectures=2, training={"dropout": 0.1})
    )
    assert run_for_table(workdir, other, "-n").stdout.count("rule train:") == 2

    # The trainer gets the key (a field without a default, as a new setting would be) and
    # trains a new entry of the old recipe, which leaves the key out, at its neutral value.
    trainer = workdir / "src/random_nas/training_config.py"
    text = trainer.read_text()
    assert "    tf32: bool\n" in text
    trainer.write_text(text.replace("    tf32: bool\n", "    tf32: bool\n    dropout: float\n", 1))
    more = write_config(workdir, tiny(store, num_architectures=3))
    environment, counter = counting_trainings(tmp_path / "hook")
    run_for_table(workdir, more, env=environment)
    assert len(trained(counter)) == 1
    table = pd.read_parquet(workdir / "results/tiny/candidates.parquet")
    assert list(table["status"]) == ["ok"] * 3
    assert "dropout" not in json.loads(table["recipe"].iloc[2])["training"]


def test_the_store_is_listed_checked_cleaned_and_removed_from_by_name(
    tmp_path, capsys, monkeypatch
):
    workdir = copy_repository(tmp_path / "work")
    store = tmp_path / "store"
    config = tiny(store, num_architectures=2)
    run_for_table(workdir, write_config(workdir, config))
    first, second = (store_entry(workdir, config, arch_id).parent for arch_id in arch_ids(config))

    monkeypatch.chdir(workdir)
    assert cli(["store", "list", "--store", str(store)]) == 0
    listed = capsys.readouterr().out
    assert "2 entries" in listed and "2 ok" in listed and "cpu/fp32 (2)" in listed
    # Its recipe decoded, its size readable (entries are kilobytes), the runs that use it.
    assert "  recipe: epochs 1, batch_size 64, optimizer sgd, lr 0.05" in listed
    assert "  data: " in listed and "name mnist5k" in listed and "split_seed 0" in listed
    assert re.search(r"2 entries, [0-9]+ kB; 2 ok", listed) and "0.0 MB" not in listed
    assert "  used by runs: tiny" in listed
    assert cli(["store", "check", "--store", str(store)]) == 0
    assert "checked 2 entries" in capsys.readouterr().out

    # A damaged entry is named; an unfinished training no job holds is cleared.
    metrics = second / "metrics.json"
    os.chmod(metrics, 0o644)
    metrics.write_text(metrics.read_text()[:50])
    private = first.parent / ".seed_1.training" / "0123456789abcdef"
    private.mkdir(parents=True)
    (private / "checkpoint.pt").write_bytes(b"partial")
    assert cli(["store", "check", "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert f"{second.relative_to(store)}: metrics file" in err
    assert f"`random-nas store retire --store {store} {second.relative_to(store)}" in err
    assert cli(["store", "clean", "--store", str(store)]) == 0
    assert "removed" in capsys.readouterr().out
    assert not list(store.glob("*/*/*/.seed_1.training"))


def test_a_receipt_is_no_proof_of_an_entry_that_left_the_store(tmp_path, capsys, monkeypatch):
    """An entry retired (or removed) after a run copied it: the run's receipt names what the
    store no longer holds; `store check` says so, and the next run trains the entry again."""
    workdir = copy_repository(tmp_path / "work")
    store = tmp_path / "store"
    configfile = write_config(workdir, tiny(store, num_architectures=2))
    environment, counter = counting_trainings(tmp_path / "hook")
    run_for_table(workdir, configfile, env=environment)
    entries = sorted(store.glob("*/*/*/seed_0"))
    name = str(entries[1].relative_to(store))
    assert cli(["store", "retire", "--store", str(store), name, "--reason", "a test"]) == 0
    monkeypatch.chdir(workdir)
    assert cli(["store", "check", "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert f"{name}: this working directory's receipt names an entry the store no longer" in err
    assert "run the workflow again" in err

    plan = run_for_table(workdir, configfile, "-n")
    assert "2 trainings named now: 1 the store lacks (they train)" in plan.stdout + plan.stderr
    run_for_table(workdir, configfile, env=environment)
    assert trained(counter)[2:] == [entries[1].parent.name]  # that one alone, again
    assert cli(["store", "check", "--store", str(store)]) == 0

    # An entry deleted by hand, with no trace: the check, the plan and the run agree.
    os.chmod(entries[0], 0o755)
    shutil.rmtree(entries[0])
    assert cli(["store", "check", "--store", str(store)]) == 1
    assert "run the workflow again and it trains it again" in capsys.readouterr().err
    plan = run_for_table(workdir, configfile, "-n")
    assert "1 the store lacks (they train)" in plan.stdout + plan.stderr
    run_for_table(workdir, configfile, env=environment)
    assert trained(counter)[3:] == [entries[0].parent.name]
    # An entry that lost a file is refused by name, not trained over.
    os.chmod(entries[1], 0o755)
    (entries[1] / "history.csv").unlink()
    result = run_for_table(copy_repository(tmp_path / "other"), configfile, check=False)
    assert f"the store's entry {entries[1]} cannot be trusted: history.csv is missing" in (
        result.stdout + result.stderr
    )
    assert len(trained(counter)) == 4


def test_a_compiler_that_is_missing_publishes_nothing_and_the_job_says_why(tmp_path):
    workdir = copy_repository(tmp_path / "work")
    store = tmp_path / "store"
    config = tiny(store, num_architectures=1, training={"compile": True, "retries": 0})
    broken = {"CXX": "/nonexistent/g++", "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor")}
    # The console as the workflow profile sets it: Snakemake's job blocks (errors too) hidden.
    quiet = ("--quiet", "rules", "host")
    result = run_for_table(workdir, write_config(workdir, config), *quiet, env=broken, check=False)
    assert result.returncode != 0
    assert "the environment is at fault" in result.stderr
    assert "a compiler or backend error of torch.compile" in result.stderr
    # The run's last lines name the failed job's log and its error.
    said = result.stderr[result.stderr.index("The run stopped: 1 job(s) failed") :]
    failed = said.splitlines()[1]
    assert "/seed_0/train.log: " in failed and "the environment is at fault" in failed
    assert not list(store.glob("*/*/*/seed_0"))  # nothing published: the next run trains it


def test_a_run_refuses_a_recipe_whose_trainings_resolved_to_several_kinds(tmp_path):
    from random_nas.results import MixedHardwareError, refuse_mixed_hardware

    paths = [
        f"receipts/mnist5k-0123456789/e3-0123456789/{arch}/seed_0/metrics.json" for arch in "ab"
    ]
    same = [{"device": "cpu", "precision": "fp32"}] * 2
    refuse_mixed_hardware(same, paths)
    mixed = [{"device": "cpu", "precision": "fp32"}, {"device": "cuda:0", "precision": "bf16"}]
    with pytest.raises(MixedHardwareError) as error:
        refuse_mixed_hardware(mixed, paths)
    message = str(error.value)
    assert "recipe mnist5k-0123456789/e3-0123456789" in message
    assert "1 cpu/fp32, 1 cuda/bf16" in message and "pin training.device" in message


def test_a_table_of_trainings_on_several_devices_or_precisions_says_so():
    from random_nas.findings import mixed_hardware

    uniform = pd.DataFrame({"device": ["cpu", "cpu"], "precision": ["fp32", "fp32"]})
    assert mixed_hardware(uniform) is None
    mixed = pd.DataFrame(
        {"device": ["cpu", "cuda:0", "cuda:0"], "precision": ["fp32", "bf16", "bf16"]}
    )
    warning = mixed_hardware(mixed)
    assert warning.startswith("Mixed hardware") and "1 cpu/fp32, 2 cuda/bf16" in warning


def test_the_dry_run_states_the_whole_plan_and_which_jobs_only_copy(tmp_path):
    """Snakemake's own dry run lists only the jobs known before any checkpoint, and lists a
    receipt's copy as a training; the plan statement says what trains now, what only copies,
    and at most how many each checkpoint may add; the run then trains within it."""
    store = tmp_path / "store"
    first, second = (copy_repository(tmp_path / name) for name in ("alice", "bob"))
    config = tiny(store, num_architectures=3, repeats={"top_k": 2, "seeds": [1]})
    environment, counter = counting_trainings(tmp_path / "hook")
    plan = run_snakemake(first, write_config(first, config), "-n").stdout
    plan += run_snakemake(first, write_config(first, config), "-n").stderr
    assert (
        "Plan of run 'tiny': 3 trainings named now: 3 the store lacks (they train), 0 it holds"
        in plan
    )
    assert "then select_repeats: at most 2 more trainings (the best 2 again with seed 1" in plan
    run_snakemake(first, write_config(first, config), env=environment)
    assert len(trained(counter)) == 3 + 2
    # Bob, sharing the store: every training is there, his jobs only copy receipts.
    result = run_snakemake(second, write_config(second, config), "-n")
    bob = result.stdout + result.stderr
    assert "3 trainings named now: 0 the store lacks (they train), 3 it holds" in bob


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_sent_to_snakemake_alone_stops_the_trainings_it_runs(tmp_path, number):
    """`kill -INT` or `kill` to Snakemake (not to its process group, as Ctrl-C does):
    Snakemake's local executor waited for every running training to finish; the workflow
    passes the interrupt on, and the interrupted training keeps its checkpoint."""
    workdir = copy_repository(tmp_path / "work")
    store = tmp_path / "store"
    config = tiny(store, num_architectures=1, training={"epochs": 40},
                  dataset={"val_size": 200, "train_size": 1600, "test_size": 200})  # fmt: skip
    process = _start(workdir, write_config(workdir, config), {})
    deadline = time.monotonic() + 300
    while not list(store.glob("*/*/*/.seed_0.training/*/checkpoint.pt")):
        assert time.monotonic() < deadline, "the training never reached its first checkpoint"
        time.sleep(0.1)
    os.kill(process.pid, number)
    started = time.monotonic()
    _, stderr = process.communicate(timeout=120)
    assert time.monotonic() - started < 30, "Snakemake waited for the training to finish"
    assert process.returncode != 0 and "The run was interrupted" in stderr
    assert not list(store.glob("*/*/*/seed_0/metrics.json"))  # nothing published
    assert list(store.glob("*/*/*/.seed_0.training/*/checkpoint.pt"))  # kept for the next run


def test_a_tampered_entry_is_reported_and_kept_out_of_the_next_table(tmp_path, capsys):
    """An accuracy edited by hand disagrees with the entry's own per-image records, and its
    file with the checksum it was published with: `store check` names it with the command that
    retires it, and a new working directory's run refuses it instead of reporting it."""
    store = tmp_path / "store"
    config = tiny(store, num_architectures=2)
    first = copy_repository(tmp_path / "first")
    run_for_table(first, write_config(first, config))
    entry = store_entry(first, config, arch_ids(config)[0]).parent
    assert json.loads((entry / "checksums.json").read_text())["metrics.json"]
    metrics = json.loads((entry / "metrics.json").read_text())
    os.chmod(entry / "metrics.json", 0o644)
    (entry / "metrics.json").write_text(json.dumps({**metrics, "val_accuracy": 0.999}))

    assert cli(["store", "check", "--store", str(store)]) == 1
    err = capsys.readouterr().err
    name = entry.relative_to(store)
    assert f"{name}: metrics.json differs from the checksum it was published with" in err
    assert f"{name}: val_accuracy is 0.999, but its own per-image record counts" in err
    assert f"`random-nas store retire --store {store} {name}" in err

    second = copy_repository(tmp_path / "second")
    result = run_for_table(second, write_config(second, config), check=False)
    assert result.returncode != 0
    assert f"the store's entry {entry} cannot be trusted" in result.stdout + result.stderr
    assert not (second / "results/tiny/candidates.parquet").exists()
    assert cli(["store", "retire", "--store", str(store), str(name), "--reason", "edited"]) == 0
    run_for_table(second, write_config(second, config))
    table = pd.read_parquet(second / "results/tiny/candidates.parquet")
    assert len(table) == 2 and table["val_accuracy"].max() < 0.999
