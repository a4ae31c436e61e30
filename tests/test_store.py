"""The store shared by working directories, machines and later versions: one training per
entry, entries no Snakemake bookkeeping can delete, keys that last, and a look at the store."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
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
    run_snakemake,
    snakemake_command,
    store_entry,
    write_config,
)

from random_nas.cli import main as cli
from random_nas.entry import entry_lock, is_published, private_folder, publish
from random_nas.recipes import data_recipe, training_recipe
from random_nas.space import SearchSpace
from random_nas.store import data_key, lock_file, recipe_key

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


def test_an_entry_is_published_once_whole_and_read_only(tmp_path):
    entry = tmp_path / "data/recipe/0123456789ab/seed_0"
    first = private_folder(entry)
    for name, text in (("metrics.json", "{}"), ("history.csv", "epoch\n")):
        (first / name).write_text(text)
    assert publish(first, entry) and is_published(entry) and not first.exists()
    assert all(not os.access(path, os.W_OK) or os.geteuid() == 0 for path in entry.iterdir())
    assert oct(entry.stat().st_mode & 0o222) == "0o0"
    second = private_folder(entry)
    (second / "metrics.json").write_text('{"other": 1}')
    assert not publish(second, entry)  # never replaced
    assert (entry / "metrics.json").read_text() == "{}"


def test_a_lock_waits_for_its_holder_and_a_dead_holder_is_broken(tmp_path):
    entry = tmp_path / "data/recipe/0123456789ab/seed_0"
    holder = (
        "import sys, time\n"
        "from random_nas.entry import entry_lock\n"
        f"with entry_lock({str(entry)!r}):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(float(sys.argv[1]))\n"
    )
    # A live holder: the second job waits until it lets go, and is told who holds it.
    process = subprocess.Popen(
        [sys.executable, "-c", holder, "2"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline() == "held\n"
    waited_for, started = [], time.monotonic()
    with entry_lock(entry, on_wait=waited_for.append):
        waited = time.monotonic() - started
    process.wait()
    assert waited > 1 and waited_for[0].endswith(f":{process.pid}")
    # A holder killed while it trains leaves its lock behind: the next job breaks it at once.
    process = subprocess.Popen(
        [sys.executable, "-c", holder, "60"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline() == "held\n"
    process.kill()
    process.wait()
    assert Path(lock_file(str(entry))).exists()
    started = time.monotonic()
    with entry_lock(entry):
        assert time.monotonic() - started < 5


def _start(workdir: Path, configfile: Path, environment: dict) -> subprocess.Popen:
    return subprocess.Popen(
        snakemake_command(configfile),
        cwd=workdir,
        env={**os.environ, **environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_two_directories_running_at_once_train_each_entry_once(tmp_path):
    store = tmp_path / "shared-store"
    first, second = (copy_repository(tmp_path / name) for name in ("alice", "bob"))
    environment, counter = counting_trainings(tmp_path / "hook")
    # Overlapping draws: bob's 5 begin with alice's 4 (draws are prefix-stable).
    alice = tiny(store, num_architectures=4)
    bob = tiny(store, num_architectures=5)
    runs = [
        _start(first, write_config(first, alice), environment),
        _start(second, write_config(second, bob), environment),
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

    run_snakemake(second, write_config(second, config), env=environment)
    logs = "".join(path.read_text() for path in store.glob("*/*/*/seed_0/train.log"))
    # Alice's killed training, finished by bob, says which architecture it resumed.
    assert re.search(r"[0-9a-f]{12} resumed from the checkpoint after epoch [1-5]", logs)
    finished = entry_files(store)
    before = len(trained(counter))

    run_snakemake(first, configfile, env=environment)
    assert len(trained(counter)) == before  # alice trains nothing
    assert entry_files(store) == finished  # bytes and mtimes
    assert set(pd.read_parquet(first / "results/tiny/candidates.parquet")["status"]) == {"ok"}


def test_a_failing_run_in_one_directory_leaves_the_others_entries(tmp_path):
    store = tmp_path / "shared-store"
    first, second = (copy_repository(tmp_path / name) for name in ("alice", "bob"))
    alice = tiny(store, num_architectures=2)
    run_snakemake(first, write_config(first, alice))
    kept = entry_files(store)
    # Bob's environment is broken and he forces every training of his (overlapping) draw.
    environment, _ = counting_trainings(tmp_path / "hook", broken=True)
    bob = write_config(second, tiny(store, num_architectures=3, training={"retries": 0}))
    result = run_snakemake(
        second, bob, "--forcerun", "train", "--keep-going", env=environment, check=False
    )
    assert result.returncode != 0 and "injected: the environment is broken" in result.stderr
    assert entry_files(store) == kept
    assert run_snakemake(first, write_config(first, alice), "-n").stdout.count("rule train") == 0


def test_a_training_key_added_at_its_neutral_value_plans_nothing(tmp_path):
    """An upgrade that adds a training key: with the key registered at the value that trains
    as before, nothing is renamed, retrained or collected again; without, every entry is."""
    workdir = copy_repository(tmp_path / "upgrade", WORKFLOW_FILES)
    store = tmp_path / "store"
    configfile = write_config(workdir, tiny(store, num_architectures=2))
    run_snakemake(workdir, configfile)

    schema_path = workdir / "workflow/schemas/config.schema.yaml"
    schema = yaml.safe_load(schema_path.read_text())
    schema["properties"]["training"]["properties"]["dropout"] = {"type": "number", "default": 0.0}
    schema_path.write_text(yaml.safe_dump(schema, sort_keys=False))
    result = run_snakemake(workdir, configfile, "-n")
    assert result.stdout.count("rule train:") == 2  # unregistered: a new recipe

    recipes = workdir / "src/random_nas/recipes.py"
    text = recipes.read_text()
    assert "NEUTRAL_TRAINING_VALUES: dict[str, Any] = {}" in text
    recipes.write_text(
        text.replace(
            "NEUTRAL_TRAINING_VALUES: dict[str, Any] = {}",
            'NEUTRAL_TRAINING_VALUES: dict[str, Any] = {"dropout": 0.0}',
        )
    )
    assert "Nothing to be done" in run_snakemake(workdir, configfile, "-n").stdout
    # At another value the key makes a recipe of its own.
    other = write_config(workdir, tiny(store, num_architectures=2, training={"dropout": 0.1}))
    assert run_snakemake(workdir, other, "-n").stdout.count("rule train:") == 2


def test_the_store_is_listed_checked_cleaned_and_removed_from_by_name(tmp_path, capsys):
    workdir = copy_repository(tmp_path / "work")
    store = tmp_path / "store"
    config = tiny(store, num_architectures=2)
    run_snakemake(workdir, write_config(workdir, config))
    first, second = (store_entry(workdir, config, arch_id).parent for arch_id in arch_ids(config))

    assert cli(["store", "list", "--store", str(store)]) == 0
    listed = capsys.readouterr().out
    assert "2 entries" in listed and "2 ok" in listed and "cpu/fp32 (2)" in listed
    assert cli(["store", "check", "--store", str(store)]) == 0
    assert "checked 2 entries" in capsys.readouterr().out

    # A damaged entry is named; an unfinished training no job holds is cleared.
    metrics = second / "metrics.json"
    os.chmod(metrics, 0o644)
    metrics.write_text(metrics.read_text()[:50])
    (private_folder(first.with_name("seed_1")) / "checkpoint.pt").write_bytes(b"partial")
    assert cli(["store", "check", "--store", str(store)]) == 1
    assert f"{second.relative_to(store)}: metrics file" in capsys.readouterr().err
    assert cli(["store", "clean", "--store", str(store)]) == 0
    assert "removed" in capsys.readouterr().out
    assert not list(store.glob("*/*/*/.seed_1.training"))

    # Removal by name only: a wrong name removes nothing.
    assert cli(["store", "remove", "--store", str(store), "nonsense"]) == 1
    assert "is not an entry's name" in capsys.readouterr().err
    name = str(second.relative_to(store))
    assert cli(["store", "remove", "--store", str(store), name]) == 0
    assert not second.exists() and first.exists()


def test_a_table_of_trainings_on_several_devices_or_precisions_says_so():
    from random_nas.findings import mixed_hardware

    uniform = pd.DataFrame({"device": ["cpu", "cpu"], "precision": ["fp32", "fp32"]})
    assert mixed_hardware(uniform) is None
    mixed = pd.DataFrame(
        {"device": ["cpu", "cuda:0", "cuda:0"], "precision": ["fp32", "bf16", "bf16"]}
    )
    warning = mixed_hardware(mixed)
    assert warning.startswith("Mixed hardware") and "1 cpu/fp32, 2 cuda/bf16" in warning
