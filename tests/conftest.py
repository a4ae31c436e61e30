"""Shared fixtures: small real data, and a runner for the real `snakemake` in a temp copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
# The workflow as it is deployed: the library beside it (its jobs import it from there, and the
# report's captions are its files).
WORKFLOW_FILES = ("Snakefile", "workflow", "scripts", "src", "config", "profiles")

# A tiny run: 3 architectures of a 4-layer space, 1 epoch on a few hundred real MNIST images.
TINY_CONFIG = {
    "run": "tiny",
    "num_architectures": 3,
    "search_space": {
        "num_layers": 4,
        "filters": [8, 12],
        "kernel_sizes": [3, 5],
        "strides": [1, 2],
    },
    "dataset": {"val_size": 200, "train_size": 400, "test_size": 200},
    "training": {"epochs": 1, "batch_size": 64, "lr": 0.05, "warmup_epochs": 0},
    "repeats": {"top_k": 0},
}


def default_config() -> dict:
    """Every config key at its default, from the schema (the one source of defaults)."""
    from random_nas.plan import schema_defaults

    return schema_defaults(yaml.safe_load(SCHEMA.read_text()))


def dataset_config(**changes) -> dict:
    """A validated config's `dataset` section: the defaults with `changes`."""
    return {**default_config()["dataset"], **changes}


def training_config(seed: int = 0, **changes):
    """The trainer's settings: the config's defaults with `changes`."""
    from random_nas.training_config import TrainingConfig

    return TrainingConfig.from_config({**default_config()["training"], **changes}, seed)


def copy_repository(destination: Path, names=WORKFLOW_FILES) -> Path:
    """Copy these files and folders of the repository (never results/) into `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in names:
        source = REPO / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, destination / name, ignore=ignore)
        else:
            shutil.copy(source, destination / name)
    return destination


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the workflow (not of results/) in a temporary directory."""
    return copy_repository(tmp_path)


def write_config(folder: Path, overrides: dict, name: str = "tiny.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(overrides))
    return path


def snakemake_command(
    configfile: Path, *args: str, extra_configfiles=(), cores: int = 2
) -> list[str]:
    """`--configfile` takes every value after it, so it comes last."""
    executable = Path(sys.executable).with_name("snakemake")
    configfiles = [str(configfile), *map(str, extra_configfiles)]
    # The job blocks the workflow profile leaves out of the console: the tests read them.
    shown = [] if any(arg.startswith("--quiet") for arg in args) else ["--quiet=host"]
    return [str(executable), "--cores", str(cores), *shown, *args, "--configfile", *configfiles]


def run_snakemake(
    workdir: Path,
    configfile: Path,
    *args: str,
    check: bool = True,
    env: dict | None = None,
    extra_configfiles: list[Path] = (),
    umask: int = -1,
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        snakemake_command(configfile, *args, extra_configfiles=extra_configfiles),
        cwd=workdir,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
        umask=umask,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
            f"{result.stderr[-6000:]}"
        )
    return result


# The README's command that re-renders the published reports, and numpy's dispatch as on a
# CPU with AVX2 and no AVX-512 (features a CPU lacks are ignored): a log axis rounds otherwise.
PUBLISHED_REPORTS = ".venv/bin/snakemake --cores 1 published_reports"
AVX2_ONLY = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}


