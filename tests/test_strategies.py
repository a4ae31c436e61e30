"""Search strategies through one protocol: deterministic given their seed and history, checked
before any job, searched live through the store batch by batch, replayed where they can act,
and a strategy of one's own from the docs alone."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
from conftest import (
    REPO,
    TINY_CONFIG,
    copy_repository,
    counting_trainings,
    run_snakemake,
    snakemake_command,
    write_config,
)
from scipy import stats

from random_nas.analysis.searches import Budget, Search
from random_nas.analysis.strategies import compare_strategies
from random_nas.findings import strategy_findings
from random_nas.search_run import ask_next, replayed_batches
from random_nas.space import SearchSpace
from random_nas.strategies.encoding import distance
from random_nas.strategies.protocol import Observation, SearchContext
from random_nas.strategies.registry import strategy_class, strategy_problem
from random_nas.strategies.search import Door, NotDeterministic, read_batch, rebuild

SEED_SPACE = SearchSpace(10, (24, 36, 48, 64), (3, 5, 7), (1, 2))
SHIPPED = ("random_search", "regularized_evolution", "local_search", "tpe")


def _score(arch) -> float:
    """A deterministic stand-in for a validation accuracy (unit tests train nothing)."""
    return (
        0.9
        + sum(layer.filters for layer in arch.layers) / 64e3
        - 0.002 * sum(layer.stride == 2 for layer in arch.layers)
    )


def _search(name: str, batches: int = 8, size: int = 3, settings=None) -> list[list[str]]:
    strategy = strategy_class(name)(SearchContext(SEED_SPACE, 7, 3, settings or {}))
    asked = []
    for _ in range(batches):
        proposals = strategy.ask(size)
        asked.append([proposal.arch.arch_id for proposal in proposals])
        strategy.tell([Observation(p.arch, p.epochs, _score(p.arch), "ok") for p in proposals])
    return asked


@pytest.mark.parametrize("name", SHIPPED)
def test_a_strategy_asks_the_same_given_its_seed_and_history(name):
    assert _search(name) == _search(name)
    assert sum(map(len, _search(name))) >= 20


def test_strategies_start_from_random_searchs_draws_and_move_one_setting():
    draws = [arch.arch_id for arch in SEED_SPACE.sample(10, 7)]
    for name in ("regularized_evolution", "local_search", "tpe"):
        asked = [arch_id for batch in _search(name) for arch_id in batch]
        assert asked[:10] == draws, name  # trained once, paired with random search's
    # Local search's first move: every proposal after the initial ten is one setting from
    # the best of them.
    strategy = strategy_class("local_search")(SearchContext(SEED_SPACE, 7, 3, {"num_init": 4}))
    initial = strategy.ask(4)
    strategy.tell([Observation(p.arch, 3, _score(p.arch), "ok") for p in initial])
    best = max(initial, key=lambda p: _score(p.arch)).arch
    assert all(distance(SEED_SPACE, p.arch, best) == 1 for p in strategy.ask(5))


def test_a_bad_strategy_or_setting_is_one_line_before_any_job(monkeypatch):
    assert "known: random, successive_halving" in strategy_problem("bohb", {})
    assert "search.settings.population is not a setting of RegularizedEvolution" in (
        strategy_problem("regularized_evolution", {"population": 10})
    )
    assert "search.settings.population_size is 'ten'; RegularizedEvolution expects int" in (
        strategy_problem("regularized_evolution", {"population_size": "ten"})
    )
    assert "is not a file" in strategy_problem("missing.py:Strategy", {})
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert "drives the package optuna, which is not installed: pip install -e" in (
        strategy_problem("tpe", {})
    )


def test_a_strategy_that_asks_otherwise_is_stopped_naming_the_batch():
    class Unseeded:
        def __init__(self, context):
            import random

            self.context, self.rng = context, random.Random()

        def ask(self, count):
            from random_nas.strategies.protocol import Proposal

            indices = [self.rng.randrange(self.context.space.size) for _ in range(count)]
            return [Proposal(self.context.space.decode(i), 3) for i in indices]

        def tell(self, observations):
            pass

    context = SearchContext(SEED_SPACE, 0, 3)
    first = Unseeded(context).ask(2)
    batch = read_batch(
        {"batch": 0, "done": False, "proposals": [
            {**p.arch.to_dict(), "arch_id": p.arch.arch_id, "epochs": 3} for p in first]}
    )  # fmt: skip
    with pytest.raises(NotDeterministic, match="for batch 0 where it asked"):
        rebuild(
            Unseeded(context),
            [batch],
            lambda p: Observation(p.arch, 3, 0.9, "ok"),
            Door("unseeded", SEED_SPACE, (3,)),
        )


SEARCH = {
    **TINY_CONFIG,
    "run": "rea",
    "num_architectures": 8,
    "dataset": {"val_size": 200, "train_size": 600, "test_size": 200},
    "training": {**TINY_CONFIG["training"], "epochs": 2},
    "search": {"strategy": "regularized_evolution", "batch_size": 2,
               "settings": {"population_size": 4, "sample_size": 2}},
}  # fmt: skip
SAME = ["arch_id", "draw", "batch", "status", "val_accuracy", "test_accuracy"]


def test_a_live_search_killed_mid_way_trains_nothing_twice_and_ends_as_an_uninterrupted_one(
    tmp_path,
):
    whole, killed = (copy_repository(tmp_path / name) for name in ("whole", "killed"))
    run_snakemake(whole, write_config(whole, SEARCH))
    expected = pd.read_parquet(whole / "results/rea/trials.parquet")[SAME]
    assert len(expected) == 8 and sorted(set(expected["batch"])) == [0, 1, 2, 3]

    environment, counter = counting_trainings(tmp_path / "hook", when="end")
    configfile = write_config(killed, SEARCH)
    process = subprocess.Popen(
        snakemake_command(configfile), cwd=killed, env={**os.environ, **environment},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not (killed / "results/rea/search/batch_2.json").exists():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=120)
    plan = run_snakemake(killed, configfile, "-n")
    assert "then ask (up to" in plan.stdout + plan.stderr
    # What its batches asked is named now (the last may still train), not "0 trainings".
    named = re.search(r"(\d+) trainings named now", plan.stdout + plan.stderr)
    asked = sorted((killed / "results/rea/search").glob("batch_*.json"))
    assert len(asked) >= 2 and named and int(named.group(1)) == 2 * len(asked)
    run_snakemake(killed, configfile, env=environment)
    finished = counter.read_text().split()
    assert len(finished) == len(set(finished)) == 8  # each training finished once
    table = pd.read_parquet(killed / "results/rea/trials.parquet")[SAME]
    pd.testing.assert_frame_equal(table, expected)
    assert (
        (killed / "results/rea/report/ranking.md")
        .read_text()
        .startswith("# Regularized evolution report: rea")
    )


def test_a_strategy_of_ones_own_from_the_docs_runs_live_and_in_replay(tmp_path):
    workdir = copy_repository(tmp_path / "work")
    shutil.copytree(REPO / "docs/examples", workdir / "docs/examples")
    own = "docs/examples/nearest_to_best.py:NearestToBest"
    live = {**SEARCH, "run": "own", "num_architectures": 4,
            "search": {"strategy": own, "batch_size": 2, "settings": {"pool": 20}}}  # fmt: skip
    run_snakemake(workdir, write_config(workdir, live))
    trials = pd.read_parquet(workdir / "results/own/trials.parquet")
    assert len(trials) == 4 and set(trials["batch"]) == {0, 1}
    grid = {**TINY_CONFIG, "run": "grid", "num_architectures": 6,
            "training": {**TINY_CONFIG["training"], "epochs": 3},
            "search": {"min_epochs": 1, "eta": 3, "dense_grid": True},
            "report": {"replay_simulations": 40, "replay_resamples": 0,
                       "replay_strategies": [own]}}  # fmt: skip
    run_snakemake(workdir, write_config(workdir, grid, "grid.yaml"))
    replay = pd.read_csv(workdir / "results/grid/report/replay.csv")
    assert own in set(replay["strategy"])
    refused = {**grid, "report": {**grid["report"], "replay_strategies": ["local_search"]}}
    result = run_snakemake(workdir, write_config(workdir, refused, "r.yaml"), "-n", check=False)
    assert result.returncode != 0
    assert "cannot be replayed on a dense grid of sampled architectures: it walks" in (
        result.stdout + result.stderr
    )


def _one_training_search(label: str, seed: int, accuracy: float) -> Search:
    """A search that spent one full training, its pick scoring `accuracy` on both splits."""
    trainings = pd.DataFrame(
        {"arch_id": [f"{label}-{seed}"], "epochs": [3], "status": ["ok"], "seed": [0],
         "val_accuracy": [accuracy], "test_accuracy": [accuracy], "flops": [1.0]}
    )  # fmt: skip
    return Search(label, seed, trainings, None, 3000, 3)


def test_several_strategies_against_random_search_are_judged_together():
    """Three strategies against one baseline ask three questions: a difference whose 95 %
    interval alone clears zero is not called a gain unless the Bonferroni interval (each at
    1 - 0.05/3), which holds for all three at once, clears it too."""
    baseline = [0.970, 0.972, 0.968, 0.975, 0.971]
    gains = {
        "lucky": [0.004, 0.0005, 0.003, 0.006, 0.0015],
        "clear": [0.010, 0.011, 0.009, 0.012, 0.010],
        "none": [0.001, -0.002, 0.0, 0.002, -0.001],
    }
    searches = [_one_training_search("random", s, a) for s, a in enumerate(baseline, 1)] + [
        _one_training_search(label, s, a + d)
        for label, differences in gains.items()
        for s, (a, d) in enumerate(zip(baseline, differences, strict=True), 1)
    ]
    points = {
        p.label: p for p in compare_strategies(searches, "random", 10) if p.evidence == "test"
    }
    for label, differences in gains.items():
        d = np.array(differences)
        half = stats.t.ppf(1 - 0.05 / 3 / 2, 4) * d.std(ddof=1) / np.sqrt(5)
        together = points[label].together
        assert together.level == pytest.approx(1 - 0.05 / 3)
        assert (together.low, together.high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert points["lucky"].difference.verdict == "a gain"  # alone, at 95 %
    assert points["lucky"].verdict == "inconclusive"  # with the other two
    assert points["clear"].verdict == "better"
    assert points["none"].verdict == "equivalent"  # within the default 0.3 points
    lines = strategy_findings(list(points.values()), "random")
    assert "at 98.3 %, the level at which the 3 strategies' intervals hold at once" in lines[0]
    assert "inconclusive at ±0.30 points; about" in lines[0] and "power 0." in lines[0]
    # One strategy alone is one question: its 95 % interval judges it.
    alone = compare_strategies(
        [s for s in searches if s.label in ("random", "lucky")], "random", 10
    )
    lucky = next(p for p in alone if p.label == "lucky" and p.evidence == "test")
    assert lucky.together == lucky.difference and lucky.verdict == "better"


def _searched(label: str, seed: int, flops: list[float], accuracy: list[float]) -> Search:
    """A search of full trainings in asking order, each of `flops`, scoring `accuracy`."""
    n = len(flops)
    trainings = pd.DataFrame(
        {"arch_id": [f"{label}-{seed}-{i}" for i in range(n)], "epochs": [3] * n,
         "status": ["ok"] * n, "seed": [0] * n, "val_accuracy": accuracy,
         "test_accuracy": accuracy, "flops": flops}
    )  # fmt: skip
    return Search(label, seed, trainings, None, 3000, 3)


def test_equal_compute_in_flops_cuts_each_search_at_what_its_baseline_spent():
    """Counted in FLOPs, a strategy proposing networks twice the size of random search's
    reaches random search's spend of n trainings after n / 2 of its own: at 4 trainings'
    worth it has trained 2, and its better third pick (found at its fourth training, by
    trainings) is not yet its pick; counted in trainings, it is. The cut follows the
    baseline's search with the same sampling seed, and each point states the other unit."""
    from random_nas.analysis.searches import FLOPS, TRAININGS

    searches = []
    for seed in (1, 2, 3):
        small = 1.0 + seed / 10  # each seed's random search draws networks of its own size
        searches.append(_searched("random", seed, [small] * 6, [0.90 + seed / 1000] * 6))
        searches.append(
            _searched("big", seed, [2 * small] * 6, [0.80, 0.85, 0.86, 0.99, 0.99, 0.99])
        )
    by_flops = compare_strategies(searches, "random", 10, unit=FLOPS)
    by_trainings = compare_strategies(searches, "random", 10, unit=TRAININGS)
    assert max(p.compute for p in by_flops) == max(p.compute for p in by_trainings) == 6

    def at_four(points: list) -> dict:
        return {p.label: p for p in points if p.compute == 4 and p.evidence == "test"}

    big, random = at_four(by_flops)["big"], at_four(by_flops)["random"]
    assert big.spent_trainings == pytest.approx(2.0) and random.spent_trainings == 4.0
    assert big.pick.mean == pytest.approx(0.85)
    assert big.spent_flops == pytest.approx(random.spent_flops) == pytest.approx(4.0)
    trained = at_four(by_trainings)["big"]
    assert trained.pick.mean == pytest.approx(0.99) and trained.spent_flops == pytest.approx(8.0)


