"""k6's end-of-test summary (handleSummary data, real k6 1.1.0 output) into a LoadResult."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from harness.load import PLATFORM_GATE, LoadResult, Threshold, Verdict
from harness.load.result import SummaryError, parse_summary

MakeResult = Callable[..., LoadResult]
Summary = Callable[[str], dict[str, Any]]


def test_percentiles_counts_and_rates(k6_summary: Summary) -> None:
    figures = parse_summary(k6_summary("summary-passed.json"), PLATFORM_GATE.thresholds)
    assert figures.requests == 151
    assert figures.failed_requests == 0
    assert figures.requests_per_second == pytest.approx(50.3, abs=0.1)
    assert 0 < figures.latency.p50 <= figures.latency.p90 <= figures.latency.p95
    assert figures.latency.p95 <= figures.latency.p99 <= figures.latency.max
    assert figures.duration == pytest.approx(3.0, abs=0.1)
    assert figures.dropped_iterations == 0


def test_each_threshold_with_limit_value_and_k6s_verdict(k6_summary: Summary) -> None:
    relative = Threshold("http_req_duration", "p(95)<=21.722")
    figures = parse_summary(
        k6_summary("summary-relative-failed.json"), (*PLATFORM_GATE.thresholds, relative)
    )
    by_expression = {t.expression: t for t in figures.thresholds}
    assert by_expression["p(95)<2000"].verdict is Verdict.PASSED
    assert by_expression["p(95)<=21.722"].verdict is Verdict.FAILED
    assert by_expression["p(95)<=21.722"].limit == 21.722
    assert by_expression["p(95)<=21.722"].value == pytest.approx(246.6, abs=0.1)
    assert by_expression["rate<0.01"].value == 0.0
    assert figures.dropped_iterations == 8


def test_failed_requests_are_k6s_rate_passes(k6_summary: Summary) -> None:
    data = k6_summary("summary-passed.json")
    data["metrics"]["http_req_failed"]["values"] = {"rate": 0.02, "passes": 3, "fails": 148}
    data["metrics"]["http_req_failed"]["thresholds"] = {"rate<0.01": {"ok": False}}
    figures = parse_summary(data, PLATFORM_GATE.thresholds)
    assert figures.failed_requests == 3
    failed = next(t for t in figures.thresholds if t.metric == "http_req_failed")
    assert failed.verdict is Verdict.FAILED
    assert failed.value == pytest.approx(3 / 151)


def test_a_threshold_k6_did_not_judge_is_judged_on_the_value(k6_summary: Summary) -> None:
    data = k6_summary("summary-passed.json")
    data["metrics"]["http_req_duration"].pop("thresholds")
    figures = parse_summary(data, (Threshold("http_req_duration", "p(95)<0.5"),))
    assert figures.thresholds[0].verdict is Verdict.FAILED


def test_not_a_summary() -> None:
    with pytest.raises(SummaryError, match="not handleSummary"):
        parse_summary({"root_group": {}}, ())


def test_result_describes_itself_and_serialises(make_result: MakeResult) -> None:
    result = make_result(p95=12.0, failed=2)
    assert result.error_rate == 0.01
    assert result.statistic("http_req_duration", "p(95)") == 12.0
    text = result.describe()
    assert "2 failed (1.00%)" in text and "p95 12.0 ms" in text and "time scale 1" in text
    data = json.loads(result.to_json())
    assert data["latency"]["p95"] == 12.0 and data["verdict"] == "passed"
    assert data["machine"]["cpu_count"] == 2 and data["time_scale"] == 1.0
