"""Real k6 runs against a local web app (fixtures/images/webapp.py): gates that pass and fail,
k6's own errors, the HTML report, and failures counted in a background window."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from harness.load import (
    GateFailed,
    K6Run,
    K6ScriptError,
    LoadResult,
    LoadShape,
    Threshold,
    Verdict,
    assert_gate,
    find_k6,
)
from harness.load.errors import K6NotFoundError

try:
    find_k6()
except K6NotFoundError as exc:
    pytest.skip(f"k6 is not installed: {exc}", allow_module_level=True)

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("k6")]

FAST = LoadShape(rate=40, duration=3)


def test_a_good_run_passes_the_platform_gate_and_keeps_the_report(
    webapp: Any, reports: Path
) -> None:
    result = K6Run("good", webapp.url, shape=FAST).run()
    print(result.describe())
    assert result.verdict is Verdict.PASSED and result.exit_code == 0
    assert result.requests >= FAST.expected_requests - 2 and result.failed_requests == 0
    assert 0 < result.latency.p50 <= result.latency.p95 <= result.latency.p99 < 2000
    assert result.requests_per_second == pytest.approx(40, rel=0.15)
    assert [t.expression for t in result.thresholds] == ["p(95)<2000", "rate<0.01"]
    assert all(t.verdict is Verdict.PASSED for t in result.thresholds)
    assert result.machine.cpu_count >= 1 and result.time_scale == 1.0
    assert result.k6_usage is not None and result.k6_usage.cpu_seconds > 0
    assert result.report_dir == reports / "good"
    assert result.html_report == reports / "good" / "k6-report.html"
    assert result.html_report.stat().st_size > 10_000
    assert (reports / "good" / "result.json").is_file()
    assert_gate(result)


def measured_as(result: LoadResult, shape: LoadShape) -> LoadResult:
    """The fast measurement, recorded under the slow path's shape: the web app stands for two
    releases by a query string, where the real app's releases answer the same paths."""
    return dataclasses.replace(result, shape=shape)


FAST_PATH = LoadShape(rate=20, duration=3, paths=("/",))
SLOW_PATH = LoadShape(rate=20, duration=3, paths=("/?delay=0.15",))


def test_a_release_150ms_slower_fails_only_the_relative_gate(webapp: Any, reports: Path) -> None:
    baseline = measured_as(K6Run("serving", webapp.url, shape=FAST_PATH).run(), SLOW_PATH)
    candidate = K6Run("slow", webapp.url, shape=SLOW_PATH).run()
    assert candidate.passed, "the absolute gate alone passes a 150 ms regression"
    assert_gate(candidate)
    with pytest.raises(GateFailed) as caught:
        assert_gate(candidate, baseline=baseline)
    message = str(caught.value)
    print(message)
    assert "FAIL  relative  http_req_duration p(95) <=" in message
    assert f"baseline {baseline.latency.p95:.1f} ms" in message
    assert f"measured {candidate.latency.p95:.1f} ms" in message


def test_k6_judges_the_relative_thresholds_itself_exit_99(webapp: Any, reports: Path) -> None:
    baseline = measured_as(K6Run("serving", webapp.url, shape=FAST_PATH).run(), SLOW_PATH)
    candidate = K6Run("slow", webapp.url, shape=SLOW_PATH, baseline=baseline).run()
    assert candidate.exit_code == 99 and candidate.verdict is Verdict.FAILED
    relative = candidate.thresholds[2]
    assert relative.expression.startswith("p(95)<=") and relative.verdict is Verdict.FAILED
    assert relative.value is not None and relative.value > 150


def test_a_crossed_abort_on_fail_threshold_stops_the_run_early(webapp: Any, reports: Path) -> None:
    result = K6Run(
        "abort",
        webapp.url,
        shape=LoadShape(rate=20, duration=20),
        gate=None,
        thresholds=[Threshold("http_req_duration", "p(95)<0.001", True, "1s")],
    ).run()
    assert result.exit_code == 99 and result.aborted and result.verdict is Verdict.FAILED
    assert result.duration < 10


def test_a_broken_script_is_reported_with_k6s_message(
    webapp: Any, reports: Path, tmp_path: Path
) -> None:
    script = tmp_path / "broken.js"
    script.write_text("import http from 'k6/http';\nexport default function () { http.get( }\n")
    with pytest.raises(K6ScriptError) as caught:
        K6Run("broken", webapp.url, script=script, shape=FAST).run()
    message = str(caught.value)
    print(message)
    assert caught.value.exit_code == 107
    assert "broken.js: Line 2:" in message and "Unexpected token" in message


def test_background_load_counts_the_failures_of_each_window(webapp: Any, reports: Path) -> None:
    run = K6Run(
        "background",
        webapp.url,
        gate=None,
        shape=LoadShape(rate=50, duration=60, paths=("/?delay=0.05",), request_timeout=2),
    )
    with run.background(settle=0.3) as load:
        with load.window("steady"):
            time.sleep(1.0)
        with load.window("outage"):
            webapp.kill()
            time.sleep(1.0)
    report = load.report
    print(report)
    steady, outage = report.window("steady"), report.window("outage")
    assert steady.requests >= 40 and steady.failed == 0 and steady.covered
    assert outage.failed > 0 and outage.error_rate > 0.5
    assert ("0", outage.failed) in outage.statuses
    assert report.result.requests >= steady.requests + outage.requests
    assert report.result.duration < 10, "leaving the block stopped k6"
    assert (reports / "background" / "windows.txt").is_file()


def test_runs_hold_the_machine_wide_lock_one_at_a_time(webapp: Any, reports: Path) -> None:
    spans: dict[str, tuple[float, float]] = {}

    def measure(name: str) -> None:
        began = time.monotonic()
        result = K6Run(name, webapp.url, shape=LoadShape(rate=10, duration=2)).run()
        spans[name] = (began + result.lock_wait, time.monotonic())

    threads = [threading.Thread(target=measure, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    first, second = sorted(spans.values())
    assert first[1] <= second[0] + 0.5, spans
