"""Compute of a successive-halving run against training every draw at the full budget, as the
run measured it (its trials.parquet: a run with search.compare_full_budget did both).

    .venv/bin/python benchmarks/halving.py [results/published/mnist5k-sh27]

Writes benchmarks/results/halving.{json,md}: per rung the trainings, epoch-images and training
seconds, the totals of both searches and their ratios, with the hardware the run recorded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from random_nas.analysis.fidelity import halving_analysis
from random_nas.results import read_table

REPO = Path(__file__).resolve().parents[1]


def main(run: Path) -> dict:
    table, metadata = read_table(run / "trials.parquet")
    trials = table.to_pandas()
    config = metadata["config"]
    search = config["search"]
    halving = halving_analysis(trials, config)
    budgets, per_rung, comparison = halving.ladder, halving.table, halving.comparison
    full = trials[trials["epochs"] == budgets[-1]]
    result = {
        "run": config["run"],
        "hardware": sorted(set(trials["hardware"].dropna())),
        "budgets": budgets,
        "eta": search["eta"],
        "rungs": per_rung.to_dict(orient="records"),
        "halving": {
            "trainings": int(per_rung["candidates"].sum()),
            "epoch_images": int(per_rung["epoch_images"].sum()),
            "train_seconds": float(per_rung["train_seconds"].sum()),
        },
        "full_budget": {
            "trainings": len(full),
            "epoch_images": int(len(full) * budgets[-1] * halving.train_images),
            "train_seconds": float(full["train_seconds"].sum()),
        },
        "comparison": comparison,
    }
    out = REPO / "benchmarks/results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "halving.json").write_text(json.dumps(result, indent=2) + "\n")
    halving, plain = result["halving"], result["full_budget"]
    lines = [
        f"# Successive halving against the full budget: {result['run']}\n",
        f"Measured on {'; '.join(result['hardware'])}; budgets {budgets} epochs, eta "
        f"{search['eta']}.\n",
        "| rung | epochs | trainings | epoch-images | train s |",
        "| --- | --- | --- | --- | --- |",
        *(
            f"| {row['rung']} | {row['epochs']} | {row['candidates']} | "
            f"{row['epoch_images']:,} | {row['train_seconds']:.1f} |"
            for row in result["rungs"]
        ),
        f"| halving, all rungs | | {halving['trainings']} | {halving['epoch_images']:,} | "
        f"{halving['train_seconds']:.1f} |",
        f"| every draw, full budget | {budgets[-1]} | {plain['trainings']} | "
        f"{plain['epoch_images']:,} | {plain['train_seconds']:.1f} |",
        "",
        f"Halving / full budget: {halving['epoch_images'] / plain['epoch_images']:.3f} of the "
        f"epoch-images, {halving['train_seconds'] / plain['train_seconds']:.3f} of the training "
        "seconds.",
    ]
    if comparison:
        rho, low, high = comparison["fidelity_spearman"]
        lines.append(
            f"Regret of the halving pick at the full budget: {100 * comparison['regret']:.1f} "
            f"points; rank correlation of rung 0 with the full budget: {rho:.2f} (95 % "
            f"bootstrap interval {low:.2f} to {high:.2f})."
        )
    (out / "halving.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "results/published/mnist5k-sh27")
