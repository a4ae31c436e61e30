"""What a strategy proposes is checked at the door, before anything trains: the count, the
space, the budget and the time an ask takes. A bad proposal stops the search in one line that
names the strategy and the batch, and leaves no batch file that would poison a rerun; a dry
run never calls the strategy; local search spends its whole budget."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from conftest import (
    TINY_CONFIG,
    copy_repository,
    run_snakemake,
    snakemake_command,
    write_config,
)

from random_nas.search_run import ask_next
from random_nas.space import SearchSpace
from random_nas.strategies.protocol import Observation, SearchContext
from random_nas.strategies.registry import strategy_class
from random_nas.strategies.search import ProposalRefused

STRATEGY = """
import time
from random_nas.space import Architecture, ConvLayer
from random_nas.strategies.protocol import Proposal, Strategy


class Misbehaving(Strategy):
    def ask(self, count):
        time.sleep(SLEEP)
        return [PROPOSE for arch in self.context.draws(count + EXTRA)]

    def tell(self, observations):
        pass
"""
OUTSIDE = "Proposal(Architecture((ConvLayer(8, 1, 1), ConvLayer(8, 1, 1))), self.context.epochs)"
# What each misbehaviour proposes, and the words of its refusal.
MISBEHAVIOURS = {
    "outside the space": (OUTSIDE, 0, 0, "is not in the search space: architecture has 2 layers"),
    "no epochs": ("Proposal(arch, 0)", 0, 0, "asks for 0 epochs; this search trains at 1"),
    "negative epochs": ("Proposal(arch, -1)", 0, 0, "asks for -1 epochs"),
    "more epochs than the budget": ("Proposal(arch, 5)", 0, 0, "asks for 5 epochs"),
    "too many": ("Proposal(arch, 1)", 0, 2, "asked for at most 2 proposals, it gave 4"),
    "not a proposal": ("arch", 0, 0, "not a Proposal of an Architecture"),
    "a sleeper": ("Proposal(arch, 1)", 30, 0, "took more than 1 s to ask (search.ask_seconds)"),
}


def strategy_file(folder, propose: str, sleep: float, extra: int):
    path = folder / "misbehaving.py"
    code = STRATEGY.replace("PROPOSE", propose).replace("SLEEP", str(sleep))
    path.write_text(code.replace("EXTRA", str(extra)))
    return f"{path}:Misbehaving"


@pytest.mark.parametrize("name", MISBEHAVIOURS)
def test_a_bad_proposal_is_refused_at_the_door_naming_the_strategy_and_batch(tmp_path, name):
    propose, sleep, extra, words = MISBEHAVIOURS[name]
    reference = strategy_file(tmp_path, propose, sleep, extra)
    started = time.monotonic()
    with pytest.raises(ProposalRefused) as refusal:
        ask_next(
            0,
            [],
            [],
            search={"strategy": reference, "settings": {}, "batch_size": 2, "eta": 3},
            search_space=TINY_CONFIG["search_space"],
            seed=0,
            epochs=1,
            budget=4,
            ask_seconds=1,
        )
    assert words in str(refusal.value)
    assert str(refusal.value).startswith(f"strategy {reference}, batch 0")
    assert "\n" not in str(refusal.value) and time.monotonic() - started < 10


def test_a_live_search_proposing_outside_its_space_stops_before_any_training(tmp_path):
    workdir = copy_repository(tmp_path / "work")
    reference = strategy_file(workdir, OUTSIDE, 0, 0)
    config = {**TINY_CONFIG, "run": "bad", "search": {"strategy": reference, "batch_size": 2}}
    configfile = write_config(workdir, config)
    for _attempt in range(2):  # a rerun meets the same refusal, not a poisoned batch file
        result = run_snakemake(workdir, configfile, check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert f"strategy {reference}, batch 0: proposal 1" in output
        assert "is not in the search space: architecture has 2 layers, space has 4" in output
        assert not list(workdir.glob("results/bad/search/batch_*.json"))
        assert not list(workdir.glob("results/store/*/*/*/seed_*"))


def test_a_dry_run_never_calls_the_strategy(tmp_path):
    workdir = copy_repository(tmp_path / "work")
    reference = strategy_file(workdir, "Proposal(arch, 1)", 600, 0)
    config = {**TINY_CONFIG, "run": "slow", "search": {"strategy": reference, "batch_size": 2}}
    try:
        plan = run_snakemake(workdir, write_config(workdir, config), "-n")
    except subprocess.TimeoutExpired:
        pytest.fail("the dry run called the sleeping strategy")
    assert "a dry run never asks it" in plan.stdout + plan.stderr


def test_local_search_restarts_from_an_unscored_draw_and_spends_its_budget():
    space = SearchSpace(2, (8, 12), (3, 5), (1, 2))  # 64 architectures
    for seed in range(20):
        context = SearchContext(space, seed, 1, {"num_init": 4})
        strategy = strategy_class("local_search")(context)
        asked = []
        while len(asked) < 20 and (proposals := strategy.ask(1)):
            asked += proposals
            arch = proposals[0].arch
            # A landscape of many local optima: scores by the first layer's filters alone.
            strategy.tell([Observation(arch, 1, arch.layers[0].filters / 100, "ok")])
        assert len(asked) == 20, f"seed {seed}: the search ended after {len(asked)} trainings"
        assert len({p.arch.arch_id for p in asked}) == 20


def test_a_live_searchs_batch_size_is_resolved_once_and_kept_under_other_cores(tmp_path):
    workdir = copy_repository(tmp_path / "work")
    config = {**TINY_CONFIG, "run": "live", "num_architectures": 2,
              "search": {"strategy": "random_search"}}  # fmt: skip
    configfile = write_config(workdir, config)
    run_snakemake(workdir, configfile)  # --cores 2: batches of 2
    first = json.loads((workdir / "results/live/search/batch_0.json").read_text())
    assert first["batch_size"] == 2 and len(first["proposals"]) == 2
    assert set(first["versions"]) >= {"optuna", "syne-tune"}
    for cores in (1, 4):  # a resume, a dry run or a cluster job given other cores
        result = subprocess.run(
            snakemake_command(configfile, "-n", cores=cores),
            cwd=workdir,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        assert "Nothing to be done" in result.stdout + result.stderr
