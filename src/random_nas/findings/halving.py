"""The sentences of a halving run's report: its pick, its rungs, and what halving gained and
lost against training every draw in full."""

from __future__ import annotations

from typing import Any

import pandas as pd

from random_nas.findings.common import counting_note, epochs_text
from random_nas.findings.run import rank_sentence


def strategy_pick(strategy: str, picks: pd.DataFrame, epochs: int) -> str:
    """What a strategy that picks otherwise than the best full-budget training picked."""
    if picks.empty:
        return f"{strategy} picks nothing: no training of its top rung finished ok."
    pick = picks.iloc[0]
    return (
        f"{strategy} picks {pick['arch_id']}, the best of its top rung's {len(picks)} at "
        f"{epochs_text(epochs)}: {100 * pick['val_accuracy']:.1f} % validation and "
        f"{100 * pick['test_accuracy']:.1f} % test accuracy."
    )


def _rungs_sentence(table: pd.DataFrame, hyperband: bool) -> str:
    brackets = table.groupby("bracket", sort=True) if hyperband else [(None, table)]
    return (
        (
            "Hyperband (diverged trainings count as chance, failed ones are left out): "
            if hyperband
            else "Successive halving (diverged trainings count as chance, failed ones are left "
            "out): "
        )
        + "; ".join(
            (f"bracket {bracket}: " if hyperband else "")
            + (", " if hyperband else "; ").join(
                f"rung {row.rung} trained {row.candidates} for {epochs_text(row.epochs)} "
                f"(best {100 * row.best_val_accuracy:.1f} %"
                + (
                    f"; {counting_note(row.diverged, row.failed)}"
                    if row.diverged or row.failed
                    else ""
                )
                + ")"
                for row in rows.itertuples()
            )
            for bracket, rows in brackets
        )
        + "."
    )


def _comparison_sentences(c: dict[str, Any], name: str, hyperband: bool) -> list[str]:
    lines = [
        f"{name} picks {c['halving_pick']} ({100 * c['halving_pick_val']:.1f} % at the "
        f"full budget, rank {c['halving_rank_at_full']} there); training every draw for the "
        f"full budget finds {c['full_best']} ({100 * c['full_best_val']:.1f} %): a regret "
        f"of {100 * c['regret']:.1f} points on the validation accuracy that chose both; on "
        f"the test images, which chose neither, {100 * c['halving_pick_test']:.1f} % against "
        f"{100 * c['full_best_test']:.1f} %.",
        f"{name} used {100 * c['compute_ratio']:.0f} % of the epoch-images and "
        f"{100 * c['seconds_ratio']:.0f} % of the training seconds of the full-budget run.",
        f"With the same compute, plain random search at the full budget trains "
        f"{c['random_search_draws']} draws, whose expected best is "
        f"{100 * c['random_search_expected']:.1f} % (unbiased, over this run's draws) on the "
        "validation accuracy that picks it, and whose pick's expected test accuracy, which "
        f"did not, is {100 * c['random_search_expected_test']:.1f} %.",
    ]
    if c["fidelity_spearman"] is not None:
        rung_zero = "bracket 0's rung 0" if hyperband else "rung 0"
        ranked_draws = (
            f"all {c['draws']} draws"
            if c["fidelity_draws"] == c["draws"]
            else f"the {c['fidelity_draws']} of the {c['draws']} draws that {rung_zero} trained"
        )
        lines.append(
            rank_sentence(
                c["fidelity_spearman"],
                f"Low and full fidelity ({rung_zero} at {epochs_text(c['fidelity_low_epochs'])}"
                f" against the full {epochs_text(c['full_epochs'])}) rank {ranked_draws}",
                "one fidelity",
            )
        )
    return lines


def halving_findings(
    table: pd.DataFrame, correlations: pd.DataFrame, comparison: dict[str, Any] | None
) -> list[str]:
    """The statements of a successive-halving (or Hyperband) run, computed from its trials."""
    hyperband = "bracket" in table
    name = "Hyperband" if hyperband else "Halving"
    lines = [_rungs_sentence(table, hyperband)]
    ranked_rungs = correlations.dropna(subset=["spearman"]) if len(correlations) else correlations
    if len(ranked_rungs):
        lines.append(
            "Spearman correlation of validation accuracy between consecutive rungs, over the "
            "promoted candidates (only where 5 or more were): "
            + ", ".join(
                f"rungs {row.rungs}: {row.spearman:.2f} over {row.candidates} (95 % bootstrap "
                f"interval {row.low:.2f} to {row.high:.2f})"
                for row in ranked_rungs.itertuples()
            )
            + "."
        )
    if comparison is None and len(table):
        firsts = table[table["rung"] == 0]
        draws, first = int(firsts["candidates"].sum()), table.iloc[0]
        per_epoch = first["epoch_images"] / (int(first["candidates"]) * first["epochs"])
        full_cost = draws * int(table["epochs"].max()) * per_epoch
        lines.append(
            f"{name} used {table['epoch_images'].sum():,.0f} epoch-images, "
            f"{100 * table['epoch_images'].sum() / full_cost:.0f} % of the {full_cost:,.0f} that "
            "training every draw for the full budget would take."
        )
    if comparison is not None:
        lines += _comparison_sentences(comparison, name, hyperband)
    return lines
