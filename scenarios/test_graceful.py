"""Scenario: graceful shutdown. A release that exits at once on SIGTERM (1.5.0-abrupt, no
preStop) loses the requests in flight when a rolling update replaces it, and the scenario
sees them; the good release with its preStop sleep and draining loses none."""

from __future__ import annotations

import json
from typing import Any

from harness.deploy import DeployTarget, Outcome, RollingDeploy, SteadyTraffic
from scenarios.conftest import APP, wait_for_version

#: four clients, each POST /items with its body spread over 0.4 s: always some in flight
SLOW_WRITES = {"concurrency": 4, "trickle": 0.4, "max_seconds": 60}


def _slow_writes(staging: Any) -> SteadyTraffic:
    body = json.dumps({"name": "graceful-" + "x" * 64})
    return SteadyTraffic(staging.app_url, "/items", body=body, interval=0.05, **SLOW_WRITES)


def test_abrupt_release_loses_in_flight_requests(staging: Any, deploy_target: DeployTarget) -> None:
    # 1.5.0-abrupt without the preStop sleep: nothing covers its abrupt exit
    staging.kubectl(
        "-n", staging.namespace, "patch", "deployment", APP, "--type=json", "-p",
        '[{"op": "remove", "path": "/spec/template/spec/containers/0/lifecycle"}]',
    )  # fmt: skip
    RollingDeploy(deploy_target, APP, tag="1.5.0-abrupt").run()

    with _slow_writes(staging) as traffic:
        result = RollingDeploy(deploy_target, APP, tag="1.1.0").run()
        wait_for_version(staging, "1.1.0")
    report = traffic.report
    print(result.timeline())
    print(report.summary())

    assert result.outcome is Outcome.SUCCEEDED  # the rollout itself looks fine...
    assert report.failures, f"expected lost requests: {report.summary()}"  # ...users did not
    assert all(f.status is None for f in report.failures)  # cut connections, not 5xx


def test_good_release_with_prestop_loses_none(staging: Any, deploy_target: DeployTarget) -> None:
    with _slow_writes(staging) as traffic:
        result = RollingDeploy(deploy_target, APP, tag="1.1.0").run()
        # keep writing while the old pods run their preStop, drain and exit
        RollingDeploy(deploy_target, APP, tag="1.0.0").run()
    report = traffic.report
    print(result.timeline())
    print(report.summary())

    assert result.outcome is Outcome.SUCCEEDED
    assert report.total >= 20, report.summary()
    assert report.failures == (), report.summary()
    assert {r.status for r in report.requests} == {201}
