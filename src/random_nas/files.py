"""Whole-or-nothing file writes and readers whose errors name the file.

A run is hours of training: a killed job must never leave half a metrics file or half a
table where a whole one is expected, so every output is written beside its target, flushed to
disk and renamed over it (an atomic step on POSIX file systems). The file gets the mode that
`open()` would give it under the process's umask: results on a shared file system stay
readable by colleagues and web servers.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any


class InputFileError(ValueError):
    """An input file is missing, truncated or not in the expected format."""


def _umask() -> int:
    # The only portable way to read the umask is to set it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync(path: str | os.PathLike[str], flags: int = os.O_RDONLY) -> None:
    handle = os.open(path, flags)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


@contextmanager
def atomic_path(
    target: str | os.PathLike[str], replace: bool = True, make_parent: bool = True
) -> Iterator[Path]:
    """Yield a temporary path next to `target`; on success make it durable, give it the mode
    a plain `open()` would (0666 less the umask; mkstemp makes 0600) and rename it onto
    `target`. With `replace=False` it becomes `target` only where none exists (a hard link,
    which unlike a rename never replaces a file another process wrote), else it is dropped.
    With `make_parent=False` a missing folder is an error, never made again (a claim's folder
    that a later claim cleared)."""
    target = Path(target)
    if make_parent:
        target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~_umask())
        _sync(temporary)
        if replace:
            os.replace(temporary, target)
        else:
            with suppress(FileExistsError):
                os.link(temporary, target)
            os.unlink(temporary)
        _sync(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text(target: str | os.PathLike[str], text: str, make_parent: bool = True) -> None:
    with atomic_path(target, make_parent=make_parent) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _finite_or_none(data: Any) -> Any:
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: _finite_or_none(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_finite_or_none(value) for value in data]
    return data


def write_json(
    target: str | os.PathLike[str], data: Any, replace: bool = True, make_parent: bool = True
) -> None:
    """Write `data` as standard JSON: NaN and infinity (a diverged loss) become null. With
    `replace=False` an existing file is left as it is (a record written once, by whichever
    process comes first)."""
    if not replace and Path(target).exists():
        return
    text = json.dumps(_finite_or_none(data), indent=2, allow_nan=False) + "\n"
    with atomic_path(target, replace=replace, make_parent=make_parent) as temporary:
        temporary.write_text(text, encoding="utf-8")


def read_json(
    path: str | os.PathLike[str], required: tuple[str, ...] = (), what: str = "JSON file"
) -> dict[str, Any]:
    """Read a JSON object, raising InputFileError naming `path` if it is unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(f"{what} {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputFileError(f"{what} {path} is corrupt or truncated ({error})") from None
    if not isinstance(data, dict):
        raise InputFileError(
            f"{what} {path} should hold a JSON object, found {type(data).__name__}"
        )
    missing = [key for key in required if key not in data]
    if missing:
        raise InputFileError(f"{what} {path} lacks the keys {missing}")
    return data


def parse_with_context(path: str | os.PathLike[str], what: str, parse: Callable[[], Any]) -> Any:
    """Run `parse`, turning any error it raises into an InputFileError that names `path`."""
    try:
        return parse()
    except InputFileError:
        raise
    except Exception as error:
        raise InputFileError(f"{what} {path} could not be read: {error}") from error
