"""Scenario: k6 load gates that can really fail, and switches measured under k6 load.

The good release passes the platform's gate (P95 < 2 s, errors < 1 %) and the relative one
against the serving release measured back to back; 1.3.0-slow (about 150 ms slower) passes
the absolute gate, which alone would never trip on loopback, fails the relative one and is
rolled back. Under k6's steady arrival rate a blue-green switch and a rolling update of the
good release lose no request, and a rolling update replacing 1.5.0-abrupt loses some.

Gates measure at time scale 1.0 (harness.load refuses others), so they get an environment
of their own at 1.0; the switches run on the session's `staging` (time scale 0.1): they
count failed requests, which compressed probe periods and delays do not make kinder.
Every k6 run holds the machine-wide load lock; the group keeps them on one xdist worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.backends import Backend
from harness.deploy import (
    AppBaseline,
    BlueGreenDeploy,
    DeployTarget,
    Outcome,
    Rollback,
    RollingDeploy,
    SmokeCheck,
)
from harness.load import (
    GateFailed,
    GateKind,
    K6Run,
    LoadShape,
    Verdict,
    assert_gate,
    evaluate_gate,
)
from harness.pytest_plugin import attached_environment, worker_id
from scenarios.conftest import APP, BASELINE_VERSION, wait_for_version

pytestmark = [pytest.mark.xdist_group("load"), pytest.mark.slow]

#: the same load for the serving release and the candidate: reads of the app's API
GATE_LOAD = LoadShape(rate=25, duration=10, paths=("/version", "/items?limit=10"))
#: load kept up through a switch: a new connection per request, so each is routed afresh
SWITCH_LOAD = LoadShape(
    rate=60, duration=150, paths=("/version",), request_timeout=5, reuse_connections=False
)
#: uploads to S3 (with KMS) through the app: tens of ms each, so some are always in flight
UPLOAD_LOAD = LoadShape(
    rate=80,
    duration=150,
    paths=("/uploads/k6-{n}",),
    method="POST",
    body_bytes=256 * 1024,
    request_timeout=5,
    reuse_connections=False,
)
VERSION = SmokeCheck("/version", body_contains='"version":"{tag}"')


# -- an environment at time scale 1.0 for the gates --------------------------------------------
@pytest.fixture(scope="module")
def realtime_staging(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Staging at time scale 1.0: the attached environment when it runs at 1.0, else one
    started for this module (the session's `staging` runs at 0.1 for deploy scenarios)."""
    attached = attached_environment(request.config)
    if attached is not None:
        if attached.endpoints.time_scale != 1.0:
            pytest.skip(
                f"the attached environment runs at time scale {attached.endpoints.time_scale:g}; "
                "load gates measure at 1.0 (harness up --time-scale 1)"
            )
        yield attached
        return
    from harness.environment import Environment
    from harness.topology import load_topology

    environment = Environment(
        load_topology("staging"),
        Backend.LOCAL,
        time_scale=1.0,
        name=f"staging-rt-{worker_id()}",
    )
    with environment:
        yield environment


@pytest.fixture
def gate_target(realtime_staging: Any, request: pytest.FixtureRequest) -> Iterator[DeployTarget]:
    """A deploy target on the realtime environment, its app restored to 1.0.0 around the test."""
    target = DeployTarget.of(
        realtime_staging,
        reports_root=request.config.rootpath / "reports",
        run_name=request.node.name,
    )
    baseline = AppBaseline.capture(target, APP)
    baseline.restore()
    yield target
    baseline.restore()
    wait_for_version(realtime_staging, BASELINE_VERSION, timeout=60)


def measure(name: str, environment: Any, baseline: Any = None) -> Any:
    result = K6Run.against(name, environment, shape=GATE_LOAD, baseline=baseline).run()
    print(result.describe())
    return result


# -- gates ----------------------------------------------------------------------------------------
def test_good_release_passes_the_absolute_and_the_relative_gate(
    realtime_staging: Any, gate_target: DeployTarget
) -> None:
    serving = measure("p95-serving-1.0.0", realtime_staging)
    assert_gate(serving)

    deploy = RollingDeploy(gate_target, APP, tag="1.1.0").run()
    assert deploy.outcome is Outcome.SUCCEEDED, deploy.timeline()
    wait_for_version(realtime_staging, "1.1.0", timeout=60)

    candidate = measure("p95-candidate-1.1.0", realtime_staging, baseline=serving)
    report = assert_gate(candidate, baseline=serving)
    print(report)
    assert candidate.verdict is Verdict.PASSED and candidate.exit_code == 0
    assert {check.kind for check in report.checks} == set(GateKind)
    assert candidate.time_scale == 1.0 and candidate.machine.cpu_count >= 1
    assert candidate.requests >= GATE_LOAD.expected_requests * 0.95
    assert candidate.html_report is not None and candidate.html_report.is_file()


