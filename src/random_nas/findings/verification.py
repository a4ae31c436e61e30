"""The sentences of a verification of a published run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd


def verification_basis(joint: Mapping[str, Any], selecting_seed: int, val_size: int) -> str:
    """The evidence a verification judged its candidates on, and the noise it assumed."""
    if joint["freedom"]:
        return (
            f"the mean of each candidate's seeds other than the selecting seed {selecting_seed} "
            "(repeats.parquet; the selecting seed's values carry the winner's curse), with the "
            f"run's pooled seed-to-seed standard deviation, {100 * joint['pooled']:.2f} points "
            f"({joint['freedom']} degrees of freedom; t quantiles)"
        )
    return (
        "each candidate's published value, with the binomial standard error of an "
        f"accuracy on the run's {val_size:,} validation images as its seed noise (the run "
        "measured none: that needs repeats with two or more seeds besides the selecting "
        "one); the winner's values were selected, and its tolerance below allows for it"
    )


def _joint_line(joint: Mapping[str, Any]) -> str:
    """The joint test, what else decided the verdict, and the verdict."""
    verdict = (
        "consistent with the published table"
        if joint["holds"]
        else "the published table does not hold here"
    )
    reasons = [
        f"{joint['unmeasured']} retraining(s) failed, each a disagreement"
        if joint["unmeasured"]
        else "",
        f"{joint['diverged']} retraining(s) diverged, each counted as chance"
        if joint["diverged"]
        else "",
        f"{joint['implausible']} published value(s) sit above their evidence by more than "
        "selection explains"
        if joint["implausible"]
        else "",
    ]
    test = (
        f"the sum of the standardised shortfalls squared, {joint['statistic']:.2f}, against its "
        f"chi-bar-square distribution (F per orthant on {joint['freedom']} degrees of freedom)"
        if joint["freedom"]
        else f"the sum of the standardised shortfalls squared, {joint['statistic']:.2f}, against "
        "its chi-bar-square distribution"
    )
    return (
        (
            f"Joint test over the {joint['candidates']} retrained candidates compared with "
            f"unselected evidence: {test}, p = {joint['p_value']:.3f}"
            if joint["candidates"]
            else "No candidate is compared with unselected evidence"
        )
        + "; ".join(["", *filter(None, reasons)])
        + f": {verdict}.\n"
    )


def _table_rows(table: pd.DataFrame) -> list[str]:
    return [
        "| arch_id | published val acc % | evidence % (seeds) | here % | difference (points) | "
        "tolerance | detectable shift | published above evidence | allowance | agrees |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {row.arch_id} | {100 * row.published_val_accuracy:.2f} | "
            f"{100 * row.reference_val_accuracy:.2f} "
            f"({row.reference_seeds or 'published'}) | "
            + (
                f"{row.status} | —"
                if row.status == "failed"
                else f"{100 * row.val_accuracy:.2f}"
                + (" (diverged: chance)" if row.status == "diverged" else "")
                + f" | {100 * row.difference:+.2f}"
            )
            + f" | {100 * row.tolerance:.2f} | {100 * row.detectable_shift:.2f} | "
            + (f"{100 * row.selection_gap:+.2f}" if pd.notna(row.selection_gap) else "—")
            + f" | {100 * row.selection_allowance:.2f} | {'yes' if row.agrees else 'NO'} |"
            for row in table.itertuples()
        ),
    ]


def verification_lines(
    name: str,
    table: pd.DataFrame,
    joint: Mapping[str, Any],
    basis: str,
    found_in_store: int,
) -> list[str]:
    """The verdict of a verification (verification.md): how many agree and on what evidence,
    its power, the joint test, where the retrainings came from, and the table."""
    agreeing, exact = int(table["agrees"].sum()), int(table["exact"].sum())
    joint_line = _joint_line(joint)
    return [
        f"# Verification of the published run {name}\n",
        f"{agreeing} of {len(table)} retrained candidates agree with the published table; "
        f"{exact} of {len(table)} are identical trainings (the same validation images right and "
        "wrong, the same losses), which confirm their rows.\n",
        f"Evidence: {basis}. A candidate agrees when its retraining falls short of its evidence "
        "by no more than its tolerance (one-sided, 5 %: the question is whether it does as well "
        "here as the table says; a retraining under the published row's own seed shares part "
        "of that row's selected noise, and may sit above its evidence) and its published value "
        "exceeds that evidence by no more than the best of the run's draws could by seed noise "
        "alone (its selection allowance).\n",
        f"Power: the verdict (the joint test) finds one retraining off its evidence by "
        f"{100 * table['verdict_detectable_shift'].min():.2f} points or more "
        f"({100 * table['verdict_detectable_shift'].max():.2f} for the noisiest of these "
        "candidates) four times in five; a candidate's own check finds "
        f"{100 * table['detectable_shift'].min():.2f} (its detectable shift) as often.\n",
        joint_line,
        f"Retrained entries of the store: {found_in_store} of {len(table)} were already in the "
        "store when this verification selected them (trained by a run with the same recipe and "
        "seed, or by an earlier verification), so they are only as independent as that "
        "training.\n",
        f"Published on: {'; '.join(sorted(set(table['published_hardware'].dropna())))}.",
        f"Retrained on: {'; '.join(sorted(set(table['hardware'].dropna())))}.\n",
        *_table_rows(table),
    ]
