"""Re-render every published report from its committed table (rule `published_reports`)."""

from pathlib import Path

from random_nas.logs import log_to
from random_nas.report import render_report

logger = log_to(snakemake.log[0])
for table_path in map(Path, snakemake.input):
    render_report(table_path, table_path.parent / "report")
    logger.info("re-rendered %s", table_path.parent / "report")
