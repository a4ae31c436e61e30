"""Re-render every published report, and every published study, from the committed tables
(rule `published_reports`)."""

from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)

from random_nas.logs import log_to
from random_nas.report.replay import render_replay
from random_nas.report.run import render_report
from random_nas.report.strategies import render_strategy_study
from random_nas.report.study import render_study
from random_nas.studies import study_kind

logger = log_to(snakemake.log[0])
for table_path in map(Path, snakemake.input):
    beside = {
        f"{name}_path": table_path.with_name(f"{name}.parquet")
        for name in ("repeats", "trials", "curves", "grid")
        if table_path.with_name(f"{name}.parquet").exists()
    }
    render_report(table_path, table_path.parent / "report", **beside)
    grid = table_path.with_name("grid.parquet")
    if grid.exists():
        render_replay(grid, table_path.parent / "report", beside.get("repeats_path"))
    logger.info("re-rendered %s", table_path.parent / "report")
for study in sorted(Path("results/published").glob("*/study.yaml")):
    (render_strategy_study if study_kind(study) == "strategies" else render_study)(study)
    logger.info("re-rendered the study %s", study.parent / "report")
