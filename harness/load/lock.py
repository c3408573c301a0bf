"""The machine-wide measurement lock: one k6 run (or drill) at a time on this machine.

Two loads at once would measure each other, so every K6Run holds an exclusive fcntl.flock
on one file for its whole run, across processes and pytest-xdist workers alike; the kernel
drops the lock when its holder dies, so a crashed run never leaves it held.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness import settings
from harness._wait import Deadline, wait_until
from harness.errors import ReadinessTimeout

__all__ = ["LOCK_ENV", "MeasurementLock", "exclusive_measurement", "lock_path"]

LOCK_ENV = settings.LOAD_LOCK.name
DEFAULT_LOCK_TIMEOUT = 900.0


def lock_path() -> Path:
    """$HARNESS_LOAD_LOCK, else harness-load.lock in the system's temporary directory:
    machine-wide on purpose (not under HARNESS_HOME, which tests may point elsewhere)."""
    return settings.load_lock_path()


@dataclass
class _Holding:
    """This process' hold on one lock file: threads queue on `local`, `depth` counts re-entry."""

    local: threading.RLock = field(default_factory=threading.RLock)
    depth: int = 0
    handle: int | None = None


_holdings: dict[Path, _Holding] = {}
_holdings_guard = threading.Lock()


def _holding(path: Path) -> _Holding:
    with _holdings_guard:
        return _holdings.setdefault(path.resolve(), _Holding())


class MeasurementLock:
    """An exclusive flock on `path`, re-entrant within one process (a drill holding it may
    start a k6 run, which takes it again). `acquire` waits at most `timeout` seconds."""

    def __init__(self, path: Path | None = None, timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.path = path or lock_path()
        self.timeout = timeout
        self.waited = 0.0
        self._holding = _holding(self.path)

    def acquire(self, holder: str) -> float:
        """Take the lock for `holder` (named in the file for whoever waits); the seconds waited."""
        began = time.monotonic()
        deadline = Deadline.after(self.timeout)
        holding = self._holding
        if not holding.local.acquire(timeout=self.timeout):
            raise ReadinessTimeout(
                service="the machine-wide load lock",
                endpoint=str(self.path),
                condition="another thread of this process to release it",
                waited=time.monotonic() - began,
                last_error=None,
            )
        try:
            if holding.depth == 0:
                holding.handle = self._take(holder, deadline)
            holding.depth += 1
        except BaseException:
            holding.local.release()
            raise
        self.waited = time.monotonic() - began
        return self.waited

    def _take(self, holder: str, deadline: Deadline) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:

            def locked() -> bool:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError as exc:
                    raise BlockingIOError(f"held by {self.holder() or 'another process'}") from exc
                return True

            wait_until(
                locked,
                deadline=deadline,
                service="the machine-wide load lock",
                endpoint=str(self.path),
                condition="no other k6 run or drill measuring on this machine",
                interval=0.05,
                max_interval=0.5,
                hint=f"the holder is named in {self.path}; a run that never ends holds it",
            )
            os.ftruncate(handle, 0)
            os.write(handle, f"pid {os.getpid()}: {holder}\n".encode())
        except BaseException:
            os.close(handle)
            raise
        return handle

    def holder(self) -> str:
        """Who holds the lock, as its holder wrote it ("pid 123: p95-candidate")."""
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    @property
    def held(self) -> bool:
        """Whether this process holds it."""
        return self._holding.depth > 0

    def release(self) -> None:
        holding = self._holding
        try:
            holding.depth -= 1
            if holding.depth == 0 and holding.handle is not None:
                handle, holding.handle = holding.handle, None
                with contextlib.suppress(OSError):
                    os.ftruncate(handle, 0)
                os.close(handle)  # closing the descriptor drops the flock
        finally:
            holding.local.release()


@contextlib.contextmanager
def exclusive_measurement(
    holder: str, timeout: float = DEFAULT_LOCK_TIMEOUT, path: Path | None = None
) -> Iterator[MeasurementLock]:
    """Hold the machine-wide measurement lock for a block: k6 runs take it themselves;
    drills and benchmarks that measure time take it too, so they never overlap a load."""
    lock = MeasurementLock(path, timeout)
    lock.acquire(holder)
    try:
        yield lock
    finally:
        lock.release()
