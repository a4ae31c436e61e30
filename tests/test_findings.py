"""The Findings say only what their numbers show: each verdict flips with its numbers, and no
sentence holds a `nan`."""

from __future__ import annotations

import pytest
from test_results_and_report import CONFIG, SPACE, metrics_record

from random_nas.files import write_json
from random_nas.report.run import render_report
from random_nas.results import build_table, write_table

TINY_RECIPE = {"training": {"batch_size": 128, "epochs": 3}, "dataset": {"sizes": {"train": 600}}}


def _table(folder, name, records) -> str:
    paths = []
    for number, record in enumerate(records):
        paths.append(folder / f"{name}{number}.json")
        write_json(paths[-1], record)
    path = folder / f"{name}.parquet"
    write_table(build_table(paths, CONFIG, SPACE.size, {}), path)
    return path


def _findings(tmp_path, accuracies, repeats=None, recipe=None) -> list[str]:
    """The Findings of a report on draws scoring `accuracies`, with `repeats` (per candidate:
    the other seeds' accuracies; the run's seed 0 selected them) where given."""
    records = [
        metrics_record(draw, accuracy=accuracy) | {"recipe": {**(recipe or {}), "seed": 0}}
        for draw, accuracy in enumerate(accuracies)
    ]
    table = _table(tmp_path, "candidates", records)
    beside = {}
    if repeats:
        repeated = []
        for draw, others in repeats.items():
            repeated.append(records[draw])
            repeated += [
                metrics_record(draw, accuracy=accuracy) | {"recipe": {"seed": seed}}
                for seed, accuracy in enumerate(others, start=1)
            ]
        beside["repeats_path"] = _table(tmp_path, "repeats", repeated)
    render_report(table, tmp_path / "report", **beside)
    text = (tmp_path / "report/ranking.md").read_text()
    assert "nan" not in text.lower()
    return [line for line in text.split("## Findings\n")[1].split("\n## ")[0].splitlines() if line]


ACCURACIES = [0.91, 0.95, 0.90, 0.97, 0.93, 0.96]


@pytest.mark.parametrize(
    ("others", "verdict"),
    [
        # Seeds 1 and 2 score the top three lower than the seed that selected them...
        ({3: [0.95, 0.94], 5: [0.94, 0.95], 1: [0.93, 0.94]}, "Winner's curse: "),
        # ... or higher: then no curse shows, and the sentence says so.
        ({3: [0.98, 0.99], 5: [0.97, 0.98], 1: [0.96, 0.97]}, "No winner's curse shows: "),
    ],
)
def test_the_winners_curse_is_named_only_where_the_other_seeds_score_lower(
    tmp_path, others, verdict
):
    lines = _findings(tmp_path, ACCURACIES, repeats=others)
    (curse,) = [line for line in lines if "winner's curse" in line.lower() and "Seed" not in line]
    assert curse.startswith(f"- {verdict}")
    change = float(curse.split("(")[1].split(" points")[0])
    assert (change < 0) == (verdict == "Winner's curse: ")


@pytest.mark.parametrize(
    ("others", "inflated"),
    [
        # The selecting seed far above both others: counting it widens the noise.
        ({3: [0.95, 0.951], 5: [0.94, 0.941], 1: [0.93, 0.931]}, True),
        # The selecting seed between the others: counting it narrows the noise.
        ({3: [0.96, 0.98], 5: [0.95, 0.97], 1: [0.94, 0.96]}, False),
    ],
)
def test_seed_noise_is_called_inflated_only_where_the_selecting_seed_widens_it(
    tmp_path, others, inflated
):
    lines = _findings(tmp_path, ACCURACIES, repeats=others)
    (noise,) = [line for line in lines if line.startswith("- Seed noise:")]
    without = float(noise.split("deviation of validation accuracy is ")[1].split(" points")[0])
    with_selecting = float(noise.split("would read ")[1].split(" points")[0])
    assert (with_selecting > without) == inflated
    assert ("inflated by the winner's curse" in noise) == inflated


def test_a_run_at_chance_says_so_first_with_its_likely_cause(tmp_path):
    lines = _findings(tmp_path, [0.1] * 6, recipe=TINY_RECIPE)
    assert lines[0].startswith("- Near chance: half of the 6 measured draws score at most 10.0 %")
    assert "600 training images in batches of 128 for 3 epochs is 15 steps" in lines[0]
    assert any(
        "Every measured draw has the same validation error, 90.0 %." in line for line in lines
    )
    assert any("no defined Spearman ρ" in line for line in lines)  # no `nan` (checked above)


