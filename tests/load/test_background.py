"""Background load: k6's per-request samples attributed to labelled windows of time."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

from harness.load import LoadResult, LoadShape
from harness.load.background import _Window, attribute, read_samples

MakeResult = Callable[..., LoadResult]
T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def write_points(path: Path, requests: list[tuple[float, bool, str]]) -> None:
    """k6 --out json lines: a Metric line, then per request an http_reqs and an
    http_req_failed point (and one cut short, as when k6 is stopped mid-write)."""
    lines = [
        json.dumps(
            {"type": "Metric", "data": {"name": "http_req_failed"}, "metric": "http_req_failed"}
        )
    ]
    for seconds, failed, status in requests:
        tags = {"status": status, "name": "/", "expected_response": str(not failed).lower()}
        if failed and status == "0":
            tags["error_code"] = "1211"
        for metric, value in (("http_reqs", 1), ("http_req_failed", int(failed))):
            lines.append(
                json.dumps(
                    {
                        "metric": metric,
                        "type": "Point",
                        "data": {"time": at(seconds).isoformat(), "value": value, "tags": tags},
                    }
                )
            )
    lines.append('{"metric":"http_req_failed","type":"Point","data":{"time":"2026-')
    path.write_text("\n".join(lines))


def test_failures_are_counted_in_their_window(tmp_path: Path, make_result: MakeResult) -> None:
    points = tmp_path / "requests.json"
    requests = [(t / 10, False, "200") for t in range(0, 100)]  # 10 per second for 10 s
    requests += [(4.05, True, "0"), (4.15, True, "502"), (8.5, True, "0")]
    write_points(points, requests)
    samples = read_samples(points)
    assert len(samples) == 103
    result = make_result(shape=LoadShape(rate=10, duration=60))
    report = attribute(
        result,
        samples,
        [_Window("switch", at(2), at(5)), _Window("rolling update", at(6), at(7))],
    )
    switch = report.window("switch")
    assert (switch.requests, switch.failed) == (33, 2)  # both ends included
    assert dict(switch.statuses) == {"0": 1, "200": 31, "502": 1}
    assert switch.first_failure_at == at(4.05) and switch.last_failure_at == at(4.15)
    assert switch.covered and switch.seconds == 3.0
    assert switch.error_rate == 2 / 33
    assert report.window("rolling update").failed == 0
    assert report.outside.failed == 1 and report.outside.requests == 103 - 33 - 11
    text = str(report)
    assert (
        "switch: 2 of 33 requests failed (6.06%) in 3.0s [12:00:02.000 - 12:00:05.000 UTC]" in text
    )


def test_a_window_the_load_did_not_cover_says_so(tmp_path: Path, make_result: MakeResult) -> None:
    points = tmp_path / "requests.json"
    write_points(points, [(t / 10, False, "200") for t in range(0, 30)])  # load ended at 3 s
    report = attribute(
        make_result(shape=LoadShape(rate=10)), read_samples(points), [_Window("late", at(2), at(9))]
    )
    assert not report.window("late").covered
    assert "NOT fully covered by load" in str(report.window("late"))
