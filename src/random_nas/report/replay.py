"""A dense grid's replay of search strategies: replay.csv, replay.md and its plot."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from random_nas.analysis.landscape import landscape, local_reach
from random_nas.analysis.replay import (
    TEST,
    Grid,
    compute_points,
    dense_grid,
    enumerated_grid,
    run_on_grid,
)
from random_nas.analysis.replay_table import Replayed, ReplaySettings, planned, replay
from random_nas.files import atomic_path, write_text
from random_nas.findings import replay_findings, replay_glance
from random_nas.halving import config_ladder
from random_nas.recipes import draw_size
from random_nas.report.plots import Figures, plot_replay, plot_replay_differences, set_style
from random_nas.report_files import REPLAY_FILES
from random_nas.results import num_classes, read_table, test_images, train_images
from random_nas.space import SearchSpace


def replayed_strategies(grid: Grid, config: dict, classes: int) -> dict[str, Replayed]:
    """The planned strategies, and those report.replay_strategies names (ASHA, ask/tell):
    on an enumerated grid an ask/tell strategy is its live search (LiveReplay) and ASHA runs
    once per sampling seed (AshaReplay), as many times as the planned ones; on a sampled grid
    they meet the grid's draws, a tenth as many."""
    from random_nas.analysis.replay_search import (
        AshaReplay,
        LiveReplay,
        asha_search,
        ask_tell_search,
    )

    search, space = config["search"], SearchSpace.from_config(config["search_space"])
    strategies = planned(search["eta"], search["min_epochs"])

    most_epochs = max(compute_points(grid), default=0)

    def searched_by(name: str) -> Replayed:
        if name == "asha" and grid.enumerated:
            return (AshaReplay(search["eta"], most_epochs), False)
        if name == "asha":
            return (lambda g, e: asha_search(g, e, search["eta"]), True)
        if grid.enumerated:
            live = {"strategy": name, "settings": {}, "eta": search["eta"]}
            trainings = most_epochs // grid.budgets[-1]
            return (LiveReplay(live, config["search_space"], classes, trainings), False)
        return (lambda g, e: ask_tell_search(g, name, {}, space, e), True)

    for name in config.get("report", {}).get("replay_strategies", []):
        strategies[name] = searched_by(name)
    return strategies


_SHOWN = {
    "count": lambda value: f"{int(value):,}",
    "rank": lambda value: f"{int(value):,}",
    "points": lambda value: f"{100 * value:.2f} points",
    "accuracy": lambda value: f"{100 * value:.2f} %",
    "coefficient": lambda value: f"{value:+.2f}",
    "settings": lambda value: f"{value:g}",
}


def _local_reach(grid: Grid, space: SearchSpace, strategies: dict[str, Replayed]) -> pd.DataFrame:
    """How far the replayed local searches moved (analysis.landscape.local_reach), where local
    search was replayed as its live search."""
    from random_nas.analysis.replay_search import LiveReplay
    from random_nas.strategies.protocol import resolved_settings
    from random_nas.strategies.registry import strategy_class

    walker = strategies.get("local_search", (None,))[0]
    if not isinstance(walker, LiveReplay):
        return pd.DataFrame()
    start = resolved_settings(strategy_class("local_search"), walker.search["settings"])
    walks = {seed: asked for seed, (_, asked) in walker.searched.items()}
    return local_reach(grid, space, walks, start["num_init"])


def unmeasured(grid_path: str | os.PathLike[str], grid: Grid, space: SearchSpace) -> str:
    """Why an enumeration's table is not its whole space: the architectures it lacks at some
    budget (a training that failed), which a replay of its space cannot do without."""
    lacking = sorted({space.decode(i).arch_id for i in range(space.size)} - set(grid.arch_ids))
    return (
        f"{grid_path}: the run enumerates its space of {space.size:,} architectures, but "
        f"{len(lacking):,} lack a measured training at some budget of {list(grid.budgets)} "
        f"({', '.join(lacking[:5])}{', ...' if len(lacking) > 5 else ''}): run the workflow "
        "again to retrain what failed, then replay"
    )


