"""Compare a published run's candidates retrained here with its table (rule `verification`)."""

from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)

from random_nas.job import received_from_store
from random_nas.logs import log_to
from random_nas.report.verification import render_verification

logger = log_to(snakemake.log[0])
# What the store did: a receipt made before this verification selected its candidates (this
# directory's run trained it), or a job that logged finding its entry in the store (trained by
# a run with the same recipe, an earlier verification, a colleague sharing the store).
selected = Path(snakemake.output.table).with_name("selected.json").stat().st_mtime
found = sum(
    Path(path).stat().st_mtime < selected or received_from_store(Path(path).with_name("train.log"))
    for path in snakemake.input.retrained
)
joint = render_verification(
    snakemake.input.published,
    snakemake.input.retrained,
    snakemake.output.table,
    snakemake.output.verdict,
    found,
)
logger.info(
    "%s: %s (joint p = %.3f)",
    Path(snakemake.output.table).parent.name,
    "the published table holds" if joint["holds"] else "the published table does not hold here",
    joint["p_value"],
)
