"""The ReplicaSet controller against a real Store (KUBE_SPEC rules 21-23): slow-start pod
creation, deletion ranking, status, ReplicaFailure and the minReadySeconds resync. Cases follow
upstream replica_set_test.go (TestSyncReplicaSetDoesNothing, TestSyncReplicaSetCreateFailures,
TestSlowStartBatch, TestGetPodsToDelete, TestDeletionTimestamp) where they apply here."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.controllers import deployment_util as util
from harness.timescale import TimeScale

Obj = dict[str, Any]


def replica_set(name: str = "frontend", replicas: int = 3, **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"tier": name}},
            "template": {
                "metadata": {"labels": {"tier": name}, "annotations": {"note": "x"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
            **spec,
        },
    }


def sync(cluster: Any, name: str = "frontend") -> float | None:
    result: float | None = cluster.rsc.sync(("default", name))
    return result


def test_rule_21_active_pods_creation_names_owner_template_and_events(cluster: Any) -> None:
    rs = cluster.store.create(cluster.replica_sets, "default", replica_set(replicas=3))
    sync(cluster)
    pods = cluster.pod_list()
    assert len(pods) == 3
    for pod in pods:
        assert re.fullmatch(r"frontend-[bcdfghjklmnpqrstvwxz2456789]{5}", pod["metadata"]["name"])
        assert pod["metadata"]["labels"] == {"tier": "frontend"}
        assert pod["metadata"]["annotations"] == {"note": "x"}
        assert pod["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "frontend",
                "uid": rs["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        assert pod["status"]["phase"] == "Pending" and "nodeName" not in pod["spec"]
    assert sorted(cluster.events.messages("SuccessfulCreate")) == sorted(
        f"Created pod: {p['metadata']['name']}" for p in pods
    )


def test_rule_21_active_pods_TestSyncReplicaSetDoesNothing(cluster: Any) -> None:
    cluster.store.create(cluster.replica_sets, "default", replica_set(replicas=2))
    sync(cluster)
    sync(cluster)
    rv = cluster.store.resource_version
    sync(cluster)
    assert cluster.store.resource_version == rv  # nothing to do, nothing written


def test_rule_21_active_pods_terminal_and_deleting_pods_do_not_count(cluster: Any) -> None:
    cluster.store.create(cluster.replica_sets, "default", replica_set(replicas=2))
    sync(cluster)
    first, _second = cluster.pod_list()
    first["status"]["phase"] = "Failed"
    cluster.store.update(
        cluster.pods, "default", first["metadata"]["name"], first, subresource="status"
    )
    sync(cluster)
    active = [p for p in cluster.pod_list() if p["status"].get("phase") != "Failed"]
    assert len(active) == 2


class _FailingCreates:
    """Wraps store.create to fail pod creation after `allowed` successes."""

    def __init__(self, cluster: Any, allowed: int) -> None:
        self.allowed = allowed
        self.calls = 0
        self.real = cluster.store.create

    def __call__(self, rt: Any, namespace: Any, obj: Any, **kw: Any) -> Any:
        if rt.plural == "pods":
            self.calls += 1
            if self.calls > self.allowed:
                raise ApiError(403, "Forbidden", 'pods "x" is forbidden: exceeded quota')
        return self.real(rt, namespace, obj, **kw)


@pytest.mark.parametrize(("allowed", "created", "attempts"), [(0, 0, 1), (1, 1, 3), (4, 4, 7)])
def test_rule_21_slow_start_TestSlowStartBatch(
    cluster: Any, monkeypatch: Any, allowed: int, created: int, attempts: int
) -> None:
    """Batches of 1, 2, 4: a batch with a failure still runs whole, then creation stops."""
    cluster.store.create(cluster.replica_sets, "default", replica_set(replicas=10))
    failing = _FailingCreates(cluster, allowed)
    monkeypatch.setattr(cluster.store, "create", failing)
    with pytest.raises(Exception, match="exceeded quota"):
        sync(cluster)
    assert failing.calls == attempts
    assert len(cluster.pod_list()) == created


def test_rule_22_rs_status_TestSyncReplicaSetCreateFailures_sets_replica_failure(
    cluster: Any, monkeypatch: Any
) -> None:
    cluster.store.create(cluster.replica_sets, "default", replica_set(replicas=2))
    monkeypatch.setattr(cluster.store, "create", _FailingCreates(cluster, 0))
    with pytest.raises(Exception, match="exceeded quota"):
        sync(cluster)
    failure = util.get_condition(cluster.replica_set("frontend")["status"], util.REPLICA_FAILURE)
    assert failure is not None
    assert (failure["status"], failure["reason"]) == ("True", "FailedCreate")
    assert "exceeded quota" in failure["message"]
    assert cluster.events.items[-1].reason == "FailedCreate"
    assert cluster.events.items[-1].message.startswith("Error creating: ")
    monkeypatch.undo()
    sync(cluster)
    assert (
        util.get_condition(cluster.replica_set("frontend")["status"], util.REPLICA_FAILURE) is None
    )


def test_rule_22_rs_status_counts_and_observed_generation(cluster: Any) -> None:
    cluster.store.create(cluster.replica_sets, "default", replica_set(replicas=3))
    sync(cluster)
    pods = cluster.pod_list()
    cluster.set_pod_ready(pods[0])
    cluster.set_pod_ready(pods[1], ready=False)
    sync(cluster)
    status = cluster.replica_set("frontend")["status"]
    assert status == {
        "replicas": 3,
        "fullyLabeledReplicas": 3,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "observedGeneration": 1,
    }


def test_rule_22_rs_status_resyncs_after_min_ready_seconds(make_cluster: Any) -> None:
    cluster = make_cluster(TimeScale(0.5))
    cluster.store.create(
        cluster.replica_sets, "default", replica_set(replicas=1, minReadySeconds=10)
    )
    sync(cluster)
    cluster.set_pod_ready(cluster.pod_list()[0])
    cluster.clock.advance(2)
    after = sync(cluster)
    assert after == pytest.approx(10 * 0.5 - 2 + 0.5)
    assert "availableReplicas" not in cluster.replica_set("frontend")["status"]
    cluster.clock.advance(3)
    assert sync(cluster) is None
    assert cluster.replica_set("frontend")["status"]["availableReplicas"] == 1


def test_rule_21_deletion_prefers_unready_then_newer_and_records_events(cluster: Any) -> None:
    cluster.store.create(cluster.replica_sets, "default", replica_set(replicas=3))
    sync(cluster)
    pods = cluster.pod_list()
    for pod in pods[1:]:
        cluster.set_pod_ready(pod)
    rs = cluster.replica_set("frontend")
    rs["spec"]["replicas"] = 2
    cluster.store.update(cluster.replica_sets, "default", "frontend", rs)
    sync(cluster)
    deleted = [p for p in cluster.pod_list() if p["metadata"].get("deletionTimestamp")]
    remaining = {p["metadata"]["name"] for p in cluster.pod_list()} - {
        p["metadata"]["name"] for p in deleted
    }
    assert pods[0]["metadata"]["name"] not in remaining  # the not-ready one went first
    assert cluster.events.messages("SuccessfulDelete") == [
        f"Deleted pod: {pods[0]['metadata']['name']}"
    ]


def test_rule_21_deletion_rank_TestGetPodsToDelete_doubled_up_first() -> None:
    now = util.parse_time("2024-05-01T12:00:00Z")
    assert now is not None

    def pod(name: str, node: str) -> Obj:
        return {
            "metadata": {"name": name, "creationTimestamp": "2024-05-01T10:00:00Z"},
            "spec": {"nodeName": node},
            "status": {
                "phase": "Running",
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "lastTransitionTime": "2024-05-01T10:00:00Z",
                    }
                ],
            },
        }

    alone, crowded = pod("alone", "n1"), pod("crowded", "n2")
    related = [crowded, pod("sibling-1", "n2"), pod("sibling-2", "n2"), alone]
    assert util.pods_to_delete([alone, crowded], related, 1, now) == [crowded]
    assert util.pods_to_delete([alone, crowded], related, 2, now) == [alone, crowded]


def test_rule_21_active_pods_adopts_orphans_and_releases_mismatches(cluster: Any) -> None:
    cluster.store.create(cluster.replica_sets, "default", replica_set(replicas=1))
    orphan = {
        "metadata": {"name": "loose", "namespace": "default", "labels": {"tier": "frontend"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    cluster.store.create(cluster.pods, "default", orphan)
    sync(cluster)
    assert len(cluster.pod_list()) == 1  # adopted: no new pod needed
    loose = cluster.store.get(cluster.pods, "default", "loose")
    assert util.controller_ref(loose)["name"] == "frontend"
    loose["metadata"]["labels"] = {"tier": "elsewhere"}
    cluster.store.update(cluster.pods, "default", "loose", loose)
    sync(cluster)
    assert util.controller_ref(cluster.store.get(cluster.pods, "default", "loose")) is None
    assert len(cluster.pod_list()) == 2


def test_rule_21_TestDeletionTimestamp_a_deleting_rs_manages_no_pods(cluster: Any) -> None:
    body = replica_set(replicas=2)
    body["metadata"]["finalizers"] = ["test/hold"]
    cluster.store.create(cluster.replica_sets, "default", body)
    cluster.store.delete(cluster.replica_sets, "default", "frontend")
    sync(cluster)
    assert cluster.pod_list() == []
    assert cluster.replica_set("frontend")["status"]["replicas"] == 0


def test_rule_23_is_pod_available_drives_rs_available_replicas(cluster: Any) -> None:
    cluster.store.create(
        cluster.replica_sets, "default", replica_set(replicas=1, minReadySeconds=5)
    )
    sync(cluster)
    cluster.set_pod_ready(cluster.pod_list()[0])
    sync(cluster)
    assert cluster.replica_set("frontend")["status"].get("availableReplicas", 0) == 0
    cluster.clock.now += timedelta(seconds=5)
    sync(cluster)
    assert cluster.replica_set("frontend")["status"]["availableReplicas"] == 1


def test_rule_21_keys_for_pods_map_to_their_replica_set(cluster: Any) -> None:
    from harness.cluster.simulator.store import WatchEvent

    cluster.store.create(cluster.replica_sets, "default", replica_set(replicas=1))
    sync(cluster)
    pod = cluster.pod_list()[0]
    assert list(cluster.rsc.keys_for(WatchEvent("MODIFIED", pod, cluster.pods))) == [
        ("default", "frontend")
    ]
    rs = cluster.replica_set_list()[0]
    assert list(cluster.rsc.keys_for(WatchEvent("ADDED", rs, cluster.replica_sets))) == [
        ("default", "frontend")
    ]
