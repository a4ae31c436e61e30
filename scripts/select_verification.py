"""Pick the candidates of a published run to retrain here (checkpoint `select_verification`):
its winner, and a draw seeded by the run's seed from its other candidates, k in all, each at
the budget (epochs) its published row was trained for (analysis.verification_picks)."""

from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)

from random_nas.analysis.verification import verification_picks
from random_nas.files import write_json
from random_nas.logs import log_to
from random_nas.results import read_table

logger = log_to(snakemake.log[0])
table, metadata = read_table(snakemake.input[0])
repeats = Path(snakemake.input[0]).with_name("repeats.parquet")
repeated = set(read_table(repeats)[0].column("arch_id").to_pylist()) if repeats.exists() else None
seed = metadata.get("config", {}).get("seed", 0)
picks = verification_picks(table.to_pandas(), repeated, seed, snakemake.params.k)
write_json(
    snakemake.output[0],
    {"arch_ids": list(picks["arch_id"]), "epochs": [int(e) for e in picks["epochs"]]},
)
logger.info(
    "retraining the winner %s and %s (drawn with seed %d from the %s candidates)",
    picks["arch_id"].iloc[0],
    ", ".join(picks["arch_id"].iloc[1:]),
    seed,
    "repeated" if repeats.exists() else "other",
)
