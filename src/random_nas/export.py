"""Export a dense grid as a tabular benchmark that other tools replay their optimisers on.

    random-nas export results/published/mnist5k-grid27/grid.parquet OUT_DIR

OUT_DIR gets `table.parquet`, the long table (one row per architecture, seed and budget, with
every objective and cost), and beside it a Syne Tune blackbox, written by Syne Tune's own
serializer (`syne_tune.blackbox_repository.blackbox_tabular.serialize`; install the `export`
extra), so that `deserialize(OUT_DIR)` loads it without this package. The
configuration space is the run's search space, one categorical choice per layer; only the
grid's architectures are tabulated, so a searcher is restricted to
`blackbox.all_configurations()` (or given a surrogate), save on a grid of the whole space.
SHA256SUMS lists every file's checksum (`sha256sum -c SHA256SUMS`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from random_nas.analysis.draws import counted
from random_nas.files import atomic_path, write_text
from random_nas.halving import config_ladder
from random_nas.results import num_classes, read_table

OBJECTIVES = [
    "val_accuracy",
    "val_loss",
    "test_accuracy",
    "test_loss",
    "train_seconds",
    "flops",
    "params",
    "peak_memory_bytes",
]
# How the blackbox counts a training that did not finish ok (the table keeps every row as it
# was recorded, with its status).
COUNTING = (
    "a diverged training counts as a chance-level classifier (1 / classes) on validation and "
    "test accuracy; a failed one measured nothing and is NaN"
)
CHECKSUMS = "SHA256SUMS"
CHOICES = {"filters": "filters", "kernel_size": "kernel_sizes", "stride": "strides"}


def _with_repeats(grid: pd.DataFrame, repeats: Path) -> pd.DataFrame:
    """The grid's rows and, where the run has them, its draws trained again with other seeds:
    one row per seed and budget."""
    if not repeats.exists():
        return grid
    again = read_table(repeats)[0].to_pandas()
    again = again[~again["seed"].isin(grid["seed"].unique())]
    return pd.concat([grid, again], ignore_index=True)


def _evaluations(
    measured: pd.DataFrame, arch_ids: list[str], seeds: list[int], budgets: list[int]
) -> np.ndarray:
    """The blackbox's values: architecture x seed x budget x objective (NaN where unmeasured)."""
    values = np.full((len(arch_ids), len(seeds), len(budgets), len(OBJECTIVES)), np.nan)
    for a, arch_id in enumerate(arch_ids):
        for s, seed in enumerate(seeds):
            for b, budget in enumerate(budgets):
                if (arch_id, seed, budget) in measured.index:
                    values[a, s, b] = measured.loc[(arch_id, seed, budget), OBJECTIVES]
    return values


def export_grid(grid_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    """Write the exports of the dense grid at `grid_path` into `out_dir`; returns it. The
    blackbox is written by Syne Tune's own serializer (the `export` extra)."""
    try:
        from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular, serialize
        from syne_tune.config_space import choice, randint
    except ImportError:
        raise ImportError(
            "the export writes its Syne Tune blackbox with Syne Tune's own serializer, which "
            "is not installed: pip install -e '.[export]'"
        ) from None
    table, metadata = read_table(grid_path)
    config = metadata.get("config", {})
    space = config["search_space"]
    if tuple(space.get("dense_layers", [0])) != (0,):
        raise ValueError(
            f"{grid_path}: its space has dense layers (search_space.dense_layers); the export "
            "tabulates conv-only spaces"
        )
    grid = _with_repeats(table.to_pandas(), Path(grid_path).with_name("repeats.parquet"))
    budgets = config_ladder(config)
    layers = [
        f"layer_{number:02d}_{choice}"
        for number in range(1, int(space["num_layers"]) + 1)
        for choice in CHOICES
    ]
    long = grid[["arch_id", "seed", "epochs", "status", *layers, *OBJECTIVES]].sort_values(
        ["arch_id", "seed", "epochs"], ignore_index=True
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "table.parquet") as temporary:
        long.to_parquet(temporary, index=False)

    architectures = long.drop_duplicates("arch_id")[["arch_id", *layers]].reset_index(drop=True)
    seeds = sorted(long["seed"].unique())
    # The one counting rule, as in every statistic of the reports: a diverged training counts
    # as chance on validation and test; a failed one measured nothing (NaN in the blackbox).
    measured = counted(long, num_classes(grid, config["dataset"]["name"])).set_index(
        ["arch_id", "seed", "epochs"]
    )
    values = _evaluations(measured, list(architectures["arch_id"]), seeds, budgets)
    blackbox = BlackboxTabular(
        hyperparameters=architectures[layers].astype("int64"),
        configuration_space={
            column: choice(sorted(int(value) for value in space[CHOICES[column.split("_", 2)[2]]]))
            for column in layers
        },
        fidelity_space={"epochs": randint(int(budgets[0]), int(budgets[-1]))},
        objectives_evaluations=values,
        fidelity_values=np.array(budgets, dtype=np.int64),
        objectives_names=OBJECTIVES,
    )
    serialize(
        {config["dataset"]["name"]: blackbox},
        str(out),
        metadata={
            "arch_ids": list(architectures["arch_id"]),
            "seeds": [int(seed) for seed in seeds],
            "run": config.get("run"),
            "source": str(grid_path),
            "counting": COUNTING,
        },
    )
    write_checksums(out)
    return out


def write_checksums(out: Path) -> None:
    """SHA256SUMS beside the export, one line per file as `sha256sum` writes it, so that
    `sha256sum -c SHA256SUMS` in OUT says whether a copy is the export as written."""
    lines = []
    for path in sorted(p for p in out.iterdir() if p.is_file() and p.name != CHECKSUMS):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.name}\n")
    write_text(out / CHECKSUMS, "".join(lines))
