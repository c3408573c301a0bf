"""Scaling, history cleanup, revisions and the sync order of the Deployment controller
(KUBE_SPEC rules 1-7, 13, 17-20): TestScale, TestDeploymentController_cleanupDeployment and
_cleanupDeploymentOrder ported from upstream sync_test.go, the rest against a real Store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.cluster.simulator.controllers import deployment_util as util

Obj = dict[str, Any]
NEW = datetime(2016, 5, 20, 2, 0, 0, tzinfo=UTC)
OLD = datetime(2016, 5, 20, 1, 0, 0, tzinfo=UTC)
OLDER = datetime(2016, 5, 20, 0, 0, 0, tzinfo=UTC)


def deployment(replicas: int, surge: int = 0, unavailable: int = 0) -> Obj:
    return {
        "metadata": {"name": "foo"},
        "spec": {
            "replicas": replicas,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
            },
            "template": {"metadata": {"labels": {"foo": "bar"}}},
        },
        "status": {},
    }


def rs(name: str, replicas: int, created: datetime, available: int | None = None) -> Obj:
    status: Obj = {}
    if available is not None:
        status["availableReplicas"] = available
    return {
        "metadata": {"name": name, "uid": name, "creationTimestamp": util.format_time(created)},
        "spec": {"replicas": replicas, "template": {}},
        "status": status,
    }


# (name, deployment, oldDeployment, newRS, oldRSs, expectedNew, expectedOld, wasntUpdated, desired)
SCALE_CASES: list[tuple[Any, ...]] = [
    (
        "normal scaling event: 10 -> 12",
        deployment(12),
        deployment(10),
        ("foo-v1", 10, NEW),
        [],
        12,
        [],
        set(),
        {},
    ),
    (
        "normal scaling event: 10 -> 5",
        deployment(5),
        deployment(10),
        ("foo-v1", 10, NEW),
        [],
        5,
        [],
        set(),
        {},
    ),
    (
        "proportional scaling: 5 -> 10",
        deployment(10),
        deployment(5),
        ("foo-v2", 2, NEW),
        [("foo-v1", 3, OLD)],
        4,
        [6],
        set(),
        {},
    ),
    (
        "proportional scaling: 5 -> 3",
        deployment(3),
        deployment(5),
        ("foo-v2", 2, NEW),
        [("foo-v1", 3, OLD)],
        1,
        [2],
        set(),
        {},
    ),
    (
        "proportional scaling: 9 -> 4",
        deployment(4),
        deployment(9),
        ("foo-v2", 8, NEW),
        [("foo-v1", 1, OLD)],
        4,
        [0],
        set(),
        {},
    ),
    (
        "proportional scaling: 7 -> 10",
        deployment(10),
        deployment(7),
        ("foo-v3", 2, NEW),
        [("foo-v2", 3, OLD), ("foo-v1", 2, OLDER)],
        3,
        [4, 3],
        set(),
        {},
    ),
    (
        "proportional scaling: 13 -> 8",
        deployment(8),
        deployment(13),
        ("foo-v3", 2, NEW),
        [("foo-v2", 8, OLD), ("foo-v1", 3, OLDER)],
        1,
        [5, 2],
        set(),
        {},
    ),
    (
        "leftover distribution: 3 -> 4",
        deployment(4),
        deployment(3),
        ("foo-v3", 1, NEW),
        [("foo-v2", 1, OLD), ("foo-v1", 1, OLDER)],
        2,
        [1, 1],
        set(),
        {},
    ),
    (
        "leftover distribution: 3 -> 2",
        deployment(2),
        deployment(3),
        ("foo-v3", 1, NEW),
        [("foo-v2", 1, OLD), ("foo-v1", 1, OLDER)],
        1,
        [1, 0],
        set(),
        {},
    ),
    (
        "proportional scaling (no new rs): 4 -> 5",
        deployment(5),
        deployment(4),
        None,
        [("foo-v2", 2, OLD), ("foo-v1", 2, OLDER)],
        None,
        [3, 2],
        set(),
        {},
    ),
    (
        "proportional scaling: 6 -> 0",
        deployment(0),
        deployment(6),
        ("foo-v3", 3, NEW),
        [("foo-v2", 2, OLD), ("foo-v1", 1, OLDER)],
        0,
        [0, 0],
        set(),
        {},
    ),
    (
        "proportional scaling: 0 -> 6",
        deployment(6),
        deployment(6),
        ("foo-v3", 0, NEW),
        [("foo-v2", 0, OLD), ("foo-v1", 0, OLDER)],
        6,
        [0, 0],
        {"foo-v2", "foo-v1"},
        {},
    ),
    (
        "failed rs update",
        deployment(5),
        deployment(5),
        ("foo-v3", 2, NEW),
        [("foo-v2", 1, OLD), ("foo-v1", 1, OLDER)],
        2,
        [2, 1],
        {"foo-v3", "foo-v1"},
        {"foo-v2": 3},
    ),
    (
        "deployment with surge pods",
        deployment(20, 2),
        deployment(10, 2),
        ("foo-v2", 6, NEW),
        [("foo-v1", 6, OLD)],
        11,
        [11],
        set(),
        {},
    ),
    (
        "change both surge and size",
        deployment(50, 6),
        deployment(10, 3),
        ("foo-v2", 5, NEW),
        [("foo-v1", 8, OLD)],
        22,
        [34],
        set(),
        {},
    ),
    (
        "saturated but broken new replica set does not affect old pods",
        deployment(2, 1, 1),
        deployment(2, 1, 1),
        ("foo-v2", 2, NEW, 0),
        [("foo-v1", 1, OLD)],
        2,
        [1],
        set(),
        {},
    ),
]


@pytest.mark.parametrize(
    (
        "deploy",
        "old_deploy",
        "new",
        "olds",
        "expected_new",
        "expected_old",
        "wasnt_updated",
        "desired",
    ),
    [case[1:] for case in SCALE_CASES],
    ids=[case[0] for case in SCALE_CASES],
)
def test_rule_19_proportional_scaling_TestScale(
    deploy: Obj,
    old_deploy: Obj,
    new: tuple[Any, ...] | None,
    olds: list[tuple[Any, ...]],
    expected_new: int | None,
    expected_old: list[int],
    wasnt_updated: set[str],
    desired: dict[str, int],
) -> None:
    new_rs = rs(*new) if new is not None else None
    old_rss = [rs(*o) for o in olds]
    for replica_set in [new_rs, *old_rss]:
        if replica_set is None:
            continue
        want = desired.get(replica_set["metadata"]["name"], util.spec_replicas(old_deploy))
        util.set_replicas_annotations(replica_set, want, want + util.max_surge(old_deploy))
    sizes = {r["metadata"]["name"]: util.spec_replicas(r) for r in [new_rs, *old_rss] if r}
    for replica_set, size, _ in util.proportional_scale_plan(deploy, new_rs, old_rss):
        name = replica_set["metadata"]["name"]
        if name not in wasnt_updated:
            sizes[name] = size
    if expected_new is not None and new_rs is not None:
        assert sizes[new_rs["metadata"]["name"]] == expected_new
    assert [sizes[o["metadata"]["name"]] for o in old_rss] == expected_old


def rs_status(name: str, spec: int, status: int) -> Obj:
    return {
        "metadata": {"name": name},
        "spec": {"replicas": spec},
        "status": {"replicas": status},
    }


@pytest.mark.parametrize(
    ("olds", "limit", "expected"),
    [
        ([("foo-1", 0, 0), ("foo-2", 0, 0), ("foo-3", 0, 0)], 1, 2),
        ([("foo-1", 0, 0), ("foo-2", 0, 1), ("foo-3", 1, 0), ("foo-4", 1, 1)], 0, 1),
        ([("foo-1", 0, 0), ("foo-2", 0, 0)], 0, 2),
        ([("foo-1", 1, 1), ("foo-2", 1, 1)], 0, 0),
        ("already-deleted", 0, 0),
        ([("foo-1", 0, 0), ("foo-2", 0, 0), ("foo-3", 0, 0)], util.MAX_INT32, 0),
    ],
    ids=["limit-1", "only-empty-ones", "limit-0", "all-busy", "already-deleted", "unlimited"],
)
def test_rule_18_history_cleanup_TestDeploymentController_cleanupDeployment(
    olds: Any, limit: int, expected: int
) -> None:
    if olds == "already-deleted":
        gone = rs_status("foo-1", 0, 0)
        gone["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
        old_rss = [gone]
    else:
        old_rss = [rs_status(*o) for o in olds]
    d = deployment(1)
    d["spec"]["revisionHistoryLimit"] = limit
    assert len(util.cleanup_candidates(old_rss, d)) == expected


def rs_rev(name: str, replicas: int, created: datetime, revision: str) -> Obj:
    replica_set = rs(name, replicas, created)
    replica_set["status"] = {"replicas": replicas}
    if revision:
        replica_set["metadata"]["annotations"] = {util.REVISION_ANNOTATION: revision}
    return replica_set


T0 = datetime(2024, 1, 1, tzinfo=UTC)
M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("olds", "limit", "expected"),
    [
        ([("foo-1", 0, T0 - M, "1"), ("foo-2", 0, T0, "2")], 1, {"foo-1"}),
        ([("foo-1", 0, T0 - M, "2"), ("foo-2", 0, T0, "1")], 1, {"foo-2"}),
        ([("foo-1", 0, T0 - M, "1"), ("foo-2", 0, T0, "")], 1, {"foo-2"}),
        ([("foo-1", 0, T0 - M, ""), ("foo-2", 0, T0, "2")], 1, {"foo-1"}),
        (
            [("foo-1", 1, T0 - M, "1"), ("foo-2", 0, T0, "2"), ("foo-3", 0, T0 + M, "3")],
            1,
            {"foo-2"},
        ),
        ([("foo-1", 1, T0 - M, "1"), ("foo-2", 1, T0, "2"), ("foo-3", 0, T0 + M, "3")], 1, set()),
        (
            [
                ("foo-1", 0, T0 - M, "3"),
                ("foo-2", 0, T0, "1"),
                ("foo-3", 0, T0 + M, "4"),
                ("foo-4", 0, T0 + 2 * M, "2"),
            ],
            2,
            {"foo-2", "foo-4"},
        ),
    ],
    ids=[
        "rs1<rs2",
        "rs2<rs1",
        "rs2-no-revision",
        "rs1-no-revision",
        "rs1-busy",
        "both-busy",
        "four",
    ],
)
def test_rule_18_history_cleanup_TestDeploymentController_cleanupDeploymentOrder(
    olds: list[tuple[Any, ...]], limit: int, expected: set[str]
) -> None:
    d = deployment(1)
    d["spec"]["revisionHistoryLimit"] = limit
    doomed = util.cleanup_candidates([rs_rev(*o) for o in olds], d)
    assert {r["metadata"]["name"] for r in doomed} == expected


# ======================================================================= against the store


def set_image(image: str) -> Any:
    return lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image=image)


def test_rule_01_defaults_are_applied_by_the_api_server(cluster: Any, manifest: Any) -> None:
    body = manifest()
    del body["spec"]["replicas"]
    spec = cluster.create_deployment(body)["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)
    assert util.max_surge(cluster.deployment()) == 1


def test_rule_02_generation_bumps_on_spec_and_annotations_not_on_controller_status(
    cluster: Any, manifest: Any
) -> None:
    cluster.create_deployment(manifest())
    cluster.settle()
    d = cluster.deployment()
    assert d["metadata"]["generation"] == 1  # the revision annotation came through /status
    assert d["status"]["observedGeneration"] == 1
    d = cluster.update_deployment("web", lambda d: d["metadata"]["annotations"].update(team="x"))
    assert d["metadata"]["generation"] == 2


def test_rule_03_sync_order_empty_selector_warns_and_observes_generation(
    cluster: Any, manifest: Any
) -> None:
    cluster.create_deployment(manifest())
    stored = cluster.deployment()
    stored["spec"]["selector"] = {}
    # validation forbids an empty selector, so hand the controller the object directly
    assert cluster.dc._sync_deployment(stored) is None
    assert cluster.events.items[-1].reason == "SelectingAll"
    assert cluster.events.items[-1].message == (
        "This deployment is selecting all pods. A non-empty selector is required."
    )
    assert cluster.replica_set_list() == []


def test_rule_03_sync_order_a_deleting_deployment_only_gets_status(
    cluster: Any, manifest: Any
) -> None:
    body = manifest()
    body["metadata"]["finalizers"] = ["test/hold"]
    cluster.create_deployment(body)
    cluster.store.delete(cluster.deployments, "default", "web")
    cluster.sync_deployment()
    assert cluster.replica_set_list() == []
    assert cluster.deployment()["status"]["observedGeneration"] >= 1


def test_rule_04_ownership_adopts_matching_orphans_and_releases_others(
    cluster: Any, manifest: Any
) -> None:
    cluster.create_deployment(manifest(replicas=1))
    cluster.settle()
    [owned] = cluster.replica_set_list()
    orphan = {
        "metadata": {"name": "stray", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web", "v": "x"}},
            "template": {
                "metadata": {"labels": {"app": "web", "v": "x"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }
    cluster.store.create(cluster.replica_sets, "default", orphan)
    cluster.sync_deployment()
    stray = cluster.replica_set("stray")
    assert util.controller_ref(stray)["uid"] == cluster.deployment()["metadata"]["uid"]
    stray["metadata"]["labels"] = {"other": "x"}
    cluster.store.update(cluster.replica_sets, "default", "stray", stray)
    cluster.sync_deployment()
    assert util.controller_ref(cluster.replica_set("stray")) is None
    assert util.controller_ref(cluster.replica_set(owned["metadata"]["name"])) is not None


def test_rule_06_create_new_rs_name_labels_owner_and_annotations(
    cluster: Any, manifest: Any
) -> None:
    body = manifest(replicas=3, minReadySeconds=5)
    body["metadata"]["annotations"] = {
        "team": "payments",
        util.LAST_APPLIED_ANNOTATION: json.dumps({"kind": "Deployment"}),
    }
    d = cluster.create_deployment(body)
    cluster.sync_deployment()
    [new] = cluster.replica_set_list()
    pod_hash = new["spec"]["template"]["metadata"]["labels"][util.POD_TEMPLATE_HASH_LABEL]
    assert new["metadata"]["name"] == f"web-{pod_hash}"
    assert new["metadata"]["labels"] == {"app": "web", util.POD_TEMPLATE_HASH_LABEL: pod_hash}
    assert new["spec"]["selector"]["matchLabels"] == new["metadata"]["labels"]
    assert new["spec"]["minReadySeconds"] == 5 and new["spec"]["replicas"] == 3
    assert new["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "web",
            "uid": d["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert new["metadata"]["annotations"] == {
        "team": "payments",
        util.REVISION_ANNOTATION: "1",
        util.DESIRED_REPLICAS_ANNOTATION: "3",
        util.MAX_REPLICAS_ANNOTATION: "4",
    }
    d = cluster.deployment()
    assert d["metadata"]["annotations"][util.REVISION_ANNOTATION] == "1"
    progressing = util.get_condition(d["status"], util.PROGRESSING)
    assert progressing is not None
    assert (progressing["reason"], progressing["message"]) == (
        "NewReplicaSetCreated",
        f'Created new replica set "web-{pod_hash}"',
    )
    assert cluster.events.messages("ScalingReplicaSet") == [
        f"Scaled up replica set web-{pod_hash} from 0 to 3"
    ]


def test_rule_06_create_new_rs_hash_collision_bumps_collision_count(
    cluster: Any, manifest: Any
) -> None:
    d = cluster.create_deployment(manifest(replicas=1))
    pod_hash = util.pod_template_hash(d["spec"]["template"], None)
    squatter = {
        "metadata": {"name": f"web-{pod_hash}", "namespace": "default", "labels": {"x": "y"}},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"x": "y"}},
            "template": {
                "metadata": {"labels": {"x": "y"}},
                "spec": {"containers": [{"name": "c", "image": "other"}]},
            },
        },
    }
    cluster.store.create(cluster.replica_sets, "default", squatter)
    assert cluster.sync_deployment() is not None  # 409 AlreadyExists: requeued
    assert cluster.deployment()["status"]["collisionCount"] == 1
    cluster.sync_deployment()
    names = {rs["metadata"]["name"] for rs in cluster.replica_set_list()}
    assert names == {f"web-{pod_hash}", f"web-{util.pod_template_hash(d['spec']['template'], 1)}"}


def test_rule_07_existing_new_rs_found_sets_found_new_replica_set(
    cluster: Any, manifest: Any
) -> None:
    cluster.create_deployment(manifest(replicas=1))
    cluster.sync_deployment()
    d = cluster.deployment()
    d["status"].pop("conditions")
    cluster.store.update(cluster.deployments, "default", "web", d, subresource="status")
    cluster.sync_deployment()
    progressing = util.get_condition(cluster.deployment()["status"], util.PROGRESSING)
    assert progressing is not None and progressing["reason"] in (
        "FoundNewReplicaSet",
        "ReplicaSetUpdated",
    )


def rollback_patch(cluster: Any, rs_name: str) -> None:
    """What `kubectl rollout undo` sends (kubectl polymorphichelpers/rollback.go): a JSON patch
    replacing the template with the RS's minus pod-template-hash, and the annotations."""
    rs = cluster.replica_set(rs_name)
    template = json.loads(json.dumps(rs["spec"]["template"]))
    template["metadata"]["labels"].pop(util.POD_TEMPLATE_HASH_LABEL)
    d = cluster.deployment()
    skip = {
        util.LAST_APPLIED_ANNOTATION,
        util.REVISION_ANNOTATION,
        util.REVISION_HISTORY_ANNOTATION,
        util.DESIRED_REPLICAS_ANNOTATION,
        util.MAX_REPLICAS_ANNOTATION,
        util.ROLLBACK_TO_ANNOTATION,
    }
    annotations = {k: v for k, v in d["metadata"].get("annotations", {}).items() if k in skip}
    annotations.update(
        {k: v for k, v in rs["metadata"].get("annotations", {}).items() if k not in skip}
    )
    patch = [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]
    cluster.store.patch(
        cluster.deployments,
        "default",
        "web",
        "application/json-patch+json",
        json.dumps(patch).encode(),
    )


