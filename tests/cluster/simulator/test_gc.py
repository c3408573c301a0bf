"""The garbage collector: background, foreground and orphan propagation and dangling owners.

Upstream reference: kube-controller-manager pkg/controller/garbagecollector/
garbagecollector.go (attemptToDeleteItem, processDeletingDependentsItem, orphanDependents)
and the e2e "Garbage collector" conformance cases in test/e2e/apimachinery/garbage_collector.go.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.gc import GarbageCollector
from harness.cluster.simulator.registry import Registry, ResourceType
from harness.cluster.simulator.store import Store

NAMESPACES = ResourceType(
    "",
    "v1",
    "Namespace",
    "namespaces",
    "namespace",
    False,
    subresources=frozenset({"status", "finalize"}),
)
NODES = ResourceType("", "v1", "Node", "nodes", "node", False, subresources=frozenset({"status"}))
PODS = ResourceType("", "v1", "Pod", "pods", "pod", True, subresources=frozenset({"status"}))
CONFIGMAPS = ResourceType("", "v1", "ConfigMap", "configmaps", "configmap", True)
DEPLOYMENTS = ResourceType(
    "apps",
    "v1",
    "Deployment",
    "deployments",
    "deployment",
    True,
    subresources=frozenset({"status"}),
)
REPLICASETS = ResourceType(
    "apps",
    "v1",
    "ReplicaSet",
    "replicasets",
    "replicaset",
    True,
    subresources=frozenset({"status"}),
)


@pytest.fixture
def store() -> Store:
    registry = Registry([NAMESPACES, NODES, PODS, CONFIGMAPS, DEPLOYMENTS, REPLICASETS])
    store = Store(registry)
    for name in ("shop", "other"):
        store.create(NAMESPACES, None, {"metadata": {"name": name}})
    return store


@pytest.fixture
def gc(store: Store) -> GarbageCollector:
    """A collector driven on the test's thread with run_until_idle(): deterministic."""
    return GarbageCollector(store)


def ref(
    owner: dict[str, Any], *, block: bool | None = True, controller: bool = True
) -> dict[str, Any]:
    reference: dict[str, Any] = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": controller,
    }
    if block is not None:
        reference["blockOwnerDeletion"] = block
    return reference


def configmap(name: str, *owners: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if owners:
        meta["ownerReferences"] = list(owners)
    return {"metadata": meta}


def pod(name: str, *owners: dict[str, Any], node: str | None = None) -> dict[str, Any]:
    body = configmap(name, *owners)
    body["spec"] = {"containers": [{"name": "app", "image": "example/web:1"}]}
    if node:
        body["spec"]["nodeName"] = node
    return body


def deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "example/web:1"}]},
            },
        },
    }


def replicaset(name: str, owner: dict[str, Any]) -> dict[str, Any]:
    body = deployment(name)
    body["metadata"]["ownerReferences"] = [ref(owner)]
    return body


def exists(store: Store, rt: ResourceType, namespace: str | None, name: str) -> bool:
    try:
        store.get(rt, namespace, name)
    except ApiError as error:
        assert error.code == 404
        return False
    return True


def names(store: Store, rt: ResourceType, namespace: str = "shop") -> list[str]:
    return [item["metadata"]["name"] for item in store.list(rt, namespace).items]


# ================================================================= background


def test_background_deletion_removes_owner_first_then_dependents(
    store: Store, gc: GarbageCollector
) -> None:
    owner = store.create(CONFIGMAPS, "shop", configmap("owner"))
    store.create(CONFIGMAPS, "shop", configmap("child-1", ref(owner)))
    store.create(CONFIGMAPS, "shop", configmap("child-2", ref(owner, block=None)))
    gc.run_until_idle()
    assert names(store, CONFIGMAPS) == ["child-1", "child-2", "owner"]
    assert store.delete_detailed(
        CONFIGMAPS, "shop", "owner", propagation_policy="Background"
    ).removed
    assert names(store, CONFIGMAPS) == ["child-1", "child-2"]  # the GC runs afterwards
    gc.run_until_idle()
    assert names(store, CONFIGMAPS) == []


def test_default_policy_is_background(store: Store, gc: GarbageCollector) -> None:
    owner = store.create(DEPLOYMENTS, "shop", deployment("web"))
    store.create(REPLICASETS, "shop", replicaset("web-abc", owner))
    store.delete(DEPLOYMENTS, "shop", "web")
    gc.run_until_idle()
    assert names(store, REPLICASETS) == []


