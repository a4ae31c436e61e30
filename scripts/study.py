"""Render a study from its runs' tables (rule `render_study`)."""

import _library  # noqa: F401  (src/ first on the path)

from random_nas.logs import log_to
from random_nas.report.study import render_study

logger = log_to(snakemake.log[0])
written = render_study(snakemake.input.study)
logger.info("rendered the study %s: %d files", snakemake.input.study, len(written))