def test_the_anytime_band_of_a_difference_holds_over_the_whole_curve():
    """A curve read as a curve needs a band that holds at every compute at once: on
    simulated paired-difference curves of 5 searches (random walks over 20 computes, true
    difference zero), the sup-t band covers the whole curve near its 95 %, where pointwise t
    intervals cover it two times in three; and a study's band contains the pointwise
    interval it widens."""
    from random_nas.analysis.strategies import sup_t_quantile

    generator = np.random.default_rng(1)
    covered = {"band": 0, "pointwise": 0}
    for _ in range(200):
        steps = generator.standard_normal((5, 20)) * np.linspace(1, 0.3, 20)
        curves = 0.3 * np.cumsum(steps, axis=1) + 0.2 * generator.standard_normal((5, 20))
        error = curves.std(axis=0, ddof=1) / np.sqrt(5)
        for kind, critical in (("band", sup_t_quantile(curves, draws=4000)),
                               ("pointwise", stats.t.ppf(0.975, 4))):  # fmt: skip
            covered[kind] += bool(np.all(np.abs(curves.mean(axis=0)) <= critical * error))
    assert covered["band"] / 200 >= 0.88 and covered["pointwise"] / 200 <= 0.75
    assert sup_t_quantile(curves[:, :1]) == pytest.approx(stats.t.ppf(0.975, 4), rel=0.03)
    searches = [
        _searched(label, seed, [1.0] * 6, list(0.9 + shift + generator.uniform(0, 0.02, 6)))
        for seed in (1, 2, 3, 4)
        for label, shift in (("random", 0.0), ("better", 0.01))
    ]
    for point in compare_strategies(searches, "random", 10):
        if point.label == "better":
            assert point.band.low <= point.difference.low <= point.difference.high
            assert point.difference.high <= point.band.high
            assert point.band.mean == pytest.approx(point.difference.mean)
    # Read as curves: a strategy far above the baseline at every compute departs from zero
    # there, one that differs by noise alone nowhere, and the report's sentence says which.
    from random_nas.analysis.strategies import curve_departures
    from random_nas.findings import curve_sentence

    base = {seed: list(0.9 + generator.uniform(0, 0.01, 4)) for seed in (1, 2, 3, 4)}
    curves = [
        _searched(
            label, seed, [1.0] * 4, [a + shift + generator.normal(0, 0.001) for a in base[seed]]
        )
        for seed in base
        for label, shift in (("random", 0.0), ("far", 0.05), ("near", 0.0))
    ]
    departures = curve_departures(compare_strategies(curves, "random", 10), "test")
    assert departures == {"far": [1.0, 2.0, 3.0, 4.0], "near": []}
    sentence = curve_sentence(departures, "random", "trainings")
    assert "far's band excludes zero at 1, 2, 3, 4 trainings' worth" in sentence
    assert "every other strategy's spans zero throughout" in sentence
    assert "none is told from random" in curve_sentence({"near": []}, "random", "flops")


