"""One poll loop with one deadline, shared by every readiness wait in the harness.

The deadline is computed once and passed down, so nested waits never add up to more
than the caller asked for; a process that dies while we wait is reported at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from harness._process import ManagedProcess
from harness.errors import ProcessExitedError, ReadinessTimeout

T = TypeVar("T")

__all__ = ["Deadline", "wait_until"]


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


def wait_until(
    check: Callable[[], T | None],
    *,
    deadline: Deadline,
    service: str,
    endpoint: str,
    condition: str,
    process: ManagedProcess | None = None,
    interval: float = 0.02,
    max_interval: float = 0.2,
    hint: str = "",
) -> T:
    """Call `check` until it returns a truthy value; exceptions count as 'not yet'."""
    last_error: str | None = None
    delay = interval
    while True:
        if process is not None:
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
        try:
            result = check()
        except Exception as exc:
            last_error = f"{type(exc).__name__}: {exc}".strip()
        else:
            if result:
                return result
        if deadline.expired():
            raise ReadinessTimeout(
                service=service,
                endpoint=endpoint,
                condition=condition,
                waited=deadline.elapsed(),
                last_error=last_error,
                log_tail=process.log_tail() if process else "",
                log_path=str(process.log_path) if process else "",
                hint=hint,
            )
        time.sleep(min(delay, deadline.remaining()))
        delay = min(delay * 1.5, max_interval)
