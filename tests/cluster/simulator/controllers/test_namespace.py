"""NamespaceController against a real Store: content deletion, conditions, finalize."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.controllers.base import ControllerContext
from harness.cluster.simulator.controllers.events import StoreEventRecorder
from harness.cluster.simulator.controllers.namespace import NamespaceController
from harness.cluster.simulator.http.startup import bootstrap
from harness.cluster.simulator.registry import Registry, ResourceType
from harness.cluster.simulator.store import Store
from harness.timescale import TimeScale

Obj = dict[str, Any]

CRD: Obj = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


class World:
    def __init__(self, time_scale: float = 1.0) -> None:
        self.registry = Registry.builtin()
        self.store = Store(self.registry)
        bootstrap(self.store)

        def clock() -> datetime:
            return datetime(2024, 5, 1, tzinfo=UTC)

        self.ctx = ControllerContext(
            self.store,
            self.registry,
            clock,
            TimeScale(time_scale),
            StoreEventRecorder(self.store, "namespace-controller", clock),
        )
        self.controller = NamespaceController(self.ctx)
        self.namespaces = self.rt("", "v1", "namespaces")
        self.pods = self.rt("", "v1", "pods")
        self.configmaps = self.rt("", "v1", "configmaps")
        self.store.create(self.namespaces, None, {"metadata": {"name": "team"}})

    def rt(self, group: str, version: str, plural: str) -> ResourceType:
        found = self.registry.lookup(group, version, plural)
        assert found is not None
        return found

    def namespace(self) -> Obj | None:
        try:
            return self.store.get(self.namespaces, None, "team")
        except ApiError:
            return None

    def conditions(self) -> dict[str, Obj]:
        ns = self.namespace()
        assert ns is not None
        return {c["type"]: c for c in ns["status"].get("conditions") or []}


def test_an_empty_terminating_namespace_is_finalized_and_removed() -> None:
    world = World()
    world.store.create(world.configmaps, "team", {"metadata": {"name": "cm"}})
    world.store.delete(world.namespaces, None, "team")
    assert world.controller.resync_keys() == ["team"]
    assert world.controller.sync("team") is None
    assert world.namespace() is None
    assert world.store.list(world.configmaps, "team").items == []


def test_graceful_pods_keep_the_namespace_with_content_remaining() -> None:
    world = World(time_scale=0.1)
    world.store.create(
        world.pods,
        "team",
        {
            "metadata": {"name": "p"},
            "spec": {
                "nodeName": "node-1",
                "terminationGracePeriodSeconds": 30,
                "containers": [{"name": "a", "image": "x"}],
            },
        },
    )
    world.store.delete(world.namespaces, None, "team")
    delay = world.controller.sync("team")
    assert delay == pytest.approx(0.1 * (30 // 2 + 1))
    pod = world.store.get(world.pods, "team", "p")
    assert pod["metadata"]["deletionTimestamp"]  # deleted gracefully, waiting for its kubelet
    ns = world.namespace()
    assert ns is not None and ns["status"]["phase"] == "Terminating"
    conditions = world.conditions()
    remaining = conditions["NamespaceContentRemaining"]
    assert (remaining["status"], remaining["reason"]) == ("True", "SomeResourcesRemain")
    assert remaining["message"] == "Some resources are remaining: pods. has 1 resource instances"
    assert conditions["NamespaceDeletionContentFailure"]["status"] == "False"
    assert conditions["NamespaceDeletionDiscoveryFailure"]["reason"] == "ResourcesDiscovered"
    assert len(conditions) == 5
    # the kubelet finishes the pod: the next sync finalizes
    world.store.delete(world.pods, "team", "p", grace_period_seconds=0)
    assert world.controller.sync("team") is None
    assert world.namespace() is None


def test_finalizers_on_content_are_reported_and_custom_resources_deleted() -> None:
    world = World()
    crds = world.rt("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    world.store.create(crds, None, CRD)
    widgets = world.rt("example.com", "v1", "widgets")
    world.store.create(
        widgets,
        "team",
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
    )
    world.store.create(
        world.configmaps, "team", {"metadata": {"name": "held", "finalizers": ["example.com/x"]}}
    )
    world.store.delete(world.namespaces, None, "team")
    delay = world.controller.sync("team")
    assert delay == pytest.approx(15 // 2 + 1)
    assert world.store.list(widgets, "team").items == []
    conditions = world.conditions()
    assert conditions["NamespaceFinalizersRemaining"]["message"] == (
        "Some content in the namespace has finalizers remaining: example.com/x in 1 resource "
        "instances"
    )
    assert conditions["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: configmaps. has 1 resource instances"
    )
    held = world.store.get(world.configmaps, "team", "held")
    held["metadata"]["finalizers"] = []
    world.store.update(world.configmaps, "team", "held", held)
    assert world.controller.sync("team") is None
    assert world.namespace() is None


def test_a_live_namespace_is_left_alone() -> None:
    world = World()
    world.store.create(world.configmaps, "team", {"metadata": {"name": "cm"}})
    assert world.controller.sync("team") is None
    assert world.store.list(world.configmaps, "team").items
    assert world.controller.sync("missing") is None
