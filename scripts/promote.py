"""Decide which architectures a rung of successive halving trains (checkpoint `rung`): rung
r + 1 trains the best ⌊n / eta⌋ (at least one) of rung r by validation accuracy, ties broken by
fewer FLOPs, then arch_id. (Rung 0 trains every draw.)"""

import _library  # noqa: F401  (src/ first on the path)
import pandas as pd

from random_nas.analysis.fidelity import promote
from random_nas.files import write_json
from random_nas.logs import log_to
from random_nas.results import metrics_row
from random_nas.store.records import read_metrics

logger = log_to(snakemake.log[0])
rung = int(snakemake.wildcards.rung)
previous = pd.DataFrame([metrics_row(read_metrics(path)) for path in snakemake.input])
arch_ids = promote(previous, snakemake.params.eta)
write_json(snakemake.output[0], {"rung": rung, "arch_ids": arch_ids})
logger.info("rung %d trains %d architectures: %s", rung, len(arch_ids), ", ".join(arch_ids))
