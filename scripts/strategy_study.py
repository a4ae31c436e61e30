"""Render a study of search strategies from its searches' tables (rule `render_strategy_study`)."""

import _library  # noqa: F401  (src/ first on the path)

from random_nas.logs import log_to
from random_nas.report.strategies import render_strategy_study

logger = log_to(snakemake.log[0])
written = render_strategy_study(snakemake.input.study)
logger.info("rendered the study %s: %d files", snakemake.input.study, len(written))
