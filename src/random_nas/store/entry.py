"""The life of a store entry, owned here alone: claim it, train in the claim's own folder,
check that the claim still holds, publish by a rename that may lose a race, release.

- **One holder at a time.** A claim is a filelock soft lease on `.seed_N.lock` beside the
  entry: a marker with the holder's host, pid and a token, kept fresh by a heartbeat. A holder
  that died on this host is seen dead at once; one on another host, or one stopped (a
  suspended Slurm job, an NFS hang), once its marker has gone unrenewed for the store's
  lease (`store.json`, 120 s unless set: every machine sharing a store reads the same).
- **Fenced.** Each claim trains in a folder of its own, `.seed_N.training/{token}/`, and
  asks whether the lease still carries its token after every epoch and before publishing. A
  claim that finds it taken over stops, drops its folder and writes nothing more; its job
  then takes the entry that the new holder publishes.
- **Published once.** The finished folder is renamed onto the entry's name, which fails
  where an entry is already there (a race lost, or a published entry that a cached directory
  listing hid): the loser drops its folder and takes the published entry. Files are then
  read-only; nothing replaces an entry. Only `retire` (moved aside, with the reason, date and
  who) and `remove` (deleted) take one out, asked for by name, each leaving a trace.
- **Nothing lost to a kill.** A claim adopts the newest epoch checkpoint that an earlier,
  dead claim left, and clears the dead claims' folders.
- **Waiting with a limit.** A job that finds the entry claimed waits at most the seconds it
  is given, then gives up naming the holder (host, pid, since when).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import LeaseSettingsMismatch, SoftFileLease, Timeout

from random_nas.files import InputFileError, atomic_path, read_json, write_json
from random_nas.store.claim import (
    CLAIM_RECORD,
    PROGRESS_RECORD,
    Claim,
    ClaimLost,
    now_text,
    who,
)
from random_nas.store.layout import (
    ENTRY_FILES,
    RETIRED,
    SETTINGS_FILE,
    confined,
    is_published,
    lock_file,
    private_dir,
)
from random_nas.store.records import entry_problems

DEFAULT_LEASE_SECONDS = 120.0
# How often a waiting job looks at the lock again.
POLL_SECONDS = 2.0


class EntryDamaged(InputFileError):
    """A published entry whose files changed since publishing, or whose accuracies disagree
    with its own per-image records, or that lost a file: it enters no table and is not
    trained over until it is retired."""


def damaged(entry: Path, problems: list[str]) -> EntryDamaged:
    key = "/".join(entry.parts[-4:])
    return EntryDamaged(
        f"the store's entry {entry} cannot be trusted: {'; '.join(problems)}. Retire it "
        f"(`random-nas store retire --store {entry.parents[3]} {key} --reason ...`) and "
        "the next run trains it again"
    )


class WaitLimitReached(TimeoutError):
    """The entry stayed claimed by another job for longer than this job may wait."""

    def __init__(self, entry: Path, holder: Holder | None, waited: float | None = None):
        self.entry, self.holder = entry, holder
        waiting = "" if waited is None else f" after this job waited {waited:.0f} s"
        super().__init__(
            f"{entry} is still being trained by {holder or 'another job'}{waiting}, all its "
            "time limit allows; it fails so that a later run takes the result (or trains it, "
            "if that holder is gone: `random-nas store list` shows whether it makes progress)"
        )


def _died_here(host: str, pid: int) -> bool:
    """Whether a holder on this host has no process any more (elsewhere no one can tell)."""
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


@dataclass(frozen=True)
class Holder:
    """Who holds an entry's claim, as its lock and its claim's record say."""

    host: str
    pid: int
    token: str | None
    since: str | None = None
    progress: dict[str, Any] | None = None
    epoch_limit_seconds: float | None = None

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}" + (f" since {self.since}" if self.since else "")

    def stalled_seconds(self, clock: Callable[[], float] = time.time) -> float | None:
        """Seconds since its last sign of progress (claim or epoch) where that exceeds the
        epoch's time limit (training.minutes_per_epoch): a heartbeat without training."""
        last = (self.progress or {}).get("at_unix")
        if last is None or self.epoch_limit_seconds is None:
            return None
        quiet = clock() - last
        return quiet if quiet > self.epoch_limit_seconds else None


