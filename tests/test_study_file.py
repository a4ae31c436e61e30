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


def test_a_growing_study_runs_stage_after_stage_until_every_verdict_is_decided(
    tmp_path, monkeypatch, capsys
):
    """Two seeds first, then two more at a time up to six: after the first stage one
    verdict is open, so the study grows; after the second none is, so it stops there and
    renders over the four seeds whose searches have run (three looks in its family)."""
    import random_nas.report.strategies as report
    from random_nas.compare import compare
    from random_nas.studies import read_study, strategy_study

    monkeypatch.chdir(tmp_path)
    study_path = strategy_study_file(tmp_path, "local: {strategy: local_search}")
    study_path.write_text(study_path.read_text() + "sequential: {step: 2, up_to: 6}\n")
    study = strategy_study(read_study(study_path), study_path)
    assert study.looks == 3 and study.stages() == [(1, 2), (1, 2, 3, 4), (1, 2, 3, 4, 5, 6)]

    def run(command: list[str]) -> int:  # a search "runs": its table appears
        run_name = Path(command[-1]).stem
        (tmp_path / "results" / run_name).mkdir(parents=True, exist_ok=True)
        (tmp_path / "results" / run_name / "candidates.parquet").write_text("")
        ran.append(run_name)
        return 0

    judged, rendered, ran = [], [], []

    def undecided(grown) -> list[str]:  # one verdict open after the first look only
        judged.append(grown.sampling_seeds)
        return ["local"] if len(judged) == 1 else []

    monkeypatch.setattr(report, "undecided", undecided)
    monkeypatch.setattr(
        report, "render_strategy_study",
        lambda path: rendered.append(strategy_study(read_study(path), path).grown()) or [],
    )  # fmt: skip
    assert compare(study_path, ["--cores", "1"], run=run) == 0
    assert judged == [(1, 2), (1, 2, 3, 4)]
    assert not any(name.endswith(("-s5", "-s6")) for name in ran)
    assert rendered[0].sampling_seeds == (1, 2, 3, 4)
    out = capsys.readouterr().out
    assert "look 1 of 3, 2 sampling seeds: local inconclusive; 2 more seeds" in out
    assert "every verdict on test is decided after 4 sampling seeds" in out


def test_a_growing_study_must_grow_past_its_listed_seeds():
    from random_nas.studies import strategy_study

    study = {"kind": "strategies", "config": "c.yaml", "sampling_seeds": [1, 2, 3],
             "strategies": {"a": {}, "b": {}}, "sequential": {"step": 2, "up_to": 3}}  # fmt: skip
    with pytest.raises(InputFileError, match=r"sequential.up_to \(3\) must exceed the 3"):
        strategy_study(study, STUDY)
