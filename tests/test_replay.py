"""Hyperband's brackets against the published numbers, and the replay of strategies on a
dense grid against the unbiased expected best of n and a brute-force enumeration."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq
import pytest
from conftest import (
    REPO,
    TINY_CONFIG,
    copy_repository,
    counting_trainings,
    run_snakemake,
    store_entries,
    write_config,
)
from scipy import stats
from test_workflow import planned_jobs

from random_nas.analysis.draws import expected_best
from random_nas.analysis.fidelity import promote
from random_nas.analysis.replay import Grid, dense_grid, planned_search, shared_orders, simulate
from random_nas.analysis.replay_table import OVER_REPLAYS, ReplaySettings, replay
from random_nas.halving import hyperband_iteration, hyperband_within
from random_nas.report.replay import render_replay
from random_nas.results import read_table


def test_hyperband_brackets_are_algorithm_1_of_li_et_al():
    # R = 81, eta = 3: Table 1 of Li et al. (2018), which SMAC3 follows; HpBandSter's
    # floor((s_max + 1) / (s + 1)) * eta^s would start the brackets with 81, 27, 9, 6, 5.
    brackets = hyperband_iteration(1, 3, 81)
    assert [bracket[0][0] for bracket in brackets] == [81, 34, 15, 8, 5]
    assert brackets == [
        [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
        [(34, 3), (11, 9), (3, 27), (1, 81)],
        [(15, 9), (5, 27), (1, 81)],
        [(8, 27), (2, 81)],
        [(5, 81)],
    ]
    # The ladder of min_epochs 1, eta 3, 9 epochs: three brackets, each ending at 9 epochs.
    assert hyperband_iteration(1, 3, 9) == [[(9, 1), (3, 3), (1, 9)], [(5, 3), (1, 9)], [(3, 9)]]


def grid_trials(accuracies: dict[str, list[float]], budgets: list[int]) -> pd.DataFrame:
    """A dense grid's trials: each architecture's validation accuracy at each budget."""
    return pd.DataFrame(
        [
            {
                "arch_id": arch_id,
                "epochs": budget,
                "status": "ok",
                "val_accuracy": value,
                # A held-out score that ranks like the validation one, lower.
                "test_accuracy": value - 0.01,
                "flops": 1000 + index,
            }
            for index, (arch_id, values) in enumerate(accuracies.items())
            for budget, value in zip(budgets, values, strict=True)
        ]
    )


def test_random_search_replay_converges_to_the_unbiased_expected_best():
    rng = np.random.default_rng(3)
    full = rng.uniform(0.8, 0.99, size=30)
    trials = grid_trials({f"a{i:02d}": [value] for i, value in enumerate(full)}, [3])
    grid = dense_grid(trials, [3], train_images=100, classes=10)
    curve = expected_best(full)
    for draws in (1, 4, 16):
        orders = shared_orders(grid, 4000, draws)
        search = planned_search(grid, "random_search", 3 * draws, 3, 3)
        outcomes = grid.outcome[simulate(grid, search, orders)[:, 0]]
        error = outcomes.std() / np.sqrt(len(outcomes))
        assert abs(outcomes.mean() - curve["expected_best"].iloc[draws - 1]) < 4 * error + 1e-12


def _halving_by_promote(trials: pd.DataFrame, members: list[str], rungs) -> str:
    """Successive halving as the workflow's own rungs promote (analysis.promote)."""
    for number, (_, budget) in enumerate(rungs):
        rung = trials[(trials["epochs"] == budget) & trials["arch_id"].isin(members)]
        members = promote(rung, 3) if number + 1 < len(rungs) else members
    top = trials[(trials["epochs"] == rungs[-1][1]) & trials["arch_id"].isin(members)]
    return top.sort_values(["val_accuracy", "flops"], ascending=[False, True])["arch_id"].iloc[0]


@pytest.mark.parametrize(
    ("strategy", "budgets", "epochs", "plans"),
    [
        # 3 draws: 3 x 1 + 1 x 3 + 1 x 9 = 15 epochs.
        ("successive_halving", [1, 3, 9], 15, [[(3, 1), (1, 3), (1, 9)]]),
        # Both brackets of the ladder 1, 3: s = 1 (3 draws, 6 epochs), s = 0 (2 draws, 6).
        ("hyperband", [1, 3], 12, [[(3, 1), (1, 3)], [(2, 3)]]),
    ],
)
def test_halving_and_hyperband_replays_match_a_brute_force_enumeration(
    strategy, budgets, epochs, plans
):
    rng = np.random.default_rng(5)
    # Low budgets rank the draws only roughly like the full one: a noisy copy of it.
    full = rng.uniform(0.85, 0.99, size=7)
    accuracies = {
        f"a{i}": [value - 0.1 * (budgets[-1] / budget - 1) / 8 + rng.normal(0, 0.02)
                  for budget in budgets[:-1]] + [value]
        for i, value in enumerate(full)
    }  # fmt: skip
    trials = grid_trials(accuracies, budgets)
    grid = dense_grid(trials, budgets, train_images=100, classes=10)
    if strategy == "hyperband":
        assert hyperband_within(epochs, 1, 3, budgets[-1]) == plans
    full_of = dict(zip(grid.arch_ids, grid.outcome, strict=True))
    draws = sum(plan[0][0] for plan in plans)
    exact = []  # every ordered draw of the grid's architectures, each equally likely
    for order in itertools.permutations(grid.arch_ids, draws):
        picks, start = [], 0
        for plan in plans:
            picks.append(_halving_by_promote(trials, list(order[start : start + plan[0][0]]), plan))
            start += plan[0][0]
        exact.append(max(full_of[pick] for pick in picks))
    search = planned_search(grid, strategy, epochs, 3, 1)
    picks = simulate(grid, search, shared_orders(grid, 20000, 5))
    assert picks is not None
    outcomes = grid.outcome[picks[:, 0]]
    error = np.std(exact) / np.sqrt(len(outcomes))
    assert abs(outcomes.mean() - np.mean(exact)) < 4 * error + 1e-12
    assert set(np.unique(outcomes)) <= set(exact)


