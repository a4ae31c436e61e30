"""A study.yaml is checked before anything is read: one line names what is wrong."""

from pathlib import Path

import pytest

from random_nas.cli import main as cli
from random_nas.files import InputFileError
from random_nas.studies import recipe_differences, study_runs

STUDY = Path("study.yaml")


def test_runs_may_be_a_mapping_or_a_list_of_folders():
    mapping = {"runs": {"a": "results/x", "b": "results/y"}}
    assert study_runs(mapping, STUDY) == {"a": "results/x", "b": "results/y"}
    listed = {"question": "q", "runs": ["results/x", "results/y"]}
    assert study_runs(listed, STUDY) == {"x": "results/x", "y": "results/y"}


@pytest.mark.parametrize(
    ("study", "named"),
    [
        ({"runs": ["results/x"]}, "`runs:` names two or more run folders"),
        ({"runs": "results/x"}, "`runs:` names two or more run folders"),
        ({"runs": {"a": 3, "b": "results/y"}}, "`runs:` names two or more run folders"),
        ({"run": {"a": "x", "b": "y"}}, "runs"),
        ({"runs": ["a/x", "b/x"]}, "share a folder name"),
        ([1, 2], "study study.yaml:"),
        ({"runs": ["a/x", "b/y"], "delta": 3}, "delta: 3 is greater than the maximum of 1"),
        ({"runs": ["a/x", "b/y"], "margin": 0.1}, "unknown key margin"),
    ],
)
def test_a_malformed_study_is_named_in_one_line(study, named):
    with pytest.raises(InputFileError) as raised:
        study_runs(study, STUDY)
    assert named in str(raised.value) and "\n" not in str(raised.value)


def test_recipe_differences_name_the_key():
    first = {"training": {"lr": 0.05, "batch_size": 128}, "seed": 0}
    second = {"training": {"lr": 0.05, "batch_size": 32}, "seed": 0}
    assert recipe_differences(first, second) == "training.batch_size (128 against 32)"
    assert recipe_differences(first, first) == ""


def test_the_command_line_names_a_missing_run_folder(tmp_path, capsys):
    study = tmp_path / "study.yaml"
    study.write_text("runs:\n  - results/nowhere\n  - results/elsewhere\n")
    assert cli(["study", str(study)]) == 1
    error = capsys.readouterr().err
    assert "run 'nowhere' has no table at results/nowhere/candidates.parquet" in error
    assert error.count("\n") == 1


def strategy_study_file(folder: Path, other: str) -> Path:
    """A study of strategies in `folder`: random search and `other` (its YAML line), on a
    common config of two trainings' worth."""
    (folder / "common.yaml").write_text("num_architectures: 2\n")
    study = folder / "s" / "study.yaml"
    study.parent.mkdir()
    study.write_text(
        "kind: strategies\nconfig: common.yaml\nsampling_seeds: [1, 2]\nstrategies:\n"
        f"  random: {{strategy: random_search}}\n  {other}\n"
    )
    return study


@pytest.mark.parametrize(
    ("strategy", "named"),
    [
        ("regularised_evolution", "strategy 'rea': config search.strategy"),
        ("missing.py:Mine", "missing.py, which is not a file"),
    ],
)
def test_a_study_of_strategies_is_checked_whole_before_its_first_training(
    tmp_path, monkeypatch, capsys, strategy, named
):
    monkeypatch.chdir(tmp_path)
    study = strategy_study_file(tmp_path, f"rea: {{strategy: {strategy}}}")
    ran = []
    from random_nas.compare import compare

    with pytest.raises(InputFileError) as refused:
        compare(study, [], run=lambda command: ran.append(command) or 0)
    assert ran == [] and named in str(refused.value) and "nothing was trained" in str(refused.value)
    assert cli(["compare", str(study)]) == 1 and named in capsys.readouterr().err


def test_a_misspelt_key_of_a_study_of_strategies_is_named_with_every_other_error():
    from random_nas.studies import strategy_study

    study = {"kind": "strategies", "config": "c.yaml", "sampling_seeds": [1],
             "stratgies": {"a": {}, "b": {}}}  # fmt: skip
    with pytest.raises(InputFileError) as refused:
        strategy_study(study, STUDY)
    message = str(refused.value)
    assert message.index("'stratgies' was unexpected") < message.index("'strategies' is a required")
    assert "sampling_seeds: [1] is too short" in message and "\n" not in message


def test_a_dry_run_of_a_comparison_plans_every_search_and_renders_nothing(
    tmp_path, monkeypatch, capsys
):
    from random_nas.compare import compare

    monkeypatch.chdir(tmp_path)
    study = strategy_study_file(tmp_path, "local: {strategy: local_search}")
    ran = []
    assert compare(study, ["-n"], run=lambda command: ran.append(command) or 0) == 0
    assert len(ran) == 4 and all("-n" in command for command in ran)
    assert "a dry run: the study renders once its searches have run" in capsys.readouterr().out