def lease_seconds(settings: Path) -> float:
    """The store's lease from its settings file, checked: a number of seconds above zero."""
    if not settings.exists():
        return DEFAULT_LEASE_SECONDS
    value = read_json(settings, what="store settings").get("lease_seconds", DEFAULT_LEASE_SECONDS)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InputFileError(
            f"store settings {settings}: lease_seconds is {value!r}; it must be a number of "
            f"seconds above 0 ({DEFAULT_LEASE_SECONDS:.0f} where the key is absent)"
        )
    return float(value)


class Store:
    """A store of trainings at `root`: its settings and the life of each entry."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.lease_seconds = lease_seconds(self.root / SETTINGS_FILE)
        self.poll_seconds = min(POLL_SECONDS, self.lease_seconds / 4)

    def confined(self, path: str | os.PathLike[str]) -> Path:
        """`path`, checked to lie inside this store without a link or `..` (StorePathError)."""
        return confined(self.root, path)

    def _lease(self, entry: Path) -> SoftFileLease:
        return SoftFileLease(lock_file(str(entry)), lease_duration=self.lease_seconds)

    def _acquire(self, lease: SoftFileLease, timeout: float) -> None:
        """Acquire `lease` within `timeout` seconds (-1: no limit), else Timeout. A marker
        left under another lease setting (store.json changed since its holder claimed) is
        held until it has gone unrenewed for its own lease and this one's, then broken."""
        deadline = None if timeout < 0 else time.monotonic() + timeout
        while True:
            left = -1 if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                lease.acquire(timeout=left, poll_interval=self.poll_seconds)
                return
            except LeaseSettingsMismatch:
                if self._abandoned(lease):
                    lease.force_break()
                    continue
                if deadline is not None and time.monotonic() >= deadline:
                    raise Timeout(lease.lock_file) from None
                time.sleep(self.poll_seconds)

    def _abandoned(self, lease: SoftFileLease) -> bool:
        owner = lease.owner
        recorded = float(getattr(owner, "lease_duration", None) or 0.0)
        try:
            quiet = time.time() - os.stat(lease.lock_file).st_mtime
        except OSError:
            return True
        return quiet > max(recorded, self.lease_seconds)

    def holder(self, entry: str | os.PathLike[str]) -> Holder | None:
        """Who holds the entry's claim, or None where it is free."""
        owner = self._lease(Path(entry)).owner
        if owner is None or _died_here(owner.hostname, owner.pid):
            return None
        record: dict[str, Any] = {}
        folder = Path(private_dir(str(entry))) / (owner.token or "")
        with suppress(OSError, ValueError):
            record = json.loads((folder / CLAIM_RECORD).read_text(encoding="utf-8"))
        progress = None
        with suppress(OSError, ValueError):
            progress = json.loads((folder / PROGRESS_RECORD).read_text(encoding="utf-8"))
        return Holder(
            owner.hostname,
            owner.pid,
            owner.token,
            record.get("since"),
            progress or {"at_unix": record.get("since_unix")},
            record.get("epoch_limit_seconds"),
        )

    @contextmanager
    def locked(self, entry: Path) -> Iterator[None]:
        """Hold the entry's lease without training (to take an entry out, or to clear what
        dead claims left), or fail at once naming who trains it."""
        lease = self._lease(entry)
        try:
            self._acquire(lease, 0)
        except Timeout:
            raise WaitLimitReached(entry, self.holder(entry)) from None
        try:
            yield
        finally:
            lease.release()

    @contextmanager
    def claim(
        self,
        entry: str | os.PathLike[str],
        wait_seconds: float | None = None,
        on_wait: Callable[[Holder | None], None] = lambda holder: None,
        epoch_limit_seconds: float | None = None,
    ) -> Iterator[Claim]:
        """Hold the entry's claim while inside, waiting for another holder at most
        `wait_seconds` (None: as long as it takes) before WaitLimitReached. A claim lost
        inside drops its folder, and so does one left without error; any other error leaves
        it, with its checkpoint, for the next claim to adopt."""
        entry = self.confined(entry)
        entry.parent.mkdir(parents=True, exist_ok=True)
        for own in (private_dir(str(entry)), lock_file(str(entry))):
            confined(self.root, own)
        lease = self._lease(entry)
        try:
            self._acquire(lease, 0)
        except Timeout:
            holder = self.holder(entry)
            on_wait(holder)
            try:
                self._acquire(lease, -1 if wait_seconds is None else max(0.0, wait_seconds))
            except Timeout:
                raise WaitLimitReached(entry, self.holder(entry) or holder) from None
        try:
            claim = Claim(entry, lease, epoch_limit_seconds)
            try:
                yield claim
            except Exception as error:
                if not claim.holds():
                    claim.drop()
                    if not isinstance(error, ClaimLost):
                        raise ClaimLost(f"{entry}: the claim was taken over") from error
                raise
            # Published (the folder is the entry now), or nothing to publish: nothing to keep.
            claim.drop()
        finally:
            lease.release()

    def obtain(
        self,
        entry: str | os.PathLike[str],
        train: Callable[[Claim], None],
        wait_seconds: float | None = None,
        on_wait: Callable[[Holder | None], None] = lambda holder: None,
        on_loss: Callable[[ClaimLost], None] = lambda loss: None,
        epoch_limit_seconds: float | None = None,
    ) -> str:
        """Make sure the entry is published: `found` where it is (or got published while this
        job waited), `trained` where `train` (called with the claim; it writes the entry's
        files into the claim's folder) made it, `lost` where another holder published first."""
        entry = self.confined(entry)
        if entry.is_dir() and not is_published(entry):
            missing = [name for name in ENTRY_FILES if not (entry / name).is_file()]
            raise damaged(entry, [f"{name} is missing" for name in missing])
        deadline = None if wait_seconds is None else time.monotonic() + wait_seconds
        while True:
            if is_published(entry):
                return "found"
            left = None if deadline is None else deadline - time.monotonic()
            try:
                with self.claim(entry, left, on_wait, epoch_limit_seconds) as claim:
                    if is_published(entry):
                        return "found"
                    if not claim.finished:
                        train(claim)
                    return "trained" if claim.publish() else "lost"
            except ClaimLost as loss:
                # Another holder has it now: wait for its result like any other job.
                on_loss(loss)
            except WaitLimitReached as limit:
                raise WaitLimitReached(limit.entry, limit.holder, wait_seconds) from None

    def retire(self, entry: Path, reason: str) -> Path:
        """Move a published entry aside, with why, when and by whom, so that the next run that
        asks for it trains it again; returns the folder it now lies in."""
        return self._take_out(entry, reason, keep=True)

    def remove(self, entry: Path, reason: str = "removed by name") -> Path:
        """Delete a published entry, leaving a trace of why, when and by whom."""
        return self._take_out(entry, reason, keep=False)

    def _take_out(self, entry: Path, reason: str, keep: bool) -> Path:
        key = self.confined(entry).relative_to(self.root)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        with self.locked(entry):
            trace = Path(
                tempfile.mkdtemp(prefix=f"{stamp}-{'-'.join(key.parts)}-", dir=self._retired())
            )
            os.chmod(entry, stat.S_IMODE(entry.stat().st_mode) | stat.S_IWUSR)
            os.rename(entry, trace / "entry")  # out of the store in one step
        write_json(
            trace / "retired.json",
            {
                "entry": str(key),
                "action": "retired" if keep else "removed",
                "reason": reason,
                "date": now_text(),
                "by": who(),
            },
        )
        if not keep:
            shutil.rmtree(trace / "entry")
        return trace

    def _retired(self) -> Path:
        folder = self.root / RETIRED
        folder.mkdir(exist_ok=True)
        return folder


def write_receipt(entry: str | os.PathLike[str], receipt: str | os.PathLike[str]) -> None:
    """Copy a published entry's files into the working directory's receipt folder (the train
    rule's outputs), each written whole, once the entry passes its checks (EntryDamaged); the
    copies are writable, as any job output."""
    receipt, entry = Path(receipt), Path(entry)
    if problems := entry_problems(entry):
        raise damaged(entry, problems)
    for name in ENTRY_FILES:
        with atomic_path(receipt / name) as temporary:
            shutil.copyfile(Path(entry) / name, temporary)
