"""Write one architecture file per sampled candidate (rule `sample`)."""

from random_nas.files import write_json
from random_nas.logs import log_to
from random_nas.space import SearchSpace, architecture_record

logger = log_to(snakemake.log[0])
space = SearchSpace.from_config(snakemake.params.search_space)
indices = space.sample_indices(snakemake.params.num_architectures, snakemake.params.seed)
paths = {path.rsplit("/", 1)[-1].removesuffix(".json"): path for path in snakemake.output}
for draw, index in enumerate(indices):
    record = architecture_record(space, index, snakemake.params.seed, draw)
    write_json(paths[record["arch_id"]], record)
logger.info(
    "sampled %d of %d architectures with seed %d", len(indices), space.size, snakemake.params.seed
)
