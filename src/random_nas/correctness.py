"""Which images a model classified correctly, kept compactly as text in its metrics file.

Two models scored on the same validation images are compared image by image (their accuracies
are not independent proportions: analysis.draws.mcnemar_exact). numpy only: the trainer writes
the bits, the report reads them.
"""

from __future__ import annotations

import base64

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
