"""Load the configured dataset, split it, and save the splits as one tensor file.

Which images go where comes as `params`; where the files are (`root`, `download`) is read from
the config, so moving the data retrains nothing.
"""

import _library  # noqa: F401  (src/ first on the path)

from random_nas.data import prepare_splits, save_splits
from random_nas.logs import log_to

logger = log_to(snakemake.log[0])
location = {key: snakemake.config["dataset"][key] for key in ("root", "download")}
splits = prepare_splits({**snakemake.params.dataset, **location}, snakemake.params.seed)
save_splits(splits, snakemake.output[0])
logger.info(
    "dataset %s split into %s images (content SHA-256 %s)",
    splits.name,
    ", ".join(f"{size:,} {split}" for split, size in splits.sizes().items()),
    splits.sha256[:16],
)
