"""Scenario: bad releases are rolled back automatically while users notice nothing: the
Service never routes to the unready or crashing pods, and the previous release serves again."""

from __future__ import annotations

from typing import Any

import pytest

from harness.deploy import (
    DeployTarget,
    Outcome,
    Phase,
    PhaseStatus,
    Rollback,
    RollingDeploy,
    RolloutFailedError,
    RolloutFailure,
    SteadyTraffic,
)
from scenarios.conftest import APP, BASELINE_VERSION, wait_for_version


@pytest.mark.parametrize(
    ("tag", "failure", "evidence"),
    [
        ("1.2.0-bad", RolloutFailure.PROGRESS_DEADLINE_EXCEEDED, "Readiness probe failed"),
        ("1.4.0-crash", RolloutFailure.CRASH_LOOP_BACK_OFF, "exits at start"),
    ],
    ids=["1.2.0-bad", "1.4.0-crash"],
)
def test_bad_release_is_rolled_back_automatically(
    staging: Any, deploy_target: DeployTarget, tag: str, failure: RolloutFailure, evidence: str
) -> None:
    # A staging deadline of 60 s (6 s at time scale 0.1): the platform's 300 s would only
    # make 1.2.0-bad wait longer, with the same outcome.
    deploy = RollingDeploy(deploy_target, APP, tag=tag, progress_deadline_seconds=60)
    with (
        SteadyTraffic(staging.app_url, "/version", max_seconds=60) as traffic,
        pytest.raises(RolloutFailedError) as failed,
    ):
        deploy.run()
    error, report = failed.value, traffic.report
    print(error)
    print(report.summary())

    assert error.failure is failure
    result = error.result
    assert result.outcome is Outcome.ROLLED_BACK
    assert result.time_scale == staging.endpoints.time_scale
    assert [(p.phase, p.status) for p in result.phases] == [
        (Phase.INSPECT, PhaseStatus.SUCCEEDED),
        (Phase.UPDATE_IMAGE, PhaseStatus.SUCCEEDED),
        (Phase.ROLLOUT, PhaseStatus.FAILED),
        (Phase.DIAGNOSTICS, PhaseStatus.SUCCEEDED),
        (Phase.ROLLBACK, PhaseStatus.SUCCEEDED),
    ]
    # the evidence is saved, and the message says where
    assert error.report_dir is not None and str(error.report_dir) in str(error)
    saved = (error.report_dir / "events.txt").read_text()
    saved += "".join(p.read_text() for p in (error.report_dir / "logs").glob("*.log"))
    assert evidence in saved
    assert (error.report_dir / "replicasets-aicode-api.yaml").is_file()
    # users saw only the serving release, never an error
    assert report.failures == (), report.summary()
    assert set(report.bodies) == {f'{{"version":"{BASELINE_VERSION}"}}'}
    wait_for_version(staging, BASELINE_VERSION)


def test_rollback_returns_to_the_previous_revision(
    staging: Any, deploy_target: DeployTarget
) -> None:
    RollingDeploy(deploy_target, APP, tag="1.1.0").run()
    wait_for_version(staging, "1.1.0")
    with SteadyTraffic(staging.app_url, "/version", max_seconds=60) as traffic:
        result = Rollback(deploy_target, APP).run()
        wait_for_version(staging, BASELINE_VERSION)
    print(result.timeline())

    assert result.outcome is Outcome.SUCCEEDED
    assert result.image == f"aicode-api:{BASELINE_VERSION}"
    assert result.to_revision is not None and result.from_revision is not None
    assert result.to_revision < result.from_revision
    assert result.revision is not None and result.revision > result.from_revision
    assert traffic.report.failures == (), traffic.report.summary()
    # what kubectl shows agrees: the same revision, the old image
    history = staging.kubectl("-n", staging.namespace, "rollout", "history", f"deployment/{APP}")
    assert str(result.revision) in history.stdout
