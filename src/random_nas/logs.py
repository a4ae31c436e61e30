"""Logging for workflow scripts: to the rule's log file and to stderr."""

from __future__ import annotations

import logging
import sys


class _WithoutTraceback(logging.Formatter):
    """The message alone: a traceback belongs in the log file, not on the console."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(
            logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        )


def log_to(path: str) -> logging.Logger:
    """Send the package's log records to `path` (the rule's `log:`, tracebacks included) and,
    one line each, to stderr."""
    layout = ("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    root = logging.getLogger("random_nas")
    root.setLevel(logging.INFO)
    for handler, formatter in (
        (logging.FileHandler(path), logging.Formatter(*layout)),
        (logging.StreamHandler(sys.stderr), _WithoutTraceback(*layout)),
    ):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    return root
