"""Load in the background: k6 keeps a steady arrival rate while a block runs (a blue-green
switch, a rolling update), and every request's outcome is attributed to a labelled window.

    with K6Run("bg-switch", app_url, gate=None, shape=LoadShape(50, 120)).background() as load:
        with load.window("blue-green switch"):
            BlueGreenDeploy(...).run()
    assert load.report.window("blue-green switch").failed == 0
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

from harness._wait import Deadline, wait_until
from harness.errors import HarnessError
from harness.load.errors import K6RunError
from harness.load.k6 import K6Binary
from harness.load.lock import MeasurementLock
from harness.load.process import (
    EXIT_EXTERNAL_ABORT,
    EXIT_OK,
    EXIT_THRESHOLDS_FAILED,
    K6Process,
)
from harness.load.result import LoadResult, MachineLoad

__all__ = ["BackgroundLoad", "BackgroundReport", "MeasuredRun", "RequestSample", "WindowReport"]


class MeasuredRun(Protocol):
    """The phases of a k6 run that a background load walks (K6Run is one): prepare, start
    k6, then turn its exit into a LoadResult; the run's lock keeps measurements apart."""

    name: str
    script: Path
    lock: MeasurementLock

    @property
    def target_url(self) -> str: ...
    @property
    def report_dir(self) -> Path: ...
    @property
    def log_path(self) -> Path: ...
    def prepare(self, extra_files: Sequence[Path] = ()) -> K6Binary: ...
    def start_k6(
        self, binary: K6Binary, *, extra_args: Sequence[str] = (), label: str = ""
    ) -> K6Process: ...
    def result(
        self,
        process: K6Process,
        code: int,
        started_at: dt.datetime,
        machine: MachineLoad,
        lock_wait: float,
        accept: Sequence[int] = ...,
    ) -> LoadResult: ...


@dataclass(frozen=True)
class RequestSample:
    """One request k6 made: when it started (k6's sample time), whether it failed, and
    its status ("0" when no HTTP answer came: refused, reset, timed out)."""

    at: dt.datetime
    failed: bool
    status: str
    error_code: str = ""


@dataclass(frozen=True)
class WindowReport:
    """The requests started between `started_at` and `ended_at` (the block, plus the
    settle time after it), and how many of them failed."""

    label: str
    started_at: dt.datetime
    ended_at: dt.datetime
    requests: int
    failed: int
    statuses: tuple[tuple[str, int], ...]  # ("200", 480), ("0", 3): status -> requests
    first_failure_at: dt.datetime | None = None
    last_failure_at: dt.datetime | None = None
    covered: bool = True  # False when the load ended (or had not begun) inside the window

    @property
    def error_rate(self) -> float:
        return self.failed / self.requests if self.requests else 0.0

    @property
    def seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    def __str__(self) -> str:
        statuses = ", ".join(f"{status or '?'}: {count}" for status, count in self.statuses)
        text = (
            f"{self.label}: {self.failed} of {self.requests} requests failed "
            f"({self.error_rate:.2%}) in {self.seconds:.1f}s "
            f"[{_clock(self.started_at)} - {_clock(self.ended_at)} UTC], statuses {{{statuses}}}"
        )
        if self.first_failure_at is not None and self.last_failure_at is not None:
            text += (
                f"; failures from {_clock(self.first_failure_at)} to {_clock(self.last_failure_at)}"
            )
        if not self.covered:
            text += "; NOT fully covered by load"
        return text


def _clock(moment: dt.datetime) -> str:
    return moment.strftime("%H:%M:%S.%f")[:-3]


