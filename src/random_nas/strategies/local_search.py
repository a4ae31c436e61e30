"""Local search as White, Zela, Ru, Liu and Hutter (2020) and NASLib run it: train `num_init`
random architectures, then every neighbour (one setting away) of the best, in a random order;
move to the best neighbour where it beats the architecture it surrounds, else restart from a
new random architecture. Own code: no maintained library offers it for an arbitrary space of
settings. Unlike NASLib it never asks for an architecture it has already trained."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from random_nas.space import Architecture
from random_nas.strategies.encoding import neighbours
from random_nas.strategies.protocol import Observation, Proposal, Strategy


class LocalSearch(Strategy):
    SETTINGS: ClassVar[Mapping[str, Any]] = {"num_init": 10}
    REPLAYABLE = False
    WHY_NOT_REPLAYABLE = (
        "it walks to neighbouring architectures, and a dense grid of sampled architectures "
        "holds almost none of them: run it live (search.strategy on a plain run)"
    )

    def __init__(self, context) -> None:
        super().__init__(context)
        self.rng = random.Random(context.seed)
        self.queue: list[Architecture] = context.draws(self.settings["num_init"])
        self.next_draw = len(self.queue)
        self.scores: dict[str, float | None] = {}
        self.pending = 0
        self.centre: tuple[Architecture, float] | None = None
        self.best: tuple[Architecture, float] | None = None
        self.restarting = False

    def ask(self, count: int) -> list[Proposal]:
        if not self.queue and not self.pending:
            self._next_neighbourhood()
        taken, self.queue = self.queue[:count], self.queue[count:]
        self.pending += len(taken)
        return [Proposal(arch, self.context.epochs) for arch in taken]

    def tell(self, observations: Sequence[Observation]) -> None:
        for observation in observations:
            self.pending -= 1
            self.scores[observation.arch.arch_id] = observation.score
            if observation.score is not None and (
                self.best is None or observation.score > self.best[1]
            ):
                self.best = (observation.arch, observation.score)

    def _next_neighbourhood(self) -> None:
        """Move to the best of the neighbourhood where it improved on its centre (or after
        the initial draws, or a restart); else restart from the stream's next draw."""
        improved = self.best is not None and (
            self.centre is None or self.restarting or self.best[1] > self.centre[1]
        )
        if improved:
            self.centre, self.restarting = self.best, False
            around = [
                arch
                for arch in neighbours(self.context.space, self.centre[0])
                if arch.arch_id not in self.scores
            ]
            self.rng.shuffle(around)
            self.queue = around
        if not self.queue:  # a local optimum (or nothing left around it): restart
            self.queue = self._unscored_draw()
            self.best, self.restarting = None, True

    def _unscored_draw(self) -> list[Architecture]:
        """The stream's next draw not yet scored (none once the space is spent): a restart
        from an architecture already trained would end the search with budget left."""
        space_size = self.context.space.size
        if self.context.candidates is not None:
            space_size = len(self.context.candidates)
        while self.next_draw < space_size:
            self.next_draw += 1
            drawn = self.context.draws(self.next_draw)[-1]
            if drawn.arch_id not in self.scores:
                return [drawn]
        return []
