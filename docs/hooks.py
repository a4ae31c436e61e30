"""MkDocs hook: files of the site that live outside docs/, so that each has one source: the
config reference (config/README.md, which the Snakemake workflow catalog shows too), the
benchmark tables and the published reports' Findings and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = (
    "config/README.md",
    "benchmarks/results/*.md",
    "results/published/*/report/*.md",
    "results/published/*/report/*.png",
    "results/published/*/report/*.svg",
    "results/published/*/report/*.csv",
)


def on_files(files: Files, config: Any) -> Files:
    for pattern in OUTSIDE:
        for path in sorted(ROOT.glob(pattern)):
            files.append(
                File(
                    path.relative_to(ROOT).as_posix(),
                    src_dir=str(ROOT),
                    dest_dir=config["site_dir"],
                    use_directory_urls=config["use_directory_urls"],
                )
            )
    return files