def test_a_study_is_planned_from_a_pilot_before_it_trains(tmp_path, capsys):
    """plan-study reads a pilot's searches (here the published study) and says, per strategy,
    the searches that reach 80 % power against the planned study's delta at its family level,
    and what they cost: a smaller delta or more strategies need more."""
    from random_nas.analysis.verdicts import family_level, needed, power
    from random_nas.cli import main as cli
    from random_nas.report.study_plan import paired_spreads, plan_study
    from random_nas.studies import read_study, strategy_study

    pilot_path = REPO / "results/published/mnist5k-strategies/study.yaml"
    planned = tmp_path / "study.yaml"
    planned.write_text(
        "kind: strategies\nconfig: c.yaml\nsampling_seeds: [1, 2]\ndelta: 0.002\n"
        "strategies:\n  random search: {strategy: random}\n  TPE: {strategy: tpe}\n"
    )
    text = plan_study(planned, pilot_path)
    spreads, _, _ = paired_spreads(strategy_study(read_study(pilot_path), pilot_path))
    n = needed(0.002, spreads["TPE"], family_level(1))
    assert power(0.002, spreads["TPE"], n, 0.95) >= 0.8 > power(0.002, spreads["TPE"], n - 1, 0.95)
    assert f"| TPE | {100 * spreads['TPE']:.2f} | {n} |" in text
    assert "local search" not in text  # only the planned study's strategies
    assert n > needed(0.003, spreads["TPE"], family_level(3)) > 5
    assert cli(["plan-study", str(planned), "--pilot", str(pilot_path)]) == 0
    assert capsys.readouterr().out == text


