"""A search strategy of one's own: always try the untried candidate nearest to the best so far.

    search:
      strategy: docs/examples/nearest_to_best.py:NearestToBest
      settings: {pool: 200}

Live, its candidates are the first `pool` draws of the run's random stream; replayed on a
dense grid, the grid's architectures in the simulation's order. It starts where random search
starts (the first candidate), so its first training is shared with random search's.
"""

from typing import ClassVar

from random_nas.strategies.encoding import distance
from random_nas.strategies.protocol import Proposal, Strategy


class NearestToBest(Strategy):
    # Its settings (search.settings), each with its default: live, how many draws it chooses
    # among.
    SETTINGS: ClassVar[dict] = {"pool": 200}

    def __init__(self, context):
        super().__init__(context)  # checks search.settings against SETTINGS
        pool = context.candidates or context.draws(self.settings["pool"])
        self.untried = list(pool)
        self.best = None  # (architecture, validation accuracy)

    def ask(self, count):
        proposals = []
        for _ in range(min(count, len(self.untried))):
            if self.best is None:
                choice = self.untried[0]
            else:
                choice = min(
                    self.untried, key=lambda arch: distance(self.context.space, arch, self.best[0])
                )
            self.untried.remove(choice)
            proposals.append(Proposal(choice, self.context.epochs))
        return proposals

    def tell(self, observations):
        for seen in observations:
            if seen.score is not None and (self.best is None or seen.score > self.best[1]):
                self.best = (seen.arch, seen.score)
