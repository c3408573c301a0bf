"""The object store: create/update/delete rules, lists with pagination, and watch semantics.

Each test names the upstream behaviour it pins: apiserver pkg/registry/generic/registry/
store.go and pkg/registry/rest/{create,update,delete}.go, the NamespaceLifecycle admission
plugin, pkg/registry/core/{pod,namespace}, the watch cache (pkg/storage/cacher) and the
etcd3 store's pagination (pkg/storage/etcd3/store.go).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.registry import Registry, ResourceType
from harness.cluster.simulator.store import ExpiredContinue, Store, WatchEvent

NAMESPACES = ResourceType(
    "",
    "v1",
    "Namespace",
    "namespaces",
    "namespace",
    False,
    subresources=frozenset({"status", "finalize"}),
)
PODS = ResourceType("", "v1", "Pod", "pods", "pod", True, subresources=frozenset({"status"}))
CONFIGMAPS = ResourceType("", "v1", "ConfigMap", "configmaps", "configmap", True)
DEPLOYMENTS = ResourceType(
    "apps",
    "v1",
    "Deployment",
    "deployments",
    "deployment",
    True,
    subresources=frozenset({"status", "scale"}),
)
CRDS = ResourceType(
    "apiextensions.k8s.io",
    "v1",
    "CustomResourceDefinition",
    "customresourcedefinitions",
    "customresourcedefinition",
    False,
    subresources=frozenset({"status"}),
)
START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Store:
    registry = Registry([NAMESPACES, PODS, CONFIGMAPS, DEPLOYMENTS, CRDS])
    store = Store(registry, history_size=50, clock=clock)
    for name in ("default", "shop"):
        store.create(NAMESPACES, None, {"metadata": {"name": name}})
    return store


def configmap(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": dict(data)}


def pod(name: str, node: str | None = None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "example/web:1"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, **extra}, "spec": spec}


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


def rv(obj: dict[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


def recorder() -> tuple[list[WatchEvent], Any]:
    events: list[WatchEvent] = []
    return events, events.append


def summary(events: list[WatchEvent]) -> list[tuple[str, str]]:
    return [(e.type, e.object.get("metadata", {}).get("name", "")) for e in events]


# ================================================================= create


def test_create_fills_system_metadata(store: Store) -> None:
    before = store.resource_version
    created = store.create(CONFIGMAPS, "shop", configmap("settings", a="1"))
    meta = created["metadata"]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", meta["uid"]
    )
    assert meta["creationTimestamp"] == "2024-05-01T12:00:00Z"  # RFC 3339, seconds, Z
    assert meta["namespace"] == "shop"
    assert rv(created) == before + 1 == store.resource_version
    assert created["apiVersion"] == "v1" and created["kind"] == "ConfigMap"
    assert store.get(CONFIGMAPS, "shop", "settings") == created


def test_client_supplied_uid_and_timestamps_are_replaced(store: Store) -> None:
    # rest.BeforeCreate: FillObjectMetaSystemFields and deletion fields cleared.
    body = configmap("x")
    body["metadata"].update(uid="mine", deletionTimestamp="2020-01-01T00:00:00Z")
    created = store.create(CONFIGMAPS, "shop", body)
    assert created["metadata"]["uid"] != "mine"
    assert "deletionTimestamp" not in created["metadata"]


def test_resource_versions_increase_across_kinds(store: Store) -> None:
    a = store.create(CONFIGMAPS, "shop", configmap("a"))
    b = store.create(PODS, "shop", pod("b"))
    c = store.update(CONFIGMAPS, "shop", "a", {**a, "data": {"k": "v"}})
    assert rv(a) < rv(b) < rv(c)


def test_generate_name_appends_five_characters_of_the_upstream_alphabet(store: Store) -> None:
    created = store.create(CONFIGMAPS, "shop", {"metadata": {"generateName": "web-"}})
    assert re.fullmatch(r"web-[bcdfghjklmnpqrstvwxz2456789]{5}", created["metadata"]["name"])


def test_generate_name_base_is_cut_to_58_characters(store: Store) -> None:
    created = store.create(CONFIGMAPS, "shop", {"metadata": {"generateName": "a" * 70}})
    assert len(created["metadata"]["name"]) == 63


def test_create_twice_is_409_already_exists(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", configmap("a"))
    with pytest.raises(ApiError) as caught:
        store.create(CONFIGMAPS, "shop", configmap("a"))
    assert (caught.value.code, caught.value.reason) == (409, "AlreadyExists")
    assert caught.value.message == 'configmaps "a" already exists'


def test_same_name_in_another_namespace_is_fine(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", configmap("a"))
    store.create(CONFIGMAPS, "default", configmap("a"))
    assert len(store.list(CONFIGMAPS, None).items) == 2


def test_create_in_a_missing_namespace_is_404(store: Store) -> None:
    # NamespaceLifecycle admission: errors.NewNotFound(namespaces, ns).
    with pytest.raises(ApiError) as caught:
        store.create(CONFIGMAPS, "nowhere", configmap("a"))
    assert caught.value.code == 404
    assert caught.value.message == 'namespaces "nowhere" not found'


def test_create_in_a_terminating_namespace_is_403(store: Store) -> None:
    store.delete(NAMESPACES, None, "shop")
    with pytest.raises(ApiError) as caught:
        store.create(CONFIGMAPS, "shop", configmap("a"))
    assert (caught.value.code, caught.value.reason) == (403, "Forbidden")
    assert caught.value.message == (
        'configmaps "a" is forbidden: unable to create new content in namespace shop '
        "because it is being terminated"
    )
    with pytest.raises(ApiError) as generated:
        store.create(CONFIGMAPS, "shop", {"metadata": {"generateName": "x-"}})
    assert generated.value.message.startswith("configmaps is forbidden: ")


def test_namespace_mismatch_is_400(store: Store) -> None:
    body = configmap("a")
    body["metadata"]["namespace"] = "default"
    with pytest.raises(ApiError) as caught:
        store.create(CONFIGMAPS, "shop", body)
    assert caught.value.code == 400


def test_missing_name_is_422_invalid(store: Store) -> None:
    with pytest.raises(ApiError) as caught:
        store.create(CONFIGMAPS, "shop", {"metadata": {}})
    assert (caught.value.code, caught.value.reason) == (422, "Invalid")
    assert "name or generateName is required" in caught.value.message
    assert any(c.field == "metadata.name" for c in caught.value.causes)


def test_resource_version_on_create_is_rejected(store: Store) -> None:
    # etcd3 store.Create: "resourceVersion should not be set on objects to be created".
    body = configmap("a")
    body["metadata"]["resourceVersion"] = "5"
    with pytest.raises(ApiError, match="resourceVersion should not be set"):
        store.create(CONFIGMAPS, "shop", body)


def test_wrong_kind_is_400(store: Store) -> None:
    with pytest.raises(ApiError) as caught:
        store.create(CONFIGMAPS, "shop", {"kind": "Secret", "metadata": {"name": "a"}})
    assert caught.value.code == 400


def test_strategy_sets_generation_for_deployments(store: Store) -> None:
    created = store.create(DEPLOYMENTS, "shop", deployment("web"))
    assert created["metadata"]["generation"] == 1
    assert created["spec"]["replicas"] == 1  # KUBE_SPEC rule 1, through the strategy


def test_dry_run_create_stores_nothing(store: Store) -> None:
    events, notify = recorder()
    store.subscribe(notify)
    before = store.resource_version
    shown = store.create(CONFIGMAPS, "shop", configmap("a"), dry_run=True)
    assert shown["metadata"]["name"] == "a" and shown["metadata"]["uid"]
    assert "resourceVersion" not in shown["metadata"]
    assert store.resource_version == before
    assert events == []
    with pytest.raises(ApiError):
        store.get(CONFIGMAPS, "shop", "a")


def test_returned_objects_are_copies(store: Store) -> None:
    created = store.create(CONFIGMAPS, "shop", configmap("a", k="v"))
    created["data"]["k"] = "changed"
    fetched = store.get(CONFIGMAPS, "shop", "a")
    assert fetched["data"]["k"] == "v"
    fetched["data"]["k"] = "again"
    assert store.get(CONFIGMAPS, "shop", "a")["data"]["k"] == "v"


def test_get_missing_is_404(store: Store) -> None:
    with pytest.raises(ApiError) as caught:
        store.get(DEPLOYMENTS, "shop", "nope")
    assert caught.value.code == 404
    assert caught.value.message == 'deployments.apps "nope" not found'


# ================================================================= update and patch


def test_update_with_stale_resource_version_is_409_conflict(store: Store) -> None:
    first = store.create(CONFIGMAPS, "shop", configmap("a"))
    store.update(CONFIGMAPS, "shop", "a", {**first, "data": {"k": "1"}})
    with pytest.raises(ApiError) as caught:
        store.update(CONFIGMAPS, "shop", "a", {**first, "data": {"k": "2"}})
    assert (caught.value.code, caught.value.reason) == (409, "Conflict")
    assert "the object has been modified" in caught.value.message


def test_update_without_resource_version_is_unconditional(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", configmap("a"))
    updated = store.update(CONFIGMAPS, "shop", "a", configmap("a", k="2"))
    assert updated["data"] == {"k": "2"}


def test_no_op_update_writes_nothing(store: Store) -> None:
    # etcd3 GuaranteedUpdate returns the stored object when the bytes are equal.
    created = store.create(CONFIGMAPS, "shop", configmap("a", k="1"))
    events, notify = recorder()
    store.watch(CONFIGMAPS, "shop", notify, resource_version=str(store.resource_version))
    again = store.update(CONFIGMAPS, "shop", "a", created)
    assert rv(again) == rv(created)
    assert events == []


def test_update_cannot_change_identity_or_creation(store: Store, clock: Clock) -> None:
    created = store.create(CONFIGMAPS, "shop", configmap("a"))
    clock.now += timedelta(hours=1)
    body = configmap("a", k="v")
    body["metadata"].update(creationTimestamp="1999-01-01T00:00:00Z")
    updated = store.update(CONFIGMAPS, "shop", "a", body)
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert updated["metadata"]["creationTimestamp"] == created["metadata"]["creationTimestamp"]


def test_update_with_another_uid_is_a_precondition_conflict(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", configmap("a"))
    body = configmap("a")
    body["metadata"]["uid"] = "other"
    with pytest.raises(ApiError) as caught:
        store.update(CONFIGMAPS, "shop", "a", body)
    assert caught.value.code == 409
    assert "Precondition failed: UID in precondition" in caught.value.message


def test_update_name_mismatch_is_400(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", configmap("a"))
    with pytest.raises(ApiError) as caught:
        store.update(CONFIGMAPS, "shop", "a", configmap("b"))
    assert caught.value.code == 400
    assert (
        caught.value.message == "the name of the object (b) does not match the name on the URL (a)"
    )


def test_update_of_missing_object_is_404(store: Store) -> None:
    with pytest.raises(ApiError) as caught:
        store.update(CONFIGMAPS, "shop", "a", configmap("a"))
    assert caught.value.code == 404


def test_status_update_changes_only_status(store: Store) -> None:
    created = store.create(DEPLOYMENTS, "shop", deployment("web"))
    body = json.loads(json.dumps(created))
    body["spec"]["replicas"] = 7
    body["status"] = {"observedGeneration": 1, "replicas": 0}
    updated = store.update(DEPLOYMENTS, "shop", "web", body, subresource="status")
    assert updated["spec"]["replicas"] == 1
    assert updated["status"]["observedGeneration"] == 1
    assert updated["metadata"]["generation"] == 1


def test_main_resource_update_keeps_status_and_bumps_generation(store: Store) -> None:
    created = store.create(DEPLOYMENTS, "shop", deployment("web"))
    with_status = store.update(
        DEPLOYMENTS, "shop", "web", {**created, "status": {"replicas": 3}}, subresource="status"
    )
    body = json.loads(json.dumps(with_status))
    body["spec"]["replicas"] = 3
    body["status"] = {}
    updated = store.update(DEPLOYMENTS, "shop", "web", body)
    assert updated["metadata"]["generation"] == 2
    assert updated["status"] == {"replicas": 3}


def test_merge_patch_applies_and_bumps_resource_version(store: Store) -> None:
    created = store.create(CONFIGMAPS, "shop", configmap("a", k="1"))
    patched = store.patch(
        CONFIGMAPS, "shop", "a", "application/merge-patch+json", b'{"data":{"j":"2"}}'
    )
    assert patched["data"] == {"k": "1", "j": "2"}
    assert rv(patched) > rv(created)


def test_patch_carrying_a_stale_resource_version_conflicts(store: Store) -> None:
    created = store.create(CONFIGMAPS, "shop", configmap("a"))
    store.update(CONFIGMAPS, "shop", "a", configmap("a", k="1"))
    body = json.dumps({"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]}})
    with pytest.raises(ApiError) as caught:
        store.patch(CONFIGMAPS, "shop", "a", "application/merge-patch+json", body.encode())
    assert caught.value.code == 409


def test_patch_of_missing_object_is_404(store: Store) -> None:
    with pytest.raises(ApiError) as caught:
        store.patch(CONFIGMAPS, "shop", "a", "application/merge-patch+json", b"{}")
    assert caught.value.code == 404


# ================================================================= delete and finalizers


def test_delete_without_finalizers_removes_at_once(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", configmap("a"))
    outcome = store.delete_detailed(CONFIGMAPS, "shop", "a")
    assert outcome.removed
    assert outcome.object["metadata"]["name"] == "a"
    with pytest.raises(ApiError):
        store.get(CONFIGMAPS, "shop", "a")


def test_finalizers_keep_the_object_until_they_are_removed(store: Store, clock: Clock) -> None:
    # markAsDeleting: deletionTimestamp now, deletionGracePeriodSeconds 0; then
    # ShouldDeleteDuringUpdate removes it when an update empties the finalizers.
    store.create(
        CONFIGMAPS,
        "shop",
        {"metadata": {"name": "a", "finalizers": ["example.com/hold"]}},
    )
    outcome = store.delete_detailed(CONFIGMAPS, "shop", "a")
    assert not outcome.removed
    meta = outcome.object["metadata"]
    assert meta["deletionTimestamp"] == "2024-05-01T12:00:00Z"
    assert meta["deletionGracePeriodSeconds"] == 0
    current = store.get(CONFIGMAPS, "shop", "a")
    events, notify = recorder()
    store.watch(CONFIGMAPS, "shop", notify, resource_version=current["metadata"]["resourceVersion"])
    current["metadata"]["finalizers"] = []
    store.update(CONFIGMAPS, "shop", "a", current)
    assert summary(events) == [("DELETED", "a")]
    with pytest.raises(ApiError):
        store.get(CONFIGMAPS, "shop", "a")


def test_repeated_delete_keeps_the_first_deletion_timestamp(store: Store, clock: Clock) -> None:
    store.create(CONFIGMAPS, "shop", {"metadata": {"name": "a", "finalizers": ["x.io/f"]}})
    store.delete(CONFIGMAPS, "shop", "a")
    clock.now += timedelta(minutes=5)
    again = store.delete(CONFIGMAPS, "shop", "a")
    assert again["metadata"]["deletionTimestamp"] == "2024-05-01T12:00:00Z"


def test_no_new_finalizers_on_an_object_being_deleted(store: Store) -> None:
    # ValidateObjectMetaUpdate / ValidateNoNewFinalizers.
    store.create(CONFIGMAPS, "shop", {"metadata": {"name": "a", "finalizers": ["x.io/f"]}})
    current = store.delete(CONFIGMAPS, "shop", "a")
    current["metadata"]["finalizers"] = ["x.io/f", "y.io/g"]
    with pytest.raises(ApiError) as caught:
        store.update(CONFIGMAPS, "shop", "a", current)
    assert caught.value.code == 422
    assert "no new finalizers can be added if the object is being deleted" in caught.value.message


def test_update_cannot_clear_deletion_timestamp(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", {"metadata": {"name": "a", "finalizers": ["x.io/f"]}})
    current = store.delete(CONFIGMAPS, "shop", "a")
    del current["metadata"]["deletionTimestamp"]
    current["data"] = {"k": "v"}
    updated = store.update(CONFIGMAPS, "shop", "a", current)
    assert updated["metadata"]["deletionTimestamp"] == "2024-05-01T12:00:00Z"


def test_foreground_and_orphan_policies_set_their_finalizers(store: Store) -> None:
    # deletionFinalizersForGarbageCollection.
    store.create(CONFIGMAPS, "shop", configmap("fg"))
    store.create(CONFIGMAPS, "shop", configmap("or"))
    store.create(CONFIGMAPS, "shop", configmap("bg"))
    fg = store.delete(CONFIGMAPS, "shop", "fg", propagation_policy="Foreground")
    orphan = store.delete(CONFIGMAPS, "shop", "or", propagation_policy="Orphan")
    assert fg["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert orphan["metadata"]["finalizers"] == ["orphan"]
    assert store.delete_detailed(CONFIGMAPS, "shop", "bg", propagation_policy="Background").removed


def test_unknown_propagation_policy_is_422(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", configmap("a"))
    with pytest.raises(ApiError) as caught:
        store.delete(CONFIGMAPS, "shop", "a", propagation_policy="Sideways")
    assert caught.value.code == 422
    assert 'Unsupported value: "Sideways"' in caught.value.message


def test_delete_preconditions(store: Store) -> None:
    created = store.create(CONFIGMAPS, "shop", configmap("a"))
    with pytest.raises(ApiError) as caught:
        store.delete(CONFIGMAPS, "shop", "a", preconditions={"uid": "other"})
    assert caught.value.code == 409
    assert "Precondition failed: UID in precondition: other" in caught.value.message
    with pytest.raises(ApiError):
        store.delete(CONFIGMAPS, "shop", "a", preconditions={"resourceVersion": "1"})
    assert store.delete_detailed(
        CONFIGMAPS, "shop", "a", preconditions={"uid": created["metadata"]["uid"]}
    ).removed


def test_dry_run_delete_removes_nothing(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", configmap("a"))
    before = store.resource_version
    outcome = store.delete_detailed(CONFIGMAPS, "shop", "a", dry_run=True)
    assert outcome.removed
    assert store.get(CONFIGMAPS, "shop", "a")
    assert store.resource_version == before


def test_delete_collection_with_a_label_selector(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", configmap("a", labels={"tier": "web"}))
    store.create(CONFIGMAPS, "shop", configmap("b", labels={"tier": "db"}))
    store.create(CONFIGMAPS, "shop", configmap("c", labels={"tier": "web"}))
    deleted = store.delete_collection(CONFIGMAPS, "shop", label_selector="tier=web")
    assert sorted(d["metadata"]["name"] for d in deleted) == ["a", "c"]
    assert [i["metadata"]["name"] for i in store.list(CONFIGMAPS, "shop").items] == ["b"]


# ----------------------------------------------------------------- pods: graceful deletion


def test_scheduled_pod_deletion_is_graceful(store: Store, clock: Clock) -> None:
    # pod strategy CheckGracefulDelete + rest.BeforeDelete: timestamp = now + grace.
    store.create(PODS, "shop", pod("web-1", node="node-a"))
    outcome = store.delete_detailed(PODS, "shop", "web-1")
    assert not outcome.removed
    meta = outcome.object["metadata"]
    assert meta["deletionGracePeriodSeconds"] == 30
    assert meta["deletionTimestamp"] == "2024-05-01T12:00:30Z"
    # Another delete without a shorter grace period changes nothing.
    clock.now += timedelta(seconds=5)
    again = store.delete_detailed(PODS, "shop", "web-1")
    assert not again.removed
    assert again.object["metadata"] == store.get(PODS, "shop", "web-1")["metadata"]
    # The kubelet's final delete with grace 0 removes it.
    assert store.delete_detailed(PODS, "shop", "web-1", grace_period_seconds=0).removed
    with pytest.raises(ApiError):
        store.get(PODS, "shop", "web-1")


def test_pod_grace_period_comes_from_the_spec(store: Store) -> None:
    body = pod("web-1", node="node-a")
    body["spec"]["terminationGracePeriodSeconds"] = 5
    store.create(PODS, "shop", body)
    deleted = store.delete(PODS, "shop", "web-1")
    assert deleted["metadata"]["deletionGracePeriodSeconds"] == 5
    assert deleted["metadata"]["deletionTimestamp"] == "2024-05-01T12:00:05Z"


def test_a_shorter_grace_period_moves_the_deadline_earlier(store: Store) -> None:
    store.create(PODS, "shop", pod("web-1", node="node-a"))
    store.delete(PODS, "shop", "web-1")
    shorter = store.delete(PODS, "shop", "web-1", grace_period_seconds=10)
    assert shorter["metadata"]["deletionGracePeriodSeconds"] == 10
    assert shorter["metadata"]["deletionTimestamp"] == "2024-05-01T12:00:10Z"


def test_unscheduled_pod_is_removed_at_once_with_two_events(store: Store) -> None:
    # Upstream updates deletionTimestamp (grace 0) and then deletes: MODIFIED, DELETED.
    created = store.create(PODS, "shop", pod("web-1"))
    events, notify = recorder()
    store.watch(PODS, "shop", notify, resource_version=created["metadata"]["resourceVersion"])
    assert store.delete_detailed(PODS, "shop", "web-1").removed
    assert summary(events) == [("MODIFIED", "web-1"), ("DELETED", "web-1")]
    assert events[0].object["metadata"]["deletionGracePeriodSeconds"] == 0


def test_pod_with_finalizer_stays_after_graceless_delete(store: Store) -> None:
    store.create(PODS, "shop", pod("web-1", finalizers=["x.io/f"]))
    outcome = store.delete_detailed(PODS, "shop", "web-1", grace_period_seconds=0)
    assert not outcome.removed
    assert outcome.object["metadata"]["deletionTimestamp"]


# ----------------------------------------------------------------- namespaces


def test_namespace_delete_marks_terminating(store: Store) -> None:
    # namespace REST Delete: first request sets deletionTimestamp and phase Terminating.
    outcome = store.delete_detailed(NAMESPACES, None, "shop")
    assert not outcome.removed
    assert outcome.object["status"]["phase"] == "Terminating"
    assert outcome.object["metadata"]["deletionTimestamp"] == "2024-05-01T12:00:00Z"
    assert outcome.object["spec"]["finalizers"] == ["kubernetes"]
    # While spec.finalizers is not empty, more deletes change nothing.
    assert not store.delete_detailed(NAMESPACES, None, "shop").removed


def test_finalize_subresource_releases_a_terminating_namespace(store: Store) -> None:
    # ShouldDeleteNamespaceDuringUpdate: spec.finalizers and metadata.finalizers both empty.
    store.delete(NAMESPACES, None, "shop")
    current = store.get(NAMESPACES, None, "shop")
    current["spec"]["finalizers"] = []
    current["metadata"]["labels"] = {"ignored": "yes"}
    store.update(NAMESPACES, None, "shop", current, subresource="finalize")
    with pytest.raises(ApiError):
        store.get(NAMESPACES, None, "shop")


def test_finalize_only_touches_spec_finalizers(store: Store) -> None:
    current = store.get(NAMESPACES, None, "shop")
    current["spec"]["finalizers"] = []
    current["metadata"]["labels"] = {"ignored": "yes"}
    updated = store.update(NAMESPACES, None, "shop", current, subresource="finalize")
    assert updated["spec"].get("finalizers") in (None, [])
    assert "ignored" not in updated["metadata"].get("labels", {})


def test_system_namespaces_may_not_be_deleted(store: Store) -> None:
    with pytest.raises(ApiError) as caught:
        store.delete(NAMESPACES, None, "default")
    assert caught.value.code == 403
    assert (
        caught.value.message
        == 'namespaces "default" is forbidden: this namespace may not be deleted'
    )


def test_objects_in_namespace_lists_every_kind(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", configmap("a"))
    store.create(PODS, "shop", pod("p"))
    store.create(CONFIGMAPS, "default", configmap("elsewhere"))
    found = [(rt.kind, obj["metadata"]["name"]) for rt, obj in store.objects_in_namespace("shop")]
    assert sorted(found) == [("ConfigMap", "a"), ("Pod", "p")]


# ================================================================= lists


def fill(store: Store, count: int, namespace: str = "shop") -> None:
    for index in range(count):
        store.create(
            CONFIGMAPS, namespace, configmap(f"cm-{index:02d}", labels={"odd": str(index % 2)})
        )


def test_list_is_ordered_by_namespace_then_name(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", configmap("b"))
    store.create(CONFIGMAPS, "default", configmap("z"))
    store.create(CONFIGMAPS, "shop", configmap("a"))
    result = store.list(CONFIGMAPS, None)
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in result.items] == [
        ("default", "z"),
        ("shop", "a"),
        ("shop", "b"),
    ]
    assert result.resource_version == str(store.resource_version)
    assert result.continue_token is None


def test_list_selectors(store: Store) -> None:
    fill(store, 6)
    odd = store.list(CONFIGMAPS, "shop", label_selector="odd=1")
    assert [i["metadata"]["name"] for i in odd.items] == ["cm-01", "cm-03", "cm-05"]
    named = store.list(CONFIGMAPS, None, field_selector="metadata.name=cm-02")
    assert [i["metadata"]["name"] for i in named.items] == ["cm-02"]
    other_ns = store.list(CONFIGMAPS, None, field_selector="metadata.namespace=default")
    assert other_ns.items == []


def test_list_rejects_bad_selectors_with_400(store: Store) -> None:
    with pytest.raises(ApiError) as caught:
        store.list(CONFIGMAPS, "shop", label_selector="a in b")
    assert caught.value.code == 400
    with pytest.raises(ApiError) as field_error:
        store.list(PODS, "shop", field_selector="spec.bogus=1")
    assert field_error.value.message == "field label not supported: spec.bogus"


def test_limit_and_continue_walk_the_whole_list(store: Store) -> None:
    fill(store, 7)
    names: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = store.list(CONFIGMAPS, "shop", limit=3, continue_token=token)
        names += [i["metadata"]["name"] for i in page.items]
        pages += 1
        if page.continue_token is None:
            assert page.remaining_item_count is None
            break
        assert page.remaining_item_count == 7 - len(names)
        token = page.continue_token
    assert names == [f"cm-{i:02d}" for i in range(7)]
    assert pages == 3


def test_continue_serves_the_snapshot_of_the_first_page(store: Store) -> None:
    # etcd3 GetList reads later pages at the first page's revision.
    fill(store, 4)
    first = store.list(CONFIGMAPS, "shop", limit=2)
    store.create(CONFIGMAPS, "shop", configmap("cm-99"))
    store.delete(CONFIGMAPS, "shop", "cm-03")
    store.update(CONFIGMAPS, "shop", "cm-02", configmap("cm-02", changed="yes"))
    rest = store.list(CONFIGMAPS, "shop", limit=10, continue_token=first.continue_token)
    assert [i["metadata"]["name"] for i in rest.items] == ["cm-02", "cm-03"]
    assert "changed" not in rest.items[0].get("data", {})
    assert rest.resource_version == first.resource_version


def test_selector_with_limit_keeps_scanning_until_the_page_is_full(store: Store) -> None:
    fill(store, 6)
    page = store.list(CONFIGMAPS, "shop", label_selector="odd=1", limit=2)
    assert [i["metadata"]["name"] for i in page.items] == ["cm-01", "cm-03"]
    assert page.remaining_item_count is None  # upstream leaves it unset with a selector
    rest = store.list(
        CONFIGMAPS, "shop", label_selector="odd=1", continue_token=page.continue_token, limit=2
    )
    assert [i["metadata"]["name"] for i in rest.items] == ["cm-05"]


@pytest.mark.parametrize("token", ["not-base64!", base64.urlsafe_b64encode(b'{"v":"x"}').decode()])
def test_invalid_continue_token_is_400(store: Store, token: str) -> None:
    with pytest.raises(ApiError) as caught:
        store.list(CONFIGMAPS, "shop", continue_token=token)
    assert caught.value.code == 400
    assert caught.value.message.startswith("invalid continue token")


def test_continue_token_older_than_the_history_is_410(store: Store) -> None:
    fill(store, 4)
    first = store.list(CONFIGMAPS, "shop", limit=2)
    for index in range(60):  # history_size is 50 in this fixture
        store.create(CONFIGMAPS, "default", configmap(f"churn-{index}"))
    with pytest.raises(ExpiredContinue) as caught:
        store.list(CONFIGMAPS, "shop", limit=2, continue_token=first.continue_token)
    assert (caught.value.code, caught.value.reason) == (410, "Expired")
    assert caught.value.message.startswith(
        "The provided continue parameter is too old to display a consistent list result."
    )
    # The error carries a token to go on at the latest version, as upstream's does.
    retry = caught.value.status()["metadata"]["continue"]
    rest = store.list(CONFIGMAPS, "shop", continue_token=retry)
    assert [i["metadata"]["name"] for i in rest.items] == ["cm-02", "cm-03"]


# ================================================================= watch


def test_watch_from_zero_sends_current_objects_then_live_events(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", configmap("a"))
    events, notify = recorder()
    store.watch(CONFIGMAPS, "shop", notify, resource_version="0")
    store.create(CONFIGMAPS, "shop", configmap("b"))
    store.create(CONFIGMAPS, "default", configmap("elsewhere"))
    store.delete(CONFIGMAPS, "shop", "a")
    assert summary(events) == [("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a")]
    assert events[0].rt == CONFIGMAPS
    assert events[2].object["metadata"]["resourceVersion"] == str(store.resource_version)


def test_watch_from_a_resource_version_replays_later_events(store: Store) -> None:
    a = store.create(CONFIGMAPS, "shop", configmap("a"))
    store.create(CONFIGMAPS, "shop", configmap("b"))
    store.update(CONFIGMAPS, "shop", "a", configmap("a", k="1"))
    events, notify = recorder()
    store.watch(CONFIGMAPS, "shop", notify, resource_version=a["metadata"]["resourceVersion"])
    assert summary(events) == [("ADDED", "b"), ("MODIFIED", "a")]
    assert all(rv(e.object) > rv(a) for e in events)


def test_watch_from_a_compacted_resource_version_is_410(store: Store) -> None:
    for index in range(60):
        store.create(CONFIGMAPS, "shop", configmap(f"c{index}"))
    _, notify = recorder()
    with pytest.raises(ApiError) as caught:
        store.watch(CONFIGMAPS, "shop", notify, resource_version="3")
    assert (caught.value.code, caught.value.reason) == (410, "Expired")
    oldest_servable = store.resource_version - 50
    assert caught.value.message == f"too old resource version: 3 ({oldest_servable})"
    store.watch(CONFIGMAPS, "shop", notify, resource_version=str(oldest_servable))


def test_watch_from_the_future_is_an_error(store: Store) -> None:
    _, notify = recorder()
    with pytest.raises(ApiError) as caught:
        store.watch(CONFIGMAPS, "shop", notify, resource_version=str(store.resource_version + 10))
    assert caught.value.code == 504


def test_label_selector_transitions_become_added_and_deleted(store: Store) -> None:
    # cacher convertToWatchEvent: leaving the selector is DELETED with the old object.
    store.create(CONFIGMAPS, "shop", configmap("a", labels={"color": "blue"}))
    events, notify = recorder()
    store.watch(CONFIGMAPS, "shop", notify, label_selector="color=green")
    store.update(CONFIGMAPS, "shop", "a", configmap("a", labels={"color": "green"}))
    store.update(CONFIGMAPS, "shop", "a", configmap("a", labels={"color": "green"}, k="1"))
    store.update(CONFIGMAPS, "shop", "a", configmap("a", labels={"color": "blue"}))
    assert summary(events) == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
    gone = events[-1].object
    assert gone["metadata"]["labels"] == {"color": "green"}
    assert gone["metadata"]["resourceVersion"] == str(store.resource_version)


def test_field_selector_watch_by_name(store: Store) -> None:
    events, notify = recorder()
    store.watch(PODS, "shop", notify, field_selector="metadata.name=web")
    store.create(PODS, "shop", pod("other"))
    store.create(PODS, "shop", pod("web"))
    assert summary(events) == [("ADDED", "web")]


def test_send_initial_events_ends_with_an_annotated_bookmark(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", configmap("a"))
    store.create(CONFIGMAPS, "shop", configmap("b"))
    events, notify = recorder()
    store.watch(CONFIGMAPS, "shop", notify, send_initial_events=True, resource_version="")
    assert [e.type for e in events] == ["ADDED", "ADDED", "BOOKMARK"]
    bookmark = events[-1].object
    assert bookmark == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {
            "resourceVersion": str(store.resource_version),
            "annotations": {"k8s.io/initial-events-end": "true"},
        },
    }


def test_send_initial_events_false_starts_from_now(store: Store) -> None:
    store.create(CONFIGMAPS, "shop", configmap("a"))
    events, notify = recorder()
    store.watch(CONFIGMAPS, "shop", notify, send_initial_events=False)
    store.create(CONFIGMAPS, "shop", configmap("b"))
    assert summary(events) == [("ADDED", "b")]


def test_bookmark_carries_the_current_resource_version(store: Store) -> None:
    events, notify = recorder()
    watch = store.watch(CONFIGMAPS, "shop", notify)
    store.create(PODS, "shop", pod("p"))
    watch.bookmark()
    assert events[-1].type == "BOOKMARK"
    assert events[-1].object["metadata"] == {"resourceVersion": str(store.resource_version)}


def test_closed_watch_gets_nothing(store: Store) -> None:
    events, notify = recorder()
    watch = store.watch(CONFIGMAPS, "shop", notify)
    watch.close()
    watch.close()
    store.create(CONFIGMAPS, "shop", configmap("a"))
    assert events == []


def test_a_failing_callback_closes_only_its_watch(store: Store) -> None:
    def broken(_: WatchEvent) -> None:
        raise RuntimeError("boom")

    store.watch(CONFIGMAPS, "shop", broken)
    events, notify = recorder()
    store.watch(CONFIGMAPS, "shop", notify)
    store.create(CONFIGMAPS, "shop", configmap("a"))
    store.create(CONFIGMAPS, "shop", configmap("b"))
    assert summary(events) == [("ADDED", "a"), ("ADDED", "b")]


def test_subscribe_sees_every_type_with_its_rt(store: Store) -> None:
    events, notify = recorder()
    store.subscribe(notify)
    store.create(CONFIGMAPS, "shop", configmap("a"))
    store.create(PODS, "shop", pod("p"))
    store.delete(CONFIGMAPS, "shop", "a")
    assert [(e.type, e.rt.kind if e.rt else None) for e in events] == [
        ("ADDED", "ConfigMap"),
        ("ADDED", "Pod"),
        ("DELETED", "ConfigMap"),
    ]


def test_watchers_get_their_own_copies(store: Store) -> None:
    first, notify_first = recorder()
    second, notify_second = recorder()
    store.watch(CONFIGMAPS, "shop", notify_first)
    store.watch(CONFIGMAPS, "shop", notify_second)
    store.create(CONFIGMAPS, "shop", configmap("a", k="v"))
    first[0].object["data"]["k"] = "mutated"
    assert second[0].object["data"]["k"] == "v"
    assert store.get(CONFIGMAPS, "shop", "a")["data"]["k"] == "v"


# ================================================================= CRDs


def widget_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
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


def test_crd_create_registers_and_establishes(store: Store) -> None:
    created = store.create(CRDS, None, widget_crd())
    conditions = {c["type"]: c["status"] for c in created["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert created["status"]["acceptedNames"]["kind"] == "Widget"
    assert created["status"]["storedVersions"] == ["v1"]
    widgets = store.registry.lookup("example.com", "v1", "widgets")
    assert widgets is not None and widgets.custom
    obj = store.create(widgets, "shop", {"metadata": {"name": "w1"}, "spec": {"size": 3}})
    assert obj["apiVersion"] == "example.com/v1" and obj["kind"] == "Widget"


def test_crd_delete_removes_custom_resources_and_unregisters(store: Store) -> None:
    store.create(CRDS, None, widget_crd())
    widgets = store.registry.lookup("example.com", "v1", "widgets")
    assert widgets is not None
    store.create(widgets, "shop", {"metadata": {"name": "w1"}})
    events, notify = recorder()
    store.watch(widgets, None, notify)
    events.clear()
    store.delete(CRDS, None, "widgets.example.com")
    assert summary(events) == [("DELETED", "w1")]
    assert store.registry.lookup("example.com", "v1", "widgets") is None
    assert store.list(widgets, None).items == []


def test_dry_run_crd_create_registers_nothing(store: Store) -> None:
    store.create(CRDS, None, widget_crd(), dry_run=True)
    assert store.registry.lookup("example.com", "v1", "widgets") is None


def test_deleted_service_frees_its_cluster_ip_for_others() -> None:
    # The service REST allocator releases the ClusterIP when the Service is removed: until
    # then another Service asking for that address is refused.
    store = Store(Registry.builtin())
    services = Registry.builtin().lookup("", "v1", "services")
    assert services is not None
    store.create(NAMESPACES, None, {"metadata": {"name": "ipns"}})

    def service(name: str, ip: str | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = {"ports": [{"port": 80}]}
        if ip:
            spec["clusterIP"] = ip
        return {"metadata": {"name": name}, "spec": spec}

    taken = store.create(services, "ipns", service("a"))["spec"]["clusterIP"]
    with pytest.raises(ApiError) as refused:
        store.create(services, "ipns", service("b", taken))
    assert refused.value.code == 422 and "already allocated" in refused.value.message
    store.delete(services, "ipns", "a")
    assert store.create(services, "ipns", service("b", taken))["spec"]["clusterIP"] == taken
