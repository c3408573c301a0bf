"""EndpointSlice and Endpoints controllers against a real Store with a fake clock, synced by
hand (KUBE_SPEC rules 24, 25, 26)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.cluster.simulator.controllers.base import ControllerContext
from harness.cluster.simulator.controllers.endpoints import (
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    LAST_CHANGE_TRIGGER_TIME,
    EndpointsController,
    EndpointSliceController,
    find_port,
    repack_subsets,
)
from harness.cluster.simulator.controllers.events import StoreEventRecorder
from harness.cluster.simulator.gc import GarbageCollector
from harness.cluster.simulator.http.startup import bootstrap
from harness.cluster.simulator.registry import Registry, ResourceType
from harness.cluster.simulator.store import Store
from harness.timescale import TimeScale

Obj = dict[str, Any]
NS = "default"
START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class World:
    """A store with two zoned nodes and both controllers, synced by hand."""

    def __init__(self, *, max_endpoints: int = 100) -> None:
        self.clock = FakeClock()
        self.registry = Registry.builtin()
        self.store = Store(self.registry, clock=self.clock)
        bootstrap(self.store)
        events = StoreEventRecorder(self.store, "endpoint-controller", self.clock)
        self.ctx = ControllerContext(self.store, self.registry, self.clock, TimeScale(), events)
        self.slices_controller = EndpointSliceController(
            self.ctx, max_endpoints_per_slice=max_endpoints
        )
        self.endpoints_controller = EndpointsController(self.ctx)
        self.pods = self.rt("", "pods")
        self.services = self.rt("", "services")
        self.nodes = self.rt("", "nodes")
        self.slice_rt = self.rt("discovery.k8s.io", "endpointslices")
        self.endpoints_rt = self.rt("", "endpoints")
        for name, zone in (("node-1", "zone-a"), ("node-2", "zone-b")):
            self.store.create(
                self.nodes,
                None,
                {"metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}}},
            )
        self._ip = 0

    def rt(self, group: str, plural: str) -> ResourceType:
        found = self.registry.lookup(group, "v1", plural)
        assert found is not None
        return found

    def service(
        self, name: str = "web", selector: dict[str, str] | None = None, **spec: Any
    ) -> Obj:
        body: Obj = {
            "metadata": {"name": name, "labels": {"team": "a"}},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": "http"}], **spec},
        }
        if selector is not None:
            body["spec"]["selector"] = selector
        return self.store.create(self.services, NS, body)

    def pod(
        self,
        name: str,
        labels: dict[str, str] | None = None,
        *,
        ready: bool = True,
        node: str = "node-1",
        ip: bool = True,
        container_port: int = 8080,
    ) -> Obj:
        created = self.store.create(
            self.pods,
            NS,
            {
                "metadata": {"name": name, "labels": labels or {"app": "web"}},
                "spec": {
                    "nodeName": node,
                    "containers": [
                        {
                            "name": "app",
                            "image": "web:1",
                            "ports": [{"name": "http", "containerPort": container_port}],
                        }
                    ],
                },
            },
        )
        if ip:
            self._ip += 1
            self.set_status(name, ready=ready, ip=f"127.16.0.{self._ip}")
        return created

    def set_status(
        self, name: str, *, ready: bool, ip: str | None = None, phase: str = "Running"
    ) -> None:
        pod = self.store.get(self.pods, NS, name)
        status = pod.setdefault("status", {})
        status["phase"] = phase
        if ip is not None:
            status["podIP"] = ip
            status["podIPs"] = [{"ip": ip}]
        status["conditions"] = [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "lastTransitionTime": self.clock.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        ]
        self.store.update(self.pods, NS, name, pod, subresource="status")

    def sync(self, name: str = "web") -> None:
        self.slices_controller.sync((NS, name))
        self.endpoints_controller.sync((NS, name))

    def slices(self, service: str = "web") -> list[Obj]:
        return self.store.list(
            self.slice_rt, NS, label_selector=f"{LABEL_SERVICE_NAME}={service}"
        ).items

    def endpoints_by_pod(self, service: str = "web") -> dict[str, Obj]:
        return {
            e["targetRef"]["name"]: e
            for s in self.slices(service)
            for e in s.get("endpoints") or []
        }

    def legacy(self, service: str = "web") -> Obj:
        return self.store.get(self.endpoints_rt, NS, service)


@pytest.fixture
def world() -> World:
    return World()


def _addresses(endpoints: Obj, field: str) -> list[str]:
    return sorted(
        a["targetRef"]["name"] for s in endpoints.get("subsets") or [] for a in s.get(field) or []
    )


# -- rule 24: EndpointSlices ----------------------------------------------------------------
def test_rule24_slice_has_labels_owner_ports_and_topology(world: World) -> None:
    service = world.service(selector={"app": "web"})
    world.pod("web-1", node="node-2")
    world.sync()
    [slice_] = world.slices()
    meta = slice_["metadata"]
    assert meta["name"].startswith("web-")
    assert meta["labels"] == {
        "team": "a",
        LABEL_SERVICE_NAME: "web",
        LABEL_MANAGED_BY: "endpointslice-controller.k8s.io",
    }
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "name": "web",
            "uid": service["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert slice_["addressType"] == "IPv4"
    assert slice_["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    [endpoint] = slice_["endpoints"]
    pod = world.store.get(world.pods, NS, "web-1")
    assert endpoint == {
        "addresses": ["127.16.0.1"],
        "conditions": {"ready": True, "serving": True, "terminating": False},
        "targetRef": {
            "kind": "Pod",
            "namespace": NS,
            "name": "web-1",
            "uid": pod["metadata"]["uid"],
        },
        "nodeName": "node-2",
        "zone": "zone-b",
    }
    assert meta["annotations"][LAST_CHANGE_TRIGGER_TIME] == "2024-05-01T12:00:00Z"


def test_rule24_inclusion_skips_terminal_and_ipless_pods(world: World) -> None:
    world.service(selector={"app": "web"})
    world.pod("running")
    world.pod("no-ip", ip=False)
    world.pod("done")
    world.set_status("done", ready=False, phase="Succeeded")
    world.pod("other", labels={"app": "other"})
    world.sync()
    assert sorted(world.endpoints_by_pod()) == ["running"]


def test_rule24_ready_serving_terminating(world: World) -> None:
    world.service(selector={"app": "web"})
    world.pod("ready")
    world.pod("unready", ready=False)
    world.pod("leaving")
    world.store.delete(world.pods, NS, "leaving")  # graceful: it stays with a deletionTimestamp
    world.sync()
    conditions = {name: e["conditions"] for name, e in world.endpoints_by_pod().items()}
    assert conditions == {
        "ready": {"ready": True, "serving": True, "terminating": False},
        "unready": {"ready": False, "serving": False, "terminating": False},
        "leaving": {"ready": False, "serving": True, "terminating": True},
    }


def test_rule24_publish_not_ready_addresses_makes_every_endpoint_ready(world: World) -> None:
    world.service(selector={"app": "web"}, publishNotReadyAddresses=True)
    world.pod("unready", ready=False)
    world.pod("leaving")
    world.store.delete(world.pods, NS, "leaving")
    world.sync()
    conditions = {name: e["conditions"] for name, e in world.endpoints_by_pod().items()}
    assert conditions["unready"] == {"ready": True, "serving": False, "terminating": False}
    assert conditions["leaving"] == {"ready": True, "serving": True, "terminating": True}


def test_rule24_readiness_change_updates_the_slice_in_place(world: World) -> None:
    world.service(selector={"app": "web"})
    world.pod("web-1", ready=False)
    world.sync()
    [before] = world.slices()
    assert before["endpoints"][0]["conditions"]["ready"] is False
    world.clock.advance(5)
    world.set_status("web-1", ready=True)
    world.sync()
    [after] = world.slices()
    assert after["metadata"]["name"] == before["metadata"]["name"]
    assert after["endpoints"][0]["conditions"]["ready"] is True
    assert after["metadata"]["annotations"][LAST_CHANGE_TRIGGER_TIME] == "2024-05-01T12:00:05Z"
    rv = after["metadata"]["resourceVersion"]
    world.sync()  # nothing changed: no write
    assert world.slices()[0]["metadata"]["resourceVersion"] == rv


def test_rule24_at_most_100_endpoints_per_slice() -> None:
    world = World()
    world.service(selector={"app": "web"})
    for i in range(250):
        world.pod(f"web-{i:03}")
    world.sync()
    sizes = sorted(len(s["endpoints"]) for s in world.slices())
    assert sizes == [50, 100, 100]
    assert len(world.endpoints_by_pod()) == 250


def test_rule24_small_max_per_slice_fills_and_reuses_slices() -> None:
    world = World(max_endpoints=2)
    world.service(selector={"app": "web"})
    for i in range(3):
        world.pod(f"web-{i}")
    world.sync()
    assert sorted(len(s["endpoints"]) for s in world.slices()) == [1, 2]
    world.pod("web-3")
    world.sync()
    assert sorted(len(s["endpoints"]) for s in world.slices()) == [2, 2]


def test_rule24_service_without_selector_is_not_managed(world: World) -> None:
    world.service(selector=None)
    world.pod("web-1")
    world.sync()
    assert world.slices() == []
    with pytest.raises(Exception, match="not found"):
        world.legacy()


def test_rule24_empty_service_gets_a_placeholder_slice(world: World) -> None:
    world.service(selector={"app": "web"})
    world.sync()
    [placeholder] = world.slices()
    assert placeholder["endpoints"] == [] and placeholder["ports"] == []
    rv = placeholder["metadata"]["resourceVersion"]
    world.sync()
    assert [s["metadata"]["resourceVersion"] for s in world.slices()] == [rv]
    world.pod("web-1")
    world.sync()
    [slice_] = world.slices()
    # the placeholder is reused, not deleted and recreated
    assert slice_["metadata"]["name"] == placeholder["metadata"]["name"]
    assert slice_["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]


def test_rule24_pods_with_different_named_ports_get_separate_slices(world: World) -> None:
    world.service(selector={"app": "web"})
    world.pod("a", container_port=8080)
    world.pod("b", container_port=9090)
    world.sync()
    ports = sorted(s["ports"][0]["port"] for s in world.slices())
    assert ports == [8080, 9090]


def test_rule24_pod_on_a_missing_node_is_skipped_and_retried(world: World) -> None:
    world.service(selector={"app": "web"})
    world.pod("lost", node="node-9")
    assert world.slices_controller.sync((NS, "web")) == pytest.approx(1.0)
    assert world.endpoints_by_pod() == {}


def test_rule24_slices_are_garbage_collected_with_the_service(world: World) -> None:
    world.service(selector={"app": "web"})
    world.pod("web-1")
    world.sync()
    assert world.slices()
    world.store.delete(world.services, NS, "web")
    GarbageCollector(world.store).run_until_idle()
    world.sync()
    assert world.slices() == []
    with pytest.raises(Exception, match="not found"):
        world.legacy()


def test_rule24_keys_for_routes_pods_to_their_services(world: World) -> None:
    world.service(selector={"app": "web"})
    world.service("other", selector={"app": "other"})
    pod = world.pod("web-1")
    from harness.cluster.simulator.store import WatchEvent

    event = WatchEvent("MODIFIED", pod, world.pods)
    assert list(world.slices_controller.keys_for(event)) == [(NS, "web")]
    world.sync()
    # after a label change the pod no longer matches, but its old Service must still resync
    pod["metadata"]["labels"] = {"app": "other"}
    event = WatchEvent("MODIFIED", pod, world.pods)
    assert sorted(world.slices_controller.keys_for(event)) == [(NS, "other"), (NS, "web")]
    assert sorted(world.endpoints_controller.keys_for(event)) == [(NS, "other"), (NS, "web")]


# -- rule 25: legacy Endpoints --------------------------------------------------------------
def test_rule25_ready_pods_are_addresses_others_not_ready(world: World) -> None:
    world.service(selector={"app": "web"})
    world.pod("ready")
    world.pod("unready", ready=False)
    world.pod("leaving")
    world.store.delete(world.pods, NS, "leaving")
    world.sync()
    endpoints = world.legacy()
    assert _addresses(endpoints, "addresses") == ["ready"]
    assert _addresses(endpoints, "notReadyAddresses") == ["unready"]  # terminating: excluded
    assert endpoints["subsets"][0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert endpoints["metadata"]["labels"] == {"team": "a"}
    address = endpoints["subsets"][0]["addresses"][0]
    assert address["nodeName"] == "node-1" and address["ip"] == "127.16.0.1"
    assert endpoints["metadata"]["annotations"][LAST_CHANGE_TRIGGER_TIME] == "2024-05-01T12:00:00Z"
    assert "ownerReferences" not in endpoints["metadata"]


def test_rule25_publish_not_ready_includes_terminating_as_ready(world: World) -> None:
    world.service(selector={"app": "web"}, publishNotReadyAddresses=True)
    world.pod("unready", ready=False)
    world.pod("leaving")
    world.store.delete(world.pods, NS, "leaving")
    world.sync()
    endpoints = world.legacy()
    assert _addresses(endpoints, "addresses") == ["leaving", "unready"]
    assert _addresses(endpoints, "notReadyAddresses") == []


def test_rule25_no_pods_means_no_subsets_and_deleted_service_deletes_endpoints(
    world: World,
) -> None:
    world.service(selector={"app": "web"})
    world.sync()
    assert "subsets" not in world.legacy()
    world.store.delete(world.services, NS, "web")
    world.sync()
    with pytest.raises(Exception, match="not found"):
        world.legacy()


def test_rule25_repack_groups_addresses_by_port_set() -> None:
    a = {"ip": "127.0.0.2", "targetRef": {"uid": "a"}}
    b = {"ip": "127.0.0.1", "targetRef": {"uid": "b"}}
    http = {"name": "http", "port": 80, "protocol": "TCP"}
    admin = {"name": "admin", "port": 81, "protocol": "TCP"}
    packed = repack_subsets(
        [
            {"addresses": [a], "ports": [http]},
            {"addresses": [a], "ports": [admin]},
            {"notReadyAddresses": [b], "ports": [http]},
            {"notReadyAddresses": [b], "ports": [admin]},
        ]
    )
    assert packed == [{"addresses": [a], "notReadyAddresses": [b], "ports": [admin, http]}]


# -- rule 26: selector switch and ports -----------------------------------------------------
def test_rule26_selector_switch_recomputes_slices_and_endpoints(world: World) -> None:
    world.service(selector={"app": "web", "color": "blue"})
    world.pod("blue-1", labels={"app": "web", "color": "blue"})
    world.pod("green-1", labels={"app": "web", "color": "green"}, ready=False)
    world.sync()
    assert sorted(world.endpoints_by_pod()) == ["blue-1"]
    service = world.store.get(world.services, NS, "web")
    service["spec"]["selector"] = {"app": "web", "color": "green"}
    world.store.update(world.services, NS, "web", service)
    world.sync()
    endpoints = world.endpoints_by_pod()
    assert sorted(endpoints) == ["green-1"]
    assert endpoints["green-1"]["conditions"]["ready"] is False  # with its own readiness
    assert _addresses(world.legacy(), "notReadyAddresses") == ["green-1"]
    assert _addresses(world.legacy(), "addresses") == []


def test_rule26_named_target_port_resolves_against_container_port_names() -> None:
    pod = {
        "spec": {
            "containers": [
                {"name": "a", "ports": [{"name": "metrics", "containerPort": 9100}]},
                {
                    "name": "b",
                    "ports": [
                        {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                    ],
                },
            ]
        }
    }
    assert find_port(pod, {"port": 80, "targetPort": "http", "protocol": "TCP"}) == 8080
    assert find_port(pod, {"port": 53, "targetPort": "dns", "protocol": "TCP"}) is None
    assert find_port(pod, {"port": 53, "targetPort": "dns", "protocol": "UDP"}) == 53
    assert find_port(pod, {"port": 80, "targetPort": 3000}) == 3000
    assert find_port(pod, {"port": 80}) == 80


def test_rule26_pod_without_the_named_port_is_listed_without_ports(world: World) -> None:
    world.service(selector={"app": "web"}, ports=[{"name": "x", "port": 80, "targetPort": "nope"}])
    world.pod("web-1")
    world.sync()
    [slice_] = world.slices()
    assert slice_["ports"] == [] and len(slice_["endpoints"]) == 1
    assert "subsets" not in world.legacy()  # no port: no legacy subset