def test_ties_are_broken_at_random_and_the_runs_rule_is_stated_beside():
    """Two trainings tie at the best validation accuracy; the run's rule (fewer FLOPs) takes
    one, the study scores the expectation over a random draw between them: their mean."""
    from random_nas.analysis.searches import FLOPS_TIES, RANDOM_TIES, pick_scores, picked

    search = _searched("s", 1, [2.0, 1.0, 3.0], [0.95, 0.97, 0.97])
    search.trainings["test_accuracy"] = [0.90, 0.91, 0.99]
    at_random = pick_scores(search, picked(search, 3, 10, Budget(), RANDOM_TIES), 10)
    by_rule = pick_scores(search, picked(search, 3, 10, Budget(), FLOPS_TIES), 10)
    assert at_random["test"] == pytest.approx(0.95) and by_rule["test"] == pytest.approx(0.91)
    assert at_random["validation"] == by_rule["validation"] == pytest.approx(0.97)


def test_the_test_images_shared_error_is_estimated_from_a_crossed_design():
    """Searches x images, every search scored on the same images: the variance the images'
    sampling adds to the mean is sigma_I^2 / N, estimated without bias whatever the
    searches' own spread and their interaction with the images."""
    from random_nas.analysis.strategies import shared_image_variance

    rng = np.random.default_rng(0)
    searches, images, sigma_image = 5, 1000, 0.05
    found = [
        shared_image_variance(
            rng.normal(0, 0.02, (searches, 1))  # each search's own level
            + rng.normal(0, sigma_image, (1, images))  # each image's difficulty, shared
            + rng.normal(0, 0.3, (searches, images))  # their interaction
        )
        for _ in range(400)
    ]
    assert np.mean(found) == pytest.approx(sigma_image**2 / images, rel=0.1)
    alone = shared_image_variance(rng.normal(0, 0.3, (5, images)))  # nothing shared
    assert alone < 0.3**2 / images / 5


