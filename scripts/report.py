"""Render the run's report from its results table (rule `report`)."""

from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)

from random_nas.logs import log_to
from random_nas.report.run import render_report

logger = log_to(snakemake.log[0])
out_dir = Path(snakemake.output.tables[0]).parent
written = render_report(
    snakemake.input.table,
    out_dir,
    ranking_rows=snakemake.params.ranking_rows,
    repeats_path=snakemake.input.get("repeats"),
    trials_path=snakemake.input.get("trials"),
    curves_path=snakemake.input.get("curves"),
    grid_path=snakemake.input.get("grid"),
)
logger.info("wrote %d report files to %s", len(written), out_dir)
