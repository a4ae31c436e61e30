"""Which images a model classified correctly, kept compactly, and the paired test it allows.

Two models scored on the same validation images are compared image by image: their accuracies
are not independent proportions. numpy only: the trainer writes the bits, the report reads them.
"""

from __future__ import annotations

import base64
import math

import numpy as np


def pack_correct(correct: np.ndarray | None) -> str | None:
    """Per-image correctness as text: base64 of the bits, packed big-endian in image order."""
    if correct is None:
        return None
    bits = np.packbits(np.asarray(correct, dtype=bool).astype(np.uint8))
    return base64.b64encode(bits.tobytes()).decode("ascii")


def unpack_correct(text: str, images: int) -> np.ndarray:
    """The inverse of `pack_correct`: a boolean array of `images` entries."""
    bits = np.frombuffer(base64.b64decode(text), dtype=np.uint8)
    return np.unpackbits(bits)[:images].astype(bool)


def mcnemar_exact(first_correct: np.ndarray, second_correct: np.ndarray) -> tuple[int, int, float]:
    """The exact McNemar test of two models scored on the same images: the images only the
    first gets right (b), only the second (c), and the two-sided p-value of b against
    Binomial(b + c, 1/2)."""
    b = int(np.sum(first_correct & ~second_correct))
    c = int(np.sum(~first_correct & second_correct))
    n = b + c
    if n == 0:
        return b, c, 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n
    return b, c, min(1.0, 2 * tail)
