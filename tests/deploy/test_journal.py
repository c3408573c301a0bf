"""Unit tests of the journal, the results' timeline, checks and report directories."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from harness.deploy import (
    DeployResult,
    Outcome,
    Phase,
    PhaseStatus,
    SmokeCheck,
    Strategy,
    report_directory,
    service_address,
    with_tag,
)
from harness.deploy.journal import Journal


def test_journal_records_success_failure_and_skips() -> None:
    journal = Journal()
    with journal.phase(Phase.INSPECT) as step:
        step.detail = "looked"
    with pytest.raises(RuntimeError), journal.phase(Phase.ROLLOUT):
        raise RuntimeError("stuck\nmore")
    journal.skip(Phase.SCALE_DOWN, "kept")
    records = journal.frozen()
    assert [(r.phase, r.status) for r in records] == [
        (Phase.INSPECT, PhaseStatus.SUCCEEDED),
        (Phase.ROLLOUT, PhaseStatus.FAILED),
        (Phase.SCALE_DOWN, PhaseStatus.SKIPPED),
    ]
    assert records[1].detail == "RuntimeError: stuck"
    assert all(r.ended_at >= r.started_at for r in records)
    now = dt.datetime.now(dt.UTC)
    result = DeployResult(
        Strategy.ROLLING, "ns", "web", "web:1", "web:2", Outcome.FAILED, records, 0.1, now, now
    )
    assert result.failed_phase is records[1]
    assert not result.ran(Phase.SCALE_DOWN) and result.ran(Phase.INSPECT)
    assert "time scale 0.1" in result.timeline()
    with pytest.raises(AttributeError):
        result.outcome = Outcome.SUCCEEDED  # type: ignore[misc]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("aicode-api:1.0.0", "aicode-api:1.1.0"),
        ("aicode-api", "aicode-api:1.1.0"),
        ("registry:5000/team/aicode-api:1.0.0", "registry:5000/team/aicode-api:1.1.0"),
        ("registry:5000/aicode-api", "registry:5000/aicode-api:1.1.0"),
    ],
)
def test_with_tag(image: str, expected: str) -> None:
    assert with_tag(image, "1.1.0") == expected


def test_smoke_check_fills_in_the_tag() -> None:
    check = SmokeCheck("/version", body_contains='"version":"{tag}"').for_image("app:2.0.0")
    assert check.body_contains == '"version":"2.0.0"'


def test_service_address_prefers_the_load_balancer() -> None:
    service = {
        "metadata": {"name": "web"},
        "spec": {"clusterIP": "127.96.0.3", "ports": [{"name": "http", "port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "127.250.0.1"}]}},
    }
    assert service_address(service) == ("127.250.0.1", 80)
    del service["status"]
    assert service_address(service) == ("127.96.0.3", 80)


def test_report_directory_names_the_test(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HARNESS_REPORTS_DIR", raising=False)
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "scenarios/test_x.py::test_y[a b] (call)")
    assert report_directory(tmp_path) == tmp_path.resolve() / "test_x.py_test_y_a_b"
    monkeypatch.setenv("HARNESS_REPORTS_DIR", str(tmp_path / "elsewhere"))
    assert report_directory(name="run1") == (tmp_path / "elsewhere").resolve() / "run1"
