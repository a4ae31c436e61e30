"""The code stays ruff- and snakefmt-clean and `snakemake --lint` has nothing to say."""

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
