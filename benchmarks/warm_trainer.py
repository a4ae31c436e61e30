"""Small trainings at the cost of their arithmetic: the same N one-epoch trainings of
networks of a few MFLOPs, trained by `snakemake --cores 2` three ways in one run: by the
workflow before the warm trainer (a `script:` job per training, measured from a git worktree
of `--before`), by today's thin job training in its own process (RANDOM_NAS_WARM_TRAINER=0,
as on a cluster), and forked from the run's warm trainer (random_nas.warm).

    .venv/bin/python benchmarks/warm_trainer.py [--trainings 64] [--before a668a4e]

Per way: each training's start to first step (from its job's start; median and 90th
percentile), the training's own seconds (set-up, epoch and evaluation: metrics'
wall_seconds), and the share of the run's cores that trained (sum of training seconds over
cores x wall). The wall is Snakemake's whole invocation of the trainings alone (its start and
planning included); the draw and the data are made by an earlier invocation. Each way trains
into a store of its own. Writes warm_trainer.json and warm_trainer.md, naming the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from random_nas.versions import hardware  # noqa: E402  (the library beside this file)

CORES = 2
# 3 layers of filters {16, 32}, kernels {3, 5}, strides {1, 2}: 512 networks of 1-9 MFLOPs,
# about 0.3-1 s an epoch on 3,000 images on one thread of this machine.
CONFIG = {
    "run": "warm",
    "search_space": {
        "num_layers": 3,
        "filters": [16, 32],
        "kernel_sizes": [3, 5],
        "strides": [1, 2],
    },
    "dataset": {"train_size": 3000, "val_size": 500, "test_size": 500},
    "training": {"epochs": 1, "threads": 1, "warmup_epochs": 0},
    "repeats": {"top_k": 0},
}
WAYS = {
    "before": "a `script:` job per training (the workflow at --before)",
    "own process": "thin job, training in its own process",
    "warm": "thin job, training forked from the warm trainer",
}


def workdir(folder: Path, source: Path, trainings: int) -> None:
    for name in ("Snakefile", "workflow", "scripts", "config", "profiles", "src"):
        os.symlink(source / name, folder / name)
    (folder / "bench.yaml").write_text(yaml.safe_dump({**CONFIG, "num_architectures": trainings}))


def snakemake(folder: Path, *args: str, env: dict | None = None) -> float:
    command = [str(Path(sys.executable).with_name("snakemake")), "--cores", str(CORES)]
    started = time.perf_counter()
    result = subprocess.run(
        [*command, "--configfile", "bench.yaml", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed in {folder}:\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def measure(way: str, source: Path, trainings: int) -> dict:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        workdir(folder, source, trainings)
        snakemake(folder, "--until", "prepare_data", "sample")
        env = {**os.environ, "RANDOM_NAS_WARM_TRAINER": "0" if way == "own process" else "1"}
        wall = snakemake(folder, "--omit-from", "collect", env=env)
        metrics = [
            json.loads(path.read_text())
            for path in folder.glob("results/store/*/*/*/seed_*/metrics.json")
        ]
    if len(metrics) != trainings:
        raise SystemExit(
            f"{way}: {len(metrics)} trainings in the store where {trainings} were asked"
        )
    starts = sorted(row["seconds_to_first_step"] for row in metrics)
    training = [row["wall_seconds"] for row in metrics]
    row = {
        "way": way,
        "trainings": trainings,
        "wall_seconds": wall,
        "start_to_first_step_median": statistics.median(starts),
        "start_to_first_step_p90": starts[int(0.9 * (len(starts) - 1))],
        "training_seconds_median": statistics.median(training),
        "share_of_cores_training": sum(training) / (CORES * wall),
    }
    print(
        f"{way}: {wall:.1f} s, {row['share_of_cores_training']:.2f} of the cores training",
        file=sys.stderr,
    )
    return row


def before_tree(ref: str, folder: Path) -> Path:
    tree = folder / "before"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), ref],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return tree


def table(rows: list[dict]) -> list[str]:
    lines = [
        "| way | trainings | wall s | start to first step, median s | 90th pct s | training s (median) | share of the cores training |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {WAYS[row['way']]} | {row['trainings']} | {row['wall_seconds']:.1f} | "
            f"{row['start_to_first_step_median']:.2f} | {row['start_to_first_step_p90']:.2f} | "
            f"{row['training_seconds_median']:.2f} | {row['share_of_cores_training']:.2f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainings", type=int, default=64)
    parser.add_argument("--before", default="a668a4e", help="the commit before the warm trainer")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tree = before_tree(args.before, Path(name))
        try:
            rows = [measure("before", tree, args.trainings)]
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False
            )
    rows += [measure(way, REPO, args.trainings) for way in ("own process", "warm")]
    results = {"machine": hardware("cpu"), "cores": CORES, "before": args.before, "ways": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "warm_trainer.json").write_text(json.dumps(results, indent=2) + "\n")
    text = "\n".join(
        [
            "# Small trainings: a job per training, and the warm trainer",
            "",
            f"Machine: {results['machine']}. `benchmarks/warm_trainer.py --trainings "
            f"{args.trainings} --before {args.before}` (`--cores {CORES}`, one thread a training, "
            "1 epoch on 3,000 images, networks of 1-9 MFLOPs).",
            "",
            *table(rows),
            "",
        ]
    )
    (args.out / "warm_trainer.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