def test_replay_table_has_every_strategy_where_it_fits_and_is_reproducible():
    rng = np.random.default_rng(1)
    full = rng.uniform(0.85, 0.99, size=27)
    trials = grid_trials(
        {f"a{i:02d}": [v - 0.05, v - 0.02, v] for i, v in enumerate(full)}, [1, 3, 9]
    )
    grid = dense_grid(trials, [1, 3, 9], train_images=100, classes=10)
    settings = ReplaySettings(simulations=200, resamples=20, orders_per_resample=10)
    table = replay(grid, 3, 1, settings)
    assert table.equals(replay(grid, 3, 1, settings))
    assert set(table["strategy"]) == {"random_search", "successive_halving", "hyperband"}
    assert set(table["evidence"]) == {"validation", "test"}
    assert (table["p05"] <= table["p50"]).all() and (table["p50"] <= table["p95"]).all()
    assert (table["p95"] <= full.max() + 1e-12).all()
    random_search = table[(table["strategy"] == "random_search") & (table["evidence"] == "test")]
    assert list(random_search["compute_epoch_images"]) == [900, 1800, 3600, 7200, 14400]
    assert random_search["p_beats_random_search"].isna().all()
    # Compute spent never passes its cap; Hyperband's row names the brackets that ran.
    assert (table["compute_spent_epoch_images"] <= table["compute_epoch_images"]).all()
    hyperband = table[(table["strategy"] == "hyperband") & (table["evidence"] == "test")]
    assert dict(zip(hyperband["compute_epoch_images"], hyperband["brackets"], strict=True)) == {
        3600: "2",
        7200: "2 1",
    }  # at 16 trainings, 2 1 0 | 2 1 would draw 31 of the 27
    assert list(hyperband["compute_spent_epoch_images"]) == [2700, 5100]
    from random_nas.halving import bracket_names

    plan = hyperband_within(16 * 9, 1, 3, 9)
    assert bracket_names(plan) == "2 1 0 | 2 1"
    assert bracket_names(plan[:3]) == "2 1 0"


def test_strategies_share_their_draws_and_a_pick_is_scored_on_held_out_evidence():
    rng = np.random.default_rng(2)
    full = rng.uniform(0.85, 0.99, size=27)
    trials = grid_trials(
        {f"a{i:02d}": [v - 0.05, v - 0.02, v] for i, v in enumerate(full)}, [1, 3, 9]
    )
    # A second training seed at the full budget, as a grid's repeats hold it.
    again = trials[trials["epochs"] == 9].assign(
        seed=1, val_accuracy=lambda frame: frame["val_accuracy"] - 0.02
    )
    grid = dense_grid(trials, [1, 3, 9], train_images=100, classes=10, repeats=again)
    assert list(grid.scores) == ["validation", "test", "validation_seed_1"]
    orders = shared_orders(grid, 300, 0)
    random_search = simulate(grid, planned_search(grid, "random_search", 18, 3, 1), orders)[:, 0]
    halving = simulate(grid, planned_search(grid, "successive_halving", 18, 3, 1), orders)[:, 0]
    # Common random numbers: halving's 6 draws start with random search's 2.
    for order, pick in zip(orders.permutations, random_search, strict=True):
        assert pick in order[:2] and set(order[:2]) <= set(order[:6])
    table = replay(grid, 3, 1, ReplaySettings(simulations=300, resamples=0), points=[18])
    row = table[(table["strategy"] == "successive_halving")].set_index("evidence")
    wins = (grid.scores["test"][halving] > grid.scores["test"][random_search]) + 0.5 * (
        grid.scores["test"][halving] == grid.scores["test"][random_search]
    )
    assert row.loc["test", "p_beats_random_search"] == pytest.approx(wins.mean())
    assert row.loc["test", "p_beats_random_search_se"] == pytest.approx(
        wins.std(ddof=1) / np.sqrt(300)
    )
    differences = grid.scores["test"][halving] - grid.scores["test"][random_search]
    assert row.loc["test", "mean_difference"] == pytest.approx(differences.mean())
    assert row.loc["validation_seed_1", "mean_best_accuracy"] == pytest.approx(
        row.loc["validation", "mean_best_accuracy"] - 0.02
    )


GRID_SEARCH = {"min_epochs": 1, "eta": 3}
GRID_CONFIG = {
    **TINY_CONFIG,
    "num_architectures": 6,
    "training": {**TINY_CONFIG["training"], "epochs": 3},
    "search": {**GRID_SEARCH, "dense_grid": True},
    "report": {"replay_simulations": 50},
}


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory) -> Path:
    """A tiny dense-grid run: 6 draws at 1 and 3 epochs, made once for the tests that read it,
    which share a worker (`xdist_group("grid_run")`: on two workers it was made twice)."""
    workdir = copy_repository(tmp_path_factory.mktemp("grid"))
    run_snakemake(workdir, write_config(workdir, GRID_CONFIG))
    return workdir


@pytest.mark.xdist_group("grid_run")
def test_a_dense_grid_run_replays_its_strategies_and_shares_its_trainings(grid_run):
    workdir = grid_run
    run = workdir / "results/tiny"
    grid = read_table(run / "grid.parquet")[0].to_pandas()
    assert sorted(grid.groupby("epochs").size().items()) == [(1, 6), (3, 6)]
    table = pd.read_csv(run / "report/replay.csv")
    assert list(table.columns[:9]) == [
        "strategy", "compute_epoch_images", "compute_spent_epoch_images", "draws", "brackets",
        "evidence", "simulations", "resamples", "mean_best_accuracy",
    ]  # fmt: skip
    assert {"difference_low", "difference_high", "verdict", "p_beats_flops_ties"} <= set(table)
    assert {"random_search", "successive_halving", "hyperband"} <= set(table["strategy"])
    assert (table["simulations"] == 50).all()
    # The run's report: its draws measured at the full budget (every draw was), and a link
    # to the replay.
    report = (run / "report/ranking.md").read_text()
    assert "6 draws are measured at 3 epochs" in report
    assert '<a href="replay.md">replay.md</a>' in (run / "report/index.html").read_text()
    # From the table alone, byte for byte (what published_reports does).
    written = {path.name: path.read_bytes() for path in (run / "report").glob("replay*.*")}
    render_replay(run / "grid.parquet", workdir / "again")
    assert written == {path.name: path.read_bytes() for path in (workdir / "again").iterdir()}
    # A plain run at the full budget and a halving run on the ladder are parts of the grid.
    plain = {**GRID_CONFIG, "run": "tiny-plain", "search": GRID_SEARCH}
    assert "train" not in planned_jobs(workdir, write_config(workdir, plain, "plain.yaml"))
    halving = {
        **GRID_CONFIG, "run": "tiny-halving",
        "search": {**GRID_SEARCH, "strategy": "successive_halving"},
    }  # fmt: skip
    assert "train" not in planned_jobs(workdir, write_config(workdir, halving, "halving.yaml"))


