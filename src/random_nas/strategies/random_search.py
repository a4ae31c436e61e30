"""Random search as a strategy: the run's draws in their order, uniform without repeats."""

from __future__ import annotations

from collections.abc import Sequence

from random_nas.strategies.protocol import Observation, Proposal, Strategy


class RandomSearch(Strategy):
    """The first architectures of the run's random stream, as a plain run trains them (so a
    comparison's random search and a plain run of the same sampling seed share trainings)."""

    def __init__(self, context) -> None:
        super().__init__(context)
        self.asked = 0

    def ask(self, count: int) -> list[Proposal]:
        drawn = self.context.draws(self.asked + count)[self.asked :]
        self.asked += len(drawn)
        return [Proposal(arch, self.context.epochs) for arch in drawn]

    def tell(self, observations: Sequence[Observation]) -> None:
        """Random search learns nothing from what it is told."""
