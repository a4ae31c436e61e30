"""The published runs re-render from their committed tables, identical to what is committed."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO

from random_nas.report_files import REPLAY_FILES, report_files

PUBLISHED = sorted(
    path.parent for path in (REPO / "results/published").glob("*/candidates.parquet")
)
STUDIES = sorted(path.parent for path in (REPO / "results/published").glob("*/study.yaml"))


def published_files(folder: Path) -> list[str]:
    """The files of a published run's report: the sections its tables have."""
    replay = REPLAY_FILES if (folder / "grid.parquet").exists() else []
    return [
        *report_files(
            repeats=(folder / "repeats.parquet").exists(),
            halving=(folder / "trials.parquet").exists(),
            curves=(folder / "curves.parquet").exists(),
        ),
        *replay,
    ]


PRECISIONS = {"fp32", "bf16", "fp16"}


def test_there_is_a_published_run_of_at_least_100_architectures():
    assert PUBLISHED, "no results/published/*/candidates.parquet"
    sizes = [len(pd.read_parquet(folder / "candidates.parquet")) for folder in PUBLISHED]
    assert max(sizes) >= 100
    for folder in PUBLISHED:
        frame = pd.read_parquet(folder / "candidates.parquet")
        assert (frame["status"] == "ok").mean() > 0.9
        assert (folder / "config.yaml").exists()
        assert frame["hardware"].notna().all() and frame["recipe"].notna().all()


def test_the_fidelity_correlation_names_the_draws_and_budgets_it_ranks():
    # Hyperband's rung 0 of bracket 0 trains 9 of mnist5k-hb17's 17 draws, not all of them.
    ranking = (REPO / "results/published/mnist5k-hb17/report/ranking.md").read_text()
    assert (
        "Low and full fidelity (bracket 0's rung 0 at 1 epoch against the full 9 epochs) rank "
        "the 9 of the 17 draws that bracket 0's rung 0 trained with Spearman ρ = 0.67"
    ) in ranking
    ranking = (REPO / "results/published/mnist5k-sh27/report/ranking.md").read_text()
    assert "(rung 0 at 1 epoch against the full 9 epochs) rank all 27 draws with" in ranking


@pytest.mark.parametrize("folder", PUBLISHED, ids=lambda folder: folder.name)
def test_published_configs_pin_their_precision(folder):
    """`auto` follows the hardware: a published run names what it was trained in."""
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["training"]["precision"] in PRECISIONS
    frame = pd.read_parquet(folder / "candidates.parquet")
    assert set(frame["precision"]) == {config["training"]["precision"]}
    reproduce = yaml.safe_load((REPO / "config/published" / f"{folder.name}.yaml").read_text())
    assert reproduce["training"]["precision"] == config["training"]["precision"]


def test_readme_quotes_only_what_the_published_reports_compute():
    """Every statement the README makes about a published run is a line of its report's
    Findings (and the report is re-rendered from the tables by the test below)."""
    readme = "".join(
        path.read_text() for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    )
    blocks = re.findall(r"<!-- findings: (\S+) -->\n(.*?)<!-- /findings -->", readme, re.S)
    assert blocks, "the README quotes no findings"
    for path, block in blocks:
        report = (REPO / path).read_text()
        computed = report.split("## Findings\n", 1)[1].split("\n## ", 1)[0]
        quoted = [line.removeprefix("> ") for line in block.splitlines() if line.strip()]
        assert quoted
        for line in quoted:
            assert line in computed.splitlines(), line


