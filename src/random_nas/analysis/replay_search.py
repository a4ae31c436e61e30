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
from random_nas.search_run import replayed_batches
from random_nas.space import SearchSpace
from random_nas.strategies.protocol import Observation, SearchContext
from random_nas.strategies.registry import StrategyError, replay_problem, strategy_class

# A diverged training, as ASHA is told it: below every accuracy.
_DIVERGED = -1.0


def asha_search(grid: Grid, epochs: int, eta: int) -> Search | None:
    """Syne Tune's ASHA (one bracket, grace period the ladder's first budget, reduction
    factor eta, stopping type) within `epochs`, one trial at a time, new trials taking the
    order's draws; its pick is the best at the highest budget a trial reached."""
    if epochs < grid.budgets[0]:
        return None

    def run(order: np.ndarray, keys: np.ndarray, seed: int) -> tuple[int, int, int]:
        return _within(grid, _asha_trainings(grid, order, eta, epochs), keys, epochs)

    return run


class AshaReplay:
    """ASHA on an enumerated grid, where a simulation's order is its sampling seed's stream:
    each seed's ASHA runs once, to `most_epochs`, and a search within less compute is the
    prefix of its trainings that fits (ASHA decides without knowing the cap)."""

    def __init__(self, eta: int, most_epochs: int) -> None:
        self.eta = eta
        self.most_epochs = most_epochs
        self.trainings: dict[tuple[int, bytes], list[tuple[int, int]]] = {}

    def __call__(self, grid: Grid, epochs: int) -> Search | None:
        if epochs < grid.budgets[0]:
            return None
        if epochs > self.most_epochs:
            self.most_epochs, self.trainings = epochs, {}

        def run(order: np.ndarray, keys: np.ndarray, seed: int) -> tuple[int, int, int]:
            known = (seed, order.tobytes())
            if known not in self.trainings:
                self.trainings[known] = _asha_trainings(grid, order, self.eta, self.most_epochs)
            return _within(grid, self.trainings[known], keys, epochs)

        return run


def _asha_trainings(grid: Grid, order: np.ndarray, eta: int, epochs: int) -> list[tuple[int, int]]:
    """The trainings (draw, budget's column) ASHA asks for, in order, until the next one
    would pass `epochs` or every draw has stopped."""
    from syne_tune.backend.trial_status import Trial
    from syne_tune.config_space import choice
    from syne_tune.optimizer.baselines import ASHA
    from syne_tune.optimizer.scheduler import SchedulerDecision

    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    budgets = grid.budgets
    created = datetime.datetime(2000, 1, 1)
    scheduler = ASHA({"draw": choice(list(range(grid.size)))}, metric="accuracy",
                     time_attr="epochs", max_t=budgets[-1], do_minimize=False, random_seed=0,
                     grace_period=budgets[0], reduction_factor=eta,
                     points_to_evaluate=[{"draw": int(d)} for d in order])  # fmt: skip
    spent, trainings = 0, []
    for trial_id in range(grid.size):
        draw = int(scheduler.suggest().config["draw"])
        trial = Trial(trial_id=trial_id, config={"draw": draw}, creation_time=created)
        scheduler.on_trial_add(trial)
        for column, budget in enumerate(budgets):
            if spent + budget > epochs:
                return trainings
            spent += budget
            trainings.append((draw, column))
            value = grid.accuracy[draw, column]
            result = {"epochs": budget, "accuracy": value if np.isfinite(value) else _DIVERGED}
            if scheduler.on_trial_result(trial, result) == SchedulerDecision.STOP:
                break
    return trainings


def _within(
    grid: Grid, trainings: list[tuple[int, int]], keys: np.ndarray, epochs: int
) -> tuple[int, int, int]:
    """ASHA's search within `epochs`: its trainings up to the first that would pass it."""
    spent, reached = 0, {}
    for draw, column in trainings:
        if spent + grid.budgets[column] > epochs:
            break
        spent += grid.budgets[column]
        reached[draw] = column
    return _best_reached(keys, reached), spent, len(reached)


def _best_reached(keys: np.ndarray, reached: dict[int, int]) -> int:
    highest = max(reached.values())
    members = np.array([draw for draw, column in reached.items() if column == highest])
    return _pick(keys, members, highest)


def ask_tell_search(
    grid: Grid, name: str, settings: dict, space: SearchSpace, epochs: int
) -> Search | None:
    """An ask/tell strategy within `epochs`, asked one training at a time, seeded by the
    simulation; its candidates are the grid's architectures in the simulation's order. A
    strategy that moves through the space is refused in one line (StrategyError): on an
    enumerated grid every strategy replays as the live search itself (LiveReplay)."""
    kind = strategy_class(name)
    if (problem := replay_problem(name)) is not None:
        raise StrategyError(problem)
    full = grid.budgets[-1]
    if epochs < full or not grid.architectures:
        return None

    def run(order: np.ndarray, keys: np.ndarray, seed: int) -> tuple[int, int, int]:
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


class LiveReplay:
    """On an enumerated grid, the live search of `search` (strategy, settings, eta) with each
    simulation's sampling seed, in batches of one, every training read from the grid
    (search_run.replayed_batches: the strategy built, asked through the door and told as the
    live checkpoints do). Asked one at a time, a search within less compute asks a prefix of
    what it asks within more: each seed's search runs once, to `most_trainings` or the most
    compute asked of it."""

    def __init__(
        self, search: dict, search_space: dict, classes: int, most_trainings: int = 0
    ) -> None:
        self.search = {**search, "batch_size": 1}
        self.search_space = search_space
        self.classes = classes
        self.most_trainings = most_trainings
        self.searched: dict[int, tuple[int, list[str]]] = {}

    def __call__(self, grid: Grid, epochs: int) -> Search | None:
        full = grid.budgets[-1]
        if epochs < full:
            return None
        place = {arch_id: draw for draw, arch_id in enumerate(grid.arch_ids)}
        measured = {
            (arch_id, full): ("ok", float(value)) if np.isfinite(value) else ("diverged", None)
            for arch_id, value in zip(grid.arch_ids, grid.accuracy[:, -1], strict=True)
        }

        def run(order: np.ndarray, keys: np.ndarray, seed: int) -> tuple[int, int, int]:
            draws = [place[arch_id] for arch_id in self._asked(measured, seed, epochs // full)]
            pick = _pick(keys, np.array(draws)) if draws else int(order[0])
            return pick, len(draws) * full, len(draws)

        return run

    def _asked(self, measured: dict, seed: int, trainings: int) -> list[str]:
        """The architectures the search of `seed` trains within `trainings`, in order."""
        done = self.searched.get(seed)
        if done is None or (done[0] < trainings and len(done[1]) == done[0]):
            full = next(iter(measured))[1]
            budget = max(trainings, self.most_trainings)
            records = replayed_batches(measured, self.classes, search=self.search,
                                       search_space=self.search_space, seed=seed, epochs=full,
                                       budget=budget)  # fmt: skip
            done = (budget, [item["arch_id"] for r in records for item in r["proposals"]])
            self.searched[seed] = done
        return done[1][:trainings]
