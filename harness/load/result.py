"""A k6 run's outcome as typed values: latency percentiles, error rate, throughput, every
threshold with its limit, measured value and verdict, and the machine it was measured on."""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.load.shape import LoadShape
from harness.load.thresholds import Threshold

__all__ = [
    "K6Usage",
    "Latency",
    "LoadResult",
    "MachineLoad",
    "SummaryError",
    "ThresholdResult",
    "Verdict",
    "parse_summary",
]

#: the trend statistics the harness asks k6 to put in its summary
TREND_STATS = ("avg", "min", "med", "max", "p(50)", "p(90)", "p(95)", "p(99)", "count")

#: a metric's statistics as k6's summary gives them, e.g. {"p(95)": 12.3, "avg": 5.1}
Statistics = Mapping[str, float]


class Verdict(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"


class SummaryError(HarnessError):
    """k6's end-of-test summary is missing or not what handleSummary() writes."""


@dataclass(frozen=True)
class Latency:
    """http_req_duration percentiles, in milliseconds."""

    p50: float
    p90: float
    p95: float
    p99: float
    avg: float
    max: float

    def __str__(self) -> str:
        return (
            f"p50 {self.p50:.1f} ms, p90 {self.p90:.1f} ms, p95 {self.p95:.1f} ms, "
            f"p99 {self.p99:.1f} ms, max {self.max:.1f} ms"
        )


@dataclass(frozen=True)
class ThresholdResult:
    """A threshold as k6 judged it, with the value it measured."""

    threshold: Threshold
    value: float | None
    verdict: Verdict

    @property
    def metric(self) -> str:
        return self.threshold.metric

    @property
    def expression(self) -> str:
        return self.threshold.expression

    @property
    def limit(self) -> float:
        return self.threshold.limit

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASSED

    def __str__(self) -> str:
        value = "n/a" if self.value is None else f"{self.value:.4g}"
        return f"{self.verdict.value.upper()} {self.metric} {self.expression} (measured {value})"


@dataclass(frozen=True)
class MachineLoad:
    """The machine a run was measured on: CPUs and the 1/5/15-minute load averages before
    and after, so a slow result on a busy machine can be told from a slow release."""

    cpu_count: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]

    @classmethod
    def sample(cls, before: tuple[float, float, float] | None = None) -> MachineLoad:
        now = _loadavg()
        return cls(os.cpu_count() or 1, before or now, now)

    def __str__(self) -> str:
        return (
            f"{self.cpu_count} CPUs, load {self.load_before[0]:.2f} before, "
            f"{self.load_after[0]:.2f} after"
        )


