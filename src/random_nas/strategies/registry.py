"""The strategies a config may name: the workflow's own (`random`, `successive_halving`,
`hyperband`, fanned out when the workflow is parsed), the ask/tell strategies shipped here, and
a user's own (`search.strategy: path/to/file.py:ClassName`). Each is checked when the workflow
is parsed: a bad name, a missing package or a bad setting is one line, before any job."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from random_nas.strategies.protocol import SettingsError, resolved_settings

# Planned whole when the workflow is parsed (no ask/tell).
PLANNED = ("random", "successive_halving", "hyperband")
# Ask/tell strategies shipped here: the class, and the package it drives.
SHIPPED = {
    "random_search": ("random_nas.strategies.random_search:RandomSearch", None),
    "regularized_evolution": ("random_nas.strategies.evolution:RegularizedEvolution", "syne_tune"),
    "local_search": ("random_nas.strategies.local_search:LocalSearch", None),
    "tpe": ("random_nas.strategies.tpe:TPE", "optuna"),
}
EXTRA = "pip install -e '.[strategies]'"


class StrategyError(ValueError):
    """A strategy that cannot be used, in one line naming the key at fault."""


def is_live(name: str) -> bool:
    """Whether the strategy is asked batch by batch (every one but the workflow's own)."""
    return name not in PLANNED


def _from_file(reference: str) -> type:
    path_text, _, class_name = reference.rpartition(":")
    path = Path(path_text)
    if not path.is_file():
        raise StrategyError(
            f"strategy {reference!r} names {path}, which is not a file (a strategy of one's "
            "own, in search.strategy or report.replay_strategies, is path/to/file.py:ClassName "
            "relative to the directory Snakemake runs in)"
        )
    module_name = f"random_nas_user_strategy_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise StrategyError(
            f"config search.strategy: {path} raised {type(error).__name__}: {error}"
        ) from None
    if not hasattr(module, class_name):
        raise StrategyError(f"config search.strategy: {path} defines no {class_name!r}")
    return getattr(module, class_name)


def strategy_class(name: str) -> type:
    """The class `search.strategy` names (its package checked for, not imported)."""
    if ":" in name and name.partition(":")[0].endswith(".py"):
        kind = _from_file(name)
    elif name in SHIPPED:
        reference, package = SHIPPED[name]
        if package is not None and importlib.util.find_spec(package) is None:
            raise StrategyError(
                f"config search.strategy {name!r} drives the package {package}, which is not "
                f"installed: {EXTRA}"
            )
        module_name, _, class_name = reference.partition(":")
        kind = getattr(importlib.import_module(module_name), class_name)
    else:
        known = ", ".join([*PLANNED, *SHIPPED])
        raise StrategyError(
            f"config search.strategy is {name!r}; known: {known}, or a file of your own as "
            "path/to/file.py:ClassName"
        )
    for method in ("ask", "tell"):
        if not callable(getattr(kind, method, None)):
            raise StrategyError(
                f"config search.strategy {name!r}: {kind.__name__} has no {method}()"
            )
    return kind


def strategy_problem(name: str, settings: Mapping[str, Any]) -> str | None:
    """The one line that says what is wrong with a strategy and its settings, or None."""
    if not is_live(name):
        return "config search.settings is for ask/tell strategies only" if settings else None
    try:
        resolved_settings(strategy_class(name), settings)
    except (StrategyError, SettingsError) as error:
        return str(error)
    return None


def replay_problem(name: str, enumerated: bool = False) -> str | None:
    """Why `name` cannot be replayed on a dense grid (report.replay_strategies), or None; on
    a grid that enumerates its space every ask/tell strategy can act."""
    if name == "asha":
        if importlib.util.find_spec("syne_tune") is None:
            return f"config report.replay_strategies: asha is Syne Tune's, not installed: {EXTRA}"
        return None
    if name in PLANNED or name == "random_search":
        return f"config report.replay_strategies: {name!r} is replayed always; list others"
    try:
        kind = strategy_class(name)
    except StrategyError as error:
        return str(error).replace("search.strategy", "report.replay_strategies")
    if not enumerated and not getattr(kind, "REPLAYABLE", True):
        return (
            f"config report.replay_strategies names {name!r}, which cannot be replayed on a "
            f"dense grid of sampled architectures: {kind.WHY_NOT_REPLAYABLE}, or on a grid "
            "that enumerates its space (num_architectures: all)"
        )
    return None
