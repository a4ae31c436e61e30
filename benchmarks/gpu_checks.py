"""Checks of the CUDA branches that the CPU test suite cannot run; run by benchmarks/gpu.sh.

Prints one line per check and exits non-zero if any fails:
- `precision: auto` picks bf16 only on GPUs with native bf16 (compute capability 8.0+), else
  fp16 with the loss scaler, and both train to a finite loss;
- TF32 is off unless asked for, and what the metrics record matches the backend flags;
- the peak-memory figure grows with the architecture, not with the dataset on the device;
- a checkpoint saved on CUDA is ignored, with a warning, by a resume on the CPU;
- `device: auto` on this machine declares the gpu resource to Snakemake.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import yaml
from defaults import dataset_config, training_config

from random_nas.data import prepare_splits
from random_nas.plan import gpu_present
from random_nas.space import SearchSpace
from random_nas.train import train_candidate
from random_nas.training_config import resolve_precision

REPO = Path(__file__).resolve().parents[1]
SPACE = SearchSpace(4, (8, 64), (3, 7), (1, 2))
failures: list[str] = []


def check(name: str, passed: bool, detail: str) -> None:
    print(f"{'PASS' if passed else 'FAIL'}  {name}: {detail}", flush=True)
    if not passed:
        failures.append(name)


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    cuda = torch.device("cuda")
    capability = torch.cuda.get_device_capability(cuda)
    name = torch.cuda.get_device_name(cuda)
    auto = resolve_precision("auto", cuda)
    check(
        "auto precision",
        auto == ("bf16" if capability >= (8, 0) else "fp16"),
        f"{name}, capability {capability}: {auto}",
    )
    splits = prepare_splits(dataset_config(val_size=500, train_size=2000, test_size=500), 0)
    small, large = SPACE.decode(0), SPACE.decode(SPACE.size - 1)
    base = {"epochs": 1, "batch_size": 128, "device": "cuda"}
    for precision in ("fp16", "bf16", "fp32"):
        result = train_candidate(small, splits, training_config(**base, precision=precision))
        check(
            f"train {precision}",
            result.status == "ok" and result.metrics["precision"] == precision,
            f"val accuracy {result.metrics['val_accuracy']:.3f}",
        )
    for tf32 in (False, True):
        result = train_candidate(small, splits, training_config(**base, tf32=tf32))
        flags = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        check(
            f"tf32={tf32}",
            result.metrics["tf32"] is tf32 and flags == (tf32, tf32),
            f"recorded {result.metrics['tf32']}, backend flags {flags}",
        )
    peaks = {
        arch: train_candidate(arch, splits, training_config(**base)).metrics["peak_memory_bytes"]
        for arch in (small, large)
    }
    data_bytes = sum(getattr(splits, f"{split}_images").numel() * 4 for split in ("train", "val"))
    check(
        "peak memory is the training's",
        0 < peaks[small] < peaks[large],
        f"small {peaks[small] / 2**20:.1f} MiB < large {peaks[large] / 2**20:.1f} MiB "
        f"(data on the device: {data_bytes / 2**20:.1f} MiB, not counted)",
    )
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = Path(folder) / "checkpoint.pt"
        train_candidate(small, splits, training_config(**{**base, "epochs": 2}), checkpoint)
        records: list[str] = []
        handler = logging.Handler()
        handler.emit = lambda record: records.append(record.getMessage())
        logging.getLogger("random_nas").addHandler(handler)
        resumed = train_candidate(
            small, splits, training_config(**{**base, "epochs": 2, "device": "cpu"}), checkpoint
        )
        check(
            "CUDA checkpoint on the CPU",
            resumed.status == "ok" and any("ignoring checkpoint" in line for line in records),
            "ignored with a warning, trained from the start",
        )
        config = Path(folder) / "auto.yaml"
        config.write_text(yaml.safe_dump({"run": "gpu-check", "training": {"device": "auto"}}))
        dry_run = subprocess.run(
            [str(Path(sys.executable).with_name("snakemake")), "-n", "--configfile", str(config)],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout
        check(
            "device auto declares gpu",
            gpu_present() and "gpu=1" in dry_run,
            f"gpu_present() = {gpu_present()}, 'gpu=1' in the dry run: {'gpu=1' in dry_run}",
        )
    print(f"{len(failures)} failed: {failures}" if failures else "all CUDA checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