def by_revision(cluster: Any) -> dict[str, Obj]:
    return {
        rs["metadata"]["annotations"][util.REVISION_ANNOTATION]: rs
        for rs in cluster.replica_set_list()
    }


def test_rule_20_rollback_undo_twice_gives_revision_history_1_3(
    cluster: Any, manifest: Any
) -> None:
    """test/cmd/apps.sh: R1, R2, undo to 1 (rev 3), undo (rev 4), undo: history "1,3"."""
    cluster.create_deployment(manifest(replicas=2, image="nginx:r1"))
    cluster.settle()
    r1 = by_revision(cluster)["1"]["metadata"]["name"]
    cluster.update_deployment("web", set_image("nginx:r2"))
    cluster.settle()
    r2 = by_revision(cluster)["2"]["metadata"]["name"]
    rollback_patch(cluster, r1)  # kubectl rollout undo --to-revision=1
    cluster.settle()
    assert by_revision(cluster)["3"]["metadata"]["name"] == r1
    assert (
        by_revision(cluster)["3"]["metadata"]["annotations"][util.REVISION_HISTORY_ANNOTATION]
        == "1"
    )
    rollback_patch(cluster, r2)  # kubectl rollout undo (to the previous revision, 2)
    cluster.settle()
    assert by_revision(cluster)["4"]["metadata"]["name"] == r2
    rollback_patch(cluster, r1)  # kubectl rollout undo (to revision 3)
    cluster.settle()
    newest = by_revision(cluster)["5"]
    assert newest["metadata"]["name"] == r1
    assert newest["metadata"]["annotations"][util.REVISION_HISTORY_ANNOTATION] == "1,3"
    assert cluster.deployment()["metadata"]["annotations"][util.REVISION_ANNOTATION] == "5"
    assert len(cluster.replica_set_list()) == 2  # a rollback never creates a new RS


