"""DAG planning: `snakemake -n` wall time and peak memory for N architectures of the default
config, next to Snakemake's own floor (a bare workflow of as many `script:` jobs).

    .venv/bin/python benchmarks/planning.py [--sizes 1000 10000] [--out benchmarks/results]

Writes planning.json and planning.md, naming the machine; benchmarks/run.py runs it as its
benchmark 5.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from random_nas.versions import hardware  # noqa: E402  (the library beside this file)

FLOOR_SNAKEFILE = """
IDS = [f"{i:012x}" for i in range(config["num_architectures"])]
rule all:
    input: expand("out/{id}.txt", id=IDS)
rule job:
    output: "out/{id}.txt"
    script: "job.py"
"""
# Runs a command and prints its wall seconds and peak resident bytes (Linux: KiB in ru_maxrss).
_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "subprocess.run(sys.argv[1:], check=True, capture_output=True)\n"
    "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def dry_run(folder: Path, config: dict, workflow: bool) -> tuple[float, int]:
    """`snakemake -n --quiet all` on `config` in `folder`: wall seconds and peak bytes."""
    if workflow:
        for name in ("Snakefile", "workflow", "scripts", "config", "profiles"):
            os.symlink(REPO / name, folder / name)
    else:
        (folder / "Snakefile").write_text(FLOOR_SNAKEFILE)
        (folder / "job.py").write_text("")
    (folder / "bench.yaml").write_text(yaml.safe_dump(config))
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    command = [snakemake, "-n", "--quiet", "all", "--configfile", "bench.yaml"]
    output = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(output[0]), int(output[1]) * 1024


def bench_planning(sizes: list[int]) -> list[dict]:
    rows = []
    for count in sizes:
        measured = {}
        for kind, workflow in (("dry_run", True), ("snakemake_floor", False)):
            with tempfile.TemporaryDirectory() as folder:
                config = {"run": "plan", "num_architectures": count}
                measured[kind] = dry_run(Path(folder), config, workflow)
            print(f"N = {count:,}, {kind}: {measured[kind][0]:.1f} s", file=sys.stderr)
        rows.append(
            {
                "num_architectures": count,
                "dry_run_seconds": measured["dry_run"][0],
                "dry_run_peak_bytes": measured["dry_run"][1],
                "snakemake_floor_seconds": measured["snakemake_floor"][0],
                "snakemake_floor_peak_bytes": measured["snakemake_floor"][1],
            }
        )
    return rows


def planning_table(rows: list[dict]) -> list[str]:
    lines = [
        "| N | this workflow s | peak MiB | Snakemake floor s | peak MiB | ratio to the floor |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['num_architectures']:,} | {row['dry_run_seconds']:.1f} | "
            f"{row.get('dry_run_peak_bytes', 0) / 2**20:.0f} | "
            f"{row['snakemake_floor_seconds']:.1f} | "
            f"{row.get('snakemake_floor_peak_bytes', 0) / 2**20:.0f} | "
            f"{row['dry_run_seconds'] / row['snakemake_floor_seconds']:.2f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    results = {"machine": hardware("cpu"), "planning": bench_planning(args.sizes)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "planning.json").write_text(json.dumps(results, indent=2) + "\n")
    text = "\n".join(
        [
            "# DAG planning (`snakemake -n --quiet all`)",
            "",
            f"Machine: {results['machine']}. `benchmarks/planning.py --sizes "
            f"{' '.join(map(str, args.sizes))}`.",
            "",
            *planning_table(results["planning"]),
            "",
        ]
    )
    (args.out / "planning.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
