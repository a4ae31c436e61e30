"""Pick the run's best candidates to train again with other seeds (checkpoint
`select_repeats`): the `top_k` best `ok` candidates by validation accuracy at the full budget;
for successive halving and Hyperband, the best of its own picks, its top rungs (from
trials.parquet: a full-budget comparison trains every draw at the full budget, and those are
not halving's picks)."""

import _library  # noqa: F401  (src/ first on the path)

from random_nas.analysis.draws import ranked
from random_nas.analysis.fidelity import strategy_picks
from random_nas.files import write_json
from random_nas.logs import log_to
from random_nas.results import read_table

logger = log_to(snakemake.log[0])
table, metadata = read_table(snakemake.input[0])
frame, config = table.to_pandas(), metadata["config"]
if config["search"]["strategy"] in ("successive_halving", "hyperband"):
    best = strategy_picks(frame, config).head(snakemake.params.top_k)
else:
    best = ranked(frame[frame["epochs"] == snakemake.params.epochs]).head(snakemake.params.top_k)
write_json(snakemake.output[0], {"arch_ids": list(best["arch_id"])})
logger.info(
    "repeating the %d best candidates at %d epochs: %s",
    len(best),
    snakemake.params.epochs,
    ", ".join(
        f"{arch_id} ({100 * accuracy:.1f} %)"
        for arch_id, accuracy in zip(best["arch_id"], best["val_accuracy"], strict=True)
    ),
)