def _start_published_reports(
    folder: Path, command: str, env: dict
) -> tuple[Path, subprocess.Popen]:
    """`command` started in a copy of the workflow holding results/published without its
    reports, beside a default run's report that the command must not claim to have written."""
    workdir = copy_repository(folder)
    (workdir / ".venv").symlink_to(Path(sys.prefix))
    shutil.copytree(REPO / "results/published", workdir / "results/published")
    # A published replay may name a strategy of one's own, as mnist5k-space512 names the docs'.
    shutil.copytree(REPO / "docs/examples", workdir / "docs/examples")
    for report in (workdir / "results/published").glob("*/report"):
        shutil.rmtree(report)
    (workdir / "results/default/report").mkdir(parents=True)
    (workdir / "results/default/report/index.html").write_text("an earlier run's")
    return workdir, subprocess.Popen(
        command,
        shell=True,
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


# Under pytest-xdist a session fixture is made once per worker: the tests that use this one
# are marked to share a worker, `@pytest.mark.xdist_group("published_renders")`.
@pytest.fixture(scope="session")
def published_renders(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """The published reports rendered from their committed tables once per test run, at once:
    by the README's command as written, and on this CPU as one without AVX-512 renders them.
    Each: the working directory and what the command printed."""
    started = {
        "as the README says": _start_published_reports(
            tmp_path_factory.mktemp("published"), PUBLISHED_REPORTS, {}
        ),
        "without AVX-512": _start_published_reports(
            tmp_path_factory.mktemp("published-avx2"),
            PUBLISHED_REPORTS.replace("--cores 1", "--cores 2"),
            AVX2_ONLY,
        ),
    }
    renders = {}
    for name, (workdir, process) in started.items():
        stdout, stderr = process.communicate(timeout=1800)
        assert process.returncode == 0, (name, stderr[-3000:])
        renders[name] = (workdir, stdout)
    return renders


def run_table(run: str) -> str:
    """A run's table as a target: its trainings, without the report drawn from them."""
    return f"results/{run}/candidates.parquet"


def run_for_table(workdir: Path, configfile: Path, *args: str, **kwargs):
    """`run_snakemake` with the run's table for its target (for tests that read no report)."""
    run = yaml.safe_load(configfile.read_text()).get("run") or default_config()["run"]
    return run_snakemake(workdir, configfile, run_table(run), *args, **kwargs)


# Loaded by every Python process started with a folder holding it on PYTHONPATH: once the
# library's MODULE is imported, its FUNCTION is replaced by a call of `_fault(original, ...)`.
# The faults live in the tests; the production code has no hook for them.
_SITECUSTOMIZE = """
import importlib.util
import os
import sys


def _fault(original, *args, **kwargs):
FAULT


class _Hook:
    def find_spec(self, name, path=None, target=None):
        if name != MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            original = getattr(module, FUNCTION)
            setattr(module, FUNCTION, lambda *args, **kwargs: _fault(original, *args, **kwargs))

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _Hook())
"""


def _with_fault(folder: Path, module: str, function: str, fault: str) -> dict[str, str]:
    """The environment under which `function` of `module` runs `fault` (the indented body of
    a function of the original and its arguments) in every process."""
    folder.mkdir(parents=True, exist_ok=True)
    text = _SITECUSTOMIZE.replace("MODULE", repr(module)).replace("FUNCTION", repr(function))
    (folder / "sitecustomize.py").write_text(text.replace("FAULT", fault))
    return {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    }


def out_of_memory_for(arch_id: str, folder: Path) -> dict[str, str]:
    """The environment under which training `arch_id` runs out of memory in its model, as a
    too-large candidate would."""
    fault = f"""    if args[0].arch_id == {arch_id!r}:
        import torch

        raise torch.OutOfMemoryError("injected: CUDA out of memory")
    return original(*args, **kwargs)"""
    return _with_fault(folder, "random_nas.model", "build_model", fault)


def slowed_epochs(seconds: float, folder: Path) -> dict[str, str]:
    """The environment under which every epoch of every training waits `seconds` first: a
    run stays alive long enough to be interrupted, at the cost of no arithmetic."""
    fault = f"""    import time

    time.sleep({seconds!r})
    return original(*args, **kwargs)"""
    return _with_fault(folder, "random_nas.train", "train_one_epoch", fault)


def full_config(overrides: dict) -> dict:
    """A run's validated config: the schema's defaults with `overrides` merged key by key, as
    `--configfile` merges them."""
    from snakemake.utils import update_config

    config = default_config()
    update_config(config, json.loads(json.dumps(overrides)))
    return config


def store_entry(folder: Path, overrides: dict, arch_id: str, epochs=None, seed=None) -> Path:
    """The metrics file of a training in the store under `folder`, as the workflow names it
    for the run config `overrides` (at `epochs` and `seed`, by default the run's own)."""
    from random_nas.recipes import data_recipe, training_recipe
    from random_nas.store.layout import data_key, entry_dir, recipe_key

    config = full_config(overrides)
    entry = entry_dir(
        str(folder / config["store"]),
        data_key(data_recipe(config)),
        recipe_key(training_recipe(config, epochs)),
        arch_id,
        config["seed"] if seed is None else seed,
    )
    return Path(entry) / "metrics.json"


def store_entries(folder: Path, pattern: str = "*/*/*/seed_*") -> list[Path]:
    """Every metrics file of the store under `folder` (results/store) matching `pattern`."""
    return sorted((folder / "results/store").glob(f"{pattern}/metrics.json"))


def receipt_of(entry_metrics: Path, folder: Path) -> Path:
    """The working directory `folder`'s receipt of a store entry's file (the train rule's
    output: a copy, beside the job's train.log), for the store results/store under `folder`."""
    from random_nas.store.layout import store_tag

    store = folder / "results/store"
    return folder / "results/receipts" / store_tag(str(store)) / entry_metrics.relative_to(store)


def counting_trainings(
    folder: Path, broken: bool = False, when: str = "start"
) -> tuple[dict[str, str], Path]:
    """The environment under which every training is written down, one architecture a line
    in the file returned (from any working directory), as it starts or (`when="end"`) once it
    finished; or, `broken`, every training fails before it starts, as in a broken
    environment."""
    counter = folder / "trainings.txt"
    fault = """    if os.environ.get("RANDOM_NAS_TEST_BROKEN"):
        raise OSError("injected: the environment is broken")
    if os.environ.get("RANDOM_NAS_TEST_COUNT_AT") == "end":
        result = original(*args, **kwargs)
    with open(os.environ["RANDOM_NAS_TEST_TRAININGS"], "a") as handle:
        handle.write(args[0].arch_id + "\\n")
    if os.environ.get("RANDOM_NAS_TEST_COUNT_AT") == "end":
        return result
    return original(*args, **kwargs)"""
    environment = _with_fault(folder, "random_nas.train", "train_candidate", fault)
    counter.touch()
    environment["RANDOM_NAS_TEST_TRAININGS"] = str(counter)
    environment["RANDOM_NAS_TEST_COUNT_AT"] = when
    if broken:
        environment["RANDOM_NAS_TEST_BROKEN"] = "1"
    return environment, counter


# What makes a test slow: it starts Snakemake, or another Python, or renders a published
# report. Such tests are marked `slow` here, by what they call, so that the mark cannot drift
# from the code; `pytest -m "not slow"` is the fast tier for everyday work, and the README's
# command runs every test.
_SLOW_CALLS = (
    "run_snakemake(",
    "run_for_table(",
    "snakemake_command(",
    "copy_repository(",
    "subprocess.",
    "_published_reports(",
    "holder_process(",
)


def _source(function) -> str:
    import inspect

    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def pytest_collection_modifyitems(config, items):
    for item in items:
        functions = [getattr(item, "function", None)]
        info = getattr(item, "_fixtureinfo", None)
        for definitions in info.name2fixturedefs.values() if info else ():
            functions += [definition.func for definition in definitions]
        source = "".join(_source(function) for function in functions if function is not None)
        if any(call in source for call in _SLOW_CALLS):
            item.add_marker(pytest.mark.slow)
    # The slow first: spread over pytest-xdist's workers, the run ends with the short ones.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
