"""A published run's verification: verification.csv (one row per retrained candidate) and
verification.md (the verdict, its evidence and the table)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from random_nas.analysis.verification import verification_table
from random_nas.files import atomic_path, write_text
from random_nas.findings import verification_basis, verification_lines
from random_nas.results import build_table, num_classes, read_table, run_draws


def render_verification(
    published_path: str | os.PathLike[str],
    retrained_metrics: Iterable[str | os.PathLike[str]],
    table_path: str | os.PathLike[str],
    verdict_path: str | os.PathLike[str],
    found_in_store: int,
) -> dict[str, float]:
    """Judge the retrainings (their metrics files) against the published table at
    `published_path` (and its repeats.parquet beside it, where there is one); write the table
    and the verdict. `found_in_store`: how many retrainings were in the store before this
    verification asked for them. Returns the joint test."""
    published, metadata = read_table(published_path)
    config = metadata["config"]
    retrained = build_table(
        retrained_metrics, config, metadata["space_size"], {}, run_draws(config)
    ).to_pandas()
    repeats_path = Path(published_path).with_name("repeats.parquet")
    repeats = read_table(repeats_path)[0].to_pandas() if repeats_path.exists() else None
    val_size = config["dataset"]["val_size"]
    published = published.to_pandas()
    classes = num_classes(published, config["dataset"]["name"])
    table, joint = verification_table(
        published, retrained, repeats, val_size, config["seed"], classes
    )
    with atomic_path(table_path) as temporary:
        table.to_csv(temporary, index=False, float_format="%.6g")
    basis = verification_basis(joint, config["seed"], val_size)
    name = Path(table_path).parent.name
    lines = verification_lines(name, table, joint, basis, found_in_store)
    write_text(verdict_path, "\n".join(lines) + "\n")
    return joint