def test_cascade_goes_all_the_way_down(store: Store, gc: GarbageCollector) -> None:
    owner = store.create(DEPLOYMENTS, "shop", deployment("web"))
    rs = store.create(REPLICASETS, "shop", replicaset("web-abc", owner))
    store.create(PODS, "shop", pod("web-abc-1", ref(rs)))
    store.create(PODS, "shop", pod("web-abc-2", ref(rs)))
    store.delete(DEPLOYMENTS, "shop", "web")
    gc.run_until_idle()
    assert names(store, REPLICASETS) == []
    assert names(store, PODS) == []


def test_threaded_collector_drains(store: Store) -> None:
    with GarbageCollector(store) as collector:
        owner = store.create(CONFIGMAPS, "shop", configmap("owner"))
        for index in range(20):
            store.create(CONFIGMAPS, "shop", configmap(f"child-{index}", ref(owner)))
        store.delete(CONFIGMAPS, "shop", "owner")
        assert collector.drain(timeout=10)
        assert names(store, CONFIGMAPS) == []


# ================================================================= foreground


def test_foreground_deletes_dependents_before_the_owner(store: Store, gc: GarbageCollector) -> None:
    owner = store.create(CONFIGMAPS, "shop", configmap("owner"))
    store.create(CONFIGMAPS, "shop", configmap("child", ref(owner)))
    outcome = store.delete_detailed(CONFIGMAPS, "shop", "owner", propagation_policy="Foreground")
    assert not outcome.removed
    assert outcome.object["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert outcome.object["metadata"]["deletionTimestamp"]
    gc.run_until_idle()
    assert names(store, CONFIGMAPS) == []


def test_foreground_owner_waits_for_a_terminating_blocking_pod(
    store: Store, gc: GarbageCollector
) -> None:
    # A scheduled pod is deleted gracefully: it exists (terminating) until the kubelet's final
    # graceless delete, and until then the owner keeps its foregroundDeletion finalizer.
    rs = store.create(
        REPLICASETS,
        "shop",
        replicaset("web-abc", store.create(DEPLOYMENTS, "shop", deployment("web"))),
    )
    store.create(PODS, "shop", pod("web-abc-1", ref(rs), node="node-a"))
    store.delete(REPLICASETS, "shop", "web-abc", propagation_policy="Foreground")
    gc.run_until_idle()
    terminating = store.get(PODS, "shop", "web-abc-1")
    assert terminating["metadata"]["deletionTimestamp"]
    assert exists(store, REPLICASETS, "shop", "web-abc")
    store.delete(PODS, "shop", "web-abc-1", grace_period_seconds=0)  # the kubelet
    gc.run_until_idle()
    assert not exists(store, REPLICASETS, "shop", "web-abc")


def test_non_blocking_dependents_do_not_hold_the_owner(store: Store, gc: GarbageCollector) -> None:
    owner = store.create(CONFIGMAPS, "shop", configmap("owner"))
    store.create(PODS, "shop", pod("slow", ref(owner, block=False), node="node-a"))
    store.delete(CONFIGMAPS, "shop", "owner", propagation_policy="Foreground")
    gc.run_until_idle()
    assert not exists(store, CONFIGMAPS, "shop", "owner")
    assert store.get(PODS, "shop", "slow")["metadata"]["deletionTimestamp"]


def test_foreground_propagates_to_dependents_with_their_own_dependents(
    store: Store, gc: GarbageCollector
) -> None:
    # attemptToDeleteItem: an owner waits for dependents and the item has dependents of its
    # own, so the item is deleted in the foreground too.
    owner = store.create(DEPLOYMENTS, "shop", deployment("web"))
    rs = store.create(REPLICASETS, "shop", replicaset("web-abc", owner))
    store.create(PODS, "shop", pod("web-abc-1", ref(rs), node="node-a"))
    store.delete(DEPLOYMENTS, "shop", "web", propagation_policy="Foreground")
    gc.run_until_idle()
    middle = store.get(REPLICASETS, "shop", "web-abc")
    assert middle["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert exists(store, DEPLOYMENTS, "shop", "web")
    store.delete(PODS, "shop", "web-abc-1", grace_period_seconds=0)
    gc.run_until_idle()
    assert not exists(store, REPLICASETS, "shop", "web-abc")
    assert not exists(store, DEPLOYMENTS, "shop", "web")


# ================================================================= orphan


def test_orphan_keeps_dependents_and_drops_their_reference(
    store: Store, gc: GarbageCollector
) -> None:
    owner = store.create(CONFIGMAPS, "shop", configmap("owner"))
    other = store.create(CONFIGMAPS, "shop", configmap("other-owner"))
    store.create(CONFIGMAPS, "shop", configmap("child", ref(owner), ref(other, controller=False)))
    deleted = store.delete(CONFIGMAPS, "shop", "owner", propagation_policy="Orphan")
    assert deleted["metadata"]["finalizers"] == ["orphan"]
    gc.run_until_idle()
    assert not exists(store, CONFIGMAPS, "shop", "owner")
    child = store.get(CONFIGMAPS, "shop", "child")
    assert [r["name"] for r in child["metadata"]["ownerReferences"]] == ["other-owner"]


def test_orphaned_child_loses_owner_references_entirely(store: Store, gc: GarbageCollector) -> None:
    owner = store.create(CONFIGMAPS, "shop", configmap("owner"))
    store.create(CONFIGMAPS, "shop", configmap("child", ref(owner)))
    store.delete(CONFIGMAPS, "shop", "owner", propagation_policy="Orphan")
    gc.run_until_idle()
    assert "ownerReferences" not in store.get(CONFIGMAPS, "shop", "child")["metadata"]


# ================================================================= dangling and scope


def test_dependent_of_a_missing_owner_is_collected(store: Store, gc: GarbageCollector) -> None:
    ghost = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ghost", "uid": "00000000-0000-4000-8000-000000000000"},
    }
    store.create(CONFIGMAPS, "shop", configmap("orphaned", ref(ghost)))
    gc.run_until_idle()
    assert not exists(store, CONFIGMAPS, "shop", "orphaned")


def test_reference_with_a_wrong_uid_is_dangling(store: Store, gc: GarbageCollector) -> None:
    owner = store.create(CONFIGMAPS, "shop", configmap("owner"))
    stale = ref(owner) | {"uid": "11111111-1111-4111-8111-111111111111"}
    store.create(CONFIGMAPS, "shop", configmap("child", stale))
    gc.run_until_idle()
    assert not exists(store, CONFIGMAPS, "shop", "child")


def test_owner_references_are_namespace_local(store: Store, gc: GarbageCollector) -> None:
    owner = store.create(CONFIGMAPS, "other", configmap("owner"))
    store.create(CONFIGMAPS, "shop", configmap("cross", ref(owner)))
    gc.run_until_idle()
    assert not exists(store, CONFIGMAPS, "shop", "cross")
    assert exists(store, CONFIGMAPS, "other", "owner")


def test_cluster_scoped_owner_may_own_namespaced_objects(
    store: Store, gc: GarbageCollector
) -> None:
    node = store.create(NODES, None, {"metadata": {"name": "node-a"}})
    store.create(CONFIGMAPS, "shop", configmap("lease", ref(node)))
    gc.run_until_idle()
    assert exists(store, CONFIGMAPS, "shop", "lease")
    store.delete(NODES, None, "node-a")
    gc.run_until_idle()
    assert not exists(store, CONFIGMAPS, "shop", "lease")


def test_solid_owner_keeps_the_object_and_dangling_references_go(
    store: Store, gc: GarbageCollector
) -> None:
    owner = store.create(CONFIGMAPS, "shop", configmap("owner"))
    gone = store.create(CONFIGMAPS, "shop", configmap("gone"))
    store.create(CONFIGMAPS, "shop", configmap("child", ref(owner), ref(gone, controller=False)))
    store.delete(CONFIGMAPS, "shop", "gone")
    gc.run_until_idle()
    child = store.get(CONFIGMAPS, "shop", "child")
    assert [r["name"] for r in child["metadata"]["ownerReferences"]] == ["owner"]


def test_reference_to_an_unserved_kind_is_left_alone(store: Store, gc: GarbageCollector) -> None:
    unknown = {
        "apiVersion": "example.com/v1",
        "kind": "Gizmo",
        "metadata": {"name": "g", "uid": "22222222-2222-4222-8222-222222222222"},
    }
    store.create(CONFIGMAPS, "shop", configmap("kept", ref(unknown)))
    gc.run_until_idle()
    assert exists(store, CONFIGMAPS, "shop", "kept")


def test_collector_started_late_catches_up(store: Store) -> None:
    owner = store.create(CONFIGMAPS, "shop", configmap("owner"))
    store.create(CONFIGMAPS, "shop", configmap("child", ref(owner)))
    store.delete(CONFIGMAPS, "shop", "owner", propagation_policy="Foreground")
    collector = GarbageCollector(store)
    collector.run_until_idle()
    assert names(store, CONFIGMAPS) == []


# ================================================================= lifecycle


@pytest.fixture
def running(store: Store) -> Iterator[GarbageCollector]:
    collector = GarbageCollector(store).start()
    yield collector
    collector.stop()


def test_stop_is_idempotent_and_final(running: GarbageCollector) -> None:
    running.stop()
    running.stop()
    with pytest.raises(RuntimeError):
        running.start()


def test_drain_on_an_idle_collector_returns_at_once(running: GarbageCollector) -> None:
    assert running.drain(timeout=1)
