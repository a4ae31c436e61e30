"""What the results table says: rankings, Pareto fronts, and how sure random search is.

Pure computations on a pandas frame of the results table; no plotting, no torch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COSTS = {
    "params": "parameters",
    "flops": "forward FLOPs per image",
    "train_seconds": "training seconds",
    "peak_memory_bytes": "peak memory (bytes)",
}


def ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """The `ok` candidates, best validation accuracy first (ties: fewer FLOPs, then arch_id)."""
    ok = frame[frame["status"] == "ok"]
    order = ok.sort_values(
        ["val_accuracy", "flops", "arch_id"], ascending=[False, True, True], kind="stable"
    )
    return order.assign(rank=np.arange(1, len(order) + 1)).reset_index(drop=True)


def pareto_front(frame: pd.DataFrame, cost: str, score: str = "val_accuracy") -> pd.DataFrame:
    """Rows not dominated on (higher `score`, lower `cost`), cheapest first."""
    rows = frame.dropna(subset=[cost, score]).sort_values(
        [cost, score, "arch_id"], ascending=[True, False, True], kind="stable"
    )
    best_so_far = rows[score].cummax().shift(fill_value=-np.inf)
    return rows[rows[score] > best_so_far]


def expected_max(values: np.ndarray, max_samples: int | None = None) -> pd.DataFrame:
    """Expected best value (and its standard deviation) of n draws with replacement from
    `values`, for n = 1..max_samples, by the exact order-statistics formula of
    Dodge et al., "Show Your Work" (2019): P(max = v_(i)) = (i/N)^n - ((i-1)/N)^n."""
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    count = len(ordered)
    if count == 0:
        return pd.DataFrame({"samples": [], "expected_max": [], "std": []})
    samples = np.arange(1, (max_samples or count) + 1)
    cumulative = np.arange(count + 1) / count
    probability = (
        cumulative[None, 1:] ** samples[:, None] - cumulative[None, :-1] ** samples[:, None]
    )
    mean = probability @ ordered
    variance = np.clip(probability @ ordered**2 - mean**2, 0, None)
    return pd.DataFrame({"samples": samples, "expected_max": mean, "std": np.sqrt(variance)})


def empirical_distribution(values: np.ndarray) -> pd.DataFrame:
    """The EDF F(e) = fraction of values <= e, one point per distinct value."""
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    distinct, counts = np.unique(ordered, return_counts=True)
    return pd.DataFrame({"value": distinct, "fraction": np.cumsum(counts) / len(ordered)})


def architecture_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-candidate summaries of the per-layer choices, for "what matters in the space"."""
    layers = sorted({int(name[6:8]) for name in frame.columns if name.startswith("layer_")})

    def columns(kind: str) -> pd.DataFrame:
        return frame[[f"layer_{number:02d}_{kind}" for number in layers]]

    strides = columns("stride")
    return pd.DataFrame(
        {
            "stride-2 layers": (strides == 2).sum(axis=1),
            "mean kernel size": columns("kernel_size").mean(axis=1),
            "total filters": columns("filters").sum(axis=1),
            "first-layer filters": columns("filters").iloc[:, 0],
        },
        index=frame.index,
    )


def rank_correlation(first: pd.Series, second: pd.Series) -> float:
    """Spearman's rank correlation (the Pearson correlation of the ranks)."""
    paired = pd.concat([first, second], axis=1).dropna()
    if len(paired) < 2:
        return float("nan")
    return float(paired.iloc[:, 0].rank().corr(paired.iloc[:, 1].rank()))
