"""Integration: the strategies against a SimulatedCluster running the test web app image
(fixtures/images/webapp.py), through nothing but the kubeconfig."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.cluster.simulated import SimulatedCluster
from harness.deploy import (
    BlueGreenAbortedError,
    BlueGreenDeploy,
    DeployTarget,
    Outcome,
    Phase,
    Rollback,
    RollingDeploy,
    RolloutFailedError,
    RolloutFailure,
    SmokeCheck,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "deploy-test"
MANIFESTS = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NAMESPACE}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {NAMESPACE}}}
spec:
  replicas: 2
  progressDeadlineSeconds: 30
  selector: {{matchLabels: {{app: web}}}}
  strategy: {{rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: web
          image: webapp:good
          ports: [{{name: http, containerPort: 8080}}]
          readinessProbe: {{httpGet: {{path: /ready, port: http}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NAMESPACE}}}
spec:
  type: LoadBalancer
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[SimulatedCluster]:
    with SimulatedCluster(
        "deploy-test", config_file=REPO / "pyproject.toml", time_scale=0.1, node_count=2
    ) as started:
        started.kubectl("apply", "-f", "-", input=MANIFESTS)
        started.kubectl("-n", NAMESPACE, "rollout", "status", "deployment/web", "--timeout=60s")
        yield started


@pytest.fixture
def target(cluster: SimulatedCluster, tmp_path: Path) -> Iterator[DeployTarget]:
    target = DeployTarget(cluster.kubeconfig, NAMESPACE, time_scale=0.1, reports_root=tmp_path)
    yield target
    # back to one Deployment on webapp:good behind an unpinned Service
    cluster.kubectl("-n", NAMESPACE, "delete", "deployment", "web-green", "--ignore-not-found")
    cluster.kubectl("apply", "-f", "-", input=MANIFESTS)
    cluster.kubectl("-n", NAMESPACE, "rollout", "status", "deployment/web", "--timeout=60s")


def _image(cluster: SimulatedCluster, name: str = "web") -> str:
    return cluster.kubectl(
        "-n", NAMESPACE, "get", "deployment", name,
        "-o", "jsonpath={.spec.template.spec.containers[0].image}",
    ).stdout  # fmt: skip


def test_rolling_then_rollback(cluster: SimulatedCluster, target: DeployTarget) -> None:
    done = RollingDeploy(target, "web", image="webapp:good-2").run()
    assert done.outcome is Outcome.SUCCEEDED and done.time_scale == 0.1
    assert _image(cluster) == "webapp:good-2"
    undone = Rollback(target, "web").run()
    assert undone.outcome is Outcome.SUCCEEDED and undone.image == "webapp:good"
    assert _image(cluster) == "webapp:good"
    # kubectl agrees the revision moved forward (a rollback is a new revision)
    history = cluster.kubectl("-n", NAMESPACE, "rollout", "history", "deployment/web").stdout
    assert str(undone.revision) in history


def test_crash_fails_fast_saves_diagnostics_and_rolls_back(
    cluster: SimulatedCluster, target: DeployTarget
) -> None:
    began = time.monotonic()
    with pytest.raises(RolloutFailedError) as failed:
        RollingDeploy(target, "web", tag="crash").run()
    assert time.monotonic() - began < 15  # well before the 3 s scaled deadline + margin
    error = failed.value
    assert error.failure is RolloutFailure.CRASH_LOOP_BACK_OFF
    assert error.result.outcome is Outcome.ROLLED_BACK
    assert error.report_dir is not None and error.report_dir.parent == target.report_dir()
    logs = list((error.report_dir / "logs").glob("*.previous.log"))
    assert any("crashing at start" in p.read_text() for p in logs)
    pods = list(yaml.safe_load_all((error.report_dir / "pods.yaml").read_text()))
    assert any("CrashLoopBackOff" in yaml.safe_dump(p) for p in pods)
    # The cluster's recent requests: the deploy's own PATCH of the image is among them.
    requests = (error.report_dir / "cluster-requests.txt").read_text()
    assert " PATCH " in requests and "/deployments/web" in requests
    assert _image(cluster) == "webapp:good"


def test_blue_green_on_a_plain_app(cluster: SimulatedCluster, target: DeployTarget) -> None:
    deploy = BlueGreenDeploy(
        target, "web", tag="good-2", marker=SmokeCheck("/", body_contains="({tag})"),
        scale_down_delay=None, propagation_delay=7.0,
    )  # fmt: skip
    result = deploy.run()
    assert result.outcome is Outcome.SUCCEEDED and result.serving == "web-green"
    assert _image(cluster, "web-green") == "webapp:good-2"
    back = deploy.switch_back()
    assert back.serving == "web"
    deploy.scale_down_idle()
    replicas = cluster.kubectl(
        "-n", NAMESPACE, "get", "deployment", "web-green", "-o", "jsonpath={.spec.replicas}"
    ).stdout
    assert replicas == "0"


def test_blue_green_aborts_when_green_never_gets_ready(
    cluster: SimulatedCluster, target: DeployTarget
) -> None:
    with pytest.raises(BlueGreenAbortedError) as aborted:
        BlueGreenDeploy(target, "web", tag="unready", timeout=8.0).run()
    result = aborted.value.result
    assert result.outcome is Outcome.ABORTED and not result.ran(Phase.SWITCH)
    missing = cluster.kubectl("-n", NAMESPACE, "get", "deployment", "web-green", check=False)
    assert missing.returncode != 0