@dataclass(frozen=True)
class BackgroundReport:
    """The whole background run (a LoadResult) and each window's failed requests."""

    result: LoadResult
    windows: tuple[WindowReport, ...]
    outside: WindowReport  # the requests in no window: steady state before, between, after

    def window(self, label: str) -> WindowReport:
        for window in self.windows:
            if window.label == label:
                return window
        known = ", ".join(w.label for w in self.windows) or "none"
        raise KeyError(f"no load window {label!r} (windows: {known})")

    def __str__(self) -> str:
        lines = [f"background load {self.result.name}: {self.result.shape}"]
        lines += [f"  {window}" for window in self.windows]
        lines.append(f"  {self.outside}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Window:
    label: str
    started_at: dt.datetime
    ended_at: dt.datetime


class BackgroundLoad:
    """k6 kept running for a block. Entering starts k6 (after the target answers and the
    measurement lock is held) and returns once requests flow; `window(label)` marks a
    stretch of time; leaving interrupts k6 (it still writes its summary) and builds
    `report`. The shape's duration bounds the load: give it more than the block needs.
    Requests are attributed by their start time (k6's sample time)."""

    def __init__(
        self, run: MeasuredRun, *, settle: float = 0.5, warmup_timeout: float = 15.0
    ) -> None:
        self.run = run
        self.settle = settle
        self.warmup_timeout = warmup_timeout
        self._process: K6Process | None = None
        self._windows: list[_Window] = []
        self._report: BackgroundReport | None = None
        self._started_at = dt.datetime.now(dt.UTC)
        self._load_before = (0.0, 0.0, 0.0)
        self._lock_wait = 0.0

    @property
    def points_path(self) -> Path:
        """k6's JSON output: one line per metric sample (--out json)."""
        return self.run.report_dir / "requests.json"

    @property
    def report(self) -> BackgroundReport:
        if self._report is None:
            raise HarnessError(f"background load {self.run.name} has not ended yet")
        return self._report

    # -- lifecycle --------------------------------------------------------------------------------
    def __enter__(self) -> BackgroundLoad:
        run = self.run
        binary = run.prepare(extra_files=[self.points_path])
        self._lock_wait = run.lock.acquire(run.name)
        try:
            self._load_before = MachineLoad.sample().load_after
            self._started_at = dt.datetime.now(dt.UTC)
            self._process = run.start_k6(
                binary,
                extra_args=["--out", f"json={self.points_path}"],
                label=f"k6 {run.name} (background)",
            )
            self._wait_for_traffic(self._process)
        except BaseException:
            if self._process is not None:
                self._process.interrupt(5.0)
            run.lock.release()
            raise
        return self

    def _wait_for_traffic(self, process: K6Process) -> None:
        def flowing() -> bool:
            code = process.poll()
            if code is not None:
                raise K6RunError(
                    f"background k6 {self.run.name} exited with code {code} before any request",
                    script=str(self.run.script),
                    exit_code=code,
                    k6_message=process.message(),
                    log_path=str(self.run.log_path),
                )
            try:
                with self.points_path.open("rb") as handle:
                    return any(b"http_reqs" in line and b"Point" in line for line in handle)
            except OSError:
                return False

        try:
            wait_until(
                flowing,
                deadline=Deadline.after(self.warmup_timeout),
                service=f"background k6 {self.run.name}",
                endpoint=self.run.target_url,
                condition="k6 made its first request",
                interval=0.05,
                max_interval=0.25,
                hint=f"k6's log is {self.run.log_path}",
            )
        except Exception as exc:
            # A k6 that exited says why itself (K6RunError is raised from inside the check).
            if process.poll() is not None:
                code = process.poll()
                raise K6RunError(
                    f"background k6 {self.run.name} exited with code {code} before any request",
                    script=str(self.run.script),
                    exit_code=code,
                    k6_message=process.message(),
                    log_path=str(self.run.log_path),
                ) from exc
            raise

    @contextlib.contextmanager
    def window(self, label: str) -> Iterator[None]:
        """Attribute the requests started while the block runs (plus `settle` seconds, so
        requests in flight at its end are counted) to `label`."""
        if any(window.label == label for window in self._windows):
            raise HarnessError(f"load window {label!r} is already used in {self.run.name}")
        started = dt.datetime.now(dt.UTC)
        try:
            yield
        finally:
            if self.settle > 0:
                time.sleep(self.settle)  # requests in flight at the block's end land inside
            self._windows.append(_Window(label, started, dt.datetime.now(dt.UTC)))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        process = self._process
        if process is None:
            return
        run = self.run
        try:
            code = process.poll()
            if code is None:
                code = process.interrupt(20.0)
            machine = MachineLoad.sample(self._load_before)
        finally:
            run.lock.release()
        if exc is not None:
            return  # the block's own error matters more than the load's figures
        result = run.result(
            process,
            code if code is not None else -9,
            self._started_at,
            machine,
            self._lock_wait,
            accept=(EXIT_OK, EXIT_THRESHOLDS_FAILED, EXIT_EXTERNAL_ABORT),
        )
        samples = read_samples(self.points_path)
        self._report = attribute(result, samples, self._windows)
        (run.report_dir / "windows.txt").write_text(str(self._report) + "\n")


def read_samples(path: Path) -> list[RequestSample]:
    """Each request's http_req_failed sample from k6's JSON output."""
    samples = []
    try:
        handle = path.open("rb")
    except OSError:
        return []
    with handle:
        for line in handle:
            if b"http_req_failed" not in line:  # cheap pre-filter: 1 line in 13 is one
                continue
            try:
                point = json.loads(line)
            except ValueError:
                continue  # a line cut short when k6 was stopped
            if point.get("type") != "Point" or point.get("metric") != "http_req_failed":
                continue
            data = point.get("data", {})
            tags = data.get("tags") or {}
            samples.append(
                RequestSample(
                    at=dt.datetime.fromisoformat(data["time"]),
                    failed=bool(data.get("value")),
                    status=str(tags.get("status", "")),
                    error_code=str(tags.get("error_code", "")),
                )
            )
    return samples


def _window_report(
    label: str,
    started_at: dt.datetime,
    ended_at: dt.datetime,
    samples: list[RequestSample],
    covered: bool,
) -> WindowReport:
    statuses = collections.Counter(sample.status for sample in samples)
    failures = [sample.at for sample in samples if sample.failed]
    return WindowReport(
        label=label,
        started_at=started_at,
        ended_at=ended_at,
        requests=len(samples),
        failed=len(failures),
        statuses=tuple(sorted(statuses.items())),
        first_failure_at=min(failures) if failures else None,
        last_failure_at=max(failures) if failures else None,
        covered=covered,
    )


def attribute(
    result: LoadResult, samples: list[RequestSample], windows: list[_Window]
) -> BackgroundReport:
    """Split the samples into the windows (by start time) and the rest."""
    first = min((s.at for s in samples), default=None)
    last = max((s.at for s in samples), default=None)
    reports = []
    inside: set[int] = set()
    for window in windows:
        chosen = [i for i, s in enumerate(samples) if window.started_at <= s.at <= window.ended_at]
        inside.update(chosen)
        # Arrivals are 1/rate apart: load covers the window if it ran from start to end.
        gap = dt.timedelta(seconds=max(1.0, 2.0 / result.shape.rate))
        covered = (
            first is not None
            and last is not None
            and first <= window.started_at + gap
            and last >= window.ended_at - gap
        )
        reports.append(
            _window_report(
                window.label,
                window.started_at,
                window.ended_at,
                [samples[i] for i in chosen],
                covered,
            )
        )
    rest = [s for i, s in enumerate(samples) if i not in inside]
    outside = _window_report(
        "outside any window",
        first or result.started_at,
        last or result.started_at,
        rest,
        covered=True,
    )
    return BackgroundReport(result, tuple(reports), outside)