def test_slow_release_fails_the_relative_gate_and_is_rolled_back(
    realtime_staging: Any, gate_target: DeployTarget
) -> None:
    serving = measure("p95-serving-before-slow", realtime_staging)
    assert_gate(serving)

    deploy = RollingDeploy(gate_target, APP, tag="1.3.0-slow").run()
    assert deploy.outcome is Outcome.SUCCEEDED, deploy.timeline()
    wait_for_version(realtime_staging, "1.3.0-slow", timeout=60)

    candidate = measure("p95-candidate-1.3.0-slow", realtime_staging, baseline=serving)
    absolute = evaluate_gate(candidate)  # the platform's gate alone
    print(absolute)
    assert absolute.passed, "150 ms is far below 2 s: the absolute gate cannot see it"
    assert candidate.exit_code == 99 and candidate.verdict is Verdict.FAILED  # k6's own verdict
    with pytest.raises(GateFailed) as caught:
        assert_gate(candidate, baseline=serving)
    print(caught.value)
    failed = caught.value.report.failed_checks
    assert [(c.kind, c.metric) for c in failed] == [(GateKind.RELATIVE, "http_req_duration")]
    assert candidate.latency.p95 > serving.latency.p95 + 100

    rollback = Rollback(gate_target, APP).run()
    print(rollback.timeline())
    assert rollback.outcome in (Outcome.ROLLED_BACK, Outcome.SUCCEEDED), rollback.timeline()
    wait_for_version(realtime_staging, BASELINE_VERSION, timeout=60)
    after = measure("p95-after-rollback", realtime_staging, baseline=serving)
    assert_gate(after, baseline=serving)


# -- switches under k6 load -----------------------------------------------------------------------
def test_blue_green_switch_under_k6_loses_no_request(
    staging: Any, deploy_target: DeployTarget
) -> None:
    deploy = BlueGreenDeploy(deploy_target, APP, tag="1.1.0", marker=VERSION, scale_down_delay=10)
    run = K6Run.against("switch-blue-green", staging, gate=None, shape=SWITCH_LOAD)
    with run.background() as load, load.window("blue-green switch"):
        result = deploy.run()
        wait_for_version(staging, "1.1.0")
    report = load.report
    print(result.timeline())
    print(report)
    switch = report.window("blue-green switch")
    assert result.outcome is Outcome.SUCCEEDED
    assert switch.covered and switch.requests >= 50, str(switch)
    assert switch.failed == 0, str(report)
    assert report.result.failed_requests == 0, str(report)


def test_rolling_update_under_k6_loses_no_request(
    staging: Any, deploy_target: DeployTarget
) -> None:
    run = K6Run.against("switch-rolling", staging, gate=None, shape=SWITCH_LOAD)
    with run.background() as load, load.window("rolling update 1.0.0 -> 1.1.0"):
        result = RollingDeploy(deploy_target, APP, tag="1.1.0").run()
        wait_for_version(staging, "1.1.0")
    report = load.report
    print(result.timeline())
    print(report)
    rolling = report.window("rolling update 1.0.0 -> 1.1.0")
    assert result.outcome is Outcome.SUCCEEDED
    assert rolling.covered and rolling.requests >= 50, str(rolling)
    assert rolling.failed == 0, str(report)


def test_rolling_update_replacing_the_abrupt_release_loses_requests(
    staging: Any, deploy_target: DeployTarget
) -> None:
    # 1.5.0-abrupt without the preStop sleep: nothing covers its exit on SIGTERM
    staging.kubectl(
        "-n", staging.namespace, "patch", "deployment", APP, "--type=json", "-p",
        '[{"op": "remove", "path": "/spec/template/spec/containers/0/lifecycle"}]',
    )  # fmt: skip
    RollingDeploy(deploy_target, APP, tag="1.5.0-abrupt").run()
    wait_for_version(staging, "1.5.0-abrupt")

    run = K6Run.against("switch-rolling-abrupt", staging, gate=None, shape=UPLOAD_LOAD)
    with run.background() as load, load.window("rolling update 1.5.0-abrupt -> 1.1.0"):
        result = RollingDeploy(deploy_target, APP, tag="1.1.0").run()
        wait_for_version(staging, "1.1.0")
    report = load.report
    print(result.timeline())
    print(report)
    rolling = report.window("rolling update 1.5.0-abrupt -> 1.1.0")
    assert result.outcome is Outcome.SUCCEEDED  # the rollout looks fine...
    assert rolling.failed > 0, str(report)  # ...the users saw failed requests
    assert report.outside.failed == 0, str(report)  # only while the abrupt pods went


def test_gates_refuse_the_compressed_time_scale(staging: Any, tmp_path: Path) -> None:
    from harness.load import TimeScaleError

    assert staging.endpoints.time_scale != 1.0
    with pytest.raises(TimeScaleError, match="time scale"):
        K6Run.against("p95-at-0.1", staging, shape=GATE_LOAD, report_dir=tmp_path).run()
