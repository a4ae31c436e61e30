"""Write one architecture file per sampled candidate (rule `sample`)."""

from pathlib import Path

from random_nas.files import write_json
from random_nas.logs import log_to
from random_nas.space import SearchSpace, architecture_record

logger = log_to(snakemake.log[0])
space = SearchSpace.from_config(snakemake.params.search_space)
indices = space.sample_indices(snakemake.params.num_architectures, snakemake.params.seed)
folder = Path(snakemake.output[0])
folder.mkdir(parents=True, exist_ok=True)
for draw, index in enumerate(indices):
    record = architecture_record(space, index, snakemake.params.seed, draw)
    write_json(folder / f"{record['arch_id']}.json", record)
logger.info(
    "sampled %d of %d architectures with seed %d", len(indices), space.size, snakemake.params.seed
)