@pytest.mark.xdist_group("published_renders")
@pytest.mark.parametrize("folder", [*PUBLISHED, *STUDIES], ids=lambda folder: folder.name)
def test_published_reports_target_regenerates_the_committed_reports(published_renders, folder):
    from random_nas.report_files import STRATEGY_STUDY_FILES, STUDY_FILES
    from random_nas.studies import study_kind

    if (folder / "study.yaml").exists():
        strategies = study_kind(folder / "study.yaml") == "strategies"
        files = STRATEGY_STUDY_FILES if strategies else STUDY_FILES
    else:
        files = published_files(folder)
    assert sorted(path.name for path in (folder / "report").iterdir()) == sorted(files)
    # As this CPU renders, and as one without AVX-512 does: the same bytes.
    for how, (workdir, stdout) in published_renders.items():
        target = workdir / folder.relative_to(REPO)
        if not (folder / "study.yaml").exists():
            said = f"The published report of {folder.name!r}: {target.relative_to(workdir)}"
            assert said in stdout, how
        assert "The report of run 'default'" not in stdout
        assert sorted(path.name for path in (target / "report").iterdir()) == sorted(files)
        for name in files:
            regenerated = (target / "report" / name).read_bytes()
            assert regenerated == (folder / "report" / name).read_bytes(), (name, how)


@pytest.mark.parametrize("folder", STUDIES, ids=lambda folder: folder.name)
def test_a_published_study_is_a_target_rendered_again_when_a_runs_table_changes(workdir, folder):
    from random_nas.report_files import STRATEGY_STUDY_FILES, STUDY_FILES
    from random_nas.studies import study_kind, study_tables

    files = (
        STRATEGY_STUDY_FILES if study_kind(folder / "study.yaml") == "strategies" else STUDY_FILES
    )
    runs = sorted({(REPO / table).parent for table in study_tables(folder / "study.yaml")})
    assert all(run.is_relative_to(REPO) for run in runs), "a published study's runs are committed"
    for run in [*runs, folder]:
        shutil.copytree(run, workdir / run.relative_to(REPO), dirs_exist_ok=True)
    target = workdir / folder.relative_to(REPO)
    snakemake = [str(Path(sys.executable).with_name("snakemake")), "--cores", "1"]
    study_target = [*snakemake, "study"]
    shutil.rmtree(target / "report")
    subprocess.run(study_target, cwd=workdir, check=True, capture_output=True)
    for name in files:
        assert (target / "report" / name).read_bytes() == (folder / "report" / name).read_bytes()
    plan = subprocess.run([*study_target, "-n"], cwd=workdir, capture_output=True, text=True)
    assert "Nothing to be done" in plan.stdout
    # A run's table written again (other bytes, the same rows): Snakemake compares small
    # inputs by content, not by age.
    changed = workdir / runs[0].relative_to(REPO) / "candidates.parquet"
    pq.write_table(pq.read_table(changed), changed, compression="gzip")
    plan = subprocess.run([*study_target, "-n"], cwd=workdir, capture_output=True, text=True)
    assert "render_study" in plan.stdout or "render_strategy_study" in plan.stdout


def test_a_study_stopped_half_way_is_left_out_of_the_study_target_saying_so(workdir):
    folder = REPO / "results/published/study-kernels"
    for run in [*sorted({(REPO / t).parent for t in _tables(folder)}), folder]:
        shutil.copytree(run, workdir / run.relative_to(REPO), dirs_exist_ok=True)
    shutil.rmtree(workdir / folder.relative_to(REPO) / "report")
    half = workdir / "results/half"
    half.mkdir(parents=True)
    (half / "study.yaml").write_text(
        "kind: strategies\nconfig: common.yaml\nsampling_seeds: [1, 2]\n"
        "strategies:\n  random: {strategy: random_search}\n  tpe: {strategy: tpe}\n"
    )
    snakemake = [str(Path(sys.executable).with_name("snakemake")), "--cores", "1", "study"]
    result = subprocess.run(snakemake, cwd=workdir, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "study results/half is left out: 4 of its runs' tables are not made yet" in (
        result.stdout + result.stderr
    )
    assert (workdir / folder.relative_to(REPO) / "report/study.md").exists()


def _tables(folder: Path) -> list[str]:
    from random_nas.studies import study_tables

    return study_tables(folder / "study.yaml")
