"""A dense grid's replay of search strategies: replay.csv, replay.md and its plot."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from random_nas.analysis.replay import TEST, dense_grid, replay, run_on_grid
from random_nas.files import atomic_path, write_text
from random_nas.findings import replay_findings
from random_nas.halving import config_ladder
from random_nas.report.plots import Figures, plot_replay, set_style
from random_nas.report_files import REPLAY_FILES
from random_nas.results import num_classes, read_table, train_images


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
    grid = dense_grid(trials, ladder, images, classes, repeats)
    search = config["search"]
    simulations = int(config.get("report", {}).get("replay_simulations", 1000))
    replayed = replay(grid, search["eta"], search["min_epochs"], simulations, int(config["seed"]))
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
    lines = replay_findings(replayed, grid, full_training)
    write_text(
        out / "replay.md",
        f"# Strategies replayed on the dense grid of {config.get('run')}\n\n## Findings\n\n"
        + "".join(f"- {line}\n" for line in lines),
    )
    return [out / name for name in REPLAY_FILES]