ENUMERABLE_SPACE = {"num_layers": 2, "filters": [8, 12], "kernel_sizes": [3], "strides": [1, 2]}
ENUMERABLE = SearchSpace.from_config(ENUMERABLE_SPACE)  # 16 architectures


def _asked(records) -> list[list[tuple[str, int]]]:
    return [
        [(item["arch_id"], item["epochs"]) for item in record["proposals"]] for record in records
    ]


@pytest.mark.parametrize("name", SHIPPED)
def test_a_replay_asks_what_the_live_checkpoints_ask_batch_by_batch(name):
    """The live path: `ask_next` called as the checkpoint calls it, the strategy rebuilt from
    the history on disk every batch; the replay builds it once and tells it as it goes."""
    measured = {
        (arch.arch_id, 2): ("ok", _score(arch))
        for arch in (ENUMERABLE.decode(index) for index in range(ENUMERABLE.size))
    }
    search = {"strategy": name, "batch_size": 3, "eta": 3, "settings": {}}
    if name == "regularized_evolution":
        search["settings"] = {"population_size": 4, "sample_size": 2}
    given = {"search": search, "search_space": ENUMERABLE_SPACE, "seed": 5, "epochs": 2}
    live, metrics = [], []
    while not live or not live[-1]["done"]:
        live.append(ask_next(len(live), live, metrics, budget=10, **given))
        for item in live[-1]["proposals"]:
            status, accuracy = measured[(item["arch_id"], item["epochs"])]
            metrics.append({**item, "status": status, "val_accuracy": accuracy})
    replayed = replayed_batches(measured, 10, budget=10, **given)
    assert _asked(replayed) == _asked(live) and len(live) == 5  # 3 + 3 + 3 + 1, then done
    assert [record["spent_before"] for record in replayed] == [r["spent_before"] for r in live]


