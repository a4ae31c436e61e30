"""Ask a live search's strategy for its next batch (checkpoint `ask`): rebuilt from its seed,
asked and told every earlier batch again, then asked within what is left of the budget."""

import json
import sys
from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)

from random_nas.files import write_json
from random_nas.logs import log_to
from random_nas.search_run import ask_next, strategy_versions
from random_nas.store.records import read_metrics
from random_nas.strategies.search import NotDeterministic, ProposalRefused

logger = log_to(snakemake.log[0])
number = int(snakemake.wildcards.batch)
batches = [json.loads(Path(path).read_text(encoding="utf-8")) for path in snakemake.input.batches]
metrics = [read_metrics(path) for path in snakemake.input.metrics]
try:
    record = ask_next(
        number,
        batches,
        metrics,
        search=snakemake.params.search,
        search_space=snakemake.params.search_space,
        seed=snakemake.params.seed,
        epochs=snakemake.params.epochs,
        budget=snakemake.params.budget,
        # Operational: read from the config, so that changing it asks nothing again.
        ask_seconds=snakemake.config["search"]["ask_seconds"],
    )
except (ProposalRefused, NotDeterministic) as error:
    # No batch file is written: a rerun asks again instead of meeting a poisoned batch.
    logger.error("the search stops before training anything of batch %d: %s", number, error)
    sys.exit(1)
# The resolved batch size, read back by every later parse (random_nas.plan), and what drove it.
provenance = {"batch_size": snakemake.params.search["batch_size"], "versions": strategy_versions()}
write_json(snakemake.output[0], {**record, **provenance})
if record["done"]:
    logger.info(
        "search ends after batch %d: %.4g trainings' worth spent",
        number - 1,
        record["spent_before"],
    )
else:
    logger.info(
        "batch %d asks for %d trainings (%.4g of %d trainings' worth spent before it): %s",
        number,
        len(record["proposals"]),
        record["spent_before"],
        snakemake.params.budget,
        ", ".join(item["arch_id"] for item in record["proposals"]),
    )
