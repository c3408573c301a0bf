"""pods/log over HTTP: tail, previous, timestamps, limitBytes, the kubelet's error messages,
and following a log until the pod is gone."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from harness.apimachinery.timestamps import parse_nano
from harness.cluster import podlogs

NS = "/api/v1/namespaces/default"


# -- pod logs -------------------------------------------------------------------------------
def _write_log(api: Any, pod: str, container: str, run: int, lines: list[str]) -> Path:
    path = podlogs.PodLogs(api.logs_dir).writable_path("default", pod, container, run)
    with path.open("ab") as handle:
        for line in lines:
            handle.write(podlogs.cri_line(line))
    return path


@pytest.mark.integration
def test_logs_tail_previous_and_timestamps(api: Any, make_pod: Any) -> None:
    api.request("POST", f"{NS}/pods", make_pod("logs-1", ["app"]))
    _write_log(api, "logs-1", "app", 0, ["first run"])
    _write_log(api, "logs-1", "app", 1, [f"line {i}" for i in range(5)])
    status, headers, body = api.request("GET", f"{NS}/pods/logs-1/log?tailLines=2")
    assert status == 200 and body == b"line 3\nline 4\n"
    assert headers["Content-Type"].startswith("text/plain")
    assert api.request("GET", f"{NS}/pods/logs-1/log?previous=true")[2] == b"first run\n"
    status, _, body = api.request(
        "GET", f"{NS}/pods/logs-1/log?container=app&timestamps=true&tailLines=1"
    )
    stamp, _, text = body.partition(b" ")
    assert text == b"line 4\n" and parse_nano(stamp.decode())
    assert api.request("GET", f"{NS}/pods/logs-1/log?limitBytes=3")[2] == b"lin"


@pytest.mark.integration
def test_logs_errors_carry_the_real_messages(api: Any, make_pod: Any) -> None:
    api.request("POST", f"{NS}/pods", make_pod("logs-2", ["a", "b"]))
    status, _, body = api.request("GET", f"{NS}/pods/logs-2/log")
    assert status == 400 and body["reason"] == "BadRequest"
    assert (
        body["message"] == "a container name must be specified for pod logs-2, choose one of: [a b]"
    )
    status, _, body = api.request("GET", f"{NS}/pods/logs-2/log?container=c")
    assert (status, body["message"]) == (400, "container c is not valid for pod logs-2")
    status, _, body = api.request("GET", f"{NS}/pods/logs-2/log?container=a&previous=true")
    assert status == 400 and "previous terminated container" in body["message"]
    assert api.request("GET", f"{NS}/pods/nope/log")[0] == 404


@pytest.mark.integration
def test_logs_follow_streams_until_the_pod_is_gone(api: Any, make_pod: Any) -> None:
    api.request("POST", f"{NS}/pods", make_pod("logs-3", ["app"]))
    path = _write_log(api, "logs-3", "app", 0, ["before"])
    connection, response = api.stream(f"{NS}/pods/logs-3/log?follow=true")
    try:
        assert response.readline() == b"before\n"
        with path.open("ab") as handle:
            handle.write(podlogs.cri_line("after"))
        assert response.readline() == b"after\n"
        api.request("DELETE", f"{NS}/pods/logs-3?gracePeriodSeconds=0")
        assert response.read() == b""  # the stream ends with the pod
    finally:
        connection.close()


@pytest.mark.integration
def test_logs_follow_a_running_container_whose_status_has_null_states(
    api: Any, make_pod: Any
) -> None:
    """A merge patch can store `"terminated": null` (list elements are replaced whole); that is
    not a terminated container, so following goes on."""
    api.request("POST", f"{NS}/pods", make_pod("logs-4", ["app"]))
    state = {"running": {"startedAt": "2026-01-01T00:00:00Z"}, "terminated": None, "waiting": None}
    status, _, _ = api.request(
        "PATCH",
        f"{NS}/pods/logs-4/status",
        {"status": {"containerStatuses": [{"name": "app", "restartCount": 0, "state": state}]}},
        content_type="application/merge-patch+json",
    )
    assert status == 200
    path = _write_log(api, "logs-4", "app", 0, ["before"])
    connection, response = api.stream(f"{NS}/pods/logs-4/log?follow=true")
    try:
        assert response.readline() == b"before\n"
        time.sleep(0.3)  # several polls of the log with nothing new: the stream stays open
        with path.open("ab") as handle:
            handle.write(podlogs.cri_line("after"))
        assert response.readline() == b"after\n"
    finally:
        connection.close()
        api.request("DELETE", f"{NS}/pods/logs-4?gracePeriodSeconds=0")
