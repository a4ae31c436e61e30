"""Gather a live search's trainings (rule `collect_search`): trials.parquet (one row per
architecture and budget, with the batch that asked for it and its place in the asking order)
and candidates.parquet (each architecture at the highest budget it reached)."""

import json
from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)

from random_nas.logs import log_to
from random_nas.results import build_curves, build_table, highest_budget, write_table
from random_nas.search_run import search_placement
from random_nas.versions import package_versions

logger = log_to(snakemake.log[0])
batches = [json.loads(Path(path).read_text(encoding="utf-8")) for path in snakemake.input.batches]
trials = build_table(
    sorted(set(snakemake.input.metrics)),
    snakemake.params.config,
    snakemake.params.space_size,
    {
        **package_versions("torch", "torchvision", "snakemake", "pandas", "pyarrow"),
        # What drove the strategy, as its first batch recorded it.
        **{f"strategy_{name}": value for name, value in batches[0].get("versions", {}).items()},
    },
    search_placement(batches, snakemake.params.config["search_space"]),
)
write_table(trials, snakemake.output.trials)
write_table(highest_budget(trials), snakemake.output.candidates)
write_table(build_curves(sorted(set(snakemake.input.metrics))), snakemake.output.curves)
logger.info("collected %d trainings of a search of %d batches", trials.num_rows, len(batches) - 1)
