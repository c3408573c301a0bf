"""Load gates: the platform's absolute gate (P95 < 2 s, errors < 1 %) and a relative gate
against the serving release measured back to back, judged into a report that reads like CI.

    baseline = K6Run("p95-serving", url, gate=PLATFORM_GATE).run()
    candidate = K6Run("p95-candidate", url, gate=PLATFORM_GATE, baseline=baseline).run()
    assert_gate(candidate, baseline=baseline)     # GateFailed (an AssertionError) when not
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from harness.errors import ConfigurationError, HarnessError
from harness.load.result import LoadResult, Verdict
from harness.load.thresholds import Comparison, Threshold

__all__ = [
    "PLATFORM_GATE",
    "GateCheck",
    "GateFailed",
    "GateKind",
    "GateReport",
    "LoadGate",
    "RelativeGate",
    "assert_gate",
    "evaluate_gate",
]

_DURATION = "http_req_duration"
_FAILED = "http_req_failed"


class GateKind(enum.Enum):
    ABSOLUTE = "absolute"  # the platform's fixed limits
    RELATIVE = "relative"  # limits derived from the serving release's measurement
    VALIDITY = "validity"  # the measurement itself is usable (it made requests)


@dataclass(frozen=True)
class GateCheck:
    """One line of a gate: the threshold, its limit, the measured value and the baseline."""

    kind: GateKind
    metric: str
    statistic: str
    comparison: Comparison
    limit: float
    measured: float | None
    verdict: Verdict
    rule: str = ""  # how the limit was derived, e.g. "1.25 x baseline + 20 ms"
    baseline: float | None = None

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASSED

    def line(self) -> str:
        unit = _unit(self.metric, self.statistic)
        limit = _fmt(self.limit, unit)
        rule = f" ({self.rule})" if self.rule else ""
        text = (
            f"{'PASS' if self.passed else 'FAIL'}  {self.kind.value:<8}  "
            f"{self.metric} {self.statistic} {self.comparison.value} {limit}{rule}: "
            f"measured {_fmt(self.measured, unit)}"
        )
        if self.baseline is not None:
            text += f", baseline {_fmt(self.baseline, unit)}"
        return text


def _unit(metric: str, statistic: str) -> str:
    if statistic == "rate":
        return "%"
    if metric.startswith(_DURATION) or metric.endswith("_duration"):
        return "ms"
    return ""


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "%":
        return f"{value * 100:.2f} %"
    if unit == "ms":
        return f"{value:.1f} ms"
    return f"{value:g}"


def _k6_number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class RelativeGate:
    """Limits from the release serving now, measured back to back under the same load:
    P95 <= p95_factor x baseline + p95_slack_ms, error rate <= baseline + error_rate_slack.

    The slack keeps loopback noise (a few ms) from failing a release that is as fast."""

    p95_factor: float = 1.25
    p95_slack_ms: float = 20.0
    error_rate_slack: float = 0.005

    def p95_limit(self, baseline: LoadResult) -> float:
        return self.p95_factor * baseline.latency.p95 + self.p95_slack_ms

    def error_rate_limit(self, baseline: LoadResult) -> float:
        return baseline.error_rate + self.error_rate_slack

    def thresholds(self, baseline: LoadResult) -> tuple[Threshold, ...]:
        """The same limits in k6's syntax, so k6 itself judges (and reports) them."""
        return (
            Threshold(_DURATION, f"p(95)<={_k6_number(self.p95_limit(baseline))}"),
            Threshold(_FAILED, f"rate<={_k6_number(self.error_rate_limit(baseline))}"),
        )

    def checks(self, result: LoadResult, baseline: LoadResult) -> tuple[GateCheck, ...]:
        p95_limit = self.p95_limit(baseline)
        error_limit = self.error_rate_limit(baseline)
        p95_ok = result.latency.p95 <= p95_limit
        errors_ok = result.error_rate <= error_limit
        return (
            GateCheck(
                GateKind.RELATIVE,
                _DURATION,
                "p(95)",
                Comparison.LE,
                p95_limit,
                result.latency.p95,
                Verdict.PASSED if p95_ok else Verdict.FAILED,
                rule=f"{self.p95_factor:g} x baseline + {self.p95_slack_ms:g} ms",
                baseline=baseline.latency.p95,
            ),
            GateCheck(
                GateKind.RELATIVE,
                _FAILED,
                "rate",
                Comparison.LE,
                error_limit,
                result.error_rate,
                Verdict.PASSED if errors_ok else Verdict.FAILED,
                rule=f"baseline + {self.error_rate_slack * 100:g} %",
                baseline=baseline.error_rate,
            ),
        )


#: the platform's quality gate, as its CI states it in k6's syntax
PLATFORM_THRESHOLDS = (
    Threshold(_DURATION, "p(95)<2000"),
    Threshold(_FAILED, "rate<0.01", abort_on_fail=True, delay_abort_eval="5s"),
)


