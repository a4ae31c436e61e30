#!/usr/bin/env bash
# Benchmarks 1, 2 and 6 on CUDA (trainer vs textbook loop, FLOP/s vs matmul peak, bf16 vs fp32
# accuracy), within 5 minutes on one GPU. Run from the repository root on the GPU machine:
#   bash benchmarks/gpu.sh [OUT_DIR]
set -euo pipefail
out=${1:-benchmarks/results/gpu}
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv && .venv/bin/pip install --quiet -e .
fi
nvidia-smi --query-gpu=name,memory.total --format=csv
timeout 300 .venv/bin/python benchmarks/run.py --device cuda --trainer-only --out "$out"
