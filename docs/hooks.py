"""MkDocs hook: files of the site that live outside docs/, so that each has one source: the
config reference (config/README.md, which the Snakemake workflow catalog shows too), the
benchmark tables and the published reports' Findings and plots. The pages link to them as
files do (`../config/README.md` from docs/), so that the links work read as files and on a
code host; in the site those files sit beside the pages, and the links are rewritten so."""

from __future__ import annotations

import re
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


# A link from a page of docs/ to a file outside it, as a file reads it: `](../config/README.md)`.
OUTSIDE_LINK = re.compile(r"\]\(\.\./((?:config|benchmarks|results)/[^)]*)\)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Links of docs/ pages to files outside docs/, as the site places those files."""
    if page.file.src_uri.startswith(("config/", "benchmarks/", "results/")):
        return markdown
    return OUTSIDE_LINK.sub(r"](\1)", markdown)


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


def stage(out: Path) -> Path:
    """The site's sources with this hook's work done, for a builder that runs no hooks
    (Zensical reads mkdocs.yml but ignores hooks): out/docs holds docs/ with the outside files
    at their site paths and the links rewritten, out/mkdocs.yml the config without the hook.
    Returns the config's path."""
    import shutil

    import yaml

    shutil.copytree(ROOT / "docs", out / "docs", ignore=shutil.ignore_patterns("hooks.py"))
    for page in (out / "docs").glob("*.md"):
        page.write_text(OUTSIDE_LINK.sub(r"](\1)", page.read_text(encoding="utf-8")))
    for pattern in OUTSIDE:
        for path in sorted(ROOT.glob(pattern)):
            target = out / "docs" / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    for key in ("hooks", "exclude_docs"):
        config.pop(key, None)
    config["site_dir"] = str(out / "site")
    (out / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return out / "mkdocs.yml"


if __name__ == "__main__":
    import sys

    print(stage(Path(sys.argv[1]).resolve()))
