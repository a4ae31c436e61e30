import itertools
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from random_nas.analysis.draws import (
    binomial_difference_se,
    empirical_distribution,
    expected_best,
    mcnemar_exact,
    pareto_front,
    rank_correlation_interval,
    ranked,
    scored_draws,
)
from random_nas.analysis.fidelity import halving_comparison, rungs_as_promoted
from random_nas.analysis.seeds import (
    pooled_seed_sd,
    seed_rank_correlations,
    seed_statistics,
)
from random_nas.correctness import pack_correct, unpack_correct
from random_nas.files import InputFileError, write_json
from random_nas.report.run import render_report
from random_nas.report_files import PLOTS, report_files
from random_nas.results import build_table, read_table, write_table
from random_nas.space import SearchSpace

SPACE = SearchSpace(3, (8, 16), (3, 5), (1, 2))
CONFIG = {
    "run": "unit",
    "seed": 0,
    "search_space": {"num_layers": 3},
    "dataset": {"name": "mnist5k", "val_size": 1000},
    "report": {"ranking_rows": 3},
}


def metrics_record(draw: int, status: str = "ok", accuracy: float = 0.5) -> dict:
    arch = SPACE.decode(draw * 7)
    record = {
        "arch_id": arch.arch_id,
        "draw": draw,
        "index": draw * 7,
        **arch.to_dict(),
        "status": status,
        "epochs": 1,
    }
    if status == "ok":
        record |= {
            "val_accuracy": accuracy,
            "test_accuracy": accuracy - 0.01,
            "params": 1000 + 100 * draw,
            "flops": 10**6 * (draw + 1),
            "train_seconds": 1.0 + draw,
            "peak_memory_bytes": 2**20 * (draw + 1),
            "epochs_completed": 1,
        }
    else:
        record |= {"error": "RuntimeError: out of memory" if status == "failed" else None}
    return record | {"versions": {"torch": "2.14.1"}}


@pytest.fixture
def table_path(tmp_path):
    accuracies = [0.91, 0.95, 0.90, 0.97, 0.93, 0.96]
    paths = []
    for draw, accuracy in enumerate(accuracies):
        paths.append(tmp_path / f"m{draw}.json")
        write_json(paths[-1], metrics_record(draw, accuracy=accuracy))
    for draw, status in ((6, "diverged"), (7, "failed")):
        paths.append(tmp_path / f"m{draw}.json")
        write_json(paths[-1], metrics_record(draw, status))
    path = tmp_path / "candidates.parquet"
    write_table(build_table(paths, CONFIG, SPACE.size, {"torch": "2.14.1"}), path)
    return path


def test_table_has_one_row_per_candidate_flattened_architecture_and_metadata(table_path):
    table, metadata = read_table(table_path)
    frame = table.to_pandas()
    assert len(frame) == 8 and list(frame["draw"]) == list(range(8))
    assert {"layer_01_filters", "layer_03_stride", "architecture", "val_accuracy"} <= set(frame)
    assert json.loads(frame["architecture"][0]) == SPACE.decode(0).to_dict()
    assert metadata["space_size"] == SPACE.size and metadata["config"]["run"] == "unit"
    assert frame["status"].tolist()[-2:] == ["diverged", "failed"]
    assert pd.isna(frame["val_accuracy"].iloc[-1])