def test_all_trains_every_architecture_of_a_small_space_once_at_every_budget(workdir):
    enumerated = {
        **GRID_CONFIG,
        "run": "tiny-all",
        "num_architectures": "all",
        "search_space": {
            "num_layers": 1,
            "filters": [8, 12],
            "kernel_sizes": [3],
            "strides": [1, 2],
        },
        "report": {
            "replay_simulations": 50,
            "replay_strategies": ["regularized_evolution", "local_search"],
        },
    }
    configfile = write_config(workdir, enumerated)
    run_snakemake(workdir, configfile, "results/tiny-all/grid.parquet")
    grid = read_table(workdir / "results/tiny-all/grid.parquet")[0].to_pandas()
    assert sorted(grid.groupby("epochs").size().items()) == [(1, 4), (3, 4)]
    assert sorted(set(grid["index"].astype(int))) == [0, 1, 2, 3] and (grid["status"] == "ok").all()
    # Enumerated whole, the space has nothing left to train.
    assert planned_jobs(workdir, configfile, "results/tiny-all/grid.parquet") == {}
    # Its replay: the strategies that move through the space act on it, as many times as
    # random search, each judged over its paired replays.
    render_replay(workdir / "results/tiny-all/grid.parquet", workdir / "replay")
    replayed = pd.read_csv(workdir / "replay/replay.csv")
    moving = replayed[replayed["strategy"].isin(["regularized_evolution", "local_search"])]
    assert set(moving["strategy"]) == {"regularized_evolution", "local_search"}
    assert (moving["simulations"] == 50).all() and (moving["judged_over"] == OVER_REPLAYS).all()
    # A training that failed leaves the space short: its replay names what it lacks.
    table = pq.read_table(workdir / "results/tiny-all/grid.parquet")
    lost = table["arch_id"][0].as_py()
    short = pa.compute.or_(pa.compute.not_equal(table["arch_id"], lost),
                           pa.compute.not_equal(table["epochs"], 1))  # fmt: skip
    pq.write_table(table.filter(short), workdir / "short.parquet")
    with pytest.raises(ValueError, match=f"space of 4 architectures, but 1 lack .*{lost}"):
        render_replay(workdir / "short.parquet", workdir / "short")


@pytest.mark.xdist_group("grid_run")
def test_the_exported_grid_loads_in_syne_tune_and_its_random_search_runs(grid_run, tmp_path):
    blackbox_tabular = pytest.importorskip(
        "syne_tune.blackbox_repository.blackbox_tabular",
        reason="syne-tune is a test extra: pip install -e '.[test]'",
    )
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.optimizer.baselines import RandomSearch

    from random_nas.export import export_grid

    grid_path = grid_run / "results/tiny/grid.parquet"
    out = export_grid(grid_path, tmp_path / "export")
    long = pd.read_parquet(out / "table.parquet")
    assert len(long) == 12 and {"arch_id", "seed", "epochs", "val_accuracy"} <= set(long.columns)
    (blackbox,) = blackbox_tabular.deserialize(str(out)).values()
    configurations = blackbox.all_configurations()
    assert len(configurations) == 6
    # The blackbox answers what the grid measured, per architecture and budget.
    grid = read_table(grid_path)[0].to_pandas().set_index(["arch_id", "epochs"])
    arch_ids = json.loads((out / "metadata.json").read_text())["arch_ids"]
    for arch_id, configuration in zip(arch_ids, configurations, strict=True):
        for epochs in (1, 3):
            answer = blackbox.objective_function(configuration, fidelity={"epochs": epochs})
            assert answer["val_accuracy"] == pytest.approx(
                grid.loc[(arch_id, epochs), "val_accuracy"]
            )
    # Syne Tune's own random search, simulated on the tabulated architectures.
    backend = UserBlackboxBackend(blackbox=blackbox, elapsed_time_attr="train_seconds")
    scheduler = RandomSearch(
        blackbox.configuration_space,
        metrics=["val_accuracy"],
        do_minimize=False,
        random_seed=0,
        points_to_evaluate=configurations,
    )
    tuner = Tuner(
        trial_backend=backend,
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_num_trials_finished=4),
        n_workers=1,
        sleep_time=0,
        callbacks=[SimulatorCallback()],
        save_tuner=False,
    )
    tuner.run()
    assert tuner.tuning_status.num_trials_finished >= 4


@pytest.mark.xdist_group("grid_run")
def test_the_export_has_a_row_per_seed_the_grids_repeats_trained(grid_run, tmp_path):
    pytest.importorskip("syne_tune", reason="syne-tune is a test extra: pip install -e '.[test]'")
    from random_nas.export import export_grid

    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(grid_run / "results/tiny/grid.parquet", folder / "grid.parquet")
    table = pq.read_table(folder / "grid.parquet")
    full = table.filter(pa.compute.equal(table["epochs"], 3))
    again = full.set_column(
        full.schema.get_field_index("seed"), "seed", pa.array([1] * full.num_rows, pa.int64())
    )
    pq.write_table(again, folder / "repeats.parquet")
    long = pd.read_parquet(export_grid(folder / "grid.parquet", tmp_path / "out") / "table.parquet")
    assert len(long) == 12 + 6 and sorted(set(long["seed"])) == [0, 1]
    metadata = json.loads((tmp_path / "out/metadata.json").read_text())
    assert metadata["seeds"] == [0, 1]


def test_a_tiny_hyperband_run_trains_its_brackets_and_reports_each(workdir):
    config = {
        **TINY_CONFIG,
        "num_architectures": 10,  # two iterations of the brackets of 1 and 3 epochs (3 + 2)
        "training": {**TINY_CONFIG["training"], "epochs": 3},
        "search": {"strategy": "hyperband", "min_epochs": 1, "eta": 3},
    }
    run_snakemake(workdir, write_config(workdir, config))
    run = workdir / "results/tiny"
    rungs = pd.read_csv(run / "report/rungs.csv")
    assert rungs[["bracket", "rung", "epochs", "candidates"]].values.tolist() == [
        [0, 0, 1, 3], [0, 1, 3, 1], [1, 0, 3, 2], [2, 0, 1, 3], [2, 1, 3, 1], [3, 0, 3, 2],
    ]  # fmt: skip
    assert len(store_entries(workdir)) == 3 + 1 + 2 + 3 + 1 + 2
    trials = pd.read_parquet(run / "trials.parquet")
    # Each bracket trains its own consecutive slice of the draw: draws 0-2, 3-4, 5-7, 8-9.
    first_rungs = trials.sort_values("draw").drop_duplicates("arch_id")
    assert list(first_rungs["epochs"]) == [1, 1, 1, 3, 3, 1, 1, 1, 3, 3]
    findings = (run / "report/ranking.md").read_text()
    assert "failed ones are left out): bracket 0: rung 0 trained 3 for 1 epoch" in findings
    assert "bracket 3: rung 0 trained 2 for 3 epochs" in findings


def test_distribution_comparison_measures_the_shift_and_tests_it():
    from random_nas.analysis.draws import compare_distributions

    rng = np.random.default_rng(0)
    first = rng.normal(0.95, 0.01, size=60)
    same = compare_distributions(first, first, resamples=500)
    assert same["ks_statistic"] == 0 and same["ks_p_value"] == 1
    assert same["mean_low"] <= 0 <= same["mean_high"]
    shifted = compare_distributions(first, first + 0.02, resamples=500)
    assert shifted["mean_difference"] == pytest.approx(0.02)
    assert shifted["mean_low"] < 0.02 < shifted["mean_high"] and shifted["mean_low"] > 0
    assert shifted["ks_p_value"] == pytest.approx(1 / 501)  # no shuffle is as extreme
    assert compare_distributions(np.array([1.0, 2.0]), np.array([3.0, 4.0]))["ks_statistic"] == 1