def landscape_lines(shape: pd.DataFrame) -> list[str]:
    """The landscape (analysis.landscape) as a section of replay.md."""
    return [
        "",
        "## The landscape",
        "",
        "What the grid says of its space: the spread of full-budget accuracies beside a training "
        "seed's noise, how alike the nearest architectures score (what evolution and local "
        "search count on), how a short training ranks as the full one does (what halving "
        "counts on), and where the best by validation stands on evidence that did not choose it.",
        "",
        "| measure | value | over |",
        "| --- | --- | --- |",
        *(
            f"| {row.measure} | {_SHOWN[row.unit](row.value)} | {row.over} |"
            for row in shape.itertuples()
        ),
    ]


def render_replay(
    grid_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    repeats_path: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Replay the strategies on a dense grid's table (its config says the ladder, eta, seed
    and simulations), the grid's repeats at other seeds as held-out evidence where given:
    replay.csv, replay.md and the plot, with this run's own searches as points."""
    table, metadata = read_table(grid_path)
    config = metadata.get("config", {})
    trials = table.to_pandas()
    repeats = read_table(repeats_path)[0].to_pandas() if repeats_path else None
    if repeats is not None:
        repeats = repeats[repeats["seed"] != config["seed"]]
    ladder = config_ladder(config)
    images = train_images(trials)
    classes = num_classes(trials, config["dataset"]["name"])
    space = SearchSpace.from_config(config["search_space"])
    grid = enumerated_grid(dense_grid(trials, ladder, images, classes, repeats), space,
                           test_images(trials))  # fmt: skip
    if draw_size(config) == space.size and not grid.enumerated:
        raise ValueError(unmeasured(grid_path, grid, space))
    search = config["search"]
    report = config.get("report", {})
    settings = ReplaySettings(
        simulations=int(report.get("replay_simulations", 1000)),
        resamples=int(report.get("replay_resamples", 200)),
        seed=int(config["seed"]),
        delta=float(report.get("replay_delta", 0.003)),
    )
    strategies = replayed_strategies(grid, config, classes)
    replayed = replay(grid, search["eta"], search["min_epochs"], settings, None, strategies)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "replay.csv") as temporary:
        replayed.to_csv(temporary, index=False, float_format="%.6g")
    full_training = ladder[-1] * images
    set_style()
    best = int(np.argmax(grid.outcome))
    points = [(f"random search, all {grid.size} draws", grid.size * ladder[-1], best)]
    halving = run_on_grid(grid, search["strategy"], search["eta"])
    if halving:
        points.append((f"this run's halving of {grid.size}", *halving))
    runs = pd.DataFrame(
        [
            {
                "label": label,
                "compute_epoch_images": epochs * images,
                "test_accuracy": grid.scores[TEST][pick],
            }
            for label, epochs, pick in points
        ]
    )
    Figures(out).save(plot_replay(replayed, full_training, runs), "replay")
    Figures(out).save(plot_replay_differences(replayed, full_training), "replay_differences")
    lines = replay_findings(replayed, grid, full_training)
    shape, reach = landscape(grid, space), _local_reach(grid, space, strategies)
    if len(reach):
        shape = pd.concat([shape, reach], ignore_index=True)
    glance = "".join(f"{line}\n" for line in replay_glance(replayed, grid, full_training))
    write_text(
        out / "replay.md",
        f"# Strategies replayed on the dense grid of {config.get('run')}\n\n## Findings\n\n"
        + "".join(f"- {line}\n" for line in lines)
        + (
            f"\nAt a glance (plotted over every compute: replay_differences.svg):\n\n{glance}"
            if glance
            else ""
        )
        + "".join(f"{line}\n" for line in landscape_lines(shape)),
    )
    return [out / name for name in REPLAY_FILES]
