"""Rolling update arithmetic (KUBE_SPEC rules 9 and 10), cases ported from upstream
pkg/controller/deployment/rolling_test.go, plus store-level rollouts (rules 9-12)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.cluster.simulator.controllers import deployment_util as util

Obj = dict[str, Any]


def deployment(replicas: int, surge: Any, unavailable: Any) -> Obj:
    return {
        "metadata": {"name": "foo"},
        "spec": {
            "replicas": replicas,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
            },
        },
    }


def rs(name: str, replicas: int, available: int = 0) -> Obj:
    return {
        "metadata": {"name": name},
        "spec": {"replicas": replicas},
        "status": {"availableReplicas": available},
    }


@pytest.mark.parametrize(
    ("dep", "surge", "old", "new", "expected"),
    [
        (10, 0, 10, 0, None),
        (10, 2, 10, 0, 2),
        (10, 2, 5, 0, 7),
        (10, 2, 10, 2, None),
        (10, 2, 2, 11, 10),
    ],
    ids=["no-surge-no-scale", "surge-2", "old-5", "already-surged", "scale-down-new"],
)
def test_rule_09_scale_up_TestDeploymentController_reconcileNewReplicaSet(
    dep: int, surge: int, old: int, new: int, expected: int | None
) -> None:
    new_rs, old_rs = rs("foo-v2", new), rs("foo-v1", old)
    d = deployment(dep, surge, 0)
    assert util.reconcile_new_replica_set([new_rs, old_rs], new_rs, d) == expected


@pytest.mark.parametrize(
    ("dep", "unavailable", "old", "new", "old_ready", "new_ready", "expected_old"),
    [
        (10, 0, 10, 0, 10, 0, 9),
        (10, 2, 10, 0, 10, 0, 8),
        (10, 2, 10, 0, 8, 0, 8),
        (10, 2, 10, 0, 9, 0, 8),
        (10, 2, 8, 2, 8, 0, None),
    ],
    ids=[
        "max-unavailable-0",
        "max-unavailable-2",
        "unhealthy-old-cleaned-up",
        "one-unhealthy-one-ready",
        "new-rs-unavailable-blocks",
    ],
)
def test_rule_10_scale_down_TestDeploymentController_reconcileOldReplicaSets(
    dep: int,
    unavailable: int,
    old: int,
    new: int,
    old_ready: int,
    new_ready: int,
    expected_old: int | None,
) -> None:
    new_rs, old_rs = rs("foo-new", new, new_ready), rs("foo-old", old, old_ready)
    steps = util.reconcile_old_replica_sets(
        [old_rs, new_rs], [old_rs], new_rs, deployment(dep, 0, unavailable)
    )
    if expected_old is None:
        assert steps == []
    else:
        assert steps and steps[-1][1] == expected_old


@pytest.mark.parametrize(
    ("old", "ready", "max_cleanup", "expected"),
    [(10, 8, 1, 1), (10, 8, 3, 2), (10, 8, 0, 0), (10, 10, 3, 0)],
)
def test_rule_10_scale_down_TestDeploymentController_cleanupUnhealthyReplicas(
    old: int, ready: int, max_cleanup: int, expected: int
) -> None:
    _, _, cleaned = util.cleanup_unhealthy_replicas([rs("foo-v2", old, ready)], max_cleanup)
    assert cleaned == expected


@pytest.mark.parametrize(
    ("dep", "unavailable", "ready", "old", "expected_old"),
    [
        (10, 0, 10, 10, 9),
        (10, 2, 10, 10, 8),
        (10, 2, 8, 10, None),
        (10, 2, 10, 0, None),
        (10, 2, 1, 10, None),
    ],
)
def test_rule_10_scale_down_TestDeploymentController_scaleDownOldReplicaSetsForRollingUpdate(
    dep: int, unavailable: int, ready: int, old: int, expected_old: int | None
) -> None:
    old_rs = rs("foo-v2", old, ready)
    steps = util.scale_down_old_replica_sets_for_rolling_update(
        [old_rs], [old_rs], deployment(dep, 0, unavailable)
    )
    if expected_old is None:
        assert steps == []
    else:
        assert [size for _, size in steps] == [expected_old]


# ----------------------------------------------------------------- the store-level rollout


def test_rule_09_scale_up_new_rs_is_created_within_surge(cluster: Any, manifest: Any) -> None:
    cluster.create_deployment(manifest(replicas=4))
    cluster.settle()
    cluster.update_deployment(
        "web", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="nginx:2")
    )
    cluster.sync_deployment()
    sizes = sorted(rs["spec"]["replicas"] for rs in cluster.replica_set_list())
    # surge 25% of 4 = 1 for the new RS; creating it is not a "scale up", so the same sync
    # goes on to scale the old RS down by maxUnavailable (25% of 4 = 1), as upstream does.
    assert sizes == [1, 3]
    assert cluster.events.messages("ScalingReplicaSet")[-2].endswith("from 0 to 1")
    assert cluster.events.messages("ScalingReplicaSet")[-1].endswith("from 4 to 3")


def test_rule_10_scale_down_never_drops_below_min_available(cluster: Any, manifest: Any) -> None:
    cluster.create_deployment(manifest(replicas=4))
    cluster.settle()
    cluster.update_deployment(
        "web", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="nginx:2")
    )
    for _ in range(20):
        cluster.sync_deployment()
        cluster.sync_replica_sets()
        total_available = sum(
            rs.get("status", {}).get("availableReplicas", 0) for rs in cluster.replica_set_list()
        )
        total_spec = sum(rs["spec"]["replicas"] for rs in cluster.replica_set_list())
        assert total_spec <= 5  # spec + maxSurge
        assert total_available >= 3 or total_spec >= 4  # spec - maxUnavailable (0 of 4 -> 1)
        for pod in cluster.pod_list():
            if not pod["status"].get("conditions") and not pod["metadata"].get("deletionTimestamp"):
                cluster.set_pod_ready(pod)
        cluster.finish_pod_deletions()
    new = [rs for rs in cluster.replica_set_list() if rs["spec"]["replicas"] == 4]
    assert len(new) == 1 and new[0]["metadata"]["annotations"][util.REVISION_ANNOTATION] == "2"


def test_rule_11_no_scaling_left_runs_cleanup_when_complete(cluster: Any, manifest: Any) -> None:
    cluster.create_deployment(manifest(replicas=1, revisionHistoryLimit=1))
    for image in ("nginx:2", "nginx:3", "nginx:4"):
        cluster.settle()
        cluster.update_deployment(
            "web",
            lambda d, image=image: d["spec"]["template"]["spec"]["containers"][0].update(
                image=image
            ),
        )
    cluster.settle()
    revisions = sorted(
        int(rs["metadata"]["annotations"][util.REVISION_ANNOTATION])
        for rs in cluster.replica_set_list()
    )
    assert revisions == [3, 4]  # one old RS kept


def test_rule_12_recreate_waits_for_old_pods_before_the_new_rs(cluster: Any, manifest: Any) -> None:
    cluster.create_deployment(manifest(replicas=2, strategy={"type": "Recreate"}))
    cluster.settle()
    for pod in cluster.pod_list():  # a finalizer keeps the terminating pods around
        pod["metadata"]["finalizers"] = ["test/hold"]
        cluster.store.update(cluster.pods, "default", pod["metadata"]["name"], pod)
    cluster.update_deployment(
        "web", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image="nginx:2")
    )
    cluster.sync_deployment()
    [old] = cluster.replica_set_list()
    assert old["spec"]["replicas"] == 0
    cluster.sync_replica_sets()  # old pods get a deletionTimestamp but still exist
    cluster.sync_replica_sets()  # status.replicas drops to 0 on the next RS sync
    assert cluster.replica_set_list()[0]["status"]["replicas"] == 0
    cluster.sync_deployment()
    assert len(cluster.replica_set_list()) == 1  # status.replicas is 0, but pods remain
    for pod in cluster.pod_list():
        pod["metadata"]["finalizers"] = []
        cluster.store.update(cluster.pods, "default", pod["metadata"]["name"], pod)
    assert cluster.pod_list() == []
    cluster.sync_deployment()
    rss = cluster.replica_set_list()
    assert len(rss) == 2 and rss[-1]["spec"]["replicas"] == 2
    assert cluster.events.messages("ScalingReplicaSet")[-2:] == [
        f"Scaled down replica set {old['metadata']['name']} from 2 to 0",
        f"Scaled up replica set {rss[-1]['metadata']['name']} from 0 to 2",
    ]
