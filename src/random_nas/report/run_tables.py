"""A run's tables read (`RunTables`), and what its report states decided from them
(`RunAnalysis`): the trainings each statistic uses, the expected best of n, the Pareto fronts,
seed noise, the rungs of a halving run and the Findings; the report (random_nas.report.run)
draws and lays them out."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from random_nas.analysis.draws import (
    COSTS,
    expected_best,
    pareto_front,
    rank_correlation_interval,
    ranked,
    scored_draws,
)
from random_nas.analysis.fidelity import Fidelity, Halving, choose_fidelity, halving_analysis
from random_nas.analysis.seeds import seed_statistics
from random_nas.files import InputFileError
from random_nas.findings import (
    chance_warning,
    halving_findings,
    mixed_hardware,
    run_findings,
    strategy_pick,
)
from random_nas.results import num_classes, read_table

STRATEGY_NAMES = {
    "random": "Random search",
    "random_search": "Random search",
    "successive_halving": "Successive halving",
    "hyperband": "Hyperband",
    "regularized_evolution": "Regularized evolution",
    "local_search": "Local search",
    "tpe": "TPE",
}


def searched_by_strategy(config: Mapping[str, Any]) -> bool:
    """Whether the run's architectures were chosen by a strategy, not drawn uniformly."""
    strategy = config.get("search", {}).get("strategy", "random")
    return strategy not in ("random", "random_search", "successive_halving", "hyperband")


def strategy_name(config: Mapping[str, Any]) -> str:
    """How the report names the run's search strategy (a user's own by its class)."""
    strategy = config.get("search", {}).get("strategy", "random")
    return STRATEGY_NAMES.get(strategy, strategy.rpartition(":")[2])


def strategy_settings(config: Mapping[str, Any]) -> str:
    """The strategy with the settings that shaped what it trained."""
    search, epochs = config.get("search", {}), config.get("training", {}).get("epochs")
    strategy = search.get("strategy", "random")
    if strategy in ("successive_halving", "hyperband"):
        details = [f"eta {search.get('eta')}", f"min_epochs {search.get('min_epochs')}",
                   f"full budget {epochs} epochs"]  # fmt: skip
    elif strategy == "random":
        details = [f"{epochs} epochs each"]
    else:
        settings = (search.get("settings") or {}).items()
        details = [f"batches of {search.get('batch_size')}", f"{epochs} epochs each",
                   *(f"{key} {value}" for key, value in settings)]  # fmt: skip
    return f"{strategy_name(config)} ({', '.join(details)})"


@dataclass(frozen=True)
class RunTables:
    """A run's tables: its results table with the metadata collect stored (the config among
    it), and where the run has them, its repeats, trials, learning curves and dense grid."""

    frame: pd.DataFrame
    metadata: Mapping[str, Any]
    repeats: pd.DataFrame | None
    trials: pd.DataFrame | None
    curves: pd.DataFrame | None
    grid: pd.DataFrame | None

    @classmethod
    def read(
        cls,
        table_path: str | os.PathLike[str],
        repeats_path: str | os.PathLike[str] | None = None,
        trials_path: str | os.PathLike[str] | None = None,
        curves_path: str | os.PathLike[str] | None = None,
        grid_path: str | os.PathLike[str] | None = None,
    ) -> RunTables:
        table, metadata = read_table(table_path)
        return cls(
            frame=table.to_pandas(),
            metadata=metadata,
            repeats=read_table(repeats_path)[0].to_pandas() if repeats_path else None,
            trials=read_table(trials_path)[0].to_pandas() if trials_path else None,
            curves=pd.read_parquet(curves_path) if curves_path else None,
            grid=read_table(grid_path)[0].to_pandas() if grid_path else None,
        )

    @property
    def config(self) -> Mapping[str, Any]:
        return self.metadata.get("config", {})

    @property
    def sections(self) -> dict[str, bool]:
        """Which of the report's optional sections the run has."""
        return {
            "repeats": self.repeats is not None,
            "halving": self.halving_run,
            "curves": self.curves is not None,
        }

    @property
    def halving_run(self) -> bool:
        strategy = self.config.get("search", {}).get("strategy", "random")
        return self.trials is not None and strategy in ("successive_halving", "hyperband")


@dataclass(frozen=True)
class RunAnalysis:
    """What the report states, decided from the tables: the trainings each statistic uses
    (`fidelity`), the ranked `ok` trainings, the scored draws, the expected best of n, the
    Pareto fronts, the seed statistics, the rungs, and the Findings."""

    fidelity: Fidelity
    ok: pd.DataFrame
    scored: pd.DataFrame
    curve: pd.DataFrame
    fronts: dict[str, pd.DataFrame]
    seeds: pd.DataFrame
    halving: Halving | None
    correlation: tuple[float, float, float] | None
    statements: list[str]


def analyse(tables: RunTables, table_path: str | os.PathLike[str]) -> RunAnalysis:
    """Decide every statistic of the report, and the sentences that state them."""
    config, frame, repeats, trials = tables.config, tables.frame, tables.repeats, tables.trials
    selecting_seed = int(config.get("seed", 0))
    epochs = config.get("training", {}).get("epochs") or frame["epochs"].max()
    if pd.isna(epochs):
        raise InputFileError(f"results table {table_path} records no epochs in its config or rows")
    fidelity = choose_fidelity(frame, trials, repeats, int(epochs), selecting_seed, tables.grid)
    ok = ranked(fidelity.ranked)
    classes = num_classes(frame, config.get("dataset", {}).get("name"))
    scored = scored_draws(fidelity.draw_trainings, classes)
    curve = expected_best(scored["score"].to_numpy())
    seeds = (
        seed_statistics(repeats, selecting_seed, classes)
        if repeats is not None
        else pd.DataFrame(columns=["arch_id", "seeds", "val_mean", "val_sd", "test_mean"])
    )
    halving = halving_analysis(trials, config) if trials is not None else None
    correlation = rank_correlation_interval(ok["val_accuracy"], ok["test_accuracy"])
    statements = run_findings(
        ok,
        scored,
        curve,
        repeats,
        config.get("dataset", {}).get("val_size"),
        correlation,
        selecting_seed,
        fidelity,
        classes,
        searched=strategy_name(config) if searched_by_strategy(config) else None,
    )
    if halving is not None:
        statements = [
            strategy_pick(strategy_name(config), halving.picks, halving.ladder[-1]),
            *statements,
            *halving_findings(halving.table, halving.correlations, halving.comparison),
        ]
    warnings = [
        chance_warning(fidelity.draw_trainings, classes),
        mixed_hardware(pd.concat([frame, trials, repeats])),
    ]
    return RunAnalysis(
        fidelity=fidelity,
        ok=ok,
        scored=scored,
        curve=curve,
        fronts={cost: pareto_front(ok, cost) for cost in COSTS},
        seeds=seeds,
        halving=halving,
        correlation=correlation,
        statements=[warning for warning in warnings if warning is not None] + statements,
    )