def test_a_study_of_spaces_judges_the_means_by_the_studies_rule_with_its_power():
    """Independent samples of draws: no true difference among many draws is equivalent, a
    true shift larger than delta is better, few draws are inconclusive and say how many
    would decide; the family is the comparisons with the first run."""
    from random_nas.analysis.draws import compare_distributions

    many = np.random.default_rng(0).normal(0.95, 0.01, size=(2, 2000))
    few = np.random.default_rng(1).normal(0.95, 0.01, size=(2, 30))
    same = compare_distributions(many[0], many[1], resamples=500, delta=0.003)
    assert same["verdict"] == "equivalent" and same["power"] > 0.99
    better = compare_distributions(many[0], many[1] + 0.01, resamples=500, delta=0.003)
    assert better["verdict"] == "better" and better["family_low"] > 0
    unsure = compare_distributions(few[0], few[1], resamples=500, delta=0.003, comparisons=3)
    assert unsure["verdict"] == "inconclusive" and unsure["family_level"] == 1 - 0.05 / 3
    assert unsure["power"] < 0.8 and unsure["draws_needed"] > 30
    assert unsure["family_low"] < unsure["mean_low"] < unsure["mean_high"] < unsure["family_high"]


def test_scipy_gives_the_published_study_and_ranking_numbers():
    """scipy.stats replaced hand-written statistics: on the published tables it gives what
    they gave. Spearman's ρ and the KS statistic exactly; the bootstrap intervals and the
    permutation p-value within their Monte-Carlo error (they resample otherwise)."""
    from random_nas.analysis.draws import compare_distributions, rank_correlation, scored_draws

    seed_space, without_7x7 = (
        scored_draws(pd.read_parquet(REPO / f"results/published/{run}/candidates.parquet"), 10)
        for run in ("mnist5k-100", "mnist5k-k35-100")
    )
    found = compare_distributions(seed_space["score"], without_7x7["score"])
    # What the hand-written statistics published in study-kernels/report/study.csv.
    assert found["ks_statistic"] == pytest.approx(0.13, abs=1e-9)
    assert found["mean_difference"] == pytest.approx(-0.00172)
    for bound, published in (("mean_low", -0.00556025), ("mean_high", 0.00201),
                             ("median_low", -0.005), ("median_high", 0.005)):  # fmt: skip
        assert found[bound] == pytest.approx(published, abs=0.0005), bound
    p_value = 0.292371
    assert abs(found["ks_p_value"] - p_value) < 4 * np.sqrt(p_value * (1 - p_value) / 10000)
    table = pd.read_parquet(REPO / "results/published/mnist5k-100/candidates.parquet")
    ok = table[table["status"] == "ok"]
    by_hand = ok["val_accuracy"].rank().corr(ok["test_accuracy"].rank())
    assert rank_correlation(ok["val_accuracy"], ok["test_accuracy"]) == pytest.approx(by_hand)


def test_a_sampling_seed_of_its_own_draws_apart_and_unset_draws_with_the_seed():
    from random_nas.results import run_draws

    config = {**GRID_CONFIG, "seed": 0, "num_architectures": 6}
    unset = run_draws({**config, "sampling_seed": None})
    # Unset, the sampling seed is the run's seed: the committed runs draw what they published.
    assert unset == run_draws({key: value for key, value in config.items()})
    assert unset == run_draws({**config, "seed": 3, "sampling_seed": config["seed"]})
    apart = run_draws({**config, "sampling_seed": 7})
    assert [d["index"] for d in apart.values()] != [d["index"] for d in unset.values()]


@pytest.mark.xdist_group("grid_run")
def test_a_study_of_two_tiny_runs_compares_their_distributions(grid_run):
    from random_nas.report.study import render_study

    workdir = grid_run
    variant = {
        **GRID_CONFIG,
        "run": "narrow",
        "sampling_seed": 1,
        "search_space": {**GRID_CONFIG["search_space"], "kernel_sizes": [3]},
        "search": GRID_SEARCH,
    }
    run_snakemake(workdir, write_config(workdir, variant, "narrow.yaml"))
    study = workdir / "results/studies/kernels/study.yaml"
    study.parent.mkdir(parents=True)
    study.write_text(
        "question: do 5x5 kernels help?\n"
        f"runs:\n  kernels 3 and 5: {workdir}/results/tiny\n  kernel 3: {workdir}/results/narrow\n"
    )
    written = render_study(study)
    findings = (study.parent / "report/study.md").read_text().split("## Findings\n", 1)[1]
    assert "kernels 3 and 5: 6 draws at 3 epochs" in findings
    assert (
        "kernels 3 and 5: 6 draws at 3 epochs (sampling seed 0; none diverged or failed)"
        in findings
    )
    assert "kernel 3 against kernels 3 and 5, independent samples (sampling seeds 0 and 1)" in (
        findings
    )
    assert "Kolmogorov–Smirnov D = " in findings
    table = pd.read_csv(study.parent / "report/study.csv")
    assert list(table["run"]) == ["kernels 3 and 5", "kernel 3"]
    assert table["vs_first_ks_p_value"].iloc[1] > 0
    before = {path.name: path.read_bytes() for path in written}
    render_study(study)  # from the tables alone, byte for byte
    assert before == {path.name: path.read_bytes() for path in written}
    # Runs trained differently are not compared: the narrow run's table, as if trained at
    # another learning rate.
    table = pq.read_table(workdir / "results/narrow/candidates.parquet")
    frame = table.to_pandas()
    frame["recipe"] = [
        json.dumps({**json.loads(text), "training": {**json.loads(text)["training"], "lr": 0.1}})
        for text in frame["recipe"]
    ]
    other = workdir / "results/other"
    other.mkdir()
    changed = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(
        changed.replace_schema_metadata(table.schema.metadata), other / "candidates.parquet"
    )
    study.write_text(f"runs:\n  a: {workdir}/results/tiny\n  b: {other}\n")
    with pytest.raises(Exception, match=r"differ in training\.lr \(0\.05 against 0\.1\)"):
        render_study(study)
    # A variant drawn from the seed space's random stream (the narrow run's table, as if drawn
    # with sampling seed 0) is not an independent sample of its space: refused.
    metadata = dict(table.schema.metadata)
    key = next(name for name in metadata if name.endswith(b"config"))
    metadata[key] = json.dumps({**json.loads(metadata[key]), "sampling_seed": None}).encode()
    same_stream = workdir / "results/same_stream"
    same_stream.mkdir()
    pq.write_table(table.replace_schema_metadata(metadata), same_stream / "candidates.parquet")
    study.write_text(f"runs:\n  a: {workdir}/results/tiny\n  b: {same_stream}\n")
    refusal = "runs 'a' and 'b' both drew their architectures with sampling seed 0, from one"
    with pytest.raises(Exception, match=refusal):
        render_study(study)


