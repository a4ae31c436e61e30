"""The code stays ruff- and snakefmt-clean and `snakemake --lint` has nothing to say."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["snakefmt", "--check", "Snakefile", "workflow"],
    ],
    ids=["ruff", "ruff-format", "snakefmt"],
)
def test_formatters_and_linters_are_clean(command):
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakemake_lint_is_clean(workdir):
    result = subprocess.run(
        [str(BIN / "snakemake"), "--lint"], cwd=workdir, capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_the_workflow_never_writes_into_snakemakes_config():
    # A value written into `config` while parsing is a side effect that every later reader
    # (the run's record, its tables, a report) takes for what the user gave.
    written = re.compile(
        r"^\s*config(\[[^\]]+\])+\s*(=|\+=|\|=)(?!=)|config\.(update|setdefault)\("
    )
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted([REPO / "workflow/Snakefile", *(REPO / "workflow/rules").glob("*.smk")])
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if written.search(line)
    ]
    assert not found, "\n".join(found)