def test_truncated_metrics_file_is_named(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text('{"arch_id": "abc", "sta')
    with pytest.raises(InputFileError, match=re.escape(str(path))):
        build_table([path], CONFIG, SPACE.size, {})


def test_truncated_table_is_named(tmp_path, table_path):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(table_path.read_bytes()[:200])
    with pytest.raises(InputFileError, match=r"broken\.parquet"):
        read_table(broken)


def test_ranking_uses_only_ok_rows_by_validation_accuracy(table_path):
    frame = read_table(table_path)[0].to_pandas()
    ranking = ranked(frame)
    assert list(ranking["val_accuracy"]) == sorted(ranking["val_accuracy"], reverse=True)
    assert set(ranking["status"]) == {"ok"} and list(ranking["rank"]) == list(range(1, 7))


def test_pareto_front_keeps_exactly_the_non_dominated():
    frame = pd.DataFrame(
        {
            "arch_id": list("abcde"),
            "cost": [1, 2, 3, 4, 5],
            "val_accuracy": [0.5, 0.4, 0.7, 0.7, 0.9],
        }
    )
    assert list(pareto_front(frame, "cost")["arch_id"]) == ["a", "c", "e"]


@pytest.mark.parametrize(
    "values", [[0.2, 0.5, 0.5, 0.9, 0.7], [0.93, 0.91, 0.1, 0.88, 0.95, 0.92, 0.1]]
)
def test_expected_best_matches_brute_force_enumeration(values):
    curve = expected_best(np.array(values))
    assert list(curve["n"]) == list(range(1, len(values) + 1))
    for n in range(1, len(values) + 1):
        row = curve[curve["n"] == n].iloc[0]
        without = [max(subset) for subset in itertools.combinations(values, n)]
        with_replacement = [max(draw) for draw in itertools.product(values, repeat=n)]
        assert row["expected_best"] == pytest.approx(np.mean(without))
        assert row["band_low"] == np.quantile(without, 0.05, method="inverted_cdf")
        assert row["band_high"] == np.quantile(without, 0.95, method="inverted_cdf")
        assert row["with_replacement"] == pytest.approx(np.mean(with_replacement))
    # Without replacement, n = N is the best value observed; the band never passes it.
    assert curve["expected_best"].iloc[-1] == pytest.approx(max(values))
    assert (curve["band_high"] <= max(values)).all()
    assert (curve["with_replacement"] <= curve["expected_best"] + 1e-12).all()


def test_expected_best_is_fast_enough_for_ten_thousand_draws():
    curve = expected_best(np.random.default_rng(0).uniform(size=10_000))
    assert len(curve) == 10_000 and curve["expected_best"].is_monotonic_increasing


def test_diverged_draws_count_as_chance_and_failed_ones_are_left_out(table_path):
    frame = read_table(table_path)[0].to_pandas()
    scored = scored_draws(frame, num_classes=10)
    assert len(scored) == 7  # 6 ok + 1 diverged; the failed one is an error, not a draw
    assert scored.loc[scored["status"] == "diverged", "score"].tolist() == [0.1]
    assert scored.loc[scored["status"] == "ok", "score"].tolist() == [
        0.91,
        0.95,
        0.90,
        0.97,
        0.93,
        0.96,
    ]


def test_seed_statistics_keep_the_selecting_seed_apart():
    """The run's seed 5 selected these candidates; seeds 1 and 2 retrained them. The selecting
    seed's values are shown but estimate nothing: they carry the winner's curse. Trainings
    count by the one rule: c's diverged seed 2 as chance, d's failed seed 2 left out."""
    repeats = pd.DataFrame(
        {
            "arch_id": ["a"] * 3 + ["b"] * 3 + ["c"] * 3 + ["d"] * 3,
            "seed": [5, 1, 2] * 4,
            "status": ["ok"] * 8 + ["diverged"] + ["ok"] * 2 + ["failed"],
            "val_accuracy": [0.99, 0.94, 0.98, 0.97, 0.91, 0.93, 0.96, 0.82, 0.5, 0.95, 0.9, None],
            "test_accuracy": [0.9] * 12,
        }
    )
    table = seed_statistics(repeats, selecting_seed=5, classes=10).set_index("arch_id")
    assert table.loc["a", "val_first_seed"] == 0.99  # the selecting seed's value, not seed 1's
    assert table.loc["a", "val_mean"] == pytest.approx(0.96)  # seeds 1 and 2 only
    assert table.loc["a", "val_sd"] == pytest.approx(np.sqrt(0.0008))
    assert table.loc["c", "seeds"] == 2 and table.loc["c", "val_mean"] == pytest.approx(0.46)
    assert table.loc["c", "test_mean"] == pytest.approx(0.5)  # a diverged test: chance too
    assert table.loc["d", "seeds"] == 1 and table.loc["a", "seeds"] == 2
    assert table.loc["a", "rank_first_seed"] == 1 and table.loc["a", "rank_by_mean"] == 1
    sd, freedom = pooled_seed_sd(repeats, 10, excluded_seed=5)
    assert freedom == 1 + 1 + 1 + 0
    assert sd == pytest.approx(np.sqrt((0.0008 + 0.0002 + 2 * 0.36**2) / 3))
    with_selecting, all_freedom = pooled_seed_sd(repeats, 10)
    assert all_freedom == 7 and with_selecting < sd  # the diverged seed dominates both
    assert seed_rank_correlations(repeats, 10, excluded_seed=5).empty  # 4 candidates say nothing


def test_rank_correlations_need_five_candidates_and_carry_an_interval():
    assert rank_correlation_interval(pd.Series([1, 2, 3, 4]), pd.Series([1, 2, 3, 4])) is None
    first = pd.Series([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    rho, low, high = rank_correlation_interval(first, first.iloc[::-1].reset_index(drop=True))
    assert rho == pytest.approx(-1.0) and low == pytest.approx(-1.0) and high <= -0.5
    rho, low, high = rank_correlation_interval(first, pd.Series([2, 1, 4, 3, 6, 5, 8, 7]))
    assert low < rho < high and rho == pytest.approx(0.9047619)


def test_exact_mcnemar_on_paired_images():
    first = np.array([True] * 10 + [False] * 2 + [True] * 50 + [False] * 38)
    second = np.array([False] * 10 + [True] * 2 + [True] * 50 + [False] * 38)
    b, c, p_value = mcnemar_exact(first, second)
    assert (b, c) == (10, 2)
    assert p_value == pytest.approx(2 * (1 + 12 + 66) / 2**12)  # binomial tail, both sides
    assert mcnemar_exact(first, first)[2] == 1.0
    assert (unpack_correct(pack_correct(first), len(first)) == first).all()


def test_binomial_difference_standard_error():
    # Two accuracies near 93 % on 1,000 images: about 1.1 points, not the 0.8 of one.
    assert binomial_difference_se(0.93, 0.93, 1000) == pytest.approx(0.01141, abs=1e-5)


def test_edf():
    edf = empirical_distribution(np.array([3.0, 1.0, 2.0, 2.0]))
    assert edf["value"].tolist() == [1.0, 2.0, 3.0]
    assert edf["fraction"].tolist() == [0.25, 0.75, 1.0]


def test_report_is_complete_and_byte_identical_when_rendered_twice(tmp_path, table_path):
    first, second = tmp_path / "first", tmp_path / "second"
    render_report(table_path, first)
    render_report(table_path, second)
    assert sorted(path.name for path in first.iterdir()) == sorted(
        report_files(repeats=False, halving=False, curves=False)
    )  # no seeds, rungs or curves sections in a run that has none
    for name in report_files(repeats=False, halving=False, curves=False):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    markdown = (first / "ranking.md").read_text()
    assert "Repeated seeds" not in markdown and "Successive halving" not in markdown
    assert "## Top 3 by validation accuracy" in markdown  # ranking_rows from the table's config
    assert "RuntimeError: out of memory" in markdown and "diverged" in markdown
    ranking = pd.read_csv(first / "ranking.csv")
    assert ranking["val_accuracy"].iloc[0] == 0.97
    html = (first / "index.html").read_text()
    assert html.count("data:image/svg+xml;base64,") == len(PLOTS) - 2  # no seeds, no curves


def test_report_renders_with_no_successful_candidate(tmp_path):
    path = tmp_path / "m.json"
    write_json(path, metrics_record(0, "failed"))
    write_table(build_table([path], CONFIG, SPACE.size, {}), tmp_path / "t.parquet")
    render_report(tmp_path / "t.parquet", tmp_path / "report")
    assert "(none)" in (tmp_path / "report" / "ranking.md").read_text()


def test_rendering_a_report_does_not_import_torch(table_path, tmp_path):
    code = (
        "import sys; from random_nas.report.run import render_report; "
        f"render_report({str(table_path)!r}, {str(tmp_path / 'r')!r}); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("low", "high"), [(2.6e5, 6.6e5), (1.1e5, 9.0e7), (12, 18)])
def test_log_axis_tick_labels_never_collide(low, high):
    """Parameters spanning less than a decade made matplotlib label every multiple:
    "300000 400000500000600000..." ran together under the cost plot."""
    import matplotlib

    from random_nas.report.plots import plot_cost_vs_accuracy

    rng = np.random.default_rng(0)
    ok = pd.DataFrame(
        {
            "arch_id": [f"{index:012x}" for index in range(20)],
            "val_accuracy": rng.uniform(0.9, 0.99, 20),
            "params": np.geomspace(low, high, 20),
            "flops": np.geomspace(low, high, 20),
            "train_seconds": rng.uniform(5, 60, 20),
            "peak_memory_bytes": rng.uniform(5e7, 3e8, 20),
        }
    )
    figure = plot_cost_vs_accuracy(ok)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    for axis in figure.axes[:2]:
        labels = [label for label in axis.get_xticklabels() if label.get_text()]
        assert 2 <= len(labels) <= 6
        boxes = sorted(
            (box.x0, box.x1) for box in (label.get_window_extent(renderer) for label in labels)
        )
        assert all(left[1] < right[0] for left, right in itertools.pairwise(boxes))
    legend = figure.legends[0].get_window_extent(renderer)
    for axis in figure.axes:
        assert not legend.overlaps(axis.get_window_extent(renderer))  # covers no point
    matplotlib.pyplot.close(figure)


def _trials(rows: list[tuple[str, int, str, float | None]]) -> pd.DataFrame:
    recipe = json.dumps({"dataset": {"num_classes": 10, "sizes": {"train": 100}}})
    return pd.DataFrame(
        [
            {
                "arch_id": arch_id,
                "epochs": epochs,
                "status": status,
                "val_accuracy": accuracy,
                "test_accuracy": None if accuracy is None else accuracy - 0.01,
                "flops": 1,
                "train_seconds": 1.0,
                "recipe": recipe,
            }
            for arch_id, epochs, status, accuracy in rows
        ]
    )


def test_halving_comparison_counts_as_the_report_does_and_never_raises():
    """Four draws, budgets 1 and 3, eta 2; every draw also at the full budget."""
    draws = ["a", "b", "c", "d"]
    rung_zero = [(arch_id, 1, "ok", 0.5 + 0.1 * n) for n, arch_id in enumerate(draws)]
    full = [("a", 3, "diverged", None), ("b", 3, "ok", 0.6), ("c", 3, "ok", 0.9)]
    trials = _trials([*rung_zero, *full, ("d", 3, "ok", 0.8)])
    rungs = rungs_as_promoted(trials, [1, 3], 2)
    comparison = halving_comparison(trials, [rungs], [1, 3], 100)
    # The random-search baseline scores the diverged draw as chance, as the EDF does: halving
    # spent 4 x 1 + 2 x 3 epochs, so 3 full-budget draws are affordable, and E[best of 3] is
    # over (0.1, 0.6, 0.9, 0.8), not over the ok values alone (which would give 0.9).
    best_of_three = [max(triple) for triple in itertools.combinations([0.1, 0.6, 0.9, 0.8], 3)]
    assert comparison["random_search_draws"] == 3
    assert comparison["random_search_expected"] == pytest.approx(np.mean(best_of_three))
    # Its pick scored on test, which did not pick it (a point below validation here).
    assert comparison["random_search_expected_test"] == pytest.approx(np.mean(best_of_three) - 0.01)
    assert comparison["halving_pick_test"] == pytest.approx(0.89)

    # A top rung that trained but has no ok candidate: no pick, no IndexError.
    failed_top = _trials([*rung_zero, *full, ("d", 3, "failed", None)])
    failed_top.loc[
        failed_top["arch_id"].isin(["c", "d"]) & (failed_top["epochs"] == 3), "status"
    ] = "failed"
    rungs = rungs_as_promoted(failed_top, [1, 3], 2)
    assert len(rungs[-1]) == 2 and halving_comparison(failed_top, [rungs], [1, 3], 100) is None


def test_a_single_seed_lead_is_judged_on_the_test_images_that_did_not_choose():
    """Two models scored on the same 100 validation images, which chose the first: the paired
    (McNemar) test says how close the choice was, and confirms nothing; the verdict is the
    test images', which did not choose."""
    from random_nas.findings import single_seed_lead

    first = np.array([True] * 60 + [True] * 10 + [False] * 30)
    second = np.array([True] * 60 + [False] * 10 + [False] * 30)
    second[70:72] = True
    rows = [
        pd.Series(
            {"arch_id": arch_id, "val_accuracy": correct.mean(),
             "val_correct": pack_correct(correct), "test_accuracy": test}
        )
        for arch_id, correct, test in (("a", first, 0.80), ("b", second, 0.78))
    ]  # fmt: skip
    line = single_seed_lead(*rows, val_size=100, test_size=1000)
    assert "10 of 100 only the first classifies correctly, 2 only the second" in line
    assert f"exact McNemar p = {2 * (1 + 12 + 66) / 2**12:.3f}, evidence that chose and" in line
    assert "significant" not in line
    assert "on the 1,000 test images, which did not choose, a scores 80.0 % and b 78.0 %" in line
    assert "(+2.00 points, no lead beyond the 95 % interval" in line
    better = rows[0].copy()
    better["test_accuracy"] = 0.85
    wide = single_seed_lead(better, rows[1], val_size=100, test_size=1000)
    assert "(+7.00 points, a lead beyond the 95 % interval" in wide
    unpaired = single_seed_lead(*(row.drop("val_correct") for row in rows), val_size=100)
    assert "independent accuracies" in unpaired and "McNemar" not in unpaired


def test_random_searchs_expected_pick_is_scored_on_evidence_that_did_not_choose_it():
    """The expected test accuracy of random search's pick of n, against every n-subset of 7
    draws picked as a run picks (validation accuracy, then fewer FLOPs, then arch_id), ties
    on validation included."""
    import itertools

    from random_nas.analysis.draws import expected_pick_score, ranked

    trainings = pd.DataFrame(
        {
            "arch_id": list("abcdefg"),
            "status": "ok",
            "val_accuracy": [0.90, 0.95, 0.95, 0.80, 0.97, 0.85, 0.95],
            "test_accuracy": [0.91, 0.93, 0.96, 0.82, 0.92, 0.84, 0.94],
            "flops": [5, 3, 3, 1, 9, 2, 1],
        }
    )
    for n in range(1, 8):
        subsets = list(itertools.combinations(range(7), n))
        brute = np.mean(
            [ranked(trainings.iloc[list(rows)])["test_accuracy"].iloc[0] for rows in subsets]
        )
        assert expected_pick_score(trainings, "test_accuracy", n) == pytest.approx(brute)


def test_the_report_plots_say_what_they_show():
    """The selecting seed's dots marked apart, the error EDF's axis ending near its data, and
    no box drawn over one or two points."""
    from random_nas.report.plots import plot_choices, plot_edf, plot_seeds

    repeats = pd.DataFrame(
        {"arch_id": ["a", "a", "a"], "seed": [0, 1, 2], "status": ["ok"] * 3,
         "val_accuracy": [0.99, 0.95, 0.96]}
    )  # fmt: skip
    seeds = pd.DataFrame({"arch_id": ["a"], "val_mean": [0.955], "val_sd": [0.007]})
    figure = plot_seeds(seeds, repeats, selecting_seed=0)
    labels = [collection.get_label() for collection in figure.axes[0].collections]
    assert "seed 0, which selected them" in labels and "another seed" in labels

    scored = pd.DataFrame({"score": [0.92, 0.95, 0.97, 0.98]})
    right = plot_edf(scored).axes[0].get_xlim()[1]
    assert 8.0 < right < 8.5  # the largest error is 8 %

    ok = pd.DataFrame(
        {
            "arch_id": [f"x{i}" for i in range(5)],
            "val_accuracy": [0.9, 0.91, 0.92, 0.95, 0.96],
            "num_layers": [2] * 5,
            "layer_01_filters": [8] * 5, "layer_01_kernel_size": [3] * 5,
            "layer_01_stride": [1, 1, 1, 2, 2], "layer_02_filters": [8] * 5,
            "layer_02_kernel_size": [3] * 5, "layer_02_stride": [1] * 5,
        }
    )  # fmt: skip
    stride = next(axis for axis in plot_choices(ok).axes if axis.get_xlabel() == "stride-2 layers")
    boxes = [patch for patch in stride.patches]
    assert len(boxes) == 1  # three draws with no stride-2 layer get a box; two with one do not
