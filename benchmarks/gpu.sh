#!/usr/bin/env bash
# On a GPU machine, from the repository root: the CUDA checks the CPU test suite cannot run
# (benchmarks/gpu_checks.py), then benchmarks 1, 2 and 6 on CUDA, then k = 1, 2, 4, 8 trainings
# sharing the GPU (benchmarks/gpu_share.py), within about 9 minutes.
#   bash benchmarks/gpu.sh [OUT_DIR]
set -euo pipefail
out=${1:-benchmarks/results/gpu}
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv && .venv/bin/pip install --quiet -e .
fi
nvidia-smi --query-gpu=name,memory.total,compute_cap --format=csv
mkdir -p "$out"
timeout 120 .venv/bin/python benchmarks/gpu_checks.py | tee "$out/checks.txt"
timeout 300 .venv/bin/python benchmarks/run.py --device cuda --trainer-only --out "$out"
timeout 150 .venv/bin/python benchmarks/gpu_share.py --device cuda --out "$out"
