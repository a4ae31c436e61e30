"""Gather a dense grid (rule `collect_grid`): grid.parquet, one row per draw and budget."""

import _library  # noqa: F401  (src/ first on the path)

from random_nas.logs import log_to
from random_nas.results import build_table, run_draws, write_table
from random_nas.versions import package_versions

logger = log_to(snakemake.log[0])
grid = build_table(
    sorted(snakemake.input.metrics),
    snakemake.params.config,
    snakemake.params.space_size,
    package_versions("torch", "torchvision", "snakemake", "pandas", "pyarrow"),
    run_draws(snakemake.params.config),
)
write_table(grid, snakemake.output[0])
logger.info("collected a dense grid of %d trainings", grid.num_rows)
