"""The published runs re-render from their committed tables, identical to what is committed."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO

from random_nas.layout import report_files

PUBLISHED = sorted(
    path.parent for path in (REPO / "results/published").glob("*/candidates.parquet")
)
COMPARED = ("ranking.md", "ranking.csv", "pareto.csv")


def test_there_is_a_published_run_of_at_least_100_architectures():
    assert PUBLISHED, "no results/published/*/candidates.parquet"
    for folder in PUBLISHED:
        frame = pd.read_parquet(folder / "candidates.parquet")
        assert len(frame) >= 100 and (frame["status"] == "ok").mean() > 0.9
        assert (folder / "config.yaml").exists()


@pytest.mark.parametrize("folder", PUBLISHED, ids=lambda folder: folder.name)
def test_published_reports_target_regenerates_the_committed_tables(workdir, folder):
    target = workdir / "results/published" / folder.name
    shutil.copytree(folder, target)
    for name in report_files():
        (target / "report" / name).unlink()
    snakemake = Path(sys.executable).with_name("snakemake")
    subprocess.run(
        [str(snakemake), "--cores", "1", "published_reports"],
        cwd=workdir,
        check=True,
        capture_output=True,
    )
    for name in report_files():
        assert (target / "report" / name).stat().st_size > 0, name
    for name in COMPARED:
        regenerated = (target / "report" / name).read_text()
        assert regenerated == (folder / "report" / name).read_text(), name
