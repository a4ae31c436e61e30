"""Write one architecture file per sampled candidate (rule `sample`)."""

from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)

from random_nas.files import write_json
from random_nas.logs import log_to
from random_nas.space import SearchSpace, sampled_records

logger = log_to(snakemake.log[0])
space = SearchSpace.from_config(snakemake.params.search_space)
records = sampled_records(space, snakemake.params.num_architectures, snakemake.params.seed)
folder = Path(snakemake.output[0])
folder.mkdir(parents=True, exist_ok=True)
for record in records:
    write_json(folder / f"{record['arch_id']}.json", record)
logger.info(
    "sampled %d of %d architectures with seed %d", len(records), space.size, snakemake.params.seed
)
write_json(snakemake.output.record, snakemake.params.identity)
