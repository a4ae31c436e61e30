"""Load the configured dataset, split it, and save the splits as one tensor file."""

from random_nas.data import prepare_splits, save_splits
from random_nas.logs import log_to

logger = log_to(snakemake.log[0])
splits = prepare_splits(snakemake.params.dataset, snakemake.params.seed)
save_splits(splits, snakemake.output[0])
logger.info("dataset %s split into %s images", splits.name, splits.sizes())
