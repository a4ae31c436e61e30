"""Pick the candidates of a published run to retrain here (checkpoint `select_verification`):
its winner, and a draw seeded by the run's seed from its other candidates, k in all, each at
the budget (epochs) its published row was trained for. Where the run repeated seeds, the draw
is from the repeated candidates: the tolerance is their measured seed noise, which the weak,
unstable architectures of a run can exceed."""

import random
from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)

from random_nas.analysis.draws import ranked
from random_nas.files import write_json
from random_nas.logs import log_to
from random_nas.results import read_table

logger = log_to(snakemake.log[0])
table, metadata = read_table(snakemake.input[0])
ok = ranked(table.to_pandas())
winner = ok["arch_id"].iloc[0]
repeats = Path(snakemake.input[0]).with_name("repeats.parquet")
pool = (
    set(read_table(repeats)[0].column("arch_id").to_pylist())
    if repeats.exists()
    else set(ok["arch_id"])
)
others = sorted(pool - {winner})
seed = metadata.get("config", {}).get("seed", 0)
drawn = random.Random(seed).sample(others, min(snakemake.params.k - 1, len(others)))
arch_ids = [winner, *drawn]
epochs = ok.set_index("arch_id")["epochs"]
write_json(
    snakemake.output[0],
    {"arch_ids": arch_ids, "epochs": [int(epochs[arch_id]) for arch_id in arch_ids]},
)
logger.info(
    "retraining the winner %s and %s (drawn with seed %d from %d %s candidates)",
    winner,
    ", ".join(drawn),
    seed,
    len(others),
    "repeated" if repeats.exists() else "other",
)
