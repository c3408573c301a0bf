"""Gates: the platform's absolute one and the relative one against the serving release."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.errors import ConfigurationError
from harness.load import (
    PLATFORM_GATE,
    GateFailed,
    GateKind,
    LoadGate,
    LoadResult,
    LoadShape,
    RelativeGate,
    Verdict,
    assert_gate,
    evaluate_gate,
)

MakeResult = Callable[..., LoadResult]


def test_a_fast_release_passes_both(make_result: MakeResult) -> None:
    baseline = make_result("serving", p95=6.0)
    report = assert_gate(make_result("candidate", p95=7.0), baseline=baseline)
    assert report.passed
    assert {check.kind for check in report.checks} == set(GateKind)


def test_slower_by_150ms_passes_absolute_fails_relative(make_result: MakeResult) -> None:
    baseline = make_result("serving", p95=6.0)
    slow = make_result("candidate", p95=158.0)
    assert assert_gate(slow).passed  # the absolute gate alone would never trip on loopback
    with pytest.raises(GateFailed) as caught:
        assert_gate(slow, baseline=baseline)
    report = caught.value.report
    assert [c.kind for c in report.failed_checks] == [GateKind.RELATIVE]
    failed = report.failed_checks[0]
    assert failed.limit == pytest.approx(1.25 * 6.0 + 20.0)
    assert (failed.measured, failed.baseline) == (158.0, 6.0)
    message = str(caught.value)
    assert "load gate platform FAILED for candidate" in message
    assert (
        "FAIL  relative  http_req_duration p(95) <= 27.5 ms (1.25 x baseline + 20 ms): "
        "measured 158.0 ms, baseline 6.0 ms"
    ) in message
    assert "PASS  absolute  http_req_duration p(95) < 2000.0 ms: measured 158.0 ms" in message
    assert "baseline: serving" in message


def test_gate_failed_is_an_assertion_error(make_result: MakeResult) -> None:
    with pytest.raises(AssertionError):
        assert_gate(make_result(p95=2500.0))


def test_error_rate_against_baseline_plus_half_a_percent(make_result: MakeResult) -> None:
    baseline = make_result("serving", failed=0, requests=1000)
    assert assert_gate(make_result(failed=5, requests=1000), baseline=baseline).passed
    report = evaluate_gate(make_result(failed=6, requests=1000), baseline=baseline)
    assert [c.metric for c in report.failed_checks] == ["http_req_failed"]
    assert "FAIL  relative  http_req_failed rate <= 0.50 % (baseline + 0.5 %)" in str(report)


def test_errors_of_1_percent_fail_the_platform_gate(make_result: MakeResult) -> None:
    report = evaluate_gate(make_result(failed=2, requests=200))
    assert report.verdict is Verdict.FAILED
    assert "FAIL  absolute  http_req_failed rate < 1.00 %: measured 1.00 %" in str(report)


def test_a_run_without_requests_never_passes(make_result: MakeResult) -> None:
    report = evaluate_gate(make_result(requests=0, p95=0.0))
    assert [c.kind for c in report.failed_checks] == [GateKind.VALIDITY]


def test_baseline_under_another_load_is_refused(make_result: MakeResult) -> None:
    baseline = make_result("serving", shape=LoadShape(rate=40))
    with pytest.raises(ConfigurationError, match="not measured like candidate"):
        evaluate_gate(make_result("candidate"), baseline=baseline)
    with pytest.raises(ConfigurationError, match=r"time scale 0\.1 vs 1"):
        evaluate_gate(make_result("candidate"), baseline=make_result(time_scale=0.1))


def test_relative_limits_as_k6_thresholds(make_result: MakeResult) -> None:
    baseline = make_result(p95=6.123, failed=1, requests=200)
    thresholds = PLATFORM_GATE.k6_thresholds(baseline)
    assert [str(t) for t in thresholds] == [
        "http_req_duration: p(95)<2000",
        "http_req_failed: rate<0.01",
        "http_req_duration: p(95)<=27.654",
        "http_req_failed: rate<=0.01",
    ]
    assert PLATFORM_GATE.k6_thresholds(None) == PLATFORM_GATE.thresholds


def test_a_stricter_gate(make_result: MakeResult) -> None:
    gate = LoadGate("strict", relative=RelativeGate(p95_factor=1.1, p95_slack_ms=2))
    report = evaluate_gate(make_result(p95=9.0), baseline=make_result(p95=6.0), gate=gate)
    assert not report.passed and report.gate == "strict"
