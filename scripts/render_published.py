"""Re-render every published report from its committed table (rule `published_reports`)."""

from pathlib import Path

from random_nas.logs import log_to
from random_nas.report import render_report
from random_nas.results import read_table

logger = log_to(snakemake.log[0])
for table_path in map(Path, snakemake.input):
    _, metadata = read_table(table_path)
    top_k = metadata.get("config", {}).get("report", {}).get("top_k", 10)
    render_report(table_path, table_path.parent / "report", top_k=top_k)
    logger.info("re-rendered %s", table_path.parent / "report")