def _loadavg() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:
        return (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class K6Usage:
    """The k6 process' own CPU use while it ran (psutil samples), so a result can say
    whether the load generator itself was short of CPU."""

    cpu_seconds: float
    wall_seconds: float
    peak_rss_mb: float
    cpu_count: int

    @property
    def cores(self) -> float:
        """CPU seconds per second: 1.0 is one core busy the whole run."""
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def machine_share(self) -> float:
        """The fraction of all the machine's CPUs k6 used."""
        return self.cores / self.cpu_count if self.cpu_count else 0.0

    def __str__(self) -> str:
        return (
            f"k6 used {self.cores:.2f} cores ({self.machine_share:.0%} of {self.cpu_count} CPUs), "
            f"peak RSS {self.peak_rss_mb:.0f} MB"
        )


@dataclass(frozen=True)
class LoadResult:
    """One k6 run. Durations in milliseconds, rates as fractions (0.01 is 1 %).

    `verdict` is k6's: FAILED when any threshold given to k6 was crossed (exit code 99).
    Relative gates against a baseline are judged by `assert_gate(result, baseline)`.
    """

    name: str
    script: Path
    target_url: str
    shape: LoadShape
    started_at: dt.datetime
    duration: float
    latency: Latency
    requests: int
    failed_requests: int
    requests_per_second: float
    dropped_iterations: int
    thresholds: tuple[ThresholdResult, ...]
    verdict: Verdict
    aborted: bool
    exit_code: int
    time_scale: float
    machine: MachineLoad
    k6_version: str
    report_dir: Path
    summary_path: Path
    log_path: Path
    html_report: Path | None = None
    k6_usage: K6Usage | None = None
    lock_wait: float = 0.0
    statistics: Mapping[str, Statistics] = field(default_factory=dict, repr=False)

    @property
    def error_rate(self) -> float:
        return self.failed_requests / self.requests if self.requests else 0.0

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASSED

    @property
    def p95(self) -> float:
        return self.latency.p95

    def statistic(self, metric: str, aggregation: str) -> float | None:
        """A statistic of k6's summary ("http_req_duration", "p(95)"); None when absent."""
        values = self.statistics.get(metric)
        if values is None:
            if metric == "http_req_failed" and aggregation == "rate":
                return self.error_rate
            return None
        value = values.get(aggregation)
        if value is None and aggregation == "med":
            value = values.get("p(50)")
        return value

    def threshold(self, metric: str, expression: str | None = None) -> ThresholdResult | None:
        for result in self.thresholds:
            if result.metric == metric and expression in (None, result.expression):
                return result
        return None

    def describe(self) -> str:
        """A few lines for logs and reports."""
        lines = [
            f"load {self.name}: {self.verdict.value.upper()}"
            + (" (aborted)" if self.aborted else "")
            + f", {self.shape} against {self.target_url}",
            f"  {self.requests} requests ({self.requests_per_second:.1f}/s), "
            f"{self.failed_requests} failed ({self.error_rate:.2%}), "
            f"{self.dropped_iterations} dropped iterations, in {self.duration:.1f}s",
            f"  latency {self.latency}",
        ]
        lines += [f"  {threshold}" for threshold in self.thresholds]
        lines.append(f"  time scale {self.time_scale:g}, {self.machine}")
        if self.k6_usage is not None:
            lines.append(f"  {self.k6_usage}")
        if self.html_report is not None:
            lines.append(f"  report {self.html_report}")
        return "\n".join(lines)

    def to_json(self) -> str:
        def default(value: Any) -> Any:
            if isinstance(value, enum.Enum):
                return value.value
            if isinstance(value, Path | dt.datetime):
                return str(value)
            raise TypeError(type(value).__name__)

        data = asdict(self)
        data["error_rate"] = self.error_rate
        return json.dumps(data, indent=2, sort_keys=True, default=default)


@dataclass(frozen=True)
class SummaryFigures:
    """What parse_summary reads out of handleSummary()'s data."""

    latency: Latency
    requests: int
    failed_requests: int
    requests_per_second: float
    dropped_iterations: int
    duration: float
    thresholds: tuple[ThresholdResult, ...]
    statistics: Mapping[str, Statistics]


def parse_summary(data: Mapping[str, Any], thresholds: Sequence[Threshold]) -> SummaryFigures:
    """Read k6's end-of-test data (the argument of handleSummary, as JSON) into figures;
    `thresholds` are the ones the run was given, matched to k6's verdicts."""
    metrics = data.get("metrics")
    state = data.get("state")
    if not isinstance(metrics, Mapping) or not isinstance(state, Mapping):
        raise SummaryError("k6's summary has no 'metrics' or 'state': not handleSummary() data")
    statistics: dict[str, dict[str, float]] = {}
    for name, metric in metrics.items():
        values = metric.get("values", {}) if isinstance(metric, Mapping) else {}
        statistics[name] = {
            key: float(value) for key, value in values.items() if isinstance(value, int | float)
        }

    def stat(metric: str, key: str) -> float:
        return statistics.get(metric, {}).get(key, 0.0)

    duration_stats = statistics.get("http_req_duration", {})
    latency = Latency(
        p50=duration_stats.get("p(50)", duration_stats.get("med", 0.0)),
        p90=duration_stats.get("p(90)", 0.0),
        p95=duration_stats.get("p(95)", 0.0),
        p99=duration_stats.get("p(99)", 0.0),
        avg=duration_stats.get("avg", 0.0),
        max=duration_stats.get("max", 0.0),
    )
    # k6's Rate metric counts non-zero samples as "passes": for http_req_failed, failures.
    failed = int(stat("http_req_failed", "passes"))
    requests = int(stat("http_reqs", "count"))
    verdicts: list[ThresholdResult] = []
    for threshold in thresholds:
        metric = metrics.get(threshold.metric)
        judged = (metric or {}).get("thresholds", {}).get(threshold.expression)
        value = statistics.get(threshold.metric, {}).get(threshold.aggregation)
        if threshold.aggregation == "rate" and threshold.metric == "http_req_failed":
            value = failed / requests if requests else stat("http_req_failed", "rate")
        if isinstance(judged, Mapping) and "ok" in judged:
            verdict = Verdict.PASSED if judged["ok"] else Verdict.FAILED
        elif value is not None:  # k6 did not judge it (no samples): judge the value we have
            verdict = Verdict.PASSED if threshold.holds(value) else Verdict.FAILED
        else:
            verdict = Verdict.FAILED
        verdicts.append(ThresholdResult(threshold, value, verdict))
    return SummaryFigures(
        latency=latency,
        requests=requests,
        failed_requests=failed,
        requests_per_second=stat("http_reqs", "rate"),
        dropped_iterations=int(stat("dropped_iterations", "count")),
        duration=float(state.get("testRunDurationMs", 0.0)) / 1000.0,
        thresholds=tuple(verdicts),
        statistics=statistics,
    )
