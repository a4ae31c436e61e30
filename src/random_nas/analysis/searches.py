"""A search of a study of strategies, and its pick at a compute: the best validation accuracy
among the trainings it asked for first within that compute, ties broken at random (the mean
over the tied picks) or as a run picks (fewer FLOPs, then arch_id), scored on the evidence
that chose it and on evidence that did not.

Compute is counted in a unit the study names: `flops` (the default), each training costing
its epochs times its network's FLOPs, every search cut at the FLOPs that the baseline's search
with the same sampling seed spent in its first c full trainings, so that a strategy proposing
bigger networks spends its budget sooner; or `trainings`, each full training one whatever its
size. Each point states what the searches spent in the other unit beside it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from random_nas.analysis.draws import counted, ranked
from random_nas.correctness import unpack_correct

SELECTING, TEST = "validation", "test"
FLOPS, TRAININGS = "flops", "trainings"
# How a search's ties at the best validation accuracy are broken: at random (the study's), or
# by the run's own rule, fewer FLOPs then arch_id (stated beside).
RANDOM_TIES, FLOPS_TIES = "random", "flops"


@dataclass(frozen=True)
class Search:
    """One search: its trainings in the order it asked for them (`cost` in full trainings'
    worth each), the repeats of its final pick under other seeds, and the train images one
    epoch sees."""

    label: str
    seed: int
    trainings: pd.DataFrame
    repeats: pd.DataFrame | None
    train_images: int
    full_epochs: int
    # The test images every accuracy on test was measured on (None where not recorded).
    test_images: int | None = None


def _epoch_flops(search: Search) -> pd.Series:
    """Each training's epochs times its network's FLOPs, per full epochs, in asking order."""
    return search.trainings["epochs"] / search.full_epochs * search.trainings["flops"]


def _trainings(search: Search) -> pd.Series:
    return search.trainings["epochs"] / search.full_epochs


@dataclass(frozen=True)
class Budget:
    """How compute is counted. TRAININGS: a full training is one, whatever its size. FLOPS:
    compute c is the FLOPs the baseline's search with the same sampling seed spent in its
    first c full trainings' worth, so that each strategy is cut, pair by pair, at the FLOPs
    its baseline spent (`baseline`: seed: that search's cumulative trainings and FLOPs).
    `reference_flops`, the baseline's mean network, states either unit in the other."""

    unit: str = TRAININGS
    baseline: Mapping[int, pd.DataFrame] = field(default_factory=dict)
    reference_flops: float = float("nan")

    def cap(self, seed: int, compute: float) -> float:
        """The FLOPs a search with `seed` may spend at `compute` (FLOPS only)."""
        spent = self.baseline.get(seed)
        if spent is None:
            return float("nan")
        return float(spent.loc[spent["trainings"] <= compute + 1e-9, "flops"].max())

    def within(self, search: Search, compute: float) -> pd.DataFrame:
        """The trainings the search asked for first, within `compute`."""
        if self.unit == TRAININGS:
            return search.trainings[_trainings(search).cumsum() <= compute + 1e-9]
        cap = self.cap(search.seed, compute)
        return search.trainings[_epoch_flops(search).cumsum() <= cap * (1 + 1e-9)]

    def reach(self, search: Search) -> float:
        """The largest compute the search's trainings cover."""
        if self.unit == TRAININGS:
            return float(_trainings(search).sum())
        spent = self.baseline.get(search.seed)
        if spent is None:
            return 0.0
        total = _epoch_flops(search).sum() * (1 + 1e-9)
        covered = spent.loc[spent["flops"] <= total, "trainings"]
        return float(covered.max()) if len(covered) else 0.0


def budget(searches: Sequence[Search], baseline: str, unit: str) -> Budget:
    """The study's unit of compute (for FLOPS, each baseline search's cumulative spend), with
    the mean FLOPs of every network the baseline's searches trained (for random search, the
    space's mean network) to state either unit in the other."""
    ours = [s for s in searches if s.label == baseline]
    spent = {
        s.seed: pd.DataFrame(
            {"trainings": _trainings(s).cumsum(), "flops": _epoch_flops(s).cumsum()}
        )
        for s in ours
    }
    flops = pd.concat([s.trainings["flops"] for s in ours]) if ours else pd.Series(dtype=float)
    return Budget(unit, spent, float(flops.mean()))


def tied_best(
    search: Search, compute: float, classes: int, budget: Budget = Budget()
) -> pd.DataFrame:
    """The trainings tied at the best validation accuracy once `compute` was spent (the
    trainings it asked for first), in the run's order (fewer FLOPs, then arch_id); empty
    where nothing was measured by then."""
    best = ranked(counted(budget.within(search, compute), classes))
    return best[best["val_accuracy"] == best["val_accuracy"].iloc[0]] if len(best) else best


def picked(
    search: Search, compute: float, classes: int, budget: Budget, ties: str = RANDOM_TIES
) -> pd.DataFrame:
    """The pick at `compute`: with ties broken at random, every tied training (each is the
    pick with equal probability; its scores are their mean, the expectation over the draw);
    with FLOPS_TIES, the run's own pick, the first."""
    tied = tied_best(search, compute, classes, budget)
    return tied.iloc[:1] if ties == FLOPS_TIES else tied


def pick_scores(search: Search, pick: pd.DataFrame, classes: int) -> dict[str, float]:
    """What the pick (`picked`) scored on each evidence (nan where it has none). A pick
    retrained with another seed is scored there where the search repeated it (the run
    repeats its own pick)."""
    if pick.empty:
        return {SELECTING: np.nan, TEST: np.nan}
    scores = {
        SELECTING: float(pick["val_accuracy"].mean()),
        TEST: float(pick["test_accuracy"].mean()),
    }
    if search.repeats is not None:
        again = search.repeats.merge(pick[["arch_id", "epochs"]], on=["arch_id", "epochs"])
        for seed, rows in again.groupby("seed"):
            if seed != search.trainings["seed"].iloc[0]:
                scores[f"validation_seed_{seed}"] = float(
                    counted(rows, classes)["val_accuracy"].mean()
                )
    return scores


def pick_correct(search: Search, pick: pd.DataFrame) -> np.ndarray | None:
    """Which test images the pick (`picked`) classified correctly (tied at random: the share
    of the tied trainings that did); None where not recorded."""
    texts = pick.get("test_correct", pd.Series(dtype=object))
    if pick.empty or not search.test_images or texts.isna().any():
        return None
    return np.mean([unpack_correct(text, search.test_images) for text in texts], axis=0)


def compute_points(searches: Sequence[Search], budget: Budget = Budget()) -> list[float]:
    """Where to compare: every whole unit up to what every search spent."""
    least = min(budget.reach(s) for s in searches)
    return [float(c) for c in range(1, int(np.floor(least + 1e-9)) + 1)]


def spent_at(search: Search, compute: float, budget: Budget) -> dict[str, float]:
    within = budget.within(search, compute)
    trainings = float((within["epochs"] / search.full_epochs).sum())
    reference = budget.reference_flops
    flops = float((within["epochs"] * within["flops"]).sum() / search.full_epochs / reference)
    return {"spent_trainings": trainings, "spent_flops": flops}


# What a pick and its cost are read from: a search's table has many more columns, which
# would be copied at every compute.
PICKED_BY = ["arch_id", "epochs", "status", "seed", "val_accuracy", "test_accuracy", "flops",
             "test_correct"]  # fmt: skip


def slim(search: Search) -> Search:
    """The search with its table's columns that pick, as numpy arrays (pyarrow's are slow to
    filter a row at a time)."""
    kept = [column for column in PICKED_BY if column in search.trainings]
    table = search.trainings
    return replace(search, trainings=pd.DataFrame({c: table[c].to_numpy() for c in kept}))
