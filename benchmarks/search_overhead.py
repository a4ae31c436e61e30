"""What a live search costs beyond its trainings, measured from the searches of a working
directory: per batch, the time from the batch's last training ending to the next batch being
asked (the checkpoint: Snakemake's re-evaluation of the DAG, the ask job's start and the
strategy's rebuild from its history), and the time a core waits in a batch for its slowest
training (the price of batch-synchronous asking), each as a share of the search's wall time.

    .venv/bin/python benchmarks/search_overhead.py WORKDIR [RUN_PREFIX]

reads WORKDIR/results/{run}/search/batch_*.json and logs/search_batch_*.log (when each batch
was asked) and the modification times of each training's benchmark.tsv in WORKDIR's receipts
(when its job ended), and writes benchmarks/results/search_overhead.{json,md}. A batch whose
trainings the store already held ends when it is asked. A search stopped and resumed is left
out (its gap holds the pause).
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from random_nas.versions import hardware  # noqa: E402

STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) INFO (batch \d+ asks|search ends)", re.M)
RESUMED_GAP_S = 600


def asked_at(log: Path) -> float:
    return datetime.fromisoformat(STAMP.search(log.read_text()).group(1)).timestamp()


def ended_at(workdir: Path, proposal: dict, asked: float) -> list[float]:
    """When the jobs of this batch that trained (or took a copy) ended: their receipts'
    benchmark.tsv written after the batch was asked."""
    pattern = (
        f"results/receipts/*/*/e{proposal['epochs']}-*/{proposal['arch_id']}/seed_0/benchmark.tsv"
    )
    return [path.stat().st_mtime for path in workdir.glob(pattern) if path.stat().st_mtime >= asked]


def search_gaps(workdir: Path, run: Path) -> dict | None:
    """The checkpoint gaps and the batch waits of one search, in seconds, and its wall time."""
    batches = sorted(run.glob("search/batch_*.json"), key=lambda p: int(p.stem.split("_")[1]))
    asks = [asked_at(run / "logs" / f"search_{path.stem}.log") for path in batches]
    if len(asks) < 2:
        return None
    gaps, waits = [], []
    for path, asked, next_asked in zip(batches, asks, asks[1:], strict=False):
        ends = [
            end
            for proposal in json.loads(path.read_text())["proposals"]
            for end in ended_at(workdir, proposal, asked)
            if end <= next_asked
        ]
        gaps.append(next_asked - max(ends, default=asked))
        waits.append(max(ends) - min(ends) if len(ends) > 1 else 0.0)
    if max(gaps) > RESUMED_GAP_S:
        return None
    return {"gaps": gaps, "waits": waits, "wall_s": asks[-1] - asks[0]}


def main(workdir: Path, prefix: str) -> dict:
    runs = sorted(
        path.parent.parent for path in workdir.glob(f"results/{prefix}*/search/batch_0.json")
    )
    measured = {run.name: search_gaps(workdir, run) for run in runs}
    measured = {name: gaps for name, gaps in measured.items() if gaps}
    gaps = [gap for m in measured.values() for gap in m["gaps"]]
    wall = sum(m["wall_s"] for m in measured.values())
    result = {
        "machine": hardware("cpu"),
        "searches": len(measured),
        "batches": len(gaps),
        "median_gap_s": statistics.median(gaps),
        "p90_gap_s": statistics.quantiles(gaps, n=10)[-1],
        "gap_share": sum(gaps) / wall,
        "wait_share": sum(w for m in measured.values() for w in m["waits"]) / (2 * wall),
        "runs": {
            name: {
                "batches": len(m["gaps"]),
                "median_gap_s": statistics.median(m["gaps"]),
                "gap_share": sum(m["gaps"]) / m["wall_s"],
            }
            for name, m in measured.items()
        },
    }
    out = REPO / "benchmarks/results"
    (out / "search_overhead.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# The overhead of a live search, per batch\n",
        f"On {result['machine']}, `.venv/bin/python benchmarks/search_overhead.py WORKDIR "
        f"{prefix}` over {len(measured)} searches of the published comparison of strategies "
        f"({len(gaps)} batches of 2 trainings, 2 cores; searches stopped and resumed left out).\n",
        f"From a batch's last training ending to the next batch being asked (the checkpoint): "
        f"median {result['median_gap_s']:.1f} s, 90th percentile {result['p90_gap_s']:.1f} s; "
        f"{100 * result['gap_share']:.1f} % of the searches' wall time.\n",
        "A core waiting in its batch for the other's slower training (batch-synchronous "
        f"asking): {100 * result['wait_share']:.1f} % of the cores' time.\n",
        "The share is larger where the store already held most of a search's trainings (its "
        "wall time is then mostly checkpoints).\n",
        "| search | batches | median checkpoint gap (s) | share of wall time |",
        "| --- | --- | --- | --- |",
        *(
            f"| {name} | {r['batches']} | {r['median_gap_s']:.1f} | {100 * r['gap_share']:.1f} % |"
            for name, r in result["runs"].items()
        ),
    ]
    (out / "search_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "")
