"""Probe workers (upstream prober/worker_test.go behaviour) with a scripted prober, and the
http/tcp/exec probers against real local endpoints."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from harness.cluster.agents.probes import (
    ContainerView,
    ProbeKind,
    ProbeOutcome,
    ProbeResult,
    ProbeSpec,
    ProbeWorker,
    exec_probe,
    http_probe,
    tcp_probe,
)

OK = ProbeOutcome(ProbeResult.SUCCESS)
FAIL = ProbeOutcome(ProbeResult.FAILURE, "boom")


def running(cid: str = "c1", *, started: bool = True, running_for: float = 100.0) -> ContainerView:
    return ContainerView(cid, True, False, started, running_for, False, False)


class Script:
    """A prober returning queued outcomes, counting calls."""

    def __init__(self, *outcomes: ProbeOutcome) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    async def __call__(self) -> ProbeOutcome:
        self.calls += 1
        return self.outcomes.pop(0) if self.outcomes else OK


def worker(kind: ProbeKind, script: Script, **spec: int) -> tuple[ProbeWorker, list[ProbeResult]]:
    seen: list[ProbeResult] = []
    made = ProbeWorker(kind, ProbeSpec({}, **spec), script, lambda w, r: seen.append(r))
    return made, seen


def step(w: ProbeWorker, view: ContainerView) -> bool:
    return asyncio.run(w.step(view))


def test_defaults_follow_the_api_defaults() -> None:
    spec = ProbeSpec.from_manifest({"httpGet": {"port": 80}}, ProbeKind.READINESS)
    assert (spec.period_seconds, spec.timeout_seconds) == (10, 1)
    assert (spec.success_threshold, spec.failure_threshold, spec.initial_delay_seconds) == (1, 3, 0)
    liveness = ProbeSpec.from_manifest({"exec": {}, "successThreshold": 3}, ProbeKind.LIVENESS)
    assert liveness.success_threshold == 1  # must be 1 for liveness and startup


def test_initial_results() -> None:
    assert worker(ProbeKind.READINESS, Script())[0].result is ProbeResult.FAILURE
    assert worker(ProbeKind.LIVENESS, Script())[0].result is ProbeResult.SUCCESS
    assert worker(ProbeKind.STARTUP, Script())[0].result is ProbeResult.UNKNOWN


def test_failure_threshold_counts_consecutive_failures() -> None:
    script = Script(FAIL, FAIL, OK, FAIL, FAIL, FAIL)
    w, seen = worker(ProbeKind.READINESS, script, failure_threshold=3)
    step(w, running())
    assert w.result is ProbeResult.FAILURE and seen == []  # the initial result, unchanged
    step(w, running())
    step(w, running())
    assert w.result is ProbeResult.SUCCESS  # one success is enough (threshold 1)
    step(w, running())
    step(w, running())
    assert w.result is ProbeResult.SUCCESS  # two failures: below the threshold
    step(w, running())
    assert w.result is ProbeResult.FAILURE


def test_success_threshold_for_readiness() -> None:
    w, _ = worker(ProbeKind.READINESS, Script(OK, OK, OK), success_threshold=3)
    step(w, running())
    step(w, running())
    assert w.result is ProbeResult.FAILURE
    step(w, running())
    assert w.result is ProbeResult.SUCCESS


def test_initial_delay_skips_probing() -> None:
    script = Script()
    w, _ = worker(ProbeKind.READINESS, script, initial_delay_seconds=5)
    step(w, running(running_for=4.9))
    assert script.calls == 0
    step(w, running(running_for=5.0))
    assert script.calls == 1


def test_startup_gates_the_other_probes() -> None:
    script = Script()
    readiness, _ = worker(ProbeKind.READINESS, script)
    startup, _ = worker(ProbeKind.STARTUP, script)
    step(readiness, running(started=False))
    assert script.calls == 0
    step(startup, running(started=False))
    assert script.calls == 1 and startup.result is ProbeResult.SUCCESS
    step(startup, running(started=True))
    assert script.calls == 1  # startup stops once started


def test_liveness_failure_kills_then_holds_until_a_new_container() -> None:
    script = Script(FAIL, FAIL, FAIL, FAIL)
    w, seen = worker(ProbeKind.LIVENESS, script, failure_threshold=2)
    step(w, running())
    assert seen == []
    step(w, running())
    assert w.result is ProbeResult.FAILURE and seen == [ProbeResult.FAILURE]
    assert w.on_hold
    step(w, running())
    assert script.calls == 2  # on hold
    step(w, running("c2"))  # a new container ID: reset to the initial result and probe again
    assert not w.on_hold and script.calls == 3 and w.result is ProbeResult.SUCCESS


def test_non_running_container_is_a_failure_and_never_policy_stops() -> None:
    w, _ = worker(ProbeKind.READINESS, Script())
    step(w, running())
    exited = ContainerView("c1", False, True, False, 0.0, True, False)
    assert step(w, exited) is False
    assert w.result is ProbeResult.FAILURE


def test_deleting_pod_sets_liveness_success_and_stops() -> None:
    w, _ = worker(ProbeKind.LIVENESS, Script(FAIL))
    deleting = ContainerView("c1", True, False, True, 100.0, False, True)
    assert step(w, deleting) is False
    assert w.result is ProbeResult.SUCCESS


def test_no_container_yet_waits() -> None:
    script = Script()
    w, _ = worker(ProbeKind.READINESS, script)
    assert step(w, ContainerView("", False, False, False, 0.0, False, False)) is True
    assert script.calls == 0


# -- probers ----------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = {"/ok": 200, "/redirect": 302, "/bad": 503}.get(self.path.split("?")[0], 404)
        if self.path == "/header":
            code = 200 if self.headers.get("X-Probe") == "yes" else 400
        if self.path == "/agent":
            code = 200 if self.headers.get("User-Agent", "").startswith("kube-probe/") else 400
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def _http(port: int, path: str, **kwargs: object) -> ProbeOutcome:
    return asyncio.run(
        http_probe(scheme="HTTP", host="127.0.0.1", port=port, path=path, timeout=2.0, **kwargs)  # type: ignore[arg-type]
    )


def test_http_probe_codes_headers_and_agent(http_port: int) -> None:
    assert _http(http_port, "/ok").result is ProbeResult.SUCCESS
    assert _http(http_port, "/redirect").result is ProbeResult.SUCCESS
    bad = _http(http_port, "/bad")
    assert bad == ProbeOutcome(ProbeResult.FAILURE, "HTTP probe failed with statuscode: 503")
    assert _http(http_port, "/header").result is ProbeResult.FAILURE
    headers = [{"name": "X-Probe", "value": "yes"}]
    assert _http(http_port, "/header", headers=headers).result is ProbeResult.SUCCESS
    assert _http(http_port, "/agent").result is ProbeResult.SUCCESS


def test_http_and_tcp_probe_refused_messages_as_upstream() -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]  # bound, not listening: refused
        refused = _http(port, "/ready")
        assert refused.result is ProbeResult.FAILURE
        assert refused.output == (
            f'Get "http://127.0.0.1:{port}/ready": dial tcp 127.0.0.1:{port}: connect: '
            "connection refused"
        )
        tcp = asyncio.run(tcp_probe(host="127.0.0.1", port=port, timeout=1.0))
        assert tcp.output == f"dial tcp 127.0.0.1:{port}: connect: connection refused"


def test_tcp_probe_success(http_port: int) -> None:
    outcome = asyncio.run(tcp_probe(host="127.0.0.1", port=http_port, timeout=1.0))
    assert outcome.result is ProbeResult.SUCCESS


def test_http_probe_timeout() -> None:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts at the kernel level but never answers
        port = listener.getsockname()[1]
        outcome = asyncio.run(
            http_probe(scheme="HTTP", host="127.0.0.1", port=port, path="/", timeout=0.2)
        )
    assert outcome.result is ProbeResult.FAILURE
    assert "context deadline exceeded" in outcome.output


def test_exec_probe_exit_code_output_and_timeout() -> None:
    ok = asyncio.run(
        exec_probe([sys.executable, "-c", "print('fine')"], env={}, cwd=None, timeout=10)
    )
    assert ok == ProbeOutcome(ProbeResult.SUCCESS, "fine\n")
    env = {"WHAT": "missing"}
    failed = asyncio.run(
        exec_probe(["sh", "-c", 'echo "$WHAT" >&2; exit 1'], env=env, cwd=None, timeout=10)
    )
    assert failed == ProbeOutcome(ProbeResult.FAILURE, "missing\n")
    slow = asyncio.run(exec_probe(["sleep", "5"], env={}, cwd=None, timeout=0.2))
    assert slow == ProbeOutcome(ProbeResult.FAILURE, 'command "sleep 5" timed out')
