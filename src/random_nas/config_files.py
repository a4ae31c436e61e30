"""A config file checked before Snakemake reads it, each fault in one line naming the file and
line: missing, not YAML, not a mapping of keys, or a key given twice (YAML keeps the last one
silently, so a second `training:` block would drop the first). An empty file is no override."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml


class _UniqueKeys(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a mapping that names a key twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} is given twice (first on line {seen[key] + 1}); YAML would keep "
                    "only the last, dropping the first's settings",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def config_file_problem(path: str | os.PathLike[str]) -> str | None:
    """The one line that says what is wrong with a config file, or None where it is a mapping
    of keys or empty."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return f"config file {path} does not exist"
    except (OSError, UnicodeDecodeError) as error:
        return f"config file {path} cannot be read: {error}"
    try:
        content = yaml.load(text, Loader=_UniqueKeys)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = error.problem or str(error).splitlines()[0]
        return f"config file {path}{where}: {problem}"
    except yaml.YAMLError as error:
        return f"config file {path} is not YAML: {error}"
    if content is not None and not isinstance(content, dict):
        return (
            f"config file {path} holds a {type(content).__name__}, not keys: write `key: value` "
            "lines, as config/config.yaml does"
        )
    return None


def configfiles_given(arguments: list[str]) -> tuple[list[str], list[str]]:
    """The config files a Snakemake command line names (after --configfile), and the command
    line without them."""
    files, rest, taking = [], [], False
    for argument in arguments:
        if argument in ("--configfile", "--configfiles"):
            taking = True
            continue
        if taking and not argument.startswith("-"):
            files.append(argument)
            continue
        taking = False
        rest.append(argument)
    return files, rest


def run_command(arguments: list[str], snakemake: str) -> tuple[list[str] | None, list[str]]:
    """`random-nas run`: the Snakemake command to run, each config file checked first (None
    and the problems where any fails; an empty file is left out: no override)."""
    files, rest = configfiles_given(arguments)
    problems = [problem for path in files if (problem := config_file_problem(path))]
    if not Path("Snakefile").exists():
        problems.append(
            f"no Snakefile in {Path.cwd()}: run from the repository's root, where it lies"
        )
    if problems:
        return None, problems
    kept = [path for path in files if yaml.safe_load(Path(path).read_text(encoding="utf-8"))]
    given = any(a in ("--cores", "-c") or a.startswith(("--cores=", "-c")) for a in rest)
    command = [snakemake, *([] if given else ["--cores", "all"]), *rest]
    return [*command, *(["--configfile", *kept] if kept else [])], []
