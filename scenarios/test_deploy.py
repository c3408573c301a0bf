"""Scenario: a rolling update of the staging app from 1.0.0 to 1.1.0 serves throughout,
and bad input (a rejected manifest, an unmapped image, a broken topology) fails clearly."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.deploy import (
    DeployTarget,
    Outcome,
    Phase,
    PhaseStatus,
    RollingDeploy,
    RolloutFailedError,
    RolloutFailure,
    SteadyTraffic,
)
from harness.errors import ConfigurationError, ManifestRejectedError
from scenarios.conftest import APP, BASELINE_VERSION, wait_for_version

REPO = Path(__file__).resolve().parent.parent


def test_rolling_update_serves_throughout(staging: Any, deploy_target: DeployTarget) -> None:
    with SteadyTraffic(staging.app_url, "/version", max_seconds=60) as traffic:
        result = RollingDeploy(deploy_target, APP, tag="1.1.0").run()
        # the old pods drain (preStop, deregistration) while traffic goes on
        wait_for_version(staging, "1.1.0")
    report = traffic.report
    print(result.timeline())
    print(report.summary())

    assert result.outcome is Outcome.SUCCEEDED
    assert [p.phase for p in result.phases] == [Phase.INSPECT, Phase.UPDATE_IMAGE, Phase.ROLLOUT]
    assert all(p.status is PhaseStatus.SUCCEEDED for p in result.phases)
    assert result.previous_image == f"aicode-api:{BASELINE_VERSION}"
    assert result.image == "aicode-api:1.1.0"
    assert result.time_scale == staging.endpoints.time_scale
    assert report.total >= 10, report.summary()
    assert report.failures == (), report.summary()
    assert set(report.bodies) == {'{"version":"1.0.0"}', '{"version":"1.1.0"}'}


def test_manifest_the_api_rejects_is_a_clear_failure(
    staging: Any, deploy_target: DeployTarget
) -> None:
    with pytest.raises(ManifestRejectedError) as rejected:
        RollingDeploy(deploy_target, APP, tag="1.1.0", progress_deadline_seconds=-5).run()
    message = str(rejected.value)
    assert f"Deployment {APP}" in message
    assert "progressDeadlineSeconds" in message
    # nothing changed: the app still serves the baseline
    assert staging.app_request("GET", "/version").json() == {"version": BASELINE_VERSION}


def test_image_without_mapping_fails_fast_and_rolls_back(
    staging: Any, deploy_target: DeployTarget
) -> None:
    with pytest.raises(RolloutFailedError) as failed:
        RollingDeploy(deploy_target, APP, image="no-such-image:2.0").run()
    error = failed.value
    assert error.failure is RolloutFailure.ERR_IMAGE_PULL
    assert error.result.outcome is Outcome.ROLLED_BACK
    assert "no-such-image" in str(error)
    assert error.report_dir is not None and str(error.report_dir) in str(error)
    assert (error.report_dir / "events.txt").read_text().count("no-such-image") >= 1
    assert staging.app_request("GET", "/version").json() == {"version": BASELINE_VERSION}


def test_topology_with_an_error_fails_before_anything_starts(tmp_path: Path) -> None:
    from harness.environment import Environment
    from harness.topology import load_topology

    root = tmp_path / "infrastructure"
    shutil.copytree(REPO / "infrastructure", root)
    overlay = REPO / "tests/fixtures/topology/broken_hcl/terraform/staging/reports.tf"
    shutil.copy(overlay, root / "terraform/staging/reports.tf")
    with pytest.raises(ConfigurationError) as broken:
        Environment(load_topology("staging", root=root), time_scale=0.1).start()
    assert "reports.tf" in str(broken.value)
    assert "aws_s3_bucket.reports" in str(broken.value)
