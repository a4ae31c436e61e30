"""Logging for workflow scripts: to the rule's log file and to stderr."""

from __future__ import annotations

import logging
import sys


def log_to(path: str) -> logging.Logger:
    """Send the package's log records to `path` (the rule's `log:`) and to stderr."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    root = logging.getLogger("random_nas")
    root.setLevel(logging.INFO)
    for handler in (logging.FileHandler(path), logging.StreamHandler(sys.stderr)):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    return root
