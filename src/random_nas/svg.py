"""SVG that reads the same on every CPU.

Matplotlib writes coordinates with six decimals, and numpy's vectorised logarithms (a log axis)
round differently with the CPU's vector units: on an AVX2-only CPU a coordinate read
`63.902812` where an AVX-512 one gave `63.902813`, and the clip paths, whose ids hash their
geometry, got other ids. A published report re-rendered elsewhere then showed as changed. So
coordinates keep two decimals (a hundredth of a point, far below what a screen shows), and
ids that hash geometry are numbered in order of appearance.
"""

from __future__ import annotations

import re

DECIMALS = 2
# A decimal number with more decimals than kept, standing alone: not a version such as the
# XML declaration's 1.0 or a library's 3.10.8.
_NUMBER = re.compile(r"(?<![\d.])-?\d+\.\d{3,}(?![\d.])")  # more decimals than DECIMALS
# Matplotlib's ids: one letter for the kind (p: clip path, m: marker, h: hatch) and ten hex
# digits of a hash of the element.
_HASHED_ID = re.compile(r'id="([a-z])([0-9a-f]{10})"')


def _rounded(match: re.Match[str]) -> str:
    text = f"{float(match.group()):.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def stable_svg(text: str) -> str:
    """`text` (an SVG document) with rounded coordinates and ids numbered in order."""
    text = _NUMBER.sub(_rounded, text)
    hashed = {kind + digits: kind for kind, digits in _HASHED_ID.findall(text)}
    order = sorted(hashed, key=text.index)
    renamed = {name: f"{hashed[name]}{number}" for number, name in enumerate(order, start=1)}
    if not renamed:
        return text
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, renamed)) + r")\b")
    return pattern.sub(lambda match: renamed[match.group()], text)
