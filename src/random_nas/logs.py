"""Logging for workflow scripts: to the rule's log file and to stderr."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from random_nas.files import InputFileError

_LAYOUT = ("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")


class _WithoutTraceback(logging.Formatter):
    """The message alone: a traceback belongs in the log file, not on the console."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(
            logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        )


def log_to(path: str) -> logging.Logger:
    """Send the package's log records to `path` (the rule's `log:`, tracebacks included) and,
    one line each, to stderr."""
    root = logging.getLogger("random_nas")
    root.setLevel(logging.INFO)
    for handler, formatter in (
        (logging.FileHandler(path), logging.Formatter(*_LAYOUT)),
        (logging.StreamHandler(sys.stderr), _WithoutTraceback(*_LAYOUT)),
    ):
        handler.setFormatter(formatter)
        root.addHandler(handler)

    def uncaught(
        kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        # An input the message explains is one line; anything else keeps its traceback (in
        # the log file; the console shows its last line).
        if issubclass(kind, KeyboardInterrupt):
            root.warning("interrupted: nothing of this job is published; the next run resumes it")
        elif issubclass(kind, InputFileError):
            root.error("%s", error)
        else:
            root.error("%s: %s", kind.__name__, error, exc_info=(kind, error, trace))

    sys.excepthook = uncaught
    return root


@contextmanager
def also_log_to(path: str | os.PathLike[str]) -> Iterator[None]:
    """While inside, send the package's log records to `path` too (appended: the log of an
    entry's training keeps every attempt's lines)."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter(*_LAYOUT))
    root = logging.getLogger("random_nas")
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
