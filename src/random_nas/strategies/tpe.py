"""The tree-structured Parzen estimator (Bergstra et al., 2011), Optuna's TPESampler on the
space's settings, seeded, with the constant liar for batches (Optuna's answer to asking
several trials before any is told).

The glue: its startup trials are the run's first draws (random search's, trained once and
paired with it), enqueued in order. On a dense grid it may propose only the grid's
architectures: each proposal is moved to the nearest one not yet trained (fewest settings
apart, then earliest in the simulation's order), and the model is told what was trained."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from random_nas.space import Architecture
from random_nas.strategies.encoding import choices, distance, from_settings, to_settings
from random_nas.strategies.protocol import Observation, Proposal, Strategy


class TPE(Strategy):
    # Optuna's defaults: 10 startup trials, 24 candidates per proposal; multivariate, as
    # Falkner et al. (BOHB) found the joint density better than one per setting.
    SETTINGS: ClassVar[Mapping[str, Any]] = {
        "n_startup_trials": 10,
        "n_ei_candidates": 24,
        "multivariate": True,
    }

    def __init__(self, context) -> None:
        super().__init__(context)
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.distributions = {
            name: optuna.distributions.CategoricalDistribution(list(values))
            for name, values in choices(context.space).items()
            if len(values) > 1
        }
        self.constants = {
            name: values[0] for name, values in choices(context.space).items() if len(values) == 1
        }
        sampler = optuna.samplers.TPESampler(
            seed=context.seed,
            n_startup_trials=self.settings["n_startup_trials"],
            n_ei_candidates=self.settings["n_ei_candidates"],
            multivariate=self.settings["multivariate"],
            constant_liar=True,
        )
        self.study = optuna.create_study(direction="maximize", sampler=sampler)
        for arch in context.draws(self.settings["n_startup_trials"]):
            self.study.enqueue_trial(self._params(arch))
        self.asked: list[tuple[Any, Architecture]] = []
        self.trained: set[str] = set()

    def _params(self, arch: Architecture) -> dict[str, Any]:
        settings = to_settings(self.context.space, arch)
        return {name: settings[name] for name in self.distributions}

    def _nearest_candidate(self, arch: Architecture) -> Architecture:
        space, taken = self.context.space, self.trained | {a.arch_id for _, a in self.asked}
        free = [c for c in self.context.candidates or () if c.arch_id not in taken]
        if not free:
            return arch
        return min(free, key=lambda candidate: distance(space, arch, candidate))

    def ask(self, count: int) -> list[Proposal]:
        proposals = []
        for _ in range(count):
            trial = self.study.ask(self.distributions)
            arch = from_settings(self.context.space, {**self.constants, **trial.params})
            if self.context.candidates is not None:
                arch = self._nearest_candidate(arch)
            self.asked.append((trial, arch))
            proposals.append(Proposal(arch, self.context.epochs))
        return proposals

    def tell(self, observations: Sequence[Observation]) -> None:
        asked, self.asked = self.asked, []
        TrialState = self.optuna.trial.TrialState
        for (trial, arch), observation in zip(asked, observations, strict=True):
            self.trained.add(arch.arch_id)
            if observation.score is None:
                self.study.tell(trial, state=TrialState.FAIL)
            elif self._params(arch) == trial.params:
                self.study.tell(trial, observation.score)
            else:  # moved to the grid's nearest: the model learns what was trained
                self.study.tell(trial, state=TrialState.FAIL)
                self.study.add_trial(
                    self.optuna.trial.create_trial(
                        params=self._params(arch),
                        distributions=self.distributions,
                        value=observation.score,
                    )
                )
