"""The way in: a README of one screen, a documentation site that builds strictly, and every
command the README and the docs show either run or planned by a dry run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import REPO, TINY_CONFIG, WORKFLOW_FILES, copy_repository

BIN = Path(sys.executable).parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TWO_COMMANDS = (
    "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/snakemake --cores all",
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest",
)


def shown_commands() -> list[str]:
    """Every command line of a bash block of the README and the docs (continuations joined)."""
    return [
        " ".join(line.split("#")[0].split())
        for page in PAGES
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.S)
        for line in block.replace("\\\n", " ").splitlines()
        if line.split("#")[0].strip()
    ]


def test_the_readme_fits_one_screen_and_keeps_its_two_commands():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    for command in TWO_COMMANDS:
        assert f"```bash\n{command}\n```" in readme


def test_the_documentation_site_builds_strictly(tmp_path):
    result = subprocess.run(
        [str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for page in ("store", "clusters", "published", "config"):  # config/README.md: config/
        assert (tmp_path / "site" / page / "index.html").exists(), page


def test_every_snakemake_command_shown_is_planned_and_the_cli_runs(tmp_path):
    workdir = copy_repository(tmp_path / "work", WORKFLOW_FILES)
    shutil.copytree(REPO / "results/published", workdir / "results/published")
    (workdir / ".venv").symlink_to(Path(sys.prefix))
    # A config a page names is written as the page shows it (`# name.yaml` on its first line),
    # else as a tiny run.
    shown = {
        match[0]: match[1]
        for page in PAGES
        for match in re.findall(r"```yaml\n# (\S+\.yaml)\n(.*?)```", page.read_text(), re.S)
    }
    # A command may set environment variables first (VAR=value .venv/bin/snakemake ...).
    snakemake = [
        segment.strip()
        for command in shown_commands()
        for segment in command.split("&&")
        if re.sub(r"^(\w+=\S+\s+)*", "", segment.strip()).startswith(".venv/bin/snakemake")
    ]
    assert len(snakemake) >= 8
    for command in snakemake:
        for name in re.findall(r"--configfile (\S+)", command):
            (workdir / name).write_text(shown.get(name) or yaml.safe_dump(TINY_CONFIG))
        planned = command if " -n" in command or "--lint" in command else f"{command} -n"
        result = subprocess.run(
            planned, shell=True, cwd=workdir, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, (planned, result.stderr[-2000:])
    for command in shown_commands():
        if command.startswith(".venv/bin/random-nas"):
            # Each command shown exists and says how it is used (running it trains).
            words = command.split()
            subcommand = [word for word in words[1:2] if not word.startswith("-")]
            asked = " ".join([words[0], *subcommand, "--help"])
            result = subprocess.run(asked, shell=True, cwd=workdir, capture_output=True, text=True)
            assert result.returncode == 0, (asked, result.stderr)
            assert "usage: random-nas" in result.stdout


LINKED_PAGES = [
    REPO / "README.md",
    REPO / "config/README.md",
    *sorted((REPO / "docs").glob("*.md")),
]


def test_every_link_of_the_pages_works_read_as_a_file():
    """README and docs link each other and the files outside docs/ (the config reference,
    benchmark tables, published reports) by their paths, as a reader of the files or a code
    host follows them."""
    broken = []
    for page in LINKED_PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            path = target.split("#")[0]
            external = target.startswith(("http:", "https:", "mailto:"))
            if path and not external and not (page.parent / path).exists():
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert not broken, "\n".join(broken)


def _site_links_resolve(site: Path) -> list[str]:
    broken = []
    for html in site.rglob("*.html"):
        for value in re.findall(r'(?:href|src)="([^"]*)"', html.read_text()):
            target = re.split(r"[#?]", value)[0]
            if not target or ":" in target:  # in-page, or another scheme (https:, data:)
                continue
            base = site if target.startswith("/") else html.parent
            resolved = (base / target.lstrip("/")).resolve()
            if not (resolved.exists() or (resolved / "index.html").exists()):
                broken.append(f"{html.relative_to(site)}: {target}")
    return broken


def test_every_link_of_the_site_resolves(tmp_path):
    subprocess.run(
        [str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO, check=True, capture_output=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert not _site_links_resolve(tmp_path / "site")


def test_the_site_builds_with_zensical_from_the_staged_sources(tmp_path):
    """Zensical, Material for MkDocs' successor, reads mkdocs.yml but runs no hooks: it builds
    from the sources staged as the hook would make them (docs/development.md)."""
    zensical = BIN / "zensical"
    if not zensical.exists():
        import pytest

        pytest.skip("zensical is not installed (the docs extra installs it)")
    config = subprocess.run(
        [sys.executable, str(REPO / "docs/hooks.py"), str(tmp_path / "staged")],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    result = subprocess.run(
        [str(zensical), "build", "--strict", "-f", config],
        cwd=tmp_path / "staged", capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0 and "No issues found" in result.stdout + result.stderr, (
        result.stdout[-2000:] + result.stderr[-2000:]
    )
    site = tmp_path / "staged/site"
    for page in ("store", "published", "config"):
        assert (site / page / "index.html").exists(), page
    assert not _site_links_resolve(site)