@dataclass(frozen=True)
class LoadGate:
    """What a release must meet: absolute thresholds, and a relative gate when a baseline
    (the serving release under the same load) is given."""

    name: str = "platform"
    thresholds: tuple[Threshold, ...] = PLATFORM_THRESHOLDS
    relative: RelativeGate = field(default_factory=RelativeGate)

    def k6_thresholds(self, baseline: LoadResult | None = None) -> tuple[Threshold, ...]:
        """Everything k6 should judge for this run (it exits 99 when one is crossed)."""
        if baseline is None:
            return self.thresholds
        return self.thresholds + self.relative.thresholds(baseline)


PLATFORM_GATE = LoadGate()


@dataclass(frozen=True)
class GateReport:
    """A gate judged: every check, and the verdict (FAILED when any check failed)."""

    gate: str
    result: LoadResult
    checks: tuple[GateCheck, ...]
    baseline: LoadResult | None = None

    @property
    def verdict(self) -> Verdict:
        return Verdict.PASSED if all(check.passed for check in self.checks) else Verdict.FAILED

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASSED

    @property
    def failed_checks(self) -> tuple[GateCheck, ...]:
        return tuple(check for check in self.checks if not check.passed)

    def __str__(self) -> str:
        result = self.result
        head = (
            f"load gate {self.gate} {self.verdict.value.upper()} for {result.name}: "
            f"{result.shape} against {result.target_url}"
        )
        lines = [head]
        if self.baseline is not None:
            lines.append(
                f"  baseline: {self.baseline.name}, measured just before under the same load"
            )
        lines += [f"  {check.line()}" for check in self.checks]
        lines.append(
            f"  {result.requests} requests, {result.failed_requests} failed, "
            f"latency {result.latency}"
        )
        lines.append(
            f"  time scale {result.time_scale:g}; {result.machine}"
            + (f"; {result.k6_usage}" if result.k6_usage else "")
        )
        if result.aborted:
            lines.append("  k6 stopped the run early: a threshold with abortOnFail was crossed")
        if result.html_report is not None:
            lines.append(f"  k6 report: {result.html_report}")
        return "\n".join(lines)


class GateFailed(HarnessError, AssertionError):
    """A load gate failed. An AssertionError, so pytest shows it as a test failure."""

    def __init__(self, report: GateReport) -> None:
        self.report = report
        super().__init__(str(report))


def _absolute_checks(result: LoadResult, gate: LoadGate) -> list[GateCheck]:
    checks = []
    for threshold in gate.thresholds:
        judged = result.threshold(threshold.metric, threshold.expression)
        measured = judged.value if judged is not None else None
        if measured is None:
            measured = result.statistic(threshold.metric, threshold.aggregation)
        if judged is not None:
            verdict = judged.verdict  # k6's own verdict is authoritative
        elif measured is not None and threshold.holds(measured):
            verdict = Verdict.PASSED
        else:
            verdict = Verdict.FAILED
        checks.append(
            GateCheck(
                GateKind.ABSOLUTE,
                threshold.metric,
                threshold.aggregation,
                threshold.comparison,
                threshold.limit,
                measured,
                verdict,
            )
        )
    return checks


def _require_comparable(result: LoadResult, baseline: LoadResult) -> None:
    differences = []
    if baseline.shape != result.shape:
        differences.append(f"load {baseline.shape} vs {result.shape}")
    if baseline.script != result.script:
        differences.append(f"script {baseline.script} vs {result.script}")
    if baseline.time_scale != result.time_scale:
        differences.append(f"time scale {baseline.time_scale:g} vs {result.time_scale:g}")
    if differences:
        raise ConfigurationError(
            f"baseline {baseline.name} was not measured like {result.name}: "
            + "; ".join(differences)
            + ". A relative gate compares runs under the same load, back to back."
        )


def evaluate_gate(
    result: LoadResult, baseline: LoadResult | None = None, gate: LoadGate = PLATFORM_GATE
) -> GateReport:
    """Judge `result` against the gate's absolute thresholds and, with a baseline measured
    under the same load, the relative gate. ConfigurationError when the baseline is not
    comparable (another load shape, script or time scale)."""
    checks = [
        GateCheck(
            GateKind.VALIDITY,
            "http_reqs",
            "count",
            Comparison.GT,
            0,
            float(result.requests),
            Verdict.PASSED if result.requests > 0 else Verdict.FAILED,
            rule="the run made requests",
        )
    ]
    checks += _absolute_checks(result, gate)
    if baseline is not None:
        _require_comparable(result, baseline)
        checks += gate.relative.checks(result, baseline)
    return GateReport(gate.name, result, tuple(checks), baseline)


def assert_gate(
    result: LoadResult, baseline: LoadResult | None = None, gate: LoadGate = PLATFORM_GATE
) -> GateReport:
    """The gate's report when it passes; GateFailed (an AssertionError) with the report as
    its message when it does not."""
    report = evaluate_gate(result, baseline, gate)
    if not report.passed:
        raise GateFailed(report)
    return report
