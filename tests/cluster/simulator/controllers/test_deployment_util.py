"""Pure Deployment helpers, with cases ported from upstream
pkg/controller/deployment/util/deployment_util_test.go, controller_utils_test.go and
pkg/api/v1/pod/util_test.go. Test names carry the KUBE_SPEC rule and the upstream test."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.cluster.simulator.controllers import deployment_util as util
from harness.timescale import TimeScale

Obj = dict[str, Any]
NOW = datetime(2017, 2, 15, 18, 49, 0, tzinfo=UTC)


def ts(moment: datetime | None) -> str | None:
    return util.format_time(moment) if moment is not None else None


def deployment(
    replicas: int = 1,
    *,
    surge: Any = 0,
    unavailable: Any = 0,
    kind: str = "RollingUpdate",
    template: Obj | None = None,
    status: Obj | None = None,
    **spec: Any,
) -> Obj:
    strategy: Obj = {"type": kind}
    if kind == "RollingUpdate":
        strategy["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {
        "metadata": {"name": "foo", "namespace": "default", "uid": "d-uid", "annotations": {}},
        "spec": {"replicas": replicas, "strategy": strategy, "template": template or {}, **spec},
        "status": status or {},
    }


def rs(name: str, replicas: int, created: datetime | None = None, status: Obj | None = None) -> Obj:
    meta: Obj = {"name": name, "uid": f"{name}-uid"}
    if created is not None:
        meta["creationTimestamp"] = ts(created)
    return {
        "metadata": meta,
        "spec": {"replicas": replicas, "template": {}},
        "status": status or {},
    }


# ----------------------------------------------------------------- rule 8: fenceposts


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "expected"),
    [
        ("0%", "0%", 0, (0, 1)),
        ("39%", "39%", 10, (4, 3)),
        (None, "39%", 10, (0, 3)),
        ("39%", None, 10, (4, 0)),
        (None, None, 10, (0, 1)),
        # KUBE_SPEC rule 8 examples
        ("25%", "25%", 3, (1, 0)),
        ("25%", "25%", 10, (3, 2)),
    ],
    ids=["0%-0%", "39%-39%", "nil-39%", "39%-nil", "nil-nil", "spec-3-defaults", "spec-10-25%"],
)
def test_rule_08_fenceposts_TestResolveFenceposts(
    surge: Any, unavailable: Any, desired: int, expected: tuple[int, int]
) -> None:
    assert util.resolve_fenceposts(surge, unavailable, desired) == expected


@pytest.mark.parametrize(("surge", "unavailable"), [("oops", "39%"), ("55%", "urg")])
def test_rule_08_fenceposts_TestResolveFenceposts_errors(surge: str, unavailable: str) -> None:
    with pytest.raises(ValueError):
        util.resolve_fenceposts(surge, unavailable, 10)


@pytest.mark.parametrize(
    ("replicas", "unavailable", "expected"),
    [
        (10, 5, 5),
        (10, 10, 10),
        (5, 10, 5),
        (0, 10, 0),
        (10, "50%", 5),
        (10, "100%", 10),
        (5, "100%", 5),
    ],
    ids=[
        "less-than-replicas",
        "equal-replicas",
        "greater-than-replicas",
        "replicas-0",
        "percent-less",
        "percent-equal",
        "percent-greater",
    ],
)
def test_rule_08_fenceposts_TestMaxUnavailable(
    replicas: int, unavailable: Any, expected: int
) -> None:
    assert util.max_unavailable(deployment(replicas, surge=1, unavailable=unavailable)) == expected


def test_rule_08_fenceposts_TestMaxUnavailable_recreate_is_zero() -> None:
    recreate = deployment(3, kind="Recreate")
    assert util.max_unavailable(recreate) == 0
    assert util.max_surge(recreate) == 0
    assert util.min_available(recreate) == 0


# ----------------------------------------------------------------- rule 5: new and old RSs


def template(name: str, node: str, annotations: dict[str, str], labels: dict[str, str]) -> Obj:
    return {
        "metadata": {"name": name, "annotations": annotations, "labels": labels},
        "spec": {"nodeName": node},
    }


H = util.POD_TEMPLATE_HASH_LABEL


@pytest.mark.parametrize(
    ("former", "latter", "expected"),
    [
        (
            template("foo", "n", {}, {H: "v1", "s": "e"}),
            template("foo", "n", {}, {H: "v1", "s": "e"}),
            True,
        ),
        (
            template("foo", "n", {}, {H: "v1", "s": "e"}),
            template("foo", "n", {}, {H: "v2", "s": "e"}),
            True,
        ),
        (template("foo", "n", {}, {"s": "e"}), template("foo", "n", {}, {H: "v2", "s": "e"}), True),
        (template("foo", "n", {}, {"s": "e"}), template("foo", "n", {}, {H: "v2"}), False),
        (template("foo", "n", {}, {H: "v1"}), template("foo", "n", {}, {"s": "e"}), False),
        (template("foo", "n", {}, {H: "v1"}), template("foo", "n", {}, {H: "v1", "s": "e"}), False),
        (
            template("foo", "n", {"a": "v"}, {H: "v1"}),
            template("foo", "n", {"b": "v"}, {H: "v1"}),
            False,
        ),
        (template("foo-1", "n", {}, {H: "v1"}), template("foo-2", "n", {}, {H: "v2"}), False),
        (template("foo-1", "n1", {}, {"s": "e"}), template("foo-2", "n2", {}, {H: "v2"}), False),
        (template("foo", "n1", {}, {"s": "e"}), template("foo", "n2", {}, {"n": "e"}), False),
        # normalisation: null, {} and [] are the same (apiequality.Semantic.DeepEqual)
        (
            {"metadata": {"labels": {"a": "b"}, "annotations": None}, "spec": {"volumes": []}},
            {"metadata": {"labels": {"a": "b", H: "x"}}, "spec": {}},
            True,
        ),
    ],
    ids=[
        "same-spec-same-labels",
        "only-hash-differs",
        "former-without-hash",
        "label-differs-former-without-hash",
        "label-differs-latter-without-hash",
        "label-differs-same-hash",
        "different-spec-same-labels",
        "different-spec-different-hash",
        "different-spec-former-without-hash",
        "different-spec-different-labels",
        "null-equals-empty",
    ],
)
def test_rule_05_new_rs_TestEqualIgnoreHash(former: Obj, latter: Obj, expected: bool) -> None:
    assert util.equal_ignore_hash(former, latter) is expected
    assert util.equal_ignore_hash(latter, former) is expected


def _find_fixture() -> tuple[Obj, Obj, Obj, Obj]:
    tmpl = {"metadata": {"labels": {"name": "nginx"}}, "spec": {"containers": [{"name": "nginx"}]}}
    d = deployment(1, template=tmpl)
    new = rs("new", 1, NOW + timedelta(minutes=1))
    new["spec"]["template"] = {
        "metadata": {"labels": {"name": "nginx", H: "hash"}},
        "spec": tmpl["spec"],
    }
    dup = rs("dup", 0, NOW)
    dup["spec"]["template"] = {
        "metadata": {"labels": {"name": "nginx", H: "other"}},
        "spec": tmpl["spec"],
    }
    old = rs("old", 0, NOW - timedelta(minutes=1))
    old["spec"]["template"] = {
        "metadata": {"labels": {"name": "nginx"}},
        "spec": {"containers": [{"name": "nginx-old-1"}]},
    }
    return d, new, dup, old


def test_rule_05_new_rs_TestFindNewReplicaSet() -> None:
    d, new, dup, old = _find_fixture()
    assert util.find_new_replica_set(d, [new, old]) is new
    assert util.find_new_replica_set(d, [new, old, dup]) is dup  # the oldest match wins
    assert util.find_new_replica_set(d, [old]) is None


def test_rule_05_new_rs_TestFindOldReplicaSets() -> None:
    d, new, dup, old = _find_fixture()
    assert util.find_old_replica_sets(d, [new, old]) == ([], [old])
    assert util.find_old_replica_sets(d, [old]) == ([], [old])
    required, all_old = util.find_old_replica_sets(d, [old, new, dup])
    assert (required, all_old) == ([new], [old, new])
    assert util.find_old_replica_sets(d, [new]) == ([], [])


def test_rule_05_new_rs_TestGetReplicaCountForReplicaSets() -> None:
    rs1 = rs("a", 1, status={"replicas": 2})
    rs2 = rs("b", 2, status={"replicas": 3})
    assert (util.replica_count([rs1]), util.actual_replica_count([rs1])) == (1, 2)
    assert (util.replica_count([rs1, rs2]), util.actual_replica_count([rs1, rs2])) == (3, 5)


# ----------------------------------------------------------------- rule 6: hash and creation


def test_rule_06_create_new_rs_pod_template_hash_is_stable_over_the_safe_alphabet() -> None:
    tmpl = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "a"}]}}
    first = util.pod_template_hash(tmpl, None)
    assert first == util.pod_template_hash(dict(tmpl), None)
    assert set(first) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert util.pod_template_hash(tmpl, 1) != first  # collisionCount changes the name


# ----------------------------------------------------------------- rule 9: NewRSNewReplicas


@pytest.mark.parametrize(
    ("kind", "dep_replicas", "new_replicas", "surge", "expected"),
    [
        ("RollingUpdate", 1, 5, 1, 5),
        ("RollingUpdate", 6, 2, 10, 6),
        ("Recreate", 3, 1, 1, 3),
    ],
    ids=["can-not-scale-up", "scale-up-to-depReplicas", "recreate-to-depReplicas"],
)
def test_rule_09_scale_up_TestNewRSNewReplicas(
    kind: str, dep_replicas: int, new_replicas: int, surge: int, expected: int
) -> None:
    d = deployment(dep_replicas, kind=kind)
    d["spec"]["strategy"]["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": 1}
    assert util.new_rs_new_replicas(d, [rs("rs5", 5)], rs("new", new_replicas)) == expected


# ----------------------------------------------------------------- rule 14: conditions


def cond(type_: str, status: str, reason: str) -> Obj:
    return {"type": type_, "status": status, "reason": reason}


PROG = cond("Progressing", "False", "ForSomeReason")
PROG2 = cond("Progressing", "True", "BecauseItIs")
AVAIL = cond("Available", "True", "AwesomeController")


def test_rule_14_conditions_TestGetCondition() -> None:
    status = {"conditions": [PROG, AVAIL]}
    assert util.get_condition(status, "Available") is not None
    assert util.get_condition(status, "ReplicaFailure") is None


@pytest.mark.parametrize(
    ("conditions", "new", "expected"),
    [([], AVAIL, [AVAIL]), ([PROG], AVAIL, [PROG, AVAIL]), ([PROG], PROG2, [PROG2])],
    ids=["set-for-the-first-time", "simple-set", "overwrite"],
)
def test_rule_14_conditions_TestSetCondition(
    conditions: list[Obj], new: Obj, expected: list[Obj]
) -> None:
    status: Obj = {"conditions": [dict(c) for c in conditions]} if conditions else {}
    util.set_condition(status, dict(new))
    assert status["conditions"] == expected


@pytest.mark.parametrize(
    ("conditions", "type_", "expected"),
    [
        ([], "Progressing", []),
        ([PROG], "Progressing", []),
        ([PROG, AVAIL], "ReplicaFailure", [PROG, AVAIL]),
    ],
    ids=["remove-from-empty", "simple-remove", "does-not-remove-anything"],
)
def test_rule_14_conditions_TestRemoveCondition(
    conditions: list[Obj], type_: str, expected: list[Obj]
) -> None:
    status: Obj = {"conditions": list(conditions)}
    util.remove_condition(status, type_)
    assert status.get("conditions", []) == expected


def test_rule_14_conditions_same_status_and_reason_is_a_no_op_and_transition_time_is_kept() -> None:
    earlier = util.new_condition("Progressing", "True", "A", "one", NOW)
    status: Obj = {"conditions": [earlier]}
    util.set_condition(
        status, util.new_condition("Progressing", "True", "A", "two", NOW + timedelta(1))
    )
    assert status["conditions"] == [earlier]
    util.set_condition(
        status, util.new_condition("Progressing", "True", "B", "three", NOW + timedelta(2))
    )
    assert status["conditions"][0]["lastTransitionTime"] == earlier["lastTransitionTime"]
    assert status["conditions"][0]["lastUpdateTime"] != earlier["lastUpdateTime"]


# ----------------------------------------------------------------- rule 16: complete


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((5, 5, 5, 4, 1, 0), False),
        ((5, 5, 5, 3, 1, 0), False),
        ((5, 5, 5, 5, 0, 0), True),
        ((5, 5, 4, 5, 0, 0), False),
        ((1, 2, 1, 1, 0, 1), False),
        ((1, 1, 1, 0, 1, 1), False),
    ],
    ids=[
        "min-but-not-all-available",
        "min-availability-not-honored",
        "complete",
        "available-but-not-updated",
        "still-running-old-pods",
        "one-replica-never-comes-up",
    ],
)
def test_rule_16_complete_TestDeploymentComplete(args: tuple[int, ...], expected: bool) -> None:
    desired, current, updated, available, unavailable, surge = args
    d = deployment(
        desired,
        surge=surge,
        unavailable=unavailable,
        status={"replicas": current, "updatedReplicas": updated, "availableReplicas": available},
    )
    assert util.deployment_complete(d, d["status"]) is expected


# ----------------------------------------------------------------- rule 15: progressing


def st(current: int, updated: int, ready: int, available: int) -> Obj:
    return {
        "replicas": current,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": available,
    }


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (st(10, 4, 4, 4), st(10, 6, 4, 4), True),
        (st(10, 4, 4, 4), st(10, 4, 4, 4), False),
        (st(10, 4, 6, 6), st(8, 4, 6, 6), True),
        (st(10, 7, 3, 3), st(10, 6, 3, 3), False),
        (st(10, 4, 7, 7), st(8, 8, 5, 5), True),
        (st(10, 10, 9, 8), st(10, 10, 10, 8), True),
        (st(10, 10, 10, 9), st(10, 10, 10, 10), True),
    ],
    ids=[
        "updated-pods",
        "not-progressing",
        "old-pods-removed",
        "less-new-pods",
        "less-overall-more-new",
        "more-ready",
        "more-available",
    ],
)
def test_rule_15_progressing_TestDeploymentProgressing(old: Obj, new: Obj, expected: bool) -> None:
    assert util.deployment_progressing({"status": old}, new) is expected


def _timed_out_case(reason: str, pds: int | None, since: datetime | None) -> Obj:
    spec: Obj = {} if pds is None else {"progressDeadlineSeconds": pds}
    return {
        "spec": spec,
        "status": {
            "conditions": [
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": reason,
                    "lastUpdateTime": ts(since),
                }
            ]
        },
    }


def minute(m: int, s: int) -> datetime:
    return datetime(2016, 1, 1, 0, m, s, tzinfo=UTC)


@pytest.mark.parametrize(
    ("d", "now", "expected"),
    [
        (_timed_out_case("", None, minute(1, 9)), minute(1, 20), False),
        (_timed_out_case("", util.MAX_INT32, minute(1, 9)), minute(1, 20), False),
        (_timed_out_case("", 10, minute(1, 9)), minute(1, 20), True),
        (_timed_out_case("", 10, minute(1, 11)), minute(1, 20), False),
        (_timed_out_case(util.NEW_RS_AVAILABLE_REASON, None, None), minute(1, 20), False),
    ],
    ids=[
        "nil-deadline",
        "infinite-deadline",
        "10s-after-11s",
        "10s-after-9s",
        "previously-complete",
    ],
)
def test_rule_15_progressing_TestDeploymentTimedOut(d: Obj, now: datetime, expected: bool) -> None:
    assert util.deployment_timed_out(d, d["status"], now, TimeScale()) is expected


def test_rule_15_progressing_deadline_is_compressed_by_the_time_scale() -> None:
    d = _timed_out_case("", 600, minute(1, 0))
    assert util.deployment_timed_out(d, d["status"], minute(2, 1), TimeScale(0.1)) is True
    assert util.deployment_timed_out(d, d["status"], minute(1, 59), TimeScale(0.1)) is False


# ----------------------------------------------------------------- rule 7: annotations


def test_rule_07_revision_annotations_TestAnnotationUtils() -> None:
    d = deployment(1)
    d["metadata"]["annotations"][util.REVISION_ANNOTATION] = "1"
    replica_set = rs("r", 0)
    for i in range(10, 20):
        next_revision = str(i + 1)
        util.set_new_replica_set_annotations(d, replica_set, next_revision, True, 5)
        if i >= 12:
            assert (
                replica_set["metadata"]["annotations"][util.REVISION_HISTORY_ANNOTATION]
                == f"{i - 1},{i}"
            )
        assert replica_set["metadata"]["annotations"][util.REVISION_ANNOTATION] == next_revision
    assert util.set_replicas_annotations(replica_set, 10, 11)
    assert replica_set["metadata"]["annotations"][util.DESIRED_REPLICAS_ANNOTATION] == "10"
    assert replica_set["metadata"]["annotations"][util.MAX_REPLICAS_ANNOTATION] == "11"
    replica_set["metadata"]["annotations"][util.DESIRED_REPLICAS_ANNOTATION] = "1"
    replica_set["status"]["availableReplicas"] = 1
    replica_set["spec"]["replicas"] = 1
    assert util.is_saturated(d, replica_set)


def test_rule_07_revision_annotations_rollback_to_1_of_3_gives_4_with_history_1() -> None:
    d = deployment(1)
    first = rs("r1", 0)
    first["metadata"]["annotations"] = {util.REVISION_ANNOTATION: "1"}
    assert util.set_new_replica_set_annotations(d, first, "4", True)
    assert first["metadata"]["annotations"][util.REVISION_ANNOTATION] == "4"
    assert first["metadata"]["annotations"][util.REVISION_HISTORY_ANNOTATION] == "1"


def test_rule_07_revision_annotations_skip_list_is_not_copied() -> None:
    d = deployment(1)
    d["metadata"]["annotations"] = {
        "team": "payments",
        util.LAST_APPLIED_ANNOTATION: "{}",
        util.REVISION_ANNOTATION: "9",
        util.ROLLBACK_TO_ANNOTATION: "1",
    }
    replica_set = rs("r", 0)
    util.set_new_replica_set_annotations(d, replica_set, "1", False)
    assert replica_set["metadata"]["annotations"] == {
        "team": "payments",
        util.REVISION_ANNOTATION: "1",
        util.DESIRED_REPLICAS_ANNOTATION: "1",
        util.MAX_REPLICAS_ANNOTATION: "1",
    }


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        (None, True),
        ({util.DESIRED_REPLICAS_ANNOTATION: "8", util.MAX_REPLICAS_ANNOTATION: "20"}, True),
        ({util.DESIRED_REPLICAS_ANNOTATION: "10", util.MAX_REPLICAS_ANNOTATION: "16"}, True),
        ({util.DESIRED_REPLICAS_ANNOTATION: "10", util.MAX_REPLICAS_ANNOTATION: "20"}, False),
    ],
    ids=["annotations-nil", "desired-update", "max-update", "no-update"],
)
def test_rule_19_proportional_TestReplicasAnnotationsNeedUpdate(
    annotations: Obj | None, expected: bool
) -> None:
    replica_set: Obj = {"metadata": {"name": "hello"}}
    if annotations is not None:
        replica_set["metadata"]["annotations"] = annotations
    assert util.replicas_annotations_need_update(replica_set, 10, 20) is expected


# ----------------------------------------------------------------- rule 23: IsPodAvailable


def pod(ready: bool, ready_since: datetime | None) -> Obj:
    return {
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "lastTransitionTime": ts(ready_since),
                }
            ]
        }
    }


@pytest.mark.parametrize(
    ("ready", "age", "min_ready", "expected"),
    [
        (False, 0, 0, False),
        (True, 0, 1, False),
        (True, 0, 0, True),
        (True, 51, 50, True),
        (True, 50, 50, True),
    ],
    ids=[
        "not-ready",
        "ready-too-recently",
        "min-ready-0",
        "ready-long-enough",
        "exactly-min-ready",
    ],
)
def test_rule_23_is_pod_available_TestIsPodAvailable(
    ready: bool, age: int, min_ready: int, expected: bool
) -> None:
    assert (
        util.is_pod_available(pod(ready, NOW - timedelta(seconds=age)), min_ready, NOW) is expected
    )


def test_rule_23_is_pod_available_min_ready_seconds_is_scaled() -> None:
    sample = pod(True, NOW - timedelta(seconds=5))
    assert util.is_pod_available(sample, 50, NOW, TimeScale(0.1))
    assert not util.is_pod_available(sample, 51, NOW, TimeScale(0.1))


# ----------------------------------------------------------------- rule 21: deletion ranking

R_NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def ranked_pod(
    name: str,
    node: str,
    phase: str,
    ready: bool,
    restarts: int,
    ready_since: datetime | None,
    created: datetime | None,
    annotations: dict[str, str] | None = None,
) -> Obj:
    status: Obj = {"phase": phase}
    if ready:
        status["conditions"] = [
            {"type": "Ready", "status": "True", "lastTransitionTime": ts(ready_since)}
        ]
        status["containerStatuses"] = [{"restartCount": restarts}]
    meta: Obj = {"name": name, "creationTimestamp": ts(created)}  # no uid, as upstream
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": {"nodeName": node}, "status": status}


MONTH = R_NOW - timedelta(days=30)
P = {
    "unscheduled": ranked_pod("unscheduled", "", "Pending", False, 0, None, None),
    "pending": ranked_pod("pending", "node", "Pending", False, 0, None, None),
    "unknown": ranked_pod("unknown-phase", "node", "Unknown", False, 0, None, None),
    "not-ready": ranked_pod("not-ready", "node", "Running", False, 0, None, None),
    "ready-no-ltt": ranked_pod(
        "ready-no-last-transition-time", "node", "Running", True, 0, None, None
    ),
    "ready-now": ranked_pod("ready-now", "node", "Running", True, 0, R_NOW, R_NOW),
    "ready-then": ranked_pod("ready-then", "node", "Running", True, 0, MONTH, MONTH),
    "high-restarts": ranked_pod("ready-high-restarts", "node", "Running", True, 9001, R_NOW, R_NOW),
    "now-created-then": ranked_pod(
        "ready-now-created-then", "node", "Running", True, 0, R_NOW, MONTH
    ),
    "low-cost": ranked_pod(
        "low-deletion-cost",
        "node",
        "Running",
        True,
        0,
        R_NOW,
        MONTH,
        {util.POD_DELETION_COST_ANNOTATION: "10"},
    ),
    "high-cost": ranked_pod(
        "high-deletion-cost",
        "node",
        "Running",
        True,
        0,
        R_NOW,
        MONTH,
        {util.POD_DELETION_COST_ANNOTATION: "100"},
    ),
    "unscheduled-5h": ranked_pod(
        "u5", "", "Pending", False, 0, R_NOW - timedelta(hours=5), R_NOW - timedelta(hours=5)
    ),
    "unscheduled-8h": ranked_pod(
        "u8", "", "Pending", False, 0, R_NOW - timedelta(hours=8), R_NOW - timedelta(hours=8)
    ),
    "ready-2h": ranked_pod("r2", "", "Running", True, 0, R_NOW - timedelta(hours=2), MONTH),
    "ready-5h": ranked_pod("r5", "", "Running", True, 0, R_NOW - timedelta(hours=5), MONTH),
    "ready-8h": ranked_pod("r8", "", "Running", True, 0, R_NOW - timedelta(hours=8), MONTH),
}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("unscheduled", None),
        ("pending", None),
        ("unknown", None),
        ("not-ready", None),
        ("now-created-then", None),
        ("ready-now", None),
        ("ready-then", None),
        ("high-restarts", None),
        ("unscheduled-5h", "unscheduled-8h"),
        ("ready-5h", "ready-8h"),
    ],
)
def test_rule_21_deletion_rank_TestSortingActivePodsWithRanks_equal(
    first: str, second: str | None
) -> None:
    a = P[first]
    b = P[second] if second else a
    assert not util.active_pods_less(a, 1, b, 1, R_NOW)
    assert not util.active_pods_less(b, 1, a, 1, R_NOW)


@pytest.mark.parametrize(
    ("lesser", "lesser_rank", "greater", "greater_rank"),
    [
        ("unscheduled", 1, "pending", 2),
        ("unscheduled", 2, "pending", 1),
        ("pending", 1, "unknown", 2),
        ("unknown", 1, "not-ready", 2),
        ("not-ready", 1, "ready-no-ltt", 1),
        ("ready-no-ltt", 1, "ready-now", 1),
        ("ready-now", 2, "ready-no-ltt", 1),
        ("ready-now", 1, "ready-then", 1),
        ("ready-now", 2, "ready-then", 1),
        ("high-restarts", 1, "ready-now", 1),
        ("ready-now", 2, "high-restarts", 1),
        ("ready-now", 1, "now-created-then", 1),
        ("now-created-then", 2, "ready-now", 1),
        ("low-cost", 2, "high-cost", 1),
        ("ready-2h", 1, "ready-5h", 1),
    ],
)
def test_rule_21_deletion_rank_TestSortingActivePodsWithRanks_less(
    lesser: str, lesser_rank: int, greater: str, greater_rank: int
) -> None:
    assert util.active_pods_less(P[lesser], lesser_rank, P[greater], greater_rank, R_NOW)
    assert not util.active_pods_less(P[greater], greater_rank, P[lesser], lesser_rank, R_NOW)


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, []), (1, [1]), (3, [1, 2]), (10, [1, 2, 4, 3]), (500, [1, 2, 4, 8, 16, 32, 64, 128, 245])],
)
def test_rule_21_slow_start_TestSlowStartBatch_sizes(count: int, expected: list[int]) -> None:
    assert util.slow_start_batches(count) == expected
    assert sum(expected) == count


def test_rule_19_proportional_rounding_is_half_away_from_zero() -> None:
    # Go's math.Round, which integer.RoundToInt32 uses; Python's round() would give 2.
    assert util._round_half_away(2.5) == 3
    assert util._round_half_away(-2.5) == -3
    assert math.isclose(util._round_half_away(2.4), 2)
