"""Compare a published run's candidates retrained here with its table (rule `verification`)."""

from pathlib import Path

import _library  # noqa: F401  (src/ first on the path)
import pandas as pd

from random_nas.analysis import verification_table
from random_nas.files import atomic_path, write_text
from random_nas.logs import log_to
from random_nas.results import build_table, read_table, run_draws

logger = log_to(snakemake.log[0])
published, metadata = read_table(snakemake.input.published)
config = metadata["config"]
repeats_path = Path(snakemake.input.published).with_name("repeats.parquet")
repeats = read_table(repeats_path)[0].to_pandas() if repeats_path.exists() else None
retrained = build_table(
    snakemake.input.retrained, config, metadata["space_size"], {}, run_draws(config)
).to_pandas()
table, basis, joint = verification_table(
    published.to_pandas(), retrained, repeats, config["dataset"]["val_size"], config["seed"]
)
with atomic_path(snakemake.output.table) as temporary:
    table.to_csv(temporary, index=False, float_format="%.6g")

name = Path(snakemake.output.table).parent.name
agreeing, exact = int(table["agrees"].sum()), int(table["exact"].sum())
# An entry older than this verification's selection was in the store before it: trained by a
# run with the same recipe, or by an earlier verification.
selected = Path(snakemake.output.table).with_name("selected.json").stat().st_mtime
found = sum(Path(path).stat().st_mtime < selected for path in snakemake.input.retrained)
if not joint["holds"]:
    verdict = "the published table does not hold here"
else:
    verdict = "consistent with the published table"
reasons = [
    f"{joint['unmeasured']} retraining(s) diverged or failed, each a disagreement"
    if joint["unmeasured"]
    else "",
    f"{joint['implausible']} published value(s) sit above their evidence by more than selection "
    "explains"
    if joint["implausible"]
    else "",
]
test = (
    f"F = {joint['statistic'] / joint['candidates']:.2f} on {joint['candidates']} and "
    f"{joint['freedom']} degrees of freedom"
    if joint["freedom"]
    else f"chi-square {joint['statistic']:.2f} on {joint['candidates']} degrees of freedom"
)
lines = [
    f"# Verification of the published run {name}\n",
    f"{agreeing} of {len(table)} retrained candidates agree with the published table; {exact} "
    f"of {len(table)} are identical trainings (the same validation images right and wrong, the "
    "same losses), which confirm their rows.\n",
    f"Evidence: {basis}. A candidate agrees when its retraining is within 1.96 standard errors "
    "of its evidence (its tolerance) and its published value exceeds that evidence by no more "
    "than the best of the run's draws could by seed noise alone (its selection allowance).\n",
    f"Power: a retraining off its evidence by {100 * table['detectable_shift'].min():.2f} "
    f"points or more ({100 * table['detectable_shift'].max():.2f} for the noisiest of these "
    "candidates) is found not to agree four times in five.\n",
    (
        f"Joint test over the {joint['candidates']} retrained candidates compared with unselected "
        f"evidence: {test}, p = {joint['p_value']:.3f}"
        if joint["candidates"]
        else "No candidate is compared with unselected evidence"
    )
    + "; ".join(["", *filter(None, reasons)])
    + f": {verdict}.\n",
    f"Retrained entries of the store: {found} of {len(table)} were already in the store when "
    "this verification selected them (trained by a run with the same recipe and seed, or by an "
    "earlier verification), so they are only as independent as that training.\n",
    f"Published on: {'; '.join(sorted(set(table['published_hardware'].dropna())))}.",
    f"Retrained on: {'; '.join(sorted(set(table['hardware'].dropna())))}.\n",
    "| arch_id | published val acc % | evidence % (seeds) | here % | difference (points) | "
    "tolerance | detectable shift | published above evidence | allowance | agrees |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    *(
        f"| {row.arch_id} | {100 * row.published_val_accuracy:.2f} | "
        f"{100 * row.reference_val_accuracy:.2f} "
        f"({row.reference_seeds or 'published'}) | "
        + (
            f"{100 * row.val_accuracy:.2f} | {100 * row.difference:+.2f}"
            if pd.notna(row.val_accuracy)
            else f"{row.status} | —"
        )
        + f" | {100 * row.tolerance:.2f} | {100 * row.detectable_shift:.2f} | "
        + (f"{100 * row.selection_gap:+.2f}" if pd.notna(row.selection_gap) else "—")
        + f" | {100 * row.selection_allowance:.2f} | {'yes' if row.agrees else 'NO'} |"
        for row in table.itertuples()
    ),
]
write_text(snakemake.output.verdict, "\n".join(lines) + "\n")
logger.info(
    "%s: %d of %d agree, %d identical, joint p = %.3f: %s",
    name,
    agreeing,
    len(table),
    exact,
    joint["p_value"],
    verdict,
)