def test_hyperband_refuses_a_ladder_that_is_not_a_power_of_eta_naming_the_nearest():
    from random_nas.halving import hyperband_iteration

    # 10 / 1 is not a power of 3: the ladder 1, 3, 9, 10 would add a bracket (s_max 3 where
    # Li et al. and SMAC3 have ⌊log_3 10⌋ = 2).
    with pytest.raises(ValueError, match=r"nearest: training\.epochs 9 or 27"):
        hyperband_iteration(1, 3, 10)
    assert len(hyperband_iteration(1, 3, 9)) == 3 and len(hyperband_iteration(2, 3, 6)) == 2


def _noisy_grid(size: int = 27, seed: int = 1, step: float = 0.01):
    """A grid whose validation accuracies sit on a coarse lattice (ties are common, as on
    1,000 validation images), with architectures of the seed's space."""
    from random_nas.space import SearchSpace

    rng = np.random.default_rng(seed)
    space = SearchSpace(10, (24, 36, 48, 64), (3, 5, 7), (1, 2))
    archs = space.sample(size, seed)
    full = np.round(rng.uniform(0.90, 0.99, size=size) / step) * step
    trials = grid_trials(
        {arch.arch_id: [v - 0.04, v - 0.02, v] for arch, v in zip(archs, full, strict=True)},
        [1, 3, 9],
    )
    layers = {a.arch_id: json.dumps({"layers": [layer.to_dict() for layer in a.layers],
                                     "dense": []}) for a in archs}  # fmt: skip
    return trials.assign(architecture=trials["arch_id"].map(layers)), space


def test_the_interval_over_architectures_does_not_shrink_with_more_simulations():
    """The ± over orders is Monte-Carlo error: more simulations shrink it to nothing. The
    interval over resampled architectures stays, and the verdict follows it."""
    trials, _ = _noisy_grid()
    grid = dense_grid(trials, [1, 3, 9], train_images=100, classes=10)
    rows = {}
    for simulations in (100, 1600):
        settings = ReplaySettings(simulations=simulations, resamples=60, orders_per_resample=20)
        table = replay(grid, 3, 1, settings, points=[36])
        rows[simulations] = table[
            (table["strategy"] == "successive_halving") & (table["evidence"] == "test")
        ].iloc[0]
    small, large = rows[100], rows[1600]
    assert large["mean_difference_se"] < small["mean_difference_se"] / 3
    width = large["difference_high"] - large["difference_low"]
    assert width > 5 * large["mean_difference_se"]
    assert large["resamples"] == 60 and large["simulations"] == 1600
    assert 0 <= large["p_no_gain"] <= 1


def test_each_difference_is_judged_by_the_studies_rule_over_its_family_with_its_power():
    """The replay's verdicts are the studies': better / worse / equivalent / inconclusive on
    the family-level interval (one comparison per strategy besides random search), with the
    power against delta; random search against itself under another name is equivalent, not
    "no clear difference"."""
    from random_nas.analysis.replay_table import planned

    trials, _ = _noisy_grid()
    grid = dense_grid(trials, [1, 3, 9], train_images=100, classes=10)
    strategies = planned(3, 1)
    strategies["itself"] = strategies["random_search"]
    settings = ReplaySettings(simulations=100, resamples=40, orders_per_resample=10)
    table = replay(grid, 3, 1, settings, points=[36, 72], strategies=strategies)
    judged = table[table["strategy"] != "random_search"]
    assert (judged["family_level"] == 1 - 0.05 / 3).all() and (judged["delta"] == 0.003).all()
    for _, row in judged.iterrows():
        low, high = row["family_low"], row["family_high"]
        expected = (
            "better" if low > 0 else "worse" if high < 0
            else "equivalent" if low > -0.003 and high < 0.003 else "inconclusive"
        )  # fmt: skip
        assert row["verdict"] == expected, row
        assert low <= row["mean_difference"] <= high
        assert np.isnan(row["power"]) or 0 <= row["power"] <= 1
    itself = judged[judged["strategy"] == "itself"]
    assert (itself["mean_difference"] == 0).all() and (itself["verdict"] == "equivalent").all()
    assert set(judged["verdict"]) - {"equivalent"}, "the noisy grid decides something else"


def test_ties_are_broken_at_random_and_the_runs_rule_is_stated_beside():
    """Two draws tie at the top of the full budget; the fewer-FLOPs rule always takes the
    same one, the replay takes each half the time."""
    trials = grid_trials({"a": [0.90, 0.95], "b": [0.91, 0.95], "c": [0.80, 0.85]}, [1, 3])
    trials.loc[trials["arch_id"] == "a", "test_accuracy"] = 0.99
    trials.loc[trials["arch_id"] == "b", "test_accuracy"] = 0.90
    grid = dense_grid(trials, [1, 3], train_images=100, classes=10)
    search = planned_search(grid, "random_search", 9, 3, 1)
    random_ties = simulate(grid, search, shared_orders(grid, 4000, 0))[:, 0]
    flops_ties = simulate(grid, search, shared_orders(grid, 4000, 0, ties="flops"))[:, 0]
    both = np.isin(random_ties, [0, 1])
    share_a = (random_ties[both] == grid.arch_ids.index("a")).mean()
    assert abs(share_a - 0.5) < 0.04
    # Fewer FLOPs (the test grid gives a the fewer): a whenever both are drawn.
    assert set(flops_ties[both]) == {grid.arch_ids.index("a")}


def test_asha_replays_through_syne_tunes_scheduler_paired_with_random_search():
    from random_nas.analysis.replay_search import asha_search
    from random_nas.analysis.replay_table import planned

    trials, _ = _noisy_grid(step=0.001)
    grid = dense_grid(trials, [1, 3, 9], train_images=100, classes=10)
    orders = shared_orders(grid, 30, 0)
    asha = simulate(grid, asha_search(grid, 36, 3), orders)
    assert (asha[:, 1] <= 36).all() and (asha[:, 2] >= 3).all()
    for order, (pick, _, met) in zip(orders.permutations, asha, strict=True):
        assert pick in order[:met]  # its trials are the order's first draws
    strategies = {**planned(3, 1), "asha": (lambda g, e: asha_search(g, e, 3), True)}
    settings = ReplaySettings(simulations=200, resamples=20, orders_per_resample=10)
    table = replay(grid, 3, 1, settings, points=[36], strategies=strategies)
    row = table[(table["strategy"] == "asha") & (table["evidence"] == "test")].iloc[0]
    assert row["simulations"] == 20 and not np.isnan(row["difference_low"])


