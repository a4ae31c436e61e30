"""One entry of the store, shared by working directories and machines: trained once, under a
lock, in a private folder, then published whole and read-only.

- **One training per entry.** Whoever trains an entry holds its lock (`.seed_N.lock` beside
  it), a filelock soft lease: a marker file that works on a shared file system, holding the
  holder's host and pid, kept fresh by a heartbeat. A holder that died on this host is seen
  dead at once; one on another host once its lease has gone unrenewed for LEASE_SECONDS. A job
  that finds the entry being trained waits, then takes the published result.
- **Published once.** The holder trains in the entry's private folder and renames it into
  place only while the entry is still absent; files then lose their write bits. Nothing
  replaces or deletes a published entry but `random-nas store remove`, asked by name.
- **Nothing lost to a kill.** A killed holder leaves its epoch checkpoint in the private
  folder, where the next holder resumes from it.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import SoftFileLease, Timeout

from random_nas.files import atomic_path
from random_nas.store import lock_file, private_dir

# Peers take over the lock of a holder on another host that has not renewed it for this long
# (its heartbeat renews it every third of that); every machine sharing a store must agree.
LEASE_SECONDS = 120.0
# How often a waiting job looks at the lock again.
POLL_SECONDS = 2.0
# The files that make an entry whole: present in its folder once it is published.
ENTRY_FILES = ("metrics.json", "history.csv")


def is_published(entry: str | os.PathLike[str]) -> bool:
    """Whether the entry is in the store (its folder appears whole, by one rename)."""
    return all((Path(entry) / name).is_file() for name in ENTRY_FILES)


def lock_holder(entry: str | os.PathLike[str]) -> str | None:
    """`host:pid` of whoever holds the entry's lock, or None where it is free."""
    lease = SoftFileLease(lock_file(str(entry)), lease_duration=LEASE_SECONDS)
    owner = lease.owner
    return None if owner is None else f"{owner.hostname}:{owner.pid}"


@contextmanager
def entry_lock(
    entry: str | os.PathLike[str], on_wait: Callable[[str], None] = lambda holder: None
) -> Iterator[None]:
    """Hold the entry's lock; where someone else holds it, call `on_wait` with who, and wait."""
    path = Path(lock_file(str(entry)))
    path.parent.mkdir(parents=True, exist_ok=True)
    lease = SoftFileLease(path, lease_duration=LEASE_SECONDS)
    try:
        lease.acquire(timeout=0)
    except Timeout:
        on_wait(lock_holder(entry) or "another job")
        lease.acquire(timeout=-1, poll_interval=POLL_SECONDS)
    try:
        yield
    finally:
        lease.release()


def private_folder(entry: str | os.PathLike[str]) -> Path:
    """The entry's private folder, made if absent (the lock holder's alone)."""
    folder = Path(private_dir(str(entry)))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _read_only(path: Path) -> None:
    os.chmod(path, stat.S_IMODE(path.stat().st_mode) & ~0o222)


def publish(private: str | os.PathLike[str], entry: str | os.PathLike[str]) -> bool:
    """Move the finished private folder into place as the entry, read-only, if the entry is
    still absent (False, leaving both as they are, where it is not). Call under the lock."""
    private, entry = Path(private), Path(entry)
    if entry.exists():
        return False
    for path in private.iterdir():
        _read_only(path)
    # A rename onto a missing name is one step: readers see no entry, or the whole of it.
    os.rename(private, entry)
    _read_only(entry)
    return True


def write_receipt(entry: str | os.PathLike[str], receipt: str | os.PathLike[str]) -> None:
    """Copy a published entry's files into the working directory's receipt folder (the train
    rule's outputs), each written whole; the copies are writable, as any job output."""
    receipt = Path(receipt)
    for name in ENTRY_FILES:
        with atomic_path(receipt / name) as temporary:
            shutil.copyfile(Path(entry) / name, temporary)


def remove_entry(entry: str | os.PathLike[str]) -> None:
    """Delete a published entry (asked for by name): its folder gets its write bit back first."""
    entry = Path(entry)
    os.chmod(entry, stat.S_IMODE(entry.stat().st_mode) | stat.S_IWUSR)
    # A folder beside the entry, so that the entry disappears in one step before it is emptied.
    doomed = Path(tempfile.mkdtemp(prefix=f".{entry.name}.removed.", dir=entry.parent))
    os.rename(entry, doomed / entry.name)
    shutil.rmtree(doomed)
