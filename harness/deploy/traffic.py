"""Steady HTTP traffic during a deploy, bounded in count and time, that records every
request's outcome, so a scenario can prove "zero failed requests" (or count the losses).

    with SteadyTraffic(staging.app_url, "/version") as traffic:
        RollingDeploy(...).run()
    assert traffic.report.failures == ()
"""

from __future__ import annotations

import collections
import http.client
import threading
import time
import urllib.parse
from dataclasses import dataclass
from types import TracebackType

from harness.deploy.checks import CheckResult, SmokeCheck, send_check

__all__ = ["RequestRecord", "SteadyTraffic", "TrafficReport"]


@dataclass(frozen=True)
class RequestRecord:
    at: float  # seconds since the traffic started
    status: int | None
    error: str
    elapsed: float
    body: str

    @property
    def ok(self) -> bool:
        return not self.error and self.status is not None and self.status < 500

    def __str__(self) -> str:
        return f"+{self.at:.2f}s {self.error or self.status} ({self.elapsed * 1000:.0f} ms)"


@dataclass(frozen=True)
class TrafficReport:
    url: str
    requests: tuple[RequestRecord, ...]
    duration: float

    @property
    def total(self) -> int:
        return len(self.requests)

    @property
    def failures(self) -> tuple[RequestRecord, ...]:
        return tuple(r for r in self.requests if not r.ok)

    @property
    def bodies(self) -> collections.Counter[str]:
        """How often each answer body came back (e.g. which versions served)."""
        return collections.Counter(r.body.strip() for r in self.requests if r.ok)

    def summary(self) -> str:
        failures = self.failures
        text = (
            f"{self.total} requests to {self.url} in {self.duration:.1f}s, {len(failures)} failed"
        )
        if failures:
            text += ": " + ", ".join(str(f) for f in failures[:10])
            if len(failures) > 10:
                text += f", ... ({len(failures) - 10} more)"
        return text


class SteadyTraffic:
    """`concurrency` background threads, each sending one request every `interval` seconds
    on a new connection, until stopped, `max_requests` were sent or `max_seconds` passed.

    With a `body`, requests are POSTs (JSON when it starts with `{`); `trickle` spreads the
    body over that many seconds in a few pieces, so each request stays in flight that long:
    what a slow client or a large upload does, and what an abrupt shutdown cuts off.
    """

    def __init__(
        self,
        base_url: str,
        path: str = "/",
        *,
        interval: float = 0.05,
        max_requests: int = 3000,
        max_seconds: float = 120.0,
        timeout: float = 5.0,
        concurrency: int = 1,
        body: str | None = None,
        trickle: float = 0.0,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.hostname is None:
            raise ValueError(f"not a URL: {base_url!r}")
        self.host = parsed.hostname
        self.port = parsed.port or 80
        self.url = f"{base_url.rstrip('/')}{path}"
        self.check = SmokeCheck(path=path, method="POST" if body else "GET", timeout=timeout)
        self.body = body
        self.trickle = trickle
        self.concurrency = max(1, concurrency)
        self.interval = interval
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self._records: list[RequestRecord] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, name=f"steady-traffic-{n}", daemon=True)
            for n in range(self.concurrency)
        ]
        self._began = 0.0
        self._ended = 0.0
        self._report: TrafficReport | None = None

    def start(self) -> SteadyTraffic:
        self._began = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set() and len(self._records) < self.max_requests:
            now = time.monotonic()
            if now - self._began > self.max_seconds:
                break
            result = self._send()
            with self._lock:
                self._records.append(
                    RequestRecord(
                        at=now - self._began,
                        status=result.status,
                        error=result.error,
                        elapsed=result.elapsed,
                        body=result.body[:200],
                    )
                )
            next_at += self.interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))
        self._ended = time.monotonic()

    def _send(self) -> CheckResult:
        if self.body is None:
            return send_check(self.host, self.port, self.check)
        began = time.monotonic()
        payload = self.body.encode()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.check.timeout)
        try:
            connection.putrequest("POST", self.check.path)
            kind = "application/json" if self.body.startswith("{") else "text/plain"
            connection.putheader("Content-Type", kind)
            connection.putheader("Content-Length", str(len(payload)))
            connection.putheader("Connection", "close")
            connection.endheaders()
            pieces = 4 if self.trickle > 0 else 1
            size = -(-len(payload) // pieces)
            for n in range(pieces):
                connection.send(payload[n * size : (n + 1) * size])
                if n < pieces - 1:
                    time.sleep(self.trickle / (pieces - 1))
            response = connection.getresponse()
            text = response.read(64 * 1024).decode(errors="replace")
            return CheckResult(
                self.check, self.url, response.status, text, "", time.monotonic() - began
            )
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}".rstrip(": ")
            return CheckResult(self.check, self.url, None, "", error, time.monotonic() - began)
        finally:
            connection.close()

    def stop(self) -> TrafficReport:
        if self._report is None:
            self._stop.set()
            for thread in self._threads:
                thread.join(timeout=self.check.timeout + self.trickle + 5)
            ended = self._ended or time.monotonic()
            with self._lock:
                records = tuple(sorted(self._records, key=lambda r: r.at))
            self._report = TrafficReport(self.url, records, ended - self._began)
        return self._report

    @property
    def report(self) -> TrafficReport:
        """The report; stops the traffic first if it still runs."""
        return self.stop()

    def __enter__(self) -> SteadyTraffic:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