def test_a_model_based_strategy_replays_on_the_grid_and_mutation_is_refused(tmp_path):
    from random_nas.analysis.replay_search import ask_tell_search
    from random_nas.strategies.registry import StrategyError

    trials, space = _noisy_grid(step=0.001)
    grid = dense_grid(trials, [1, 3, 9], train_images=100, classes=10)
    orders = shared_orders(grid, 3, 0)
    tpe = simulate(
        grid, ask_tell_search(grid, "tpe", {"n_startup_trials": 3}, space, 9 * 8), orders
    )
    assert (tpe[:, 2] == 8).all()
    assert set(tpe[:, 0]) <= set(range(grid.size))
    with pytest.raises(
        StrategyError,
        match="cannot be replayed on a dense grid of sampled architectures: it mutates",
    ):
        ask_tell_search(grid, "regularized_evolution", {}, space, 72)


def test_a_grid_too_small_for_any_comparison_says_so():
    """Four draws: at 1 full training's worth random search meets 1, but halving would meet
    more than half the grid; the replay says that no compute qualified."""
    from random_nas.findings import replay_findings, replay_glance

    trials = grid_trials({f"a{i}": [0.9 + i / 100, 0.91 + i / 100] for i in range(4)}, [1, 3])
    grid = dense_grid(trials, [1, 3], train_images=100, classes=10)
    table = replay(grid, 3, 1, ReplaySettings(simulations=20, resamples=0))
    lines = replay_findings(table, grid, 3 * 100)
    assert len(lines) == 2 and lines[1].startswith("No compute qualifies")
    assert replay_glance(table, grid, 3 * 100) == []


def test_the_replay_at_a_glance_is_a_row_per_strategy_and_compute_with_its_verdicts():
    from random_nas.findings import replay_findings, replay_glance

    trials, _ = _noisy_grid()
    grid = dense_grid(trials, [1, 3, 9], train_images=100, classes=10)
    table = replay(grid, 3, 1, ReplaySettings(simulations=50, resamples=20))
    glance = replay_glance(table, grid, 9 * 100)
    header, rule, *rows = glance
    assert header.startswith("| strategy | compute (trainings) | spent | draws | test:")
    assert rule.count("---") == header.count("|") - 1
    shown = table[(table["draws"] <= grid.size / 2) & (table["strategy"] != "random_search")]
    shown = shown[shown["compute_epoch_images"].isin(
        table.loc[(table["strategy"] == "random_search") & (table["draws"] <= grid.size / 2),
                  "compute_epoch_images"])]  # fmt: skip
    assert len(rows) == len(shown[["strategy", "compute_epoch_images"]].drop_duplicates()) > 0
    # Each row states the table's difference, its family-level interval and its verdict.
    assert "test: difference, points (97.5 %) | verdict" in header
    ordered = shown[shown["evidence"] == "test"]
    for row, (_, judged) in zip(rows, ordered.iterrows(), strict=True):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[4] == (
            f"{100 * judged['mean_difference']:+.2f} ({100 * judged['family_low']:+.2f} to "
            f"{100 * judged['family_high']:+.2f})"
        )
        assert cells[5].startswith(judged["verdict"]) and f"power {judged['power']:.2f}" in cells[5]
    assert "Bonferroni: 2 strategies against random search" in replay_findings(table, grid, 900)[0]


def test_the_landscape_of_a_grid_is_its_spread_neighbours_fidelities_and_best():
    from random_nas.analysis.landscape import landscape
    from random_nas.space import Architecture, ConvLayer, SearchSpace

    space = SearchSpace.from_config(
        {"num_layers": 1, "filters": [8, 12], "kernel_sizes": [3], "strides": [1, 2]}
    )
    # a (8, stride 1), b (12, 1), c (8, 2), d (12, 2): a-b, a-c, b-d and c-d one setting apart.
    layers = [(8, 1), (12, 1), (8, 2), (12, 2)]
    architectures = tuple(Architecture((ConvLayer(f, 3, s),), ()) for f, s in layers)
    validation = np.array([0.90, 0.80, 0.70, 0.95])
    again = validation + np.array([0.03, -0.03, 0.02, -0.02])
    grid = Grid(
        arch_ids=tuple(arch.arch_id for arch in architectures),
        budgets=(1, 3),
        accuracy=np.stack([[0.5, 0.6, 0.4, 0.7], validation], axis=1),
        scores={"validation": validation, "test": np.array([0.9, 0.96, 0.7, 0.94]),
                "validation_seed_1": again},
        flops_order=np.arange(4),
        train_images=100,
        architectures=architectures,
    )  # fmt: skip
    shape = landscape(grid, space).set_index("measure")["value"]
    assert shape["architectures"] == 4
    assert shape["validation sd"] == pytest.approx(np.std(validation, ddof=1))
    pairs = [(0.90, 0.80), (0.90, 0.70), (0.80, 0.95), (0.70, 0.95)]
    assert shape["nearest-neighbour correlation"] == pytest.approx(
        stats.pearsonr(*zip(*pairs, strict=True)).statistic
    )
    # Ranks 2 3 1 4 at 1 epoch against 3 2 1 4 at 3: 1 - 6 x 2 / (4 x 15).
    assert shape["rank correlation, 1 with 3 epochs"] == pytest.approx(0.8)
    assert shape["best: validation"] == 0.95 and shape["best: rank on test"] == 2
    assert shape["best: rank at 1 epoch"] == 1
    seed_sd = np.std([0.03, -0.03, 0.02, -0.02], ddof=1) / np.sqrt(2)
    assert shape["training seed sd"] == pytest.approx(seed_sd)
    assert shape["within seed noise of the best"] == 2  # 0.95 and 0.90, within 0.059


