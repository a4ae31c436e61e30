"""Replay search strategies on a dense grid (rule `replay`): report/replay.csv and its plot."""

from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)

from random_nas.logs import log_to
from random_nas.report.replay import render_replay

logger = log_to(snakemake.log[0])
written = render_replay(
    snakemake.input.grid, Path(snakemake.output[0]).parent, snakemake.input.get("repeats")
)
logger.info("replayed the strategies into %s", ", ".join(map(str, written)))