def test_a_run_that_learned_has_no_chance_warning(tmp_path):
    lines = _findings(tmp_path, ACCURACIES, recipe=TINY_RECIPE)
    assert not any("Near chance" in line for line in lines)
    assert any("validation error of at most" in line for line in lines)
    # The expected best of n is stated on the evidence that picks, its pick's score on test
    # (each draw's test accuracy is a point below its validation accuracy here).
    expected = next(line for line in lines if line.startswith("- Expected best of n"))
    assert "on the validation accuracy that picks: 97.00 % at n = 6" in expected
    assert "the pick's expected test accuracy, which did not pick it: 96.00 %" in expected


def test_exact_means_the_same_training_not_an_accuracy_that_rounds_alike():
    import pandas as pd

    from random_nas.analysis.verification import verification_table

    published = pd.DataFrame(
        {
            "arch_id": ["a", "b"],
            "val_accuracy": [0.97, 0.96],
            "val_loss": [0.101, 0.120],
            "val_correct": ["AAA=", "AAB="],
            "hardware": ["Intel Xeon"] * 2,
            "flops": [1, 1],
            "status": ["ok"] * 2,
        }
    )
    # `a` retrained bit for bit; `b` at the same accuracy, with other images right and wrong
    # and another loss, as on a CPU of another kind.
    retrained = published.assign(
        val_loss=[0.101, 0.1203], val_correct=["AAA=", "AAC="], hardware=["AMD EPYC"] * 2
    )
    table, _ = verification_table(published, retrained, None, 1000, 0, 10)
    assert table.set_index("arch_id")["exact"].to_dict() == {"a": True, "b": False}
    assert table["difference"].tolist() == [0, 0]


def _trials(rows):
    import pandas as pd

    return pd.DataFrame(
        [
            {"arch_id": arch_id, "epochs": epochs, "status": "ok", "val_accuracy": accuracy,
             "train_seconds": 1.0}
            for arch_id, epochs, accuracy in rows
        ]
    )  # fmt: skip


def test_draw_statistics_take_the_budget_that_has_every_draw_or_the_most():
    from random_nas.analysis.fidelity import choose_fidelity

    # Hyperband from scratch: bracket 0 starts 3 draws at 1 epoch, bracket 1 two more at 3.
    hyperband = _trials(
        [("a", 1, 0.5), ("b", 1, 0.6), ("c", 1, 0.7), ("c", 3, 0.8), ("d", 3, 0.75), ("e", 3, 0.7)]
    )
    fidelity = choose_fidelity(hyperband, hyperband, None, 3, 0)
    assert fidelity.draw_epochs == 3 and fidelity.draw_count == 5  # 3 draws at 3, 3 at 1: higher
    assert sorted(fidelity.draw_trainings["arch_id"]) == ["c", "d", "e"]
    # A dense grid trained every draw at every budget: the full budget, and ranked over all.
    halving = _trials([("a", 1, 0.5), ("b", 1, 0.6), ("c", 1, 0.7), ("c", 3, 0.8)])
    grid = _trials([(arch, epochs, 0.5) for arch in "abc" for epochs in (1, 3)])
    fidelity = choose_fidelity(halving, halving, None, 3, 0, grid)
    assert (
        fidelity.draw_epochs == 3
        and len(fidelity.draw_trainings) == 3
        and len(fidelity.ranked) == 3
    )
    # Without the grid, rung 0 is the one budget with every draw.
    assert choose_fidelity(halving, halving, None, 3, 0).draw_epochs == 1


def test_one_counting_rule_in_every_statistic(tmp_path):
    """A diverged training counts as chance and a failed one is left out, in the statistics
    over draws, the rungs, the replay's grid, the export, seed noise and verification alike.
    (c diverged after recording 97 % validation accuracy: counting what it recorded would make
    it the best of the rung, as rung_table did before the rule was one.)"""
    import numpy as np
    import pandas as pd

    from random_nas.analysis.draws import expected_best, scored_draws
    from random_nas.analysis.fidelity import rung_table
    from random_nas.analysis.replay import TEST, dense_grid
    from random_nas.analysis.seeds import seed_statistics

    rows = [
        ("a", "ok", 0.95, 0.94),
        ("b", "ok", 0.90, 0.91),
        ("c", "diverged", 0.97, np.nan),
        ("d", "failed", np.nan, np.nan),
    ]
    trials = pd.DataFrame(
        [
            {"arch_id": arch_id, "status": status, "val_accuracy": val, "test_accuracy": test,
             "epochs": epochs, "flops": 1, "train_seconds": 1.0, "seed": 0}
            for arch_id, status, val, test in rows
            for epochs in (1, 3)
        ]
    )  # fmt: skip
    at_three = trials[trials["epochs"] == 3]
    scored = scored_draws(at_three, 10).set_index("arch_id")
    assert list(scored.index) == ["a", "b", "c"] and scored.loc["c", "score"] == 0.1
    assert expected_best(scored["score"].to_numpy())["expected_best"].iloc[-1] == 0.95
    rung = rung_table([at_three], 100, 10).iloc[0]
    assert rung["best_val_accuracy"] == 0.95 and rung["median_val_accuracy"] == 0.90
    assert (rung["candidates"], rung["diverged"], rung["failed"]) == (4, 1, 1)
    grid = dense_grid(trials, [1, 3], 100, 10)
    assert grid.arch_ids == ("a", "b", "c")
    assert list(grid.scores[TEST]) == [0.94, 0.91, 0.1]
    seeds = seed_statistics(trials.assign(seed=[0, 1] * 4), 0, 10).set_index("arch_id")
    assert seeds.loc["c", "val_mean"] == 0.1 and "d" not in seeds.index