@pytest.mark.xdist_group("grid_run")
def test_a_grid_resumed_elsewhere_from_its_tables_trains_nothing_twice(grid_run, tmp_path):
    """A published grid's tables are all a fresh machine has of it: imported into a new
    store, they are the entries a run of the same config finds, and it trains none again."""
    elsewhere = copy_repository(tmp_path / "elsewhere")
    (elsewhere / "published").mkdir()
    for name in ("candidates", "grid", "trials", "curves"):
        if (grid_run / f"results/tiny/{name}.parquet").exists():
            shutil.copy(grid_run / f"results/tiny/{name}.parquet", elsewhere / "published")
    command = Path(sys.executable).with_name("random-nas")
    result = subprocess.run(
        [str(command), "migrate", "--from-tables", "published"],
        cwd=elsewhere, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "published: 12 imported" in result.stdout
    environment, counter = counting_trainings(tmp_path / "hook")
    configfile = write_config(elsewhere, GRID_CONFIG)
    run_snakemake(elsewhere, configfile, "results/tiny/grid.parquet", env=environment)
    assert counter.read_text() == ""
    again = read_table(elsewhere / "results/tiny/grid.parquet")[0].to_pandas()
    first = read_table(grid_run / "results/tiny/grid.parquet")[0].to_pandas()
    pd.testing.assert_frame_equal(again, first)


ENUMERABLE = {"num_layers": 2, "filters": [8, 12], "kernel_sizes": [3], "strides": [1, 2]}


def _enumerated_grid(missing: int = 0):
    """Every architecture of a 16-architecture space at 1, 3 and 9 epochs (a lattice of
    accuracies that neighbours share in part, so that a walk can climb), a second training
    seed at 9 epochs; `missing` architectures left out."""
    from random_nas.analysis.replay import enumerated_grid
    from random_nas.space import SearchSpace

    space = SearchSpace.from_config(ENUMERABLE)
    archs = [space.decode(index) for index in range(space.size - missing)]
    full = {a.arch_id: 0.9 + 0.01 * (a.layers[0].filters == 12) + 0.02 * (a.layers[1].stride == 1)
            + 0.001 * index for index, a in enumerate(archs)}  # fmt: skip
    trials = grid_trials({a: [v - 0.04, v - 0.02, v] for a, v in full.items()}, [1, 3, 9])
    trials["architecture"] = trials["arch_id"].map(
        {a.arch_id: json.dumps(a.to_dict()) for a in archs}
    )
    repeats = trials[trials["epochs"] == 9].assign(
        seed=1,
        val_accuracy=lambda frame: (
            frame["val_accuracy"] + np.tile([0.004, -0.001], 8)[: len(frame)]
        ),
    )
    grid = dense_grid(trials, [1, 3, 9], train_images=100, classes=10, repeats=repeats)
    return enumerated_grid(grid, space, test_images=1000), space


def test_on_an_enumerated_grid_every_strategy_replays_as_its_live_search_paired_by_seed():
    from random_nas.analysis.intervals import mean_interval
    from random_nas.analysis.replay_search import LiveReplay
    from random_nas.analysis.replay_table import OVER_REPLAYS, orders_for, planned
    from random_nas.analysis.verdicts import judge
    from random_nas.search_run import replayed_batches

    sampled, _ = _enumerated_grid(missing=1)
    assert not sampled.enumerated  # one architecture short of its space
    grid, space = _enumerated_grid()
    assert grid.enumerated
    # Each architecture's own seed noise, half its two seeds' squared difference (not pooled:
    # a small network can be far noisier than a large one); test adds its images'.
    apart = grid.scores["validation_seed_1"] - grid.outcome
    assert sorted(np.round(np.abs(apart), 6)) == [0.001] * 8 + [0.004] * 8
    seed_variance = apart**2 / 2
    np.testing.assert_allclose(grid.noise["validation_seed_1"], seed_variance)
    test = grid.scores["test"]
    np.testing.assert_allclose(grid.noise["test"], seed_variance + test * (1 - test) / 1000)
    # Simulation r is the live search of sampling seed r: random search trains its stream.
    orders = orders_for(grid, 40, 0)
    for seed, order in zip(orders.seeds, orders.permutations, strict=True):
        assert [grid.arch_ids[d] for d in order[:5]] == [
            a.arch_id for a in space.sample(5, int(seed))
        ]
    # Evolution and local search act on the space, through the live code, and a search within
    # less compute asks what the one within more asks first.
    measured = {(a, 9): ("ok", float(v)) for a, v in zip(grid.arch_ids, grid.outcome, strict=True)}
    settings = {"population_size": 4, "sample_size": 2}
    evolution = LiveReplay({"strategy": "regularized_evolution", "settings": settings, "eta": 3},
                           ENUMERABLE, classes=10)  # fmt: skip
    eight = simulate(grid, evolution(grid, 9 * 8), orders)
    for seed, (pick, spent, met) in zip(orders.seeds[:5], eight[:5], strict=True):
        search = {"strategy": "regularized_evolution", "settings": settings, "batch_size": 1}
        live = replayed_batches(measured, 10, search={**search, "eta": 3}, search_space=ENUMERABLE,
                                seed=int(seed), epochs=9, budget=8)  # fmt: skip
        asked = [item["arch_id"] for record in live for item in record["proposals"]]
        assert met == 8 and spent == 72 and grid.arch_ids[pick] in asked
        assert grid.outcome[pick] == max(grid.outcome[grid.arch_ids.index(a)] for a in asked)
    four = simulate(grid, evolution(grid, 9 * 4), orders)
    assert (four[:, 2] == 4).all() and (grid.outcome[four[:, 0]] <= grid.outcome[eight[:, 0]]).all()
    # The replay judges each comparison over its paired replays, with the held-out noise of
    # the architectures the two strategies pick as an error every replay shares.
    local = LiveReplay({"strategy": "local_search", "settings": {"num_init": 3}, "eta": 3},
                       ENUMERABLE, classes=10)  # fmt: skip
    strategies = {**planned(3, 1), "regularized_evolution": (evolution, False),
                  "local_search": (local, False)}  # fmt: skip
    table = replay(
        grid, 3, 1, ReplaySettings(simulations=200), points=[36, 72], strategies=strategies
    )
    assert set(table["strategy"]) == {"random_search", "successive_halving", "hyperband",
                                      "regularized_evolution", "local_search"}  # fmt: skip
    row = table[(table["strategy"] == "local_search") & (table["evidence"] == "validation_seed_1")
                & (table["compute_epoch_images"] == 72 * 100)].iloc[0]  # fmt: skip
    assert (
        row["simulations"] == 200 and row["resamples"] == 0 and row["judged_over"] == OVER_REPLAYS
    )
    orders = orders_for(grid, 200, 0)
    ours = simulate(grid, local(grid, 72), orders)[:, 0]
    theirs = simulate(grid, planned(3, 1)["random_search"][0](grid, 72), orders)[:, 0]
    held = grid.scores["validation_seed_1"]
    shares = np.bincount(ours, minlength=16) / 200 - np.bincount(theirs, minlength=16) / 200
    shared = np.sum(grid.noise["validation_seed_1"] * shares**2)
    interval = mean_interval(held[ours] - held[theirs], 0.95, -1, 1, shared)
    assert (row["difference_low"], row["difference_high"]) == pytest.approx(
        (interval.low, interval.high)
    )
    verdict = judge(held[ours] - held[theirs], 0.003, 4, shared_variance=shared)
    assert (row["verdict"], row["power"]) == (verdict.outcome, pytest.approx(verdict.power))
    # Regret to the space's known best on the evidence, beside the accuracy.
    assert row["median_regret"] == pytest.approx(np.median(held.max() - held[ours]))


def test_on_an_enumerated_grid_asha_runs_once_per_seed_and_stops_where_a_fresh_run_would(
    monkeypatch,
):
    """ASHA decides without knowing its cap: run once per sampling seed to the most compute,
    the prefix that fits a smaller one is exactly what ASHA run afresh within it trains."""
    from random_nas.analysis import replay_search
    from random_nas.analysis.replay_table import orders_for

    grid, _ = _enumerated_grid()
    orders = orders_for(grid, 12, 0)
    fresh = {epochs: simulate(grid, replay_search.asha_search(grid, epochs, 3), orders)
             for epochs in (1, 9, 20, 36, 72)}  # fmt: skip
    runs = []
    started = replay_search._asha_trainings
    monkeypatch.setattr(replay_search, "_asha_trainings",
                        lambda *args: runs.append(args[-1]) or started(*args))  # fmt: skip
    once = replay_search.AshaReplay(3, most_epochs=72)
    for epochs, expected in fresh.items():
        np.testing.assert_array_equal(simulate(grid, once(grid, epochs), orders), expected)
    assert runs == [72] * 12
    assert once(grid, 0) is None


def _enumerated_grid_file(folder: Path) -> tuple[Path, pd.DataFrame, dict]:
    """A grid.parquet of every architecture of a 512-architecture space at 1 and 3 epochs (a
    table as a run writes it, its config in the metadata), each setting of each layer adding
    to the accuracy, as mutation and local moves count on."""
    from random_nas.results import METADATA_PREFIX, write_table
    from random_nas.space import SearchSpace

    search_space = {"num_layers": 3, "filters": [8, 12], "kernel_sizes": [3, 5],
                    "strides": [1, 2]}  # fmt: skip
    space = SearchSpace.from_config(search_space)
    noise = np.random.default_rng(3).normal(0, 0.002, space.size)
    rows = []
    for index in range(space.size):
        arch = space.decode(index)
        gains = [0.006 * (layer.filters == 12) + 0.004 * (layer.kernel_size == 5)
                 + 0.008 * (layer.stride == 1) for layer in arch.layers]  # fmt: skip
        full = round(0.9 + sum(gains) + noise[index], 3)
        layers = {
            f"layer_{n:02d}_{key}": value
            for n, layer in enumerate(arch.layers, start=1)
            for key, value in layer.to_dict().items()
        }
        for epochs, short in ((1, 0.04), (3, 0.0)):
            rows.append({"arch_id": arch.arch_id, "draw": index, "seed": 0, "epochs": epochs,
                         "status": "ok", "val_accuracy": full - short, "val_loss": 1.0,
                         "test_accuracy": full - short - 0.01, "test_loss": 1.0,
                         "train_seconds": float(epochs), "flops": 1000 + index, "params": 10,
                         "peak_memory_bytes": 1, "architecture": json.dumps(arch.to_dict()),
                         **layers})  # fmt: skip
    config = {"run": "enumerated", "dataset": {"name": "mnist5k"}, "seed": 0,
              "search_space": search_space, "training": {"epochs": 3},
              "search": {"min_epochs": 1, "eta": 3}}  # fmt: skip
    table = pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)
    path = folder / "grid.parquet"
    write_table(
        table.replace_schema_metadata({f"{METADATA_PREFIX}config": json.dumps(config)}), path
    )
    return path, pd.DataFrame(rows), config


