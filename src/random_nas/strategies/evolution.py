"""Regularized evolution (Real et al., AAAI 2019), Syne Tune's searcher on the space's settings:
a child is its tournament winner with one setting (one attribute of one layer) drawn anew, and
the oldest member leaves the population.

The glue: the initial population is the run's first draws (random search's, trained once and
paired with it), and a member that failed to train is replaced by the stream's next draw, so
that the searcher never draws at random itself (Syne Tune draws those with numpy's global
generator, which no seed fixes). A batch stops where the population waits for results: the
first mutation needs the whole initial population told."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from random_nas.strategies.encoding import choices, from_settings, to_settings
from random_nas.strategies.protocol import Observation, Proposal, Strategy


class RegularizedEvolution(Strategy):
    # NATS-Bench's (Dong et al.): population 10, tournament of 3. Real et al. used 100 and 25
    # for thousands of trainings; at tens of trainings that population is random search.
    SETTINGS: ClassVar[Mapping[str, Any]] = {"population_size": 10, "sample_size": 3}
    REPLAYABLE = False
    WHY_NOT_REPLAYABLE = (
        "it mutates architectures, and a dense grid of sampled architectures holds almost none "
        "of their mutations: run it live (search.strategy on a plain run)"
    )

    def __init__(self, context) -> None:
        super().__init__(context)
        from syne_tune.config_space import choice
        from syne_tune.optimizer.schedulers.searchers.regularized_evolution import (
            RegularizedEvolution as Searcher,
        )

        space = context.space
        self.config_space = {
            name: choice(list(values)) if len(values) > 1 else values[0]
            for name, values in choices(space).items()
        }
        population = self.settings["population_size"]
        self.searcher = Searcher(
            self.config_space,
            points_to_evaluate=[to_settings(space, arch) for arch in context.draws(population)],
            population_size=population,
            sample_size=self.settings["sample_size"],
            random_seed=context.seed,
        )
        self.next_draw = population
        self.in_flight: dict[str, dict[str, Any]] = {}

    def _population_complete(self) -> bool:
        return len(self.searcher.population) >= self.settings["population_size"]

    def ask(self, count: int) -> list[Proposal]:
        proposals = []
        while len(proposals) < count:
            filled = len(self.searcher.population) + len(self.in_flight)
            if not self._population_complete():
                if filled >= self.settings["population_size"]:
                    break  # mutations wait for the whole population's results
                if not self.searcher.points_to_evaluate:
                    arch = self.context.draws(self.next_draw + 1)[-1]
                    self.searcher.points_to_evaluate.append(to_settings(self.context.space, arch))
                    self.next_draw += 1
            settings = self.searcher.suggest()
            arch = from_settings(self.context.space, settings)
            self.in_flight[f"{len(proposals)}:{arch.arch_id}"] = settings
            proposals.append(Proposal(arch, self.context.epochs))
        return proposals

    def tell(self, observations: Sequence[Observation]) -> None:
        asked = list(self.in_flight.values())
        self.in_flight.clear()
        for settings, observation in zip(asked, observations, strict=True):
            if observation.score is not None:  # a failed training measured nothing
                self.searcher.on_trial_complete(0, settings, 1.0 - observation.score)
