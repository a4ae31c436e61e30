"""Replayed searches that others implement: asynchronous successive halving run by Syne Tune's
own scheduler, and the ask/tell strategies that can act on a grid's finite set of
architectures (random_nas.strategies), each met in the simulation's shared order.

Costs are this pipeline's: a training at a budget is trained from scratch (a store entry of
its own), so ASHA's trial that reaches 9 epochs through rungs of 1 and 3 has cost 13, as a
synchronous halving's does; Syne Tune's own simulator charges only the increments, as a
training that continues from its checkpoint would."""

from __future__ import annotations

import datetime
import logging

import numpy as np

from random_nas.analysis.replay import SELECTING, Grid, Search, _pick
from random_nas.space import SearchSpace
from random_nas.strategies.protocol import Observation, SearchContext
from random_nas.strategies.registry import StrategyError, strategy_class

# A diverged training, as ASHA is told it: below every accuracy.
_DIVERGED = -1.0


def asha_search(grid: Grid, epochs: int, eta: int) -> Search | None:
    """Syne Tune's ASHA (one bracket, grace period the ladder's first budget, reduction
    factor eta, stopping type) within `epochs`, one trial at a time, new trials taking the
    order's draws; its pick is the best at the highest budget a trial reached."""
    budgets = grid.budgets
    if epochs < budgets[0]:
        return None
    from syne_tune.backend.trial_status import Trial
    from syne_tune.config_space import choice
    from syne_tune.optimizer.baselines import ASHA
    from syne_tune.optimizer.scheduler import SchedulerDecision

    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    space = {"draw": choice(list(range(grid.size)))}
    created = datetime.datetime(2000, 1, 1)

    def run(order: np.ndarray, keys: np.ndarray) -> tuple[int, int, int]:
        scheduler = ASHA(space, metric="accuracy", time_attr="epochs", max_t=budgets[-1],
                         do_minimize=False, random_seed=0, grace_period=budgets[0],
                         reduction_factor=eta,
                         points_to_evaluate=[{"draw": int(d)} for d in order])  # fmt: skip
        spent, reached = 0, {}
        for trial_id in range(grid.size):
            draw = int(scheduler.suggest().config["draw"])
            trial = Trial(trial_id=trial_id, config={"draw": draw}, creation_time=created)
            scheduler.on_trial_add(trial)
            for column, budget in enumerate(budgets):
                if spent + budget > epochs:
                    return _best_reached(keys, reached), spent, len(reached)
                spent += budget
                reached[draw] = column
                value = grid.accuracy[draw, column]
                result = {"epochs": budget, "accuracy": value if np.isfinite(value) else _DIVERGED}
                if scheduler.on_trial_result(trial, result) == SchedulerDecision.STOP:
                    break
        return _best_reached(keys, reached), spent, len(reached)

    return run


def _best_reached(keys: np.ndarray, reached: dict[int, int]) -> int:
    highest = max(reached.values())
    members = np.array([draw for draw, column in reached.items() if column == highest])
    return _pick(keys, members, highest)


def ask_tell_search(
    grid: Grid, name: str, settings: dict, space: SearchSpace, epochs: int
) -> Search | None:
    """An ask/tell strategy within `epochs`, asked one training at a time; its candidates are
    the grid's architectures in the simulation's order, and it is seeded from that order.
    A strategy that cannot act on a grid is refused in one line (StrategyError)."""
    kind = strategy_class(name)
    if not getattr(kind, "REPLAYABLE", True):
        raise StrategyError(
            f"config report.replay_strategies names {name!r}, which cannot be replayed on a "
            f"dense grid: {kind.WHY_NOT_REPLAYABLE}"
        )
    full = grid.budgets[-1]
    if epochs < full or not grid.architectures:
        return None

    def run(order: np.ndarray, keys: np.ndarray) -> tuple[int, int, int]:
        seed = int(np.random.default_rng(order).integers(2**31))
        candidates = tuple(grid.architectures[d] for d in order)
        context = SearchContext(space, seed, full, settings, grid.budgets, candidates=candidates)
        strategy = kind(context)
        free = {d: grid.arch_ids[d] for d in order}
        trained, spent = [], 0
        while True:
            proposals = strategy.ask(1)
            if not proposals or spent + proposals[0].epochs > epochs:
                break
            proposal = proposals[0]
            draw = next((d for d, a in free.items() if a == proposal.arch.arch_id), None)
            if draw is None or proposal.epochs not in grid.budgets:
                raise StrategyError(
                    f"strategy {name!r} proposed {proposal.arch.arch_id} at {proposal.epochs} "
                    "epochs, which the grid does not hold: it cannot be replayed here"
                )
            del free[draw]
            spent += proposal.epochs
            value = grid.accuracy[draw, grid.budgets.index(proposal.epochs)]
            status = "ok" if np.isfinite(value) else "diverged"
            score = float(value) if status == "ok" else float(grid.scores[SELECTING][draw])
            strategy.tell([Observation(proposal.arch, proposal.epochs, score, status)])
            if proposal.epochs == full:
                trained.append(draw)
        if not trained:
            return int(order[0]), spent, 0
        return _pick(keys, np.array(trained)), spent, len(trained)

    return run