ENUMERATED = {
    **TINY_CONFIG,
    "run": "enumerated",
    "num_architectures": "all",
    "search_space": ENUMERABLE_SPACE,
    "training": {**TINY_CONFIG["training"], "epochs": 2},
}


def test_a_live_search_on_an_enumerated_space_asks_what_its_replay_asks(workdir, tmp_path):
    run_snakemake(
        workdir, write_config(workdir, ENUMERATED), "results/enumerated/candidates.parquet"
    )
    table = pd.read_parquet(workdir / "results/enumerated/candidates.parquet")
    assert len(table) == 16
    search = {"strategy": "regularized_evolution", "batch_size": 2,
              "settings": {"population_size": 4, "sample_size": 2}}  # fmt: skip
    live = {**ENUMERATED, "run": "live", "num_architectures": 7, "search": search}
    environment, counter = counting_trainings(tmp_path / "hook")
    configfile = write_config(workdir, live, "live.yaml")
    run_snakemake(workdir, configfile, "results/live/candidates.parquet", env=environment)
    assert counter.read_text() == ""  # every training it asked was an entry of the store
    batches = sorted(
        (workdir / "results/live/search").glob("batch_*.json"), key=lambda p: int(p.stem[6:])
    )
    asked = [json.loads(path.read_text()) for path in batches]
    measured = {
        (row.arch_id, int(row.epochs)): (row.status, row.val_accuracy) for row in table.itertuples()
    }
    replayed = replayed_batches(
        measured, 10, search={**search, "eta": 3}, search_space=ENUMERABLE_SPACE,
        seed=0, epochs=2, budget=7,
    )  # fmt: skip
    assert _asked(replayed) == _asked(asked) and len(asked) == 5  # 2 + 2 + 2 + 1, then done
