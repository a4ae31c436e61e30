"""What `snakemake verify_published` found, from the verifications of one or more working
directories (each run on one CPU kind, or with its kernels limited by the environment):

    .venv/bin/python benchmarks/verify_published.py DIR [DIR ...]

where each DIR holds results/verify/{name}/verification.csv and .md. Writes
benchmarks/results/verify_published.{json,md}: per CPU kind and published run, how many of the
retrained candidates agree, how many are identical trainings, the joint test's p-value and the
verdict, with the hardware the retrainings name.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def main(folders: list[Path]) -> list[dict]:
    rows = []
    for folder in folders:
        for table_path in sorted((folder / "results/verify").glob("*/verification.csv")):
            table = pd.read_csv(table_path)
            verdict = table_path.with_name("verification.md").read_text()
            p_value = re.search(r"p = ([0-9.]+)", verdict)
            rows.append(
                {
                    "run": table_path.parent.name,
                    "retrained_on": "; ".join(sorted(set(table["hardware"].dropna()))),
                    "published_on": "; ".join(sorted(set(table["published_hardware"].dropna()))),
                    "candidates": len(table),
                    "agree": int(table["agrees"].sum()),
                    "identical": int(table["exact"].sum()),
                    "p_value": float(p_value.group(1)) if p_value else None,
                    "holds": "does not hold" not in verdict,
                }
            )
    out = REPO / "benchmarks/results"
    (out / "verify_published.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = ["# verify_published, on each CPU kind reached\n"]
    for kind in dict.fromkeys(row["retrained_on"] for row in rows):
        lines += [
            f"Retrained on {kind}:\n",
            "| published run (trained on) | agree | identical | joint p | verdict |",
            "| --- | --- | --- | --- | --- |",
            *(
                f"| {row['run']} ({row['published_on']}) | {row['agree']} of "
                f"{row['candidates']} | {row['identical']} | {row['p_value']:.3f} | "
                f"{'holds' if row['holds'] else 'does not hold'} |"
                for row in rows
                if row["retrained_on"] == kind
            ),
            "",
        ]
    (out / "verify_published.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    main([Path(argument) for argument in sys.argv[1:]])
