"""k trainings side by side on one device: the aggregate images/s of k = 1, 2, 4, 8 processes,
each training the same small architecture of the seed's space on mnist5k, as a group of k
trainings does with `training.trainings_per_gpu: k`. Small trainings leave a GPU mostly idle;
this measures how much sharing it buys, as a ratio to k = 1 measured in the same run.

    .venv/bin/python benchmarks/gpu_share.py [--device cuda] [--ks 1 2 4 8] [--out DIR]

Writes gpu_share.json and gpu_share.md, naming the machine (benchmarks/gpu.sh runs it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from random_nas.versions import hardware  # noqa: E402  (the library beside this file)

# One training: the smallest of the first 8 draws of the seed's space (what grouping is for).
_TRAIN = """
import json, sys
sys.path.insert(0, {benchmarks!r})
from defaults import dataset_config, training_config
from random_nas.data import prepare_splits
from random_nas.space import SearchSpace
from random_nas.train import train_candidate

space = SearchSpace(10, (24, 36, 48, 64), (3, 5, 7), (1, 2))
arch = min(space.sample(8, seed=0), key=lambda arch: sum(layer.filters for layer in arch.layers))
splits = prepare_splits(dataset_config(val_size=500, test_size=500), seed=0)
metrics = train_candidate(arch, splits, training_config(epochs={epochs}, device={device!r})).metrics
print(json.dumps({{"images": {epochs} * len(splits.train_labels),
                  "train_seconds": metrics["train_seconds"]}}))
"""


def side_by_side(k: int, device: str, epochs: int) -> dict:
    """k trainings started together; their images over the wall time of all of them."""
    script = _TRAIN.format(benchmarks=str(REPO / "benchmarks"), epochs=epochs, device=device)
    start = time.perf_counter()
    processes = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(k)
    ]
    outputs = [json.loads(process.communicate()[0].splitlines()[-1]) for process in processes]
    wall = time.perf_counter() - start
    if any(process.returncode for process in processes):
        raise SystemExit(f"a training of k = {k} failed on {device}")
    images = sum(output["images"] for output in outputs)
    return {"k": k, "wall_seconds": wall, "images_per_second": images / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    rows = []
    for k in args.ks:
        rows.append(side_by_side(k, args.device, args.epochs))
        print(f"k = {k}: {rows[-1]['images_per_second']:.0f} images/s", file=sys.stderr)
    base = rows[0]["images_per_second"]
    results = {"machine": hardware(args.device), "device": args.device, "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_share.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        f"# k trainings side by side on one {args.device} device",
        "",
        f"Machine: {results['machine']}. `benchmarks/gpu_share.py --device {args.device}`; "
        f"epochs {args.epochs}, the smallest of 8 draws, wall time including start-up.",
        "",
        "| k | wall s | images/s (all k) | ratio to k = 1 |",
        "| --- | --- | --- | --- |",
        *(
            f"| {row['k']} | {row['wall_seconds']:.1f} | {row['images_per_second']:.0f} | "
            f"{row['images_per_second'] / base:.2f} |"
            for row in rows
        ),
        "",
    ]
    (args.out / "gpu_share.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
