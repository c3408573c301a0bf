"""Scenario: a blue-green deploy switches the staging app's Service to green with zero
failed requests under steady traffic, and switches back to blue just as cleanly."""

from __future__ import annotations

from typing import Any

from harness.deploy import (
    BlueGreenDeploy,
    DeployTarget,
    Outcome,
    Phase,
    PhaseStatus,
    SmokeCheck,
    SteadyTraffic,
)
from scenarios.conftest import APP, BASELINE_VERSION, wait_for_version

VERSION = SmokeCheck("/version", body_contains='"version":"{tag}"')


def _selector(staging: Any) -> dict[str, str]:
    service = staging.kubectl("-n", staging.namespace, "get", "service", APP, "-o", "json")
    import json

    return dict(json.loads(service.stdout)["spec"]["selector"])


def test_switch_and_switch_back_without_a_failed_request(
    staging: Any, deploy_target: DeployTarget
) -> None:
    deploy = BlueGreenDeploy(
        deploy_target,
        APP,
        tag="1.1.0",
        smoke=(SmokeCheck("/ready"), VERSION),
        serving_checks=(SmokeCheck("/health"),),
        marker=VERSION,
        scale_down_delay=None,  # keep blue for the switch back
    )
    with SteadyTraffic(staging.app_url, "/version", max_seconds=90) as traffic:
        result = deploy.run()
        wait_for_version(staging, "1.1.0")
        assert _selector(staging)["colour"] == "green"
        back = deploy.switch_back()
        wait_for_version(staging, BASELINE_VERSION)
    report = traffic.report
    print(result.timeline())
    print(back.timeline())
    print(report.summary())

    assert result.outcome is Outcome.SUCCEEDED
    assert (result.blue, result.green, result.serving) == (APP, f"{APP}-green", f"{APP}-green")
    assert [p.phase for p in result.phases] == [
        Phase.INSPECT,
        Phase.PIN_BLUE,
        Phase.DEPLOY_GREEN,
        Phase.GREEN_READY,
        Phase.SMOKE_GREEN,
        Phase.CHECK_BLUE,
        Phase.SWITCH,
        Phase.VERIFY_TRAFFIC,
        Phase.SCALE_DOWN,
    ]
    assert result.phase(Phase.SCALE_DOWN).status is PhaseStatus.SKIPPED  # type: ignore[union-attr]
    assert result.switched_at is not None
    assert result.time_scale == staging.endpoints.time_scale
    assert back.outcome is Outcome.ROLLED_BACK and back.serving == APP
    assert _selector(staging)["colour"] == "blue"
    assert report.failures == (), report.summary()
    assert {'{"version":"1.0.0"}', '{"version":"1.1.0"}'} <= set(report.bodies)


def test_blue_is_scaled_down_after_the_delay(staging: Any, deploy_target: DeployTarget) -> None:
    deploy = BlueGreenDeploy(deploy_target, APP, tag="1.1.0", marker=VERSION, scale_down_delay=10.0)
    with SteadyTraffic(staging.app_url, "/version", max_seconds=90) as traffic:
        result = deploy.run()
        wait_for_version(staging, "1.1.0")
    print(result.timeline())

    assert result.outcome is Outcome.SUCCEEDED
    assert result.phase(Phase.SCALE_DOWN).status is PhaseStatus.SUCCEEDED  # type: ignore[union-attr]
    replicas = staging.kubectl(
        "-n", staging.namespace, "get", "deployment", APP, "-o", "jsonpath={.spec.replicas}"
    )
    assert replicas.stdout.strip() == "0"
    assert traffic.report.failures == (), traffic.report.summary()
