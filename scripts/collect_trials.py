"""Gather every training of a successive-halving run (rule `collect_trials`): trials.parquet
(one row per architecture and budget), candidates.parquet (each architecture at the highest
budget it reached) and curves.parquet (every epoch of every training)."""

import _library  # noqa: F401  (src/ first on the path)

from random_nas.logs import log_to
from random_nas.results import (
    build_curves,
    build_table,
    highest_budget,
    run_draws,
    write_table,
)
from random_nas.versions import package_versions

logger = log_to(snakemake.log[0])
# The top rung's trainings are also the full-budget comparison's: each counts once.
metrics_paths = sorted(set(snakemake.input) - {snakemake.input.record})
trials = build_table(
    metrics_paths,
    snakemake.params.config,
    snakemake.params.space_size,
    package_versions("torch", "torchvision", "snakemake", "pandas", "pyarrow"),
    run_draws(snakemake.params.config),
)
write_table(trials, snakemake.output.trials)
write_table(highest_budget(trials), snakemake.output.candidates)
curves = build_curves(metrics_paths)
write_table(curves, snakemake.output.curves)
logger.info(
    "collected %d trainings of %d architectures and %d epochs of learning curves",
    trials.num_rows,
    len(set(trials.column("arch_id").to_pylist())),
    curves.num_rows,
)
