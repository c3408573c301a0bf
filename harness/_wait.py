"""One poll loop with one deadline, shared by every wait in the harness.

The deadline is computed once and passed down, so nested waits never add up to more than
the caller asked for. `poll()` is the loop itself: it calls a check until the check answers
(`in_a_row` times in a row, for "N answers in a row") or the deadline passes, and says what
it saw. `wait_until()` is the readiness wait built on it: a process that dies while we wait
is reported at once, and a timeout is a ReadinessTimeout that tells the whole story.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypedDict, TypeVar

from harness.errors import ProcessExitedError, ReadinessTimeout

T = TypeVar("T")

__all__ = ["Deadline", "Pace", "Poll", "Watched", "poll", "wait_until"]


@dataclass(frozen=True)
class Deadline:
    at: float
    started: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        now = time.monotonic()
        return cls(now + seconds, now)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def elapsed(self) -> float:
        return time.monotonic() - self.started


class Pace(TypedDict, total=False):
    """A poll loop's pace, kept beside the waits that share it (`**pace`)."""

    interval: float
    max_interval: float


class Watched(Protocol):
    """A process a wait watches, so that its death ends the wait at once (ManagedProcess)."""

    @property
    def log_path(self) -> Path: ...
    def poll(self) -> int | None: ...
    def log_tail(self, lines: int = 20) -> str: ...


@dataclass(frozen=True)
class Poll(Generic[T]):
    """What one poll loop saw: the answer that ended it (None when the deadline passed
    first), how many checks it made, and the last error a check raised."""

    value: T | None
    attempts: int
    last_error: str | None
    waited: float

    @property
    def done(self) -> bool:
        return self.value is not None


def poll(
    check: Callable[[], T | None],
    *,
    deadline: Deadline,
    interval: float = 0.02,
    max_interval: float = 0.2,
    in_a_row: int = 1,
    fatal: tuple[type[BaseException], ...] = (),
    before: Callable[[], None] | None = None,
) -> Poll[T]:
    """Call `check` until it returns a truthy value `in_a_row` times in a row (the last one is
    returned) or `deadline` passes. Between failed checks the pause grows from `interval` by
    half each time up to `max_interval`; during a streak it stays at `interval`. An exception
    counts as "not yet" and breaks a streak, except those in `fatal`, which propagate, as does
    whatever `before` (called ahead of each check) raises."""
    last_error: str | None = None
    delay = interval
    streak = 0
    attempts = 0
    while True:
        if before is not None:
            before()
        attempts += 1
        try:
            result = check()
        except fatal:
            raise
        except Exception as exc:
            last_error = f"{type(exc).__name__}: {exc}".strip()
            result = None
        if result:
            streak += 1
            if streak >= in_a_row:
                return Poll(result, attempts, last_error, deadline.elapsed())
            delay = interval
        else:
            streak = 0
        if deadline.expired():
            return Poll(None, attempts, last_error, deadline.elapsed())
        time.sleep(min(delay, deadline.remaining()))
        if not result:
            delay = min(delay * 1.5, max_interval)


def wait_until(
    check: Callable[[], T | None],
    *,
    deadline: Deadline,
    service: str,
    endpoint: str,
    condition: str,
    process: Watched | None = None,
    interval: float = 0.02,
    max_interval: float = 0.2,
    in_a_row: int = 1,
    fatal: tuple[type[BaseException], ...] = (),
    hint: str = "",
) -> T:
    """`poll()` for readiness: the answer, or ReadinessTimeout naming the service, endpoint,
    condition, time waited, last error, log tail and hint; ProcessExitedError as soon as
    `process` exits."""

    def alive() -> None:
        if process is None:
            return
        code = process.poll()
        if code is not None:
            raise ProcessExitedError(
                service=service,
                endpoint=endpoint,
                exit_code=code,
                waited=deadline.elapsed(),
                log_tail=process.log_tail(),
                log_path=str(process.log_path),
            )

    outcome = poll(
        check,
        deadline=deadline,
        interval=interval,
        max_interval=max_interval,
        in_a_row=in_a_row,
        fatal=fatal,
        before=alive,
    )
    if outcome.value is not None:
        return outcome.value
    raise ReadinessTimeout(
        service=service,
        endpoint=endpoint,
        condition=condition,
        waited=outcome.waited,
        last_error=outcome.last_error,
        log_tail=process.log_tail() if process else "",
        log_path=str(process.log_path) if process else "",
        hint=hint,
    )