def test_rule_13_status_counts_and_available_condition(cluster: Any, manifest: Any) -> None:
    cluster.create_deployment(manifest(replicas=4))
    cluster.sync_deployment()
    cluster.sync_replica_sets()
    pods = cluster.pod_list()
    for pod in pods[:2]:
        cluster.set_pod_ready(pod)
    cluster.sync_replica_sets()
    cluster.sync_deployment()
    status = cluster.deployment()["status"]
    assert {
        k: status.get(k)
        for k in (
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
        )
    } == {
        "replicas": 4,
        "updatedReplicas": 4,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "unavailableReplicas": 2,
    }
    available = util.get_condition(status, util.AVAILABLE)
    assert available is not None
    assert (available["status"], available["reason"], available["message"]) == (
        "False",
        "MinimumReplicasUnavailable",
        "Deployment does not have minimum availability.",
    )
    for pod in pods[2:3]:
        cluster.set_pod_ready(pod)
    cluster.sync_replica_sets()
    cluster.sync_deployment()
    available = util.get_condition(cluster.deployment()["status"], util.AVAILABLE)
    assert available is not None
    assert (available["status"], available["reason"]) == ("True", "MinimumReplicasAvailable")


def test_rule_17_paused_no_new_rs_then_resumed(cluster: Any, manifest: Any) -> None:
    cluster.create_deployment(manifest(replicas=2))
    cluster.settle()
    cluster.update_deployment("web", lambda d: d["spec"].update(paused=True))
    cluster.sync_deployment()
    progressing = util.get_condition(cluster.deployment()["status"], util.PROGRESSING)
    assert progressing is not None
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "Unknown",
        "DeploymentPaused",
        "Deployment is paused",
    )
    cluster.update_deployment("web", set_image("nginx:2"))
    cluster.settle()
    assert len(cluster.replica_set_list()) == 1  # paused: no new RS
    cluster.update_deployment("web", lambda d: d["spec"].update(replicas=4))
    cluster.settle()
    assert cluster.replica_set_list()[0]["spec"]["replicas"] == 4  # scaling still works
    cluster.update_deployment("web", lambda d: d["spec"].update(paused=False))
    cluster.sync_deployment()
    resumed = util.get_condition(cluster.deployment()["status"], util.PROGRESSING)
    assert resumed is not None and resumed["reason"] in (
        "DeploymentResumed",
        "NewReplicaSetCreated",
    )
    cluster.settle()
    assert len(cluster.replica_set_list()) == 2


def test_rule_19_proportional_scaling_mid_rollout_against_the_store(
    cluster: Any, manifest: Any
) -> None:
    cluster.create_deployment(
        manifest(
            replicas=10,
            strategy={
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2},
            },
        )
    )
    cluster.settle()
    cluster.update_deployment("web", set_image("nginx:2"))
    cluster.sync_deployment()  # new RS 3, old RS 10 -> 8
    sizes = sorted(rs["spec"]["replicas"] for rs in cluster.replica_set_list())
    assert sizes == [3, 8]
    cluster.update_deployment("web", lambda d: d["spec"].update(replicas=20))
    cluster.sync_deployment()
    sizes = sorted(rs["spec"]["replicas"] for rs in cluster.replica_set_list())
    # allowed 20 + 3 = 23, to add 12; old: round(8*23/13) - 8 = 6, new: round(3*23/13) - 3 = 2,
    # the leftover 4 goes to the largest (old) RS
    assert sizes == [5, 18]
