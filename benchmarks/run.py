"""Performance benchmarks: measured numbers, written as JSON and Markdown (not timed tests).

    .venv/bin/python benchmarks/run.py [--quick] [--out benchmarks/results]

1. trainer images/s against a textbook PyTorch loop (Dataset + DataLoader, NCHW, fp32), same
   8 architectures of the seed's space, same data and batch size;
2. achieved training FLOP/s against this machine's matmul peak (fp32 and bf16);
3. per-job overhead: seconds from process start to the first training step, as the training
   jobs of benchmark 4 measured it;
4. pipeline efficiency of real `snakemake --cores 2` runs of the default config: in-job
   training seconds over (wall seconds x parallel jobs), for N = 4, 8, 16;
5. DAG planning: `snakemake -n` wall time for N = 1,000 and 10,000 architectures, next to
   Snakemake's own floor (a minimal workflow with as many `script:` jobs);
6. bf16 against fp32: validation accuracy of the same architectures trained both ways.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from defaults import dataset_config, training_config
from planning import bench_planning, planning_table

from random_nas.data import prepare_splits
from random_nas.model import build_model
from random_nas.space import SearchSpace
from random_nas.train import train_candidate
from random_nas.training_config import cpu_has_native_bf16

REPO = Path(__file__).resolve().parents[1]
SEED_SPACE = SearchSpace(10, (24, 36, 48, 64), (3, 5, 7), (1, 2))
BATCH = 128


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(dtype: torch.dtype, device: torch.device, seconds: float = 1.0) -> float:
    """Dense matmul throughput: the ceiling a convolution's FLOP rate is judged against.

    2048² as a rule; 512² for bf16 on a CPU without native bf16, where it is emulated and a
    2048² product alone takes minutes."""
    emulated = device.type == "cpu" and dtype == torch.bfloat16 and not cpu_has_native_bf16()
    size = 512 if emulated else 2048
    a = torch.randn(size, size, dtype=dtype, device=device)
    b = torch.randn(size, size, dtype=dtype, device=device)
    a @ b
    _sync(device)
    start, repeats = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        a @ b
        repeats += 1
        _sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def textbook_images_per_second(arch, splits, images: int, device: torch.device) -> float:
    """The loop of the PyTorch tutorials: a Dataset yielding one transformed image at a time."""
    import torchvision.transforms as T
    from PIL import Image

    transform = T.Compose([T.ToTensor(), T.Normalize(splits.mean, splits.std)])

    class Digits(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return images

        def __getitem__(self, index: int):
            image = Image.fromarray(splits.train_images[index, 0].numpy())
            return transform(image), int(splits.train_labels[index])

    torch.manual_seed(0)
    model = build_model(arch, splits.in_channels, splits.num_classes).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = torch.utils.data.DataLoader(Digits(), batch_size=BATCH, shuffle=True, drop_last=True)
    model.train()
    start, seen = time.perf_counter(), 0
    for batch, labels in loader:
        batch, labels = batch.to(device), labels.to(device)
        loss = F.cross_entropy(model(batch), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += len(labels)
    _sync(device)
    return seen / (time.perf_counter() - start)


def bench_trainer(splits, count: int, images: int, device: torch.device) -> dict:
    peaks = {dtype: matmul_peak(getattr(torch, dtype), device) for dtype in ("float32", "bfloat16")}
    peaks = {"fp32": peaks["float32"], "bf16": peaks["bfloat16"]}
    rows = []
    subset = dataclasses.replace(
        splits, train_images=splits.train_images[:images], train_labels=splits.train_labels[:images]
    )
    for arch in SEED_SPACE.sample(count, seed=0):
        metrics = train_candidate(
            arch, subset, training_config(epochs=1, batch_size=BATCH, device=device.type)
        ).metrics
        textbook = textbook_images_per_second(arch, splits, images, device)
        training_flops = 3 * metrics["flops"]  # forward, and twice that backward
        flops_per_second = training_flops * metrics["images_per_second"]
        rows.append(
            {
                "arch_id": arch.arch_id,
                "forward_mflops": metrics["flops"] / 1e6,
                "trainer_images_per_second": metrics["images_per_second"],
                "textbook_images_per_second": textbook,
                "ratio": metrics["images_per_second"] / textbook,
                # The ratio a trainer running at the best matmul peak would reach.
                "ceiling_ratio": max(peaks.values()) / (training_flops * textbook),
                "train_gflops_per_second": flops_per_second / 1e9,
                "fraction_of_fp32_peak": flops_per_second / peaks["fp32"],
                "fraction_of_bf16_peak": flops_per_second / peaks["bf16"],
                "precision": metrics["precision"],
            }
        )
    return {
        "matmul_peak_gflops": {key: value / 1e9 for key, value in peaks.items()},
        "architectures": rows,
        "median_ratio": statistics.median(row["ratio"] for row in rows),
    }


def _snakemake(folder: Path, config: dict, *args: str) -> float:
    """Run snakemake on `config` in `folder` (a workflow copy); returns its wall seconds."""
    if not (folder / "Snakefile").exists():
        for name in ("Snakefile", "workflow", "scripts", "config", "profiles"):
            os.symlink(REPO / name, folder / name)
    (folder / "bench.yaml").write_text(yaml.safe_dump(config))
    command = [
        str(Path(sys.executable).with_name("snakemake")),
        *args,
        "--configfile",
        "bench.yaml",
    ]
    start = time.perf_counter()
    subprocess.run(command, cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - start


def bench_pipeline(sizes: list[int], quick: bool) -> list[dict]:
    """Real runs of the default config (a smaller training set with --quick)."""
    rows = []
    for count in sizes:
        config = {"run": "bench", "num_architectures": count}
        if quick:
            config |= {"dataset": {"train_size": 1024}, "training": {"epochs": 1}}
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            # Data preparation and sampling first: the efficiency is of the training fan-out.
            _snakemake(folder, config, "--cores", "2", "--until", "prepare_data", "sample")
            wall = _snakemake(folder, config, "--cores", "2")
            jobs = [
                json.loads(path.read_text())
                for path in folder.glob("results/store/*/*/*/seed_*/metrics.json")
            ]
            in_job = sum(job["train_seconds"] + job["eval_seconds"] for job in jobs)
            rows.append(
                {
                    "num_architectures": count,
                    "wall_seconds": wall,
                    "in_job_training_seconds": in_job,
                    "efficiency": in_job / (wall * 2),
                    "seconds_to_first_step": [job["seconds_to_first_step"] for job in jobs],
                }
            )
    return rows


def bench_precision(splits, count: int, device: torch.device) -> dict:
    """Validation accuracy with bf16 autocast and in fp32: same architectures, seed, data and
    recipe (the default config's: 3 epochs on the whole training split).

    A CPU without native bf16 emulates it about 5x slower than fp32, so there the smallest of
    the sampled architectures are used."""
    archs = SEED_SPACE.sample(8, seed=0)
    if device.type == "cpu" and not cpu_has_native_bf16():
        image_shape = tuple(splits.train_images.shape[1:])
        archs.sort(key=lambda arch: arch.forward_flops(image_shape, splits.num_classes))
        count = min(count, 2)
    rows = []
    for arch in archs[:count]:
        accuracy = {}
        for name, precision, seed in (
            ("fp32", "fp32", 0),
            ("bf16", "bf16", 0),
            ("fp32_seed1", "fp32", 1),
        ):
            config = training_config(
                seed, epochs=3, batch_size=BATCH, device=device.type, precision=precision
            )
            accuracy[name] = train_candidate(arch, splits, config).metrics["val_accuracy"]
        rows.append(
            {
                "arch_id": arch.arch_id,
                **accuracy,
                "bf16_minus_fp32": accuracy["bf16"] - accuracy["fp32"],
                "seed_to_seed": accuracy["fp32_seed1"] - accuracy["fp32"],
            }
        )
    val_size = len(splits.val_labels)
    mean_accuracy = statistics.mean(row["fp32"] for row in rows)
    return {
        "architectures": rows,
        "train_images": len(splits.train_labels),
        "val_images": val_size,
        "epochs": 3,
        # The binomial standard error of one accuracy measured on val_size images.
        "binomial_standard_error": (mean_accuracy * (1 - mean_accuracy) / val_size) ** 0.5,
        "mean_abs_bf16_minus_fp32": statistics.mean(abs(row["bf16_minus_fp32"]) for row in rows),
        "mean_abs_seed_to_seed": statistics.mean(abs(row["seed_to_seed"]) for row in rows),
    }


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _pipeline_sections(results: dict) -> list[str]:
    startup = [seconds for row in results["pipeline"] for seconds in row["seconds_to_first_step"]]
    return [
        "## 3. Job start to first training step",
        "",
        f"Median **{statistics.median(startup):.2f} s** over the {len(startup)} training jobs "
        f"of benchmark 4 (range {min(startup):.2f}-{max(startup):.2f} s).",
        "",
        "## 4. Pipeline efficiency (`snakemake --cores 2`, default config)",
        "",
        *_table(
            ["N", "wall s", "in-job s", "efficiency"],
            [
                [
                    str(row["num_architectures"]),
                    f"{row['wall_seconds']:.1f}",
                    f"{row['in_job_training_seconds']:.1f}",
                    f"{row['efficiency']:.2f}",
                ]
                for row in results["pipeline"]
            ],
        ),
        "",
        "## 5. DAG planning (`snakemake -n`)",
        "",
        *planning_table(results["planning"]),
        "",
    ]


def markdown(results: dict) -> str:
    trainer = results["trainer"]
    lines = [
        f"# Benchmarks ({results['machine']})",
        "",
        f"torch {results['torch']}, {results['threads']} thread(s), device {results['device']}. "
        "Matmul peak: "
        + ", ".join(
            f"{key} {value:.0f} GFLOP/s" for key, value in trainer["matmul_peak_gflops"].items()
        ),
        "",
        "## 1-2. Trainer vs textbook loop, and achieved FLOP/s",
        "",
        "`ceiling` is the ratio a trainer running at the best matmul peak would reach.",
        "",
        *_table(
            [
                "arch_id",
                "fwd MFLOPs",
                "trainer img/s",
                "textbook img/s",
                "ratio",
                "ceiling",
                "train GFLOP/s",
                "% fp32 peak",
                "% bf16 peak",
            ],
            [
                [
                    row["arch_id"],
                    f"{row['forward_mflops']:.1f}",
                    f"{row['trainer_images_per_second']:.0f}",
                    f"{row['textbook_images_per_second']:.0f}",
                    f"{row['ratio']:.2f}",
                    f"{row['ceiling_ratio']:.2f}",
                    f"{row['train_gflops_per_second']:.1f}",
                    f"{100 * row['fraction_of_fp32_peak']:.0f}",
                    f"{100 * row['fraction_of_bf16_peak']:.0f}",
                ]
                for row in trainer["architectures"]
            ],
        ),
        "",
        f"Median trainer/textbook ratio: **{trainer['median_ratio']:.2f}**",
        "",
    ]
    if "pipeline" in results:
        lines += _pipeline_sections(results)
    precision = results["precision"]
    lines += [
        "## 6. bf16 against fp32 (validation accuracy)",
        "",
        f"{precision['epochs']} epochs on {precision['train_images']} images, "
        f"{precision['val_images']} validation images; `seed 1` is fp32 with another seed.",
        "",
        *_table(
            ["arch_id", "fp32", "bf16", "fp32 seed 1", "bf16 - fp32", "seed 1 - seed 0"],
            [
                [
                    row["arch_id"],
                    f"{row['fp32']:.3f}",
                    f"{row['bf16']:.3f}",
                    f"{row['fp32_seed1']:.3f}",
                    f"{row['bf16_minus_fp32']:+.3f}",
                    f"{row['seed_to_seed']:+.3f}",
                ]
                for row in precision["architectures"]
            ],
        ),
        "",
        f"Mean |bf16 - fp32| {precision['mean_abs_bf16_minus_fp32']:.3f}; mean |seed 1 - seed 0| "
        f"{precision['mean_abs_seed_to_seed']:.3f}; binomial s.e. of one accuracy "
        f"{precision['binomial_standard_error']:.3f}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer architectures and images")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--trainer-only", action="store_true", help="benchmarks 1-2 and 6 only")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(1)  # as one training job of the default config
    splits = prepare_splits(dataset_config(val_size=500, test_size=500), seed=0)
    images = 512 if args.quick else 1024
    results = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "trainer": bench_trainer(splits, 4 if args.quick else 8, images, device),
        "precision": bench_precision(splits, 1 if args.quick else 8, device),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.trainer_only:
        results["pipeline"] = bench_pipeline([4] if args.quick else [4, 8, 16], args.quick)
        results["planning"] = bench_planning([1000] if args.quick else [1000, 10000])
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
