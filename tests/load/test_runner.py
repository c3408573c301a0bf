"""K6Run without real load: what it refuses before k6 starts, and how k6's exit codes read.

A stand-in k6 (a shell script answering `k6 version`) stands for the failures; a tiny HTTP
server in a thread is the target, so the probe before k6 has something to reach.
"""

from __future__ import annotations

import http.server
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.load import (
    K6Binary,
    K6Run,
    K6RunError,
    K6ScriptError,
    K6Source,
    LoadShape,
    LoadTargetError,
    MeasurementLock,
    TargetUnreachableError,
    TimeScaleError,
)
from harness.load.runner import check_loopback, default_report_dir


class _Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def target() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def stand_in_k6(tmp_path: Path, body: str) -> K6Binary:
    path = tmp_path / "bin" / "k6"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '#!/bin/sh\nif [ "$1" = version ]; then echo "k6 v1.1.0 (commit/test)"; exit 0; fi\n' + body
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return K6Binary(path, K6Source.OVERRIDE, (1, 1, 0))


def run_with(tmp_path: Path, url: str, body: str, **options: object) -> K6Run:
    return K6Run(
        "unit",
        url,
        shape=LoadShape(rate=5, duration=1, graceful_stop=0),
        k6=stand_in_k6(tmp_path, body),
        report_dir=tmp_path / "report",
        lock=MeasurementLock(tmp_path / "load.lock"),
        **options,  # type: ignore[arg-type]
    )


def test_unreachable_target_fails_fast_naming_the_url(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: refused
        url = f"http://127.0.0.1:{port}"
        began = time.monotonic()
        with pytest.raises(TargetUnreachableError) as caught:
            run_with(tmp_path, url, "exit 0\n", probe_timeout=1.0).run()
    assert time.monotonic() - began < 3
    assert f"{url}/ does not answer" in str(caught.value)
    assert "Connection refused" in str(caught.value) or "ConnectionRefused" in str(caught.value)
    assert not (tmp_path / "report" / "k6.log").exists(), "k6 must not have started"


def test_loads_target_loopback_only() -> None:
    check_loopback("http://127.0.0.1:8080")
    check_loopback("http://localhost:8080")
    check_loopback("http://127.3.0.9")
    with pytest.raises(LoadTargetError, match="not a loopback address"):
        check_loopback("http://192.0.2.10:80")
    with pytest.raises(LoadTargetError, match="expected http"):
        check_loopback("ftp://127.0.0.1")


def test_gates_refuse_another_time_scale(tmp_path: Path, target: str) -> None:
    with pytest.raises(TimeScaleError, match=r"time scale 0\.1") as caught:
        run_with(tmp_path, target, "exit 0\n", time_scale=0.1).run()
    assert "allow_time_scale=True" in str(caught.value)


def test_time_scale_allowed_explicitly_or_without_a_gate(tmp_path: Path, target: str) -> None:
    for options in ({"allow_time_scale": True}, {"gate": None}):
        run = run_with(tmp_path, target, "exit 104\n", time_scale=0.1, **options)
        with pytest.raises(K6ScriptError):  # it got as far as starting k6
            run.run()


def test_a_broken_script_reports_k6s_message(tmp_path: Path, target: str) -> None:
    body = (
        'echo \'time="2026-01-01T00:00:00Z" level=error msg="GoError: file:///s.js: Line 3:1 '
        'Unexpected token }\\n" hint="script exception"\' >&2\n'
        "exit 107\n"
    )
    with pytest.raises(K6ScriptError) as caught:
        run_with(tmp_path, target, body).run()
    assert caught.value.exit_code == 107
    assert "k6 refused the script" in str(caught.value)
    assert "Line 3:1 Unexpected token }" in str(caught.value)
    assert str(tmp_path / "report" / "k6.log") in str(caught.value)


def test_other_exit_codes_are_errors_with_k6s_output(tmp_path: Path, target: str) -> None:
    with pytest.raises(K6RunError, match="exited with code 103") as caught:
        run_with(tmp_path, target, "echo engine trouble >&2\nexit 103\n").run()
    assert "engine trouble" in str(caught.value)


def test_a_missing_summary_is_an_error(tmp_path: Path, target: str) -> None:
    with pytest.raises(K6RunError, match=r"summary .* is unusable"):
        run_with(tmp_path, target, "exit 0\n").run()


def test_a_k6_that_hangs_is_stopped_at_the_hard_timeout(
    tmp_path: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harness.load.runner._START_AND_FINISH", 0.5)
    monkeypatch.setattr("harness.load.runner._STOP_GRACE", 1.0)
    began = time.monotonic()
    with pytest.raises(K6RunError, match="did not end within"):
        run_with(tmp_path, target, "exec sleep 60\n").run()
    assert time.monotonic() - began < 10


def test_report_dir_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_REPORTS_DIR", raising=False)
    assert default_report_dir("p95 gate/1.3.0") == tmp_path / "reports" / "p95-gate-1.3.0"


def test_k6_environment_drops_stray_k6_settings(
    tmp_path: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("K6_VUS", "999")
    env = run_with(tmp_path, target, "exit 0\n").k6_env()
    assert "K6_VUS" not in env
    assert env["K6_WEB_DASHBOARD_PORT"] == "-1"
    assert env["K6_WEB_DASHBOARD_EXPORT"].endswith("k6-report.html")
    assert env["RATE"] == "5" and env["TARGET_URL"] == target
