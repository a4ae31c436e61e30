"""What a store's files hold, read and checked without torch or pandas: an entry's metrics
record, the checksums written when it was published and the accuracies its own per-image
records give, a data recipe's record of its content, and the traces of entries taken out.

Nothing a store holds is trusted unchecked: anyone who shares the store writes into it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from contextlib import suppress
from pathlib import Path
from typing import Any

from random_nas.files import InputFileError, read_json
from random_nas.store.layout import DATA_RECORD, RETIRED

STATUSES = ("ok", "diverged", "failed")
# The keys without which a metrics file is not one.
REQUIRED_METRICS = ("arch_id", "status", "layers")


def read_metrics(path: str | os.PathLike[str]) -> dict[str, Any]:
    """An entry's (or a receipt's) metrics record, or an InputFileError naming the file."""
    metrics = read_json(path, required=REQUIRED_METRICS, what="metrics file")
    if metrics["status"] not in STATUSES:
        raise InputFileError(
            f"metrics file {path} has status {metrics['status']!r}, expected one of {STATUSES}"
        )
    return metrics


def recorded_content(folder: str | os.PathLike[str]) -> tuple[str, Path] | None:
    """The content SHA-256 that the store holds for the data recipe in `folder`, and where it
    is written: the recipe's data.json, else the first training entry's recipe."""
    folder = Path(folder)
    record = folder / DATA_RECORD
    if record.exists():
        return read_json(record, required=("sha256",), what="data record")["sha256"], record
    for metrics in folder.glob("*/*/seed_*/metrics.json"):
        recipe = read_json(metrics, what="metrics file").get("recipe")
        if recipe and recipe["dataset"].get("sha256"):
            return recipe["dataset"]["sha256"], metrics
    return None


def taken_out(store: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Every entry taken out of the store, by its key (data/recipe/arch_id/seed_N): the dates
    it was retired or removed. A run whose receipt predates one trains the entry again."""
    found: dict[str, list[str]] = {}
    for record in sorted(Path(store, RETIRED).glob("*/retired.json")):
        with suppress(OSError, ValueError, KeyError, TypeError):
            trace = json.loads(record.read_text(encoding="utf-8"))
            found.setdefault(trace["entry"], []).append(trace["date"])
    return found


# The SHA-256 of every file of an entry, written into it when it is published.
CHECKSUMS = "checksums.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(folder: str | os.PathLike[str]) -> dict[str, str]:
    """The SHA-256 of each file of a finished entry's folder, by name."""
    return {
        path.name: _sha256(path)
        for path in sorted(Path(folder).iterdir())
        if path.is_file() and path.name != CHECKSUMS
    }


def correct_count(packed: str, images: int) -> int:
    """How many images a per-image correctness record (random_nas.correctness.pack_correct:
    base64 of bits, big-endian, in image order) marks correct; stdlib, for the store's checks."""
    bits = base64.b64decode(packed, validate=True)
    whole, rest = divmod(images, 8)
    if len(bits) != whole + (rest > 0):
        raise ValueError(f"holds {len(bits) * 8} bits for {images} images")
    count = sum(byte.bit_count() for byte in bits[:whole])
    return count + (bits[whole] >> (8 - rest)).bit_count() if rest else count


def _accuracy_problems(metrics: dict[str, Any]) -> list[str]:
    """Where an accuracy disagrees with the entry's own per-image correctness record."""
    sizes = ((metrics.get("recipe") or {}).get("dataset") or {}).get("sizes") or {}
    found = []
    for split in ("val", "test"):
        packed, accuracy = metrics.get(f"{split}_correct"), metrics.get(f"{split}_accuracy")
        images = sizes.get(split)
        if not packed or not isinstance(accuracy, int | float) or not images:
            continue
        if not math.isfinite(accuracy):
            found.append(f"{split}_accuracy is {accuracy} beside a correctness record")
            continue
        try:
            count = correct_count(packed, images)
        except ValueError as error:
            found.append(f"its {split}_correct record is damaged ({error})")
            continue
        if abs(accuracy - count / images) > 0.5 / images:
            found.append(
                f"{split}_accuracy is {accuracy:.6g}, but its own per-image record counts "
                f"{count} of {images} images correct ({count / images:.6g})"
            )
    return found


def entry_problems(entry: str | os.PathLike[str]) -> list[str]:
    """What makes a published entry untrustworthy: a file that differs from the checksum it
    was published with, or is missing, and accuracies that disagree with the entry's own
    per-image correctness records. Entries published before checksums were written are
    checked for their accuracies alone."""
    entry, found = Path(entry), []
    record = entry / CHECKSUMS
    if record.is_file():
        try:
            recorded = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return [f"its {CHECKSUMS} is unreadable"]
        for name, expected in sorted(recorded.items()):
            path = entry / name
            if not path.is_file():
                found.append(f"{name} is missing")
            elif _sha256(path) != expected:
                found.append(f"{name} differs from the checksum it was published with")
    try:
        metrics = json.loads((entry / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [*found, "metrics.json is unreadable"]
    if isinstance(metrics, dict):
        found += _accuracy_problems(metrics)
    return list(dict.fromkeys(found))
