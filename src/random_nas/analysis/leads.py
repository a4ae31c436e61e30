"""How far one model leads another, and whether the lead is beyond noise: decided here, worded
in random_nas.findings. Two models scored on the same images are paired (an exact McNemar test
on the images only one classifies correctly, where each image's correctness is recorded);
without that record, the interval of a difference of two independent accuracies, which the
sentence says."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from random_nas.analysis.draws import Z95, binomial_difference_se, mcnemar_exact
from random_nas.correctness import unpack_correct

LEVEL = 0.05


@dataclass(frozen=True)
class Lead:
    """The first model's lead over the second on `images` images of one split: the
    difference, paired (McNemar: images only the first gets right, only the second, p) or
    not (the half-width of the independent 95 % interval), and whether it is beyond noise."""

    difference: float
    images: int
    paired: bool
    only_first: int = 0
    only_second: int = 0
    p_value: float = float("nan")
    half_width: float = float("nan")

    @property
    def beyond_noise(self) -> bool:
        if self.paired:
            return self.p_value < LEVEL and self.difference > 0
        return self.difference > self.half_width


def lead_on(first: pd.Series, second: pd.Series, split: str, images: int | None) -> Lead | None:
    """The lead of `first` over `second` on `split` (val or test), or None where the table
    holds no accuracy or no image count for it."""
    accuracy = (first.get(f"{split}_accuracy"), second.get(f"{split}_accuracy"))
    if not images or not all(isinstance(v, float) and np.isfinite(v) for v in accuracy):
        return None
    difference = float(accuracy[0] - accuracy[1])
    correct = (first.get(f"{split}_correct"), second.get(f"{split}_correct"))
    if all(isinstance(value, str) for value in correct):
        b, c, p_value = mcnemar_exact(*(unpack_correct(value, images) for value in correct))
        return Lead(difference, images, True, b, c, p_value)
    half_width = Z95 * binomial_difference_se(*accuracy, images)
    return Lead(difference, images, False, half_width=float(half_width))


@dataclass(frozen=True)
class SeedLead:
    """The lead of the first of two candidates by mean over the seeds that did not select
    them, on the test images (which ranked nothing), against the seeds' noise on test."""

    first: str
    second: str
    validation_gap: float
    test_gap: float
    error: float
    test_noise: float
    freedom: int

    @property
    def half_width(self) -> float:
        """The 95 % interval's half-width: a t quantile on the pooled noise's degrees of
        freedom (few seeds: the normal's 1.96 would understate it)."""
        return float(stats.t.ppf(0.975, self.freedom)) * self.error

    @property
    def beyond_noise(self) -> bool:
        return self.test_gap > self.half_width
