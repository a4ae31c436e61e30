"""The schema is the one source of every config key's default and meaning."""

import json

import yaml
from conftest import REPO, SCHEMA, default_config

from random_nas.plan import schema_defaults


def _shown(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def config_table(schema: dict, prefix: str = "") -> list[str]:
    """config/README.md's table of keys, as the schema says: `python -c` this to regenerate."""
    rows = []
    for key, node in schema["properties"].items():
        if "properties" in node:
            rows += config_table(node, f"{prefix}{key}.")
        else:
            meaning = " ".join(node["description"].split())
            rows.append(f"| `{prefix}{key}` | `{_shown(node['default'])}` | {meaning} |")
    return rows


def test_config_yaml_is_exactly_the_schema_defaults():
    assert yaml.safe_load((REPO / "config/config.yaml").read_text()) == default_config()


def test_config_readme_table_is_the_schema():
    schema = yaml.safe_load(SCHEMA.read_text())
    readme = (REPO / "config/README.md").read_text().splitlines()
    table = [line for line in readme if line.startswith("| `")]
    assert table == config_table(schema), "\n".join(config_table(schema))


def test_a_module_user_may_give_no_config_at_all():
    from snakemake.utils import validate

    config: dict = {}
    validate(config, str(SCHEMA))
    assert config == schema_defaults(yaml.safe_load(SCHEMA.read_text()))


def test_a_config_file_fault_is_one_line_naming_the_file_and_line(tmp_path, monkeypatch):
    from random_nas.config_files import config_file_problem, run_command

    cases = {
        "bad.yaml": ("run: [unclosed\n  x: :\n", "bad.yaml, line 2, column 4: expected ','"),
        "dup.yaml": (
            "training:\n  lr: 0.1\ntraining:\n  epochs: 1\n",
            "dup.yaml, line 3, column 1: key 'training' is given twice (first on line 1)",
        ),
        "list.yaml": ("- 1\n- 2\n", "list.yaml holds a list, not keys"),
    }
    for name, (text, expected) in cases.items():
        (tmp_path / name).write_text(text)
        assert expected in config_file_problem(tmp_path / name)
    assert config_file_problem(tmp_path / "missing.yaml").endswith("missing.yaml does not exist")
    (tmp_path / "empty.yaml").write_text("# nothing to override\n")
    assert config_file_problem(tmp_path / "empty.yaml") is None
    (tmp_path / "Snakefile").write_text("")
    monkeypatch.chdir(tmp_path)
    command, problems = run_command(["-n", "--configfile", "empty.yaml"], "snakemake")
    assert problems == [] and command == ["snakemake", "--cores", "all", "-n"]
    command, problems = run_command(["--configfile", "dup.yaml", "missing.yaml"], "snakemake")
    assert command is None and len(problems) == 2
