"""The ask/tell protocol of a search strategy (stdlib only: the workflow checks a strategy's
name and settings when it is parsed).

A strategy is built from a SearchContext, asked for up to n Proposals (an architecture and the
epochs to train it for), and told the Observations of the trainings it asked for, batch by
batch. Given the same context and the same observations it must ask the same proposals: the
workflow rebuilds it at every checkpoint of a live search by asking and telling it the whole
history again, and refuses a strategy that asks otherwise than it did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from random_nas.space import Architecture, SearchSpace


@dataclass(frozen=True)
class Proposal:
    """One training a strategy asks for: an architecture of the space, for `epochs`."""

    arch: Architecture
    epochs: int


@dataclass(frozen=True)
class Observation:
    """What one asked-for training scored. `score`: its validation accuracy as every statistic
    counts it (a diverged training scores as chance; None for a failed one, which measured
    nothing); `status`: ok, diverged or failed."""

    arch: Architecture
    epochs: int
    score: float | None
    status: str


@dataclass(frozen=True)
class SearchContext:
    """What a strategy is built with.

    `seed`: the run's sampling seed; `draws(n)` are the first n architectures of its random
    stream, the ones random search trains, so that a strategy that starts from random
    architectures starts from those (trained once, and paired with random search's). `epochs`:
    the full budget; `ladder`: the budgets of a multi-fidelity search. `candidates`: where the
    strategy is replayed on a dense grid, the grid's architectures in this simulation's
    random order: it may propose only those (a strategy that cannot is refused there)."""

    space: SearchSpace
    seed: int
    epochs: int
    settings: Mapping[str, Any] = field(default_factory=dict)
    ladder: tuple[int, ...] = ()
    eta: int = 3
    candidates: tuple[Architecture, ...] | None = None

    def draws(self, count: int) -> list[Architecture]:
        """The first `count` architectures of the run's random stream (of the grid's order)."""
        if self.candidates is not None:
            return list(self.candidates[:count])
        return self.space.sample(min(count, self.space.size), self.seed) if count > 0 else []


class SettingsError(ValueError):
    """A strategy's setting is unknown or of the wrong type (one line naming it)."""


class Strategy:
    """The base of the strategies shipped here; a user's own needs only `__init__(context)`,
    `ask(count)` and `tell(observations)`, and may declare SETTINGS as this class does.

    SETTINGS: each setting the strategy reads from `search.settings`, with its default.
    REPLAYABLE: whether it can act on a dense grid's finite set of architectures."""

    SETTINGS: ClassVar[Mapping[str, Any]] = {}
    REPLAYABLE: ClassVar[bool] = True
    WHY_NOT_REPLAYABLE: ClassVar[str] = ""

    def __init__(self, context: SearchContext) -> None:
        self.context = context
        self.settings = resolved_settings(type(self), context.settings)

    def ask(self, count: int) -> list[Proposal]:
        raise NotImplementedError

    def tell(self, observations: Sequence[Observation]) -> None:
        raise NotImplementedError


def resolved_settings(kind: type, given: Mapping[str, Any]) -> dict[str, Any]:
    """A strategy's settings: its defaults, overridden by `given` (search.settings), each
    checked against its default's type."""
    defaults = dict(getattr(kind, "SETTINGS", {}))
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        known = ", ".join(defaults) or "none"
        raise SettingsError(
            f"config search.settings.{unknown[0]} is not a setting of {kind.__name__} "
            f"(its settings: {known})"
        )
    settings = {**defaults, **given}
    for key, value in given.items():
        default = defaults[key]
        expected = (int, float) if isinstance(default, float) else type(default)
        if default is not None and (
            isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, expected)
        ):
            raise SettingsError(
                f"config search.settings.{key} is {value!r}; {kind.__name__} expects "
                f"{type(default).__name__} (default {default!r})"
            )
    return settings
