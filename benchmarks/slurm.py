"""Submissions and wall time of the cluster modes on the real one-node Slurm of
tests/test_slurm.py: job arrays and groups of small trainings (submissions counted from the
controller's log, the table checked complete by the tests themselves).

    sudo .venv/bin/python benchmarks/slurm.py [--out benchmarks/results]

Needs what the test needs (root, slurm-wlm, munge, the cluster extra); writes slurm.json and
slurm.md, naming the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from random_nas.versions import hardware  # noqa: E402  (the library beside this file)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        record = Path(folder) / "record.json"
        tests = "job_arrays or grouped"
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "tests/test_slurm.py", "-k", tests],
            cwd=REPO,
            env={**os.environ, "RANDOM_NAS_SLURM_RECORD": str(record)},
            check=True,
        )
        modes = json.loads(record.read_text())
    results = {"machine": hardware("cpu"), "modes": modes}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "slurm.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Cluster modes on a one-node Slurm (tests/test_slurm.py)",
        "",
        f"Machine: {results['machine']}. `benchmarks/slurm.py`; the tiny config, one thread per "
        "training for arrays (`--slurm-array-limit 2`), two threads and 3 epochs of 1,000 images "
        "for groups.",
        "",
        "Side by side: pairs of a group's members whose spans (the first and last line of each "
        "training's own log, 1 s resolution) overlap.",
        "",
        "| mode | trainings | sbatch submissions | wall s (the whole run) | side by side | "
        "a group asks for |",
        "| --- | --- | --- | --- | --- | --- |",
        *(
            f"| {mode} | {row['trainings']} | {row['submissions']} | {row['seconds']:.1f} | "
            f"{row.get('overlapping_members', '')} | "
            f"{'`-t ' + row['request'] + '`' if 'request' in row else ''} |"
            for mode, row in modes.items()
        ),
        "",
    ]
    (args.out / "slurm.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
