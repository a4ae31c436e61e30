"""Prepare the splits of one data recipe in the store (rule `prepare_data`): dataset.pt, a
cache that every training job loads in milliseconds, and data.json, the record of the recipe
and its content SHA-256, published once (a second working directory finds it and checks its
data against it). The job's output is this working directory's receipt, a copy of the record.

Which images go where comes as `params`; where the files are (`root`, `download`) is read from
the config, so moving the data retrains nothing. The store never mixes data content: data
that hashes to something other than what the recipe's entries trained on (other files under
`dataset.root`) stops here, before any training, and nothing is overwritten.
"""

import shutil
import sys
from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)

from random_nas.data import EXPLAINED, prepared_splits
from random_nas.files import atomic_path, write_json
from random_nas.logs import log_to

logger = log_to(snakemake.log[0])
recipe = snakemake.params.dataset
location = {key: snakemake.config["dataset"][key] for key in ("root", "download")}
receipt = Path(snakemake.output[0])
record = Path(snakemake.params.store) / receipt.parent.name / receipt.name
try:
    splits = prepared_splits(record.parent, recipe, location)
except EXPLAINED as error:
    # A problem the message explains (and the workflow profile shows the log on failure):
    # one line a person acts on, no traceback. Anything else is a bug and keeps its traceback.
    logger.error("%s", error)
    sys.exit(1)
write_json(
    record, {"recipe": recipe, "sha256": splits.sha256, "sizes": splits.sizes()}, replace=False
)
with atomic_path(receipt) as temporary:
    shutil.copyfile(record, temporary)
logger.info(
    "dataset %s split into %s images (content SHA-256 %s)",
    splits.name,
    ", ".join(f"{size:,} {split}" for split, size in splits.sizes().items()),
    splits.sha256[:16],
)
