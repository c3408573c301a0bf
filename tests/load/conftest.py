"""Helpers for the harness.load tests: LoadResults built without k6, and a local web app
(fixtures/images/webapp.py) to load when k6 is installed."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness._wait import Deadline, wait_until
from harness.load.result import Latency, LoadResult, MachineLoad, Verdict
from harness.load.runner import SCRIPTS_DIR, probe_target
from harness.load.shape import LoadShape
from harness.ports import claim_port

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"

MakeResult = Callable[..., LoadResult]


@pytest.fixture
def make_result(tmp_path: Path) -> MakeResult:
    """A LoadResult with the given p95 (ms) and failures, as if k6 had measured it."""

    def make(
        name: str = "run",
        *,
        p95: float = 5.0,
        requests: int = 200,
        failed: int = 0,
        shape: LoadShape | None = None,
        time_scale: float = 1.0,
        verdict: Verdict = Verdict.PASSED,
    ) -> LoadResult:
        latency = Latency(
            p50=p95 / 2, p90=p95 * 0.9, p95=p95, p99=p95 * 1.2, avg=p95 / 2, max=p95 * 2
        )
        return LoadResult(
            name=name,
            script=SCRIPTS_DIR / "steady.js",
            target_url="http://127.0.0.1:8080",
            shape=shape or LoadShape(rate=20, duration=10),
            started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            duration=10.0,
            latency=latency,
            requests=requests,
            failed_requests=failed,
            requests_per_second=requests / 10,
            dropped_iterations=0,
            thresholds=(),
            verdict=verdict,
            aborted=False,
            exit_code=0,
            time_scale=time_scale,
            machine=MachineLoad(2, (0.5, 0.5, 0.5), (0.6, 0.5, 0.5)),
            k6_version="1.1.0",
            report_dir=tmp_path,
            summary_path=tmp_path / "summary.json",
            log_path=tmp_path / "k6.log",
            statistics={
                "http_req_duration": {"p(95)": p95},
                "http_req_failed": {"rate": failed / requests if requests else 0.0},
            },
        )

    return make


@pytest.fixture
def k6_summary() -> Callable[[str], dict[str, Any]]:
    """Loads a real handleSummary() JSON kept in tests/load/data/ (k6 1.1.0)."""

    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((DATA / name).read_text())
        return data

    return load


# -- a real web app to load ---------------------------------------------------------------------
class WebApp:
    """fixtures/images/webapp.py on a claimed loopback port; GET /?delay=S answers after S s."""

    def __init__(self, mode: str = "good") -> None:
        self.claim = claim_port(None, "127.0.0.1")
        self.url = f"http://127.0.0.1:{self.claim.port}"
        env = dict(os.environ, MODE=mode, POD_IP="127.0.0.1", PORT=str(self.claim.port))
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "fixtures" / "images" / "webapp.py")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(
            lambda: probe_target(self.url, "/healthz", 0.5) is not None,
            deadline=Deadline.after(10),
            service="webapp",
            endpoint=self.url,
            condition="GET /healthz answers",
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.claim.release()


@pytest.fixture
def webapp() -> Iterator[WebApp]:
    app = WebApp()
    try:
        yield app
    finally:
        app.kill()


@pytest.fixture
def reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Report directories (reports/<name>/) under tmp_path. The lock stays the real,
    machine-wide one: these runs must not overlap any other load either."""
    monkeypatch.setenv("HARNESS_REPORTS_DIR", str(tmp_path / "reports"))
    return tmp_path / "reports"
