"""The workflow as the Snakemake ecosystem reuses it: as a module of another workflow, planned
and linted with Snakemake alone, through composed profiles, and as the README tells."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import (
    PUBLISHED_REPORTS,
    REPO,
    TINY_CONFIG,
    WORKFLOW_FILES,
    copy_repository,
    write_config,
)

BIN = Path(sys.executable).parent


def test_used_as_a_module_with_a_prefix_writes_only_under_it(tmp_path):
    repository = copy_repository(tmp_path / "random-nas", WORKFLOW_FILES)
    # Marked, so that the jobs show which library they imported: the deployed copy's own.
    init = repository / "src/random_nas/__init__.py"
    init.write_text(
        init.read_text().replace('__version__ = "0.1.0"', '__version__ = "0.1.0+deployed"')
    )
    outer = tmp_path / "analysis"
    outer.mkdir()
    (outer / "Snakefile").write_text(
        f'configfile: "nas.yaml"\n\n\nmodule nas:\n    snakefile:\n'
        f'        "{repository}/workflow/Snakefile"\n    config:\n        config\n'
        '    prefix:\n        "nas"\n\n\nuse rule * from nas as nas_*\n'
    )
    # A partial config: the schema supplies every other key.
    write_config(
        outer,
        {
            **TINY_CONFIG,
            "num_architectures": 2,
            "training": {"epochs": 2, "keep_checkpoints": True},
            "repeats": {"top_k": 1},
        },
        "nas.yaml",
    )
    result = subprocess.run(
        [str(BIN / "snakemake"), "--cores", "2", "nas_all"],
        cwd=outer,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    written = {
        path.relative_to(outer).parts[0]
        for path in outer.rglob("*")
        if path.is_file() and ".snakemake" not in path.parts
    }
    assert written == {"Snakefile", "nas.yaml", "nas"}
    run = outer / "nas/results/tiny"
    frame = pd.read_parquet(run / "candidates.parquet")
    assert len(frame) == 2 and set(frame["status"]) == {"ok"}
    assert len(pd.read_parquet(run / "repeats.parquet")) == 3  # seeds 0, 1 and 2
    store = outer / "nas/results/store"
    assert len(list(store.glob("*/*/*/seed_0/checkpoint.pt"))) == 2  # inside the prefix
    metrics = next(store.glob("*/*/*/seed_0/metrics.json")).read_text()
    assert '"random_nas": "0.1.0+deployed"' in metrics


@pytest.fixture(scope="session")
def snakemake_alone(tmp_path_factory) -> Path:
    """A virtual environment holding Snakemake alone: no torch, no pandas, no random_nas."""
    folder = tmp_path_factory.mktemp("snakemake-alone")
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    install = subprocess.run(
        [str(folder / "bin/pip"), "install", "--quiet", f"snakemake=={version('snakemake')}"],
        capture_output=True,
        text=True,
    )
    if install.returncode != 0:
        pytest.skip(
            f"could not install Snakemake alone from the package index: {install.stderr[-500:]}"
        )
    return folder / "bin"


def test_plans_and_lints_with_snakemake_alone(workdir, snakemake_alone):
    for missing in ("torch", "pandas", "random_nas"):
        found = subprocess.run(
            [str(snakemake_alone / "python"), "-c", f"import {missing}"], capture_output=True
        )
        assert found.returncode != 0, f"{missing} is importable in the Snakemake-only environment"
    plan = subprocess.run(
        [str(snakemake_alone / "snakemake"), "-n"], cwd=workdir, capture_output=True, text=True
    )
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]
    assert re.search(r"^train\s+20$", plan.stdout, re.M)  # the default run's 20 trainings
    lint = subprocess.run(
        [str(snakemake_alone / "snakemake"), "--lint"], cwd=workdir, capture_output=True, text=True
    )
    assert lint.returncode == 0
    assert "Congratulations, your workflow is in a good condition!" in lint.stdout + lint.stderr


def test_the_slurm_profile_composes_with_the_workflow_profile(workdir):
    workflow_profile = yaml.safe_load((REPO / "profiles/default/config.yaml").read_text())
    slurm = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    # The workflow profile wins any key both set: so they share none.
    assert not set(workflow_profile) & set(slurm)
    assert slurm["latency-wait"] == 60 and "cores" not in workflow_profile
    configfile = write_config(workdir, TINY_CONFIG)
    result = subprocess.run(
        [
            str(BIN / "snakemake"),
            "--profile",
            "profiles/slurm",
            "-n",
            "--quiet=host",  # the job blocks, which the workflow profile leaves out of the console
            # The README's site override, which must keep the train rule's own resources.
            "--default-resources",
            "slurm_partition=gpu",
            "slurm_account=my_lab",
            "--set-resources",
            "train:gpu_model=a100",
            "--configfile",
            str(configfile),
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        "Using profiles profiles/slurm and workflow specific profile profiles/default"
        in result.stderr
    )
    train_job = result.stdout.split("rule train:")[1].splitlines()
    train = next(line for line in train_job if "resources:" in line)
    for setting in (
        "mem_mb=8000",
        "runtime=20",
        "slurm_partition=gpu",
        "slurm_account=my_lab",
        "gpu_model=a100",
    ):
        assert setting in train, (setting, train)


def _readme_commands() -> list[str]:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    blocks = [
        block
        for page in pages
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.S)
    ]
    return [
        " ".join(line.split("#")[0].split())
        for block in blocks
        for line in block.replace("\\\n", " ").splitlines()
        if line.split("#")[0].strip()
    ]


def test_readme_calls_every_tool_one_way():
    for command in _readme_commands():
        for segment in re.split(r"&&|\|\||;|\|", command):
            word = segment.split()[0]
            if word.split("/")[-1] in {"snakemake", "python", "pip", "ruff", "snakefmt"}:
                assert word.startswith(".venv/bin/"), command


@pytest.mark.xdist_group("published_renders")
def test_readme_cheap_commands_run_as_written(workdir, published_renders):
    (workdir / ".venv").symlink_to(Path(sys.prefix))
    cheap = {
        command
        for command in _readme_commands()
        if command.startswith(".venv/bin/snakemake")
        and ("published_reports" in command or "--lint" in command)
    }
    # The README's re-rendering of the published reports ran once for every test that reads
    # what it wrote (published_renders); any other command shown runs here.
    assert PUBLISHED_REPORTS in cheap and "as the README says" in published_renders
    for command in sorted(cheap - {PUBLISHED_REPORTS}):
        result = subprocess.run(
            command,
            shell=True,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ},
        )
        assert result.returncode == 0, (command, result.stderr[-2000:])


def test_the_catalog_test_config_runs(workdir):
    copy_repository(workdir, [".test"])
    result = subprocess.run(
        [str(BIN / "snakemake"), "--cores", "2", "--directory", ".test"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert len(pd.read_parquet(workdir / ".test/results/test/candidates.parquet")) == 2
    # The end of a run says where its report is.
    assert "The report of run 'test': results/test/report/index.html" in result.stdout


def test_the_conda_environment_installs_the_project_and_its_one_list():
    """`--sdm conda`: Snakemake copies the env file into .snakemake/conda/ and conda's pip runs
    there, so the project (whose pyproject.toml lists the dependencies once) is `../..`."""
    environment = yaml.safe_load((REPO / "workflow/envs/random_nas.yaml").read_text())
    pip = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert pip == ["../.."]
    project = (REPO / ".snakemake/conda" / pip[0]).resolve()
    assert project == REPO
    assert 'name = "random-nas"' in (project / "pyproject.toml").read_text()
