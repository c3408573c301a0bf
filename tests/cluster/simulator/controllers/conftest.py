"""Fixtures for the controller tests: a real Store with a fake clock, a list-backed event
recorder, and a small driver that runs DeploymentController / ReplicaSetController syncs."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.cluster.simulator.controllers.base import ControllerContext
from harness.cluster.simulator.controllers.deployment import DeploymentController
from harness.cluster.simulator.controllers.replicaset import ReplicaSetController
from harness.cluster.simulator.registry import Registry, ResourceType
from harness.cluster.simulator.store import Store
from harness.timescale import TimeScale

START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
Obj = dict[str, Any]


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class RecordedEvent:
    kind: str
    name: str
    type: str
    reason: str
    message: str


@dataclass
class FakeEvents:
    """A list-backed EventRecorder."""

    items: list[RecordedEvent] = field(default_factory=list)

    def record(self, obj: dict[str, object], type_: str, reason: str, message: str) -> None:
        meta = obj.get("metadata")
        name = str(meta.get("name")) if isinstance(meta, dict) else ""
        self.items.append(RecordedEvent(str(obj.get("kind")), name, type_, reason, message))

    def messages(self, reason: str | None = None) -> list[str]:
        return [e.message for e in self.items if reason is None or e.reason == reason]


def container(image: str = "nginx:1.25") -> Obj:
    return {"name": "web", "image": image}


def deployment_manifest(
    name: str = "web",
    replicas: int = 3,
    *,
    image: str = "nginx:1.25",
    strategy: Obj | None = None,
    **spec: Any,
) -> Obj:
    labels = {"app": name}
    body: Obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [container(image)]},
            },
            **spec,
        },
    }
    if strategy is not None:
        body["spec"]["strategy"] = strategy
    return body


class SimCluster:
    """A store plus both controllers, driven by hand: no threads, no servers."""

    def __init__(self, time_scale: TimeScale | None = None) -> None:
        self.clock = FakeClock()
        self.registry = Registry.builtin()
        self.store = Store(self.registry, clock=self.clock)
        self.events = FakeEvents()
        self.ctx = ControllerContext(
            self.store, self.registry, self.clock, time_scale or TimeScale(), self.events
        )
        self.deployments = self.rt("apps", "deployments")
        self.replica_sets = self.rt("apps", "replicasets")
        self.pods = self.rt("", "pods")
        namespaces = self.rt("", "namespaces")
        with contextlib.suppress(Exception):
            self.store.create(namespaces, None, {"metadata": {"name": "default"}})
        self.dc = DeploymentController(self.ctx)
        self.rsc = ReplicaSetController(self.ctx)

    def rt(self, group: str, plural: str) -> ResourceType:
        found = self.registry.lookup(group, "v1", plural)
        assert found is not None
        return found

    # ------------------------------------------------------------ objects

    def create_deployment(self, manifest: Obj) -> Obj:
        return self.store.create(self.deployments, "default", manifest)

    def deployment(self, name: str = "web") -> Obj:
        return self.store.get(self.deployments, "default", name)

    def update_deployment(self, name: str, change: Any) -> Obj:
        d = self.deployment(name)
        change(d)
        return self.store.update(self.deployments, "default", name, d)

    def replica_set_list(self) -> list[Obj]:
        items = self.store.list(self.replica_sets, "default").items
        return sorted(items, key=lambda rs: int(rs["metadata"]["resourceVersion"]))

    def replica_set(self, name: str) -> Obj:
        return self.store.get(self.replica_sets, "default", name)

    def pod_list(self, rs_name: str | None = None) -> list[Obj]:
        pods = self.store.list(self.pods, "default").items
        if rs_name is None:
            return pods
        return [
            p
            for p in pods
            if any(r.get("name") == rs_name for r in p["metadata"].get("ownerReferences") or [])
        ]

    def set_pod_ready(self, pod: Obj, ready: bool = True, node: str = "node-1") -> None:
        """What the scheduler and kubelet would write: a node binding and Ready condition."""
        name = pod["metadata"]["name"]
        current = self.store.get(self.pods, "default", name)
        current["status"] = {
            **current.get("status", {}),
            "phase": "Running",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "lastTransitionTime": self.clock.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            ],
        }
        self.store.update(self.pods, "default", name, current, subresource="status")

    def finish_pod_deletions(self) -> None:
        """The kubelet's last step: pods with a deletionTimestamp leave the store."""
        for pod in self.pod_list():
            if pod["metadata"].get("deletionTimestamp"):
                self.store.delete(
                    self.pods, "default", pod["metadata"]["name"], grace_period_seconds=0
                )

    # ------------------------------------------------------------ driving

    def sync_deployment(self, name: str = "web") -> float | None:
        return self.dc.sync(("default", name))

    def sync_replica_sets(self) -> None:
        for rs in self.replica_set_list():
            self.rsc.sync(("default", rs["metadata"]["name"]))

    def settle(self, name: str = "web", *, ready: bool = True, rounds: int = 30) -> None:
        """Alternate both controllers (and a kubelet marking new pods ready) until quiet."""
        for _ in range(rounds):
            before = self.store.resource_version
            self.sync_deployment(name)
            self.sync_replica_sets()
            if ready:
                for pod in self.pod_list():
                    if not pod.get("status", {}).get("conditions") and not pod["metadata"].get(
                        "deletionTimestamp"
                    ):
                        self.set_pod_ready(pod)
            self.finish_pod_deletions()
            if self.store.resource_version == before:
                return
        raise AssertionError("the controllers did not settle")


@pytest.fixture
def cluster() -> SimCluster:
    return SimCluster()


@pytest.fixture
def make_cluster() -> type[SimCluster]:
    return SimCluster


@pytest.fixture
def manifest() -> Any:
    return deployment_manifest
