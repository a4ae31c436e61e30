"""One holder's claim on a store entry: a folder of its own to train in (named by the claim's
token), its bookkeeping (who, since when, how far), the adoption of what earlier claims left
(a finished result first, else the newest checkpoint), the checks that it still holds, and
its publication by a rename that may lose a race. Store (random_nas.store.entry) makes claims.
"""

from __future__ import annotations

import errno
import getpass
import os
import shutil
import socket
import stat
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

from filelock import SoftFileLease

from random_nas.faults import TrainingStopped
from random_nas.files import atomic_path, write_json
from random_nas.store.layout import ENTRY_FILES, private_dir
from random_nas.store.records import CHECKSUMS, checksums

# A claim's own bookkeeping in its folder, left out of the entry it publishes.
CLAIM_RECORD = "claim.json"
PROGRESS_RECORD = "progress.json"
CHECKPOINT = "checkpoint.pt"


class ClaimLost(TrainingStopped):
    """This job's claim on an entry was taken over (its lease expired while it was stopped or
    cut off): it must stop training and write nothing more into the store."""


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def who() -> str:
    """`user@host` of this process, for the records of claims and retirements."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def read_only(path: Path) -> None:
    os.chmod(path, stat.S_IMODE(path.stat().st_mode) & ~0o222)


class Claim:
    """One holder's claim on an entry, with its own folder to train in."""

    def __init__(self, entry: Path, lease: SoftFileLease, epoch_limit_seconds: float | None):
        self.entry = entry
        self._lease = lease
        self.token = lease.token
        root = Path(private_dir(str(entry)))
        root.mkdir(exist_ok=True)
        self.folder = root / str(self.token)
        self.folder.mkdir()
        # Set where a claim killed before it could publish left its whole result behind.
        self.finished = False
        write_json(
            self.folder / CLAIM_RECORD,
            {
                "by": who(),
                "pid": os.getpid(),
                "since": now_text(),
                "since_unix": time.time(),
                "epoch_limit_seconds": epoch_limit_seconds,
            },
        )
        self._adopt_earlier_claims(root)

    @property
    def checkpoint(self) -> Path:
        return self.folder / CHECKPOINT

    def _adopt_earlier_claims(self, root: Path) -> None:
        """Take the result an earlier claim finished but did not publish, else the newest
        checkpoint one left (this one holds the lease, so every other claim is over); then
        clear the earlier claims' folders."""
        earlier = [path for path in root.iterdir() if path != self.folder]
        finished = [
            path
            for path in earlier
            if path.is_dir()
            and not path.is_symlink()
            and all((path / name).is_file() for name in ENTRY_FILES)
        ]
        if finished:
            self._take_result(max(finished, key=lambda path: path.stat().st_mtime))
        # A link is never followed: its target lies outside the claims' own folders.
        checkpoints = [
            path / CHECKPOINT if path.is_dir() else path
            for path in earlier
            if not path.is_symlink()
            and ((path / CHECKPOINT).is_file() or path.name == CHECKPOINT)
            and not (path / CHECKPOINT).is_symlink()
        ]
        if checkpoints and not self.finished:
            newest = max(checkpoints, key=lambda path: path.stat().st_mtime)
            with atomic_path(self.checkpoint) as temporary:
                shutil.copyfile(newest, temporary)
        for path in earlier:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def _take_result(self, folder: Path) -> None:
        """Copy a finished result (its files, less its claim's bookkeeping) into this claim."""
        bookkeeping = (CLAIM_RECORD, PROGRESS_RECORD, CHECKSUMS)
        for path in folder.iterdir():
            if path.is_file() and not path.is_symlink() and path.name not in bookkeeping:
                with atomic_path(self.folder / path.name) as temporary:
                    shutil.copyfile(path, temporary)
        self.finished = True

    def holds(self) -> bool:
        """Whether the entry's lease still carries this claim's token."""
        owner = self._lease.owner
        return owner is not None and owner.token == self.token

    def check(self) -> None:
        """Raise ClaimLost where another holder has taken the entry over."""
        if not self.holds():
            raise ClaimLost(f"{self.entry}: the claim was taken over by {self._lease.owner}")

    def progress(self, epochs_done: int, epochs: int) -> None:
        """Check the claim, then note the training's progress (`random-nas store list`)."""
        self.check()
        record = {"epoch": epochs_done, "epochs": epochs, "at": now_text(), "at_unix": time.time()}
        write_json(self.folder / PROGRESS_RECORD, record, make_parent=False)

    def publish(self) -> bool:
        """Rename the claim's folder onto the entry, read-only. False where an entry is there
        already (a lost race, or one a stale listing hid): the folder is dropped and the
        published entry stands."""
        self.check()
        for name in (CLAIM_RECORD, PROGRESS_RECORD):
            (self.folder / name).unlink(missing_ok=True)
        write_json(self.folder / CHECKSUMS, checksums(self.folder), make_parent=False)
        for path in self.folder.iterdir():
            read_only(path)
        try:
            os.rename(self.folder, self.entry)
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            self.drop()
            return False
        read_only(self.entry)
        with suppress(OSError):
            self.folder.parent.rmdir()
        return True

    def drop(self) -> None:
        """Remove the claim's folder (never another's)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        with suppress(OSError):
            self.folder.parent.rmdir()