def test_syne_tunes_own_regularized_evolution_on_the_export_agrees_with_the_replay(tmp_path):
    """The export of a grid of the whole space, checked by its checksums, loads in Syne Tune,
    whose own regularized evolution (its searcher and scheduler, run by its simulator) finds
    on it what this project's replay of regularized evolution finds, within Monte-Carlo error."""
    blackbox_tabular = pytest.importorskip(
        "syne_tune.blackbox_repository.blackbox_tabular",
        reason="syne-tune is a test extra: pip install -e '.[test]'",
    )
    import logging

    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.optimizer.baselines import RegularizedEvolution, SingleObjectiveScheduler

    from random_nas.analysis.replay import enumerated_grid
    from random_nas.analysis.replay_search import LiveReplay
    from random_nas.analysis.replay_table import orders_for
    from random_nas.export import export_grid
    from random_nas.space import SearchSpace

    path, trials, config = _enumerated_grid_file(tmp_path)
    out = export_grid(path, tmp_path / "export")
    listed = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True,
                            text=True, check=True).stdout  # fmt: skip
    assert "table.parquet: OK" in listed and "objectives_evaluations.npy: OK" in listed
    (blackbox,) = blackbox_tabular.deserialize(str(out)).values()
    assert len(blackbox.all_configurations()) == 512
    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    trainings, theirs = 40, []
    for seed in range(120):
        space = blackbox.configuration_space
        searcher = RegularizedEvolution(space, population_size=10, sample_size=3, random_seed=seed)
        scheduler = SingleObjectiveScheduler(
            space, metric="val_accuracy", do_minimize=False, searcher=searcher, random_seed=seed
        )
        tuner = Tuner(
            trial_backend=UserBlackboxBackend(blackbox=blackbox, elapsed_time_attr="train_seconds"),
            scheduler=scheduler,
            stop_criterion=StoppingCriterion(max_num_trials_finished=trainings),
            n_workers=1, sleep_time=0, callbacks=[SimulatorCallback()], save_tuner=False,
            results_update_interval=10**6, print_update_interval=10**6,
        )  # fmt: skip
        tuner.run()
        found = tuner.tuning_status.get_dataframe()
        theirs.append(found[found["trial_id"] < trainings]["val_accuracy"].max())
    space = SearchSpace.from_config(config["search_space"])
    grid = enumerated_grid(dense_grid(trials, [1, 3], 100, 10), space, None)
    settings = {"population_size": 10, "sample_size": 3}
    ours = LiveReplay({"strategy": "regularized_evolution", "settings": settings, "eta": 3},
                      config["search_space"], classes=10)  # fmt: skip
    orders = orders_for(grid, 400, 0)
    mine = grid.outcome[simulate(grid, ours(grid, 3 * trainings), orders)[:, 0]]
    error = np.hypot(np.std(theirs, ddof=1) / np.sqrt(120), mine.std(ddof=1) / np.sqrt(400))
    assert abs(mine.mean() - np.mean(theirs)) < 4 * error
    # Where evolution is far from random search, so that agreeing says something: a searcher
    # that found what random search finds would miss the agreement by two errors or more.
    # (Syne Tune's simulator does not repeat its runs exactly, so `error` varies a little.)
    random_search = planned_search(grid, "random_search", 3 * trainings, 3, 1)
    drawn = grid.outcome[simulate(grid, random_search, orders)[:, 0]]
    assert mine.mean() - drawn.mean() > 6 * error


def test_local_searchs_reach_is_how_many_settings_its_pick_lies_from_where_it_began():
    from random_nas.analysis.landscape import local_reach

    grid, space = _enumerated_grid()
    ids = [space.decode(index).arch_id for index in range(6)]
    # Architectures 1 and 5 differ in the second layer's filters; 5 scores highest of the six.
    walks = {0: ids, 1: [ids[5], *ids[:5]]}
    (row,) = local_reach(grid, space, walks, start=3).itertuples()
    assert row.measure == "local search: settings moved in 6 trainings"
    assert row.value == 0.5 and "over 2 replays (most 1)" in row.over
