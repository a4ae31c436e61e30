"""Gather the store entries of a run's candidates into its table (`collect`, `collect_repeats`)."""

import _library  # noqa: F401  (src/ first on the path)

from random_nas.findings import chance_warning, mixed_hardware
from random_nas.logs import log_to
from random_nas.results import (
    build_curves,
    build_table,
    num_classes,
    run_draws,
    write_table,
)
from random_nas.store.records import STATUSES
from random_nas.versions import package_versions

logger = log_to(snakemake.log[0])
table = build_table(
    snakemake.input.metrics,
    snakemake.params.config,
    snakemake.params.space_size,
    package_versions("torch", "torchvision", "snakemake", "pandas", "pyarrow"),
    run_draws(snakemake.params.config),
)
write_table(table, snakemake.output.table)
if hasattr(snakemake.output, "curves"):
    write_table(build_curves(snakemake.input.metrics), snakemake.output.curves)
statuses = table.column("status").to_pylist()
logger.info(
    "collected %d candidates into %s: %s",
    table.num_rows,
    snakemake.output.table,
    ", ".join(f"{statuses.count(status)} {status}" for status in STATUSES),
)
frame = table.to_pandas()
classes = num_classes(frame, snakemake.params.config["dataset"]["name"])
for warning in (chance_warning(frame, classes), mixed_hardware(frame)):
    if warning is not None:
        logger.warning("%s", warning)