def test_the_lead_of_the_top_two_by_the_other_seeds_is_judged_on_their_test_accuracy(tmp_path):
    """The other seeds' validation means rank 3 four points ahead of 5: that evidence chose
    the order, so the verdict is their test accuracy's, on which the two tie."""
    from test_results_and_report import metrics_record

    records = [
        metrics_record(draw, accuracy=accuracy) | {"recipe": {"seed": 0}}
        for draw, accuracy in enumerate(ACCURACIES)
    ]
    others = {3: [(0.99, 0.951), (0.99, 0.949)], 5: [(0.95, 0.950), (0.95, 0.952)],
              1: [(0.94, 0.930), (0.95, 0.931)]}  # fmt: skip
    repeated = []
    for draw, scores in others.items():
        repeated.append(records[draw])
        repeated += [
            metrics_record(draw, accuracy=val) | {"test_accuracy": test, "recipe": {"seed": seed}}
            for seed, (val, test) in enumerate(scores, start=1)
        ]
    table = _table(tmp_path, "candidates", records)
    render_report(table, tmp_path / "report", repeats_path=_table(tmp_path, "repeats", repeated))
    lead = next(
        line
        for line in (tmp_path / "report/ranking.md").read_text().splitlines()
        if line.startswith("- By mean over the other seeds")
    )
    assert "leads" in lead and "by 4.00 points of validation accuracy, the evidence that" in lead
    assert "on their test accuracy, which did not, by -0.10 points" in lead
    assert lead.endswith("within seed noise.")


def test_one_other_seed_gives_a_mean_and_no_nan(tmp_path):
    """A dense grid's second training seed: each candidate has one other seed, whose spread
    is not defined; the sentence says so instead of printing `± nan` (_findings checks)."""
    lines = _findings(tmp_path, ACCURACIES, repeats={3: [0.95], 5: [0.94], 1: [0.93]})
    assert any(line.endswith("(3baec479bfb1: 95.00 % with 1 other seed).") for line in lines)


def test_the_findings_never_call_the_spread_inflated_by_a_curse_they_deny(tmp_path):
    """The selecting seed far from the others but below them: counting it widens the spread,
    and no winner's curse shows (the other seeds score the top higher). The old wording called
    the spread inflated by the curse, and the next line said there was none."""
    others = {3: [0.99, 0.995], 5: [0.98, 0.985], 1: [0.97, 0.975]}
    lines = _findings(tmp_path, ACCURACIES, repeats=others)
    (noise,) = [line for line in lines if line.startswith("- Seed noise:")]
    (curse,) = [line for line in lines if "winner's curse shows" in line.lower()]
    without = float(noise.split("deviation of validation accuracy is ")[1].split(" points")[0])
    with_selecting = float(noise.split("would read ")[1].split(" points")[0])
    assert with_selecting > without and curse.startswith("- No winner's curse shows")
    assert "inflated by the winner's curse" not in noise
    assert "not from the winner's curse" in noise


def test_a_lead_on_the_test_images_is_paired_where_their_correctness_is_recorded():
    """Two models scored on the same 200 test images, right on the same 192 but 4 and 2
    others: a paired test (McNemar on 4 against 2), not one of independent accuracies."""
    import numpy as np
    import pandas as pd

    from random_nas.analysis.leads import lead_on
    from random_nas.correctness import pack_correct

    first, second = np.zeros(200, bool), np.zeros(200, bool)
    first[:196], second[:192] = True, True
    second[196:198] = True
    rows = [
        pd.Series({"test_accuracy": mask.mean(), "test_correct": pack_correct(mask)})
        for mask in (first, second)
    ]
    lead = lead_on(*rows, "test", 200)
    assert lead.paired and (lead.only_first, lead.only_second) == (4, 2)
    assert lead.p_value == pytest.approx(0.6875) and not lead.beyond_noise
    unpaired = lead_on(*(row.drop("test_correct") for row in rows), "test", 200)
    assert not unpaired.paired and unpaired.half_width > 0
