"""Progressing condition and progress deadline (KUBE_SPEC rule 15): TestRequeueStuckDeployment
and TestSyncRolloutStatus ported from upstream progress_test.go, and a stuck rollout against a
real Store that ends in ProgressDeadlineExceeded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.cluster.simulator.controllers import deployment_util as util
from harness.timescale import TimeScale

Obj = dict[str, Any]
TEST_TIME = datetime(2017, 2, 15, 18, 49, 0, tzinfo=UTC)
STAMP = util.format_time(TEST_TIME)
PDS = 60


def current_deployment(
    pds: int | None,
    replicas: int,
    current: int,
    updated: int,
    available: int,
    conditions: list[Obj] | None,
) -> Obj:
    spec: Obj = {"replicas": replicas, "strategy": {"type": "Recreate"}}
    if pds is not None:
        spec["progressDeadlineSeconds"] = pds
    status: Obj = {"replicas": current, "updatedReplicas": updated, "availableReplicas": available}
    if conditions:
        status["conditions"] = [dict(c) for c in conditions]
    return {"metadata": {"name": "progress-test"}, "spec": spec, "status": status}


def new_status(replicas: int, updated: int, available: int) -> Obj:
    return {"replicas": replicas, "updatedReplicas": updated, "availableReplicas": available}


FAILED = {"type": "Progressing", "status": "False", "reason": util.TIMED_OUT_REASON}
STUCK = {"type": "Progressing", "status": "True", "lastUpdateTime": STAMP}


def at(minute: int, second: int, micro: int = 0) -> datetime:
    return datetime(2017, 2, 15, 18, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("d", "status", "now", "expected"),
    [
        (current_deployment(None, 4, 3, 3, 2, None), new_status(3, 3, 2), TEST_TIME, None),
        (
            current_deployment(util.MAX_INT32, 4, 3, 3, 2, None),
            new_status(3, 3, 2),
            TEST_TIME,
            None,
        ),
        (current_deployment(PDS, 4, 3, 3, 2, None), new_status(3, 3, 2), TEST_TIME, None),
        (current_deployment(PDS, 3, 3, 3, 3, None), new_status(3, 3, 3), TEST_TIME, None),
        (current_deployment(PDS, 3, 3, 3, 0, [FAILED]), new_status(3, 3, 0), TEST_TIME, None),
        (current_deployment(PDS, 3, 3, 3, 1, [STUCK]), new_status(3, 3, 1), at(49, 30), 30.0),
        (current_deployment(PDS, 3, 3, 3, 1, [STUCK]), new_status(3, 3, 1), at(49, 59), 1.0),
        (current_deployment(PDS, 3, 3, 3, 1, [STUCK]), new_status(3, 3, 1), at(49, 59, 1), 0.0),
        (current_deployment(PDS, 3, 3, 3, 1, [STUCK]), new_status(3, 3, 1), at(50, 0), 0.0),
        (current_deployment(PDS, 3, 3, 3, 1, [STUCK]), new_status(3, 3, 1), at(50, 1), 0.0),
        (current_deployment(PDS, 3, 3, 3, 1, [STUCK]), new_status(3, 3, 1), at(51, 0), 0.0),
    ],
    ids=[
        "nil-progressDeadlineSeconds",
        "infinite-progressDeadlineSeconds",
        "no-progressing-condition",
        "complete-deployment",
        "already-failed",
        "stuck-30s",
        "stuck-1s",
        "less-than-a-second-now",
        "now",
        "1s-after-deadline",
        "60s-after-deadline",
    ],
)
def test_rule_15_progress_deadline_TestRequeueStuckDeployment(
    d: Obj, status: Obj, now: datetime, expected: float | None
) -> None:
    got = util.requeue_stuck_deployment(d, status, now, TimeScale())
    assert got == (pytest.approx(expected) if expected is not None else None)


def test_rule_15_progress_deadline_requeue_is_in_real_seconds_under_a_time_scale() -> None:
    d = current_deployment(PDS, 3, 3, 3, 1, [STUCK])
    assert util.requeue_stuck_deployment(d, new_status(3, 3, 1), at(49, 3), TimeScale(0.1)) == (
        pytest.approx(3.0)
    )


def rs_avail(name: str, spec: int, status: int, available: int) -> Obj:
    return {
        "metadata": {"name": name},
        "spec": {"replicas": spec},
        "status": {"replicas": status, "availableReplicas": available},
    }


NEW_RS_AVAILABLE = {
    "type": "Progressing",
    "status": "True",
    "reason": util.NEW_RS_AVAILABLE_REASON,
    "lastUpdateTime": STAMP,
    "lastTransitionTime": STAMP,
}
RS_UPDATED = {
    "type": "Progressing",
    "status": "True",
    "reason": util.REPLICA_SET_UPDATED_REASON,
    "lastUpdateTime": STAMP,
    "lastTransitionTime": STAMP,
}

# name, d, allRSs, newRS, (status, reason) or None, lastUpdate kept, lastTransition kept
ROLLOUT_CASES: list[tuple[Any, ...]] = [
    (
        "remove Progressing without a deadline",
        current_deployment(None, 3, 2, 2, 2, [RS_UPDATED]),
        [rs_avail("bar", 0, 1, 1)],
        rs_avail("foo", 3, 2, 2),
        None,
        False,
        False,
    ),
    (
        "do not estimate with one active RS",
        current_deployment(PDS, 3, 3, 3, 3, [NEW_RS_AVAILABLE]),
        [rs_avail("bar", 3, 3, 3)],
        None,
        ("True", util.NEW_RS_AVAILABLE_REASON),
        True,
        True,
    ),
    (
        "progressing keeps lastTransitionTime",
        current_deployment(PDS, 3, 2, 2, 2, [RS_UPDATED]),
        [rs_avail("bar", 0, 1, 1)],
        rs_avail("foo", 3, 2, 2),
        ("True", util.REPLICA_SET_UPDATED_REASON),
        False,
        True,
    ),
    (
        "progressing updates everything after False",
        current_deployment(PDS, 3, 2, 2, 2, [FAILED]),
        [rs_avail("bar", 0, 1, 1)],
        rs_avail("foo", 3, 2, 2),
        ("True", util.REPLICA_SET_UPDATED_REASON),
        False,
        False,
    ),
    (
        "progressing creates the condition",
        current_deployment(PDS, 3, 2, 2, 2, []),
        [rs_avail("bar", 0, 1, 1)],
        rs_avail("foo", 3, 2, 2),
        ("True", util.REPLICA_SET_UPDATED_REASON),
        False,
        False,
    ),
    (
        "complete keeps lastTransitionTime",
        current_deployment(PDS, 3, 3, 3, 3, [RS_UPDATED]),
        [],
        rs_avail("foo", 3, 3, 3),
        ("True", util.NEW_RS_AVAILABLE_REASON),
        False,
        True,
    ),
    (
        "complete updates everything after False",
        current_deployment(PDS, 3, 3, 3, 3, [FAILED]),
        [],
        rs_avail("foo", 3, 3, 3),
        ("True", util.NEW_RS_AVAILABLE_REASON),
        False,
        False,
    ),
    (
        "complete creates the condition",
        current_deployment(PDS, 3, 3, 3, 3, []),
        [],
        rs_avail("foo", 3, 3, 3),
        ("True", util.NEW_RS_AVAILABLE_REASON),
        False,
        False,
    ),
    (
        "complete without a new RS",
        current_deployment(PDS, 0, 3, 3, 3, [RS_UPDATED]),
        [rs_avail("foo", 0, 0, 0)],
        None,
        ("True", util.NEW_RS_AVAILABLE_REASON),
        False,
        False,
    ),
    (
        "timed out",
        current_deployment(PDS, 3, 2, 2, 2, [RS_UPDATED]),
        [],
        rs_avail("foo", 3, 2, 2),
        ("False", util.TIMED_OUT_REASON),
        False,
        False,
    ),
    (
        "existing timeout is kept",
        current_deployment(PDS, 3, 2, 2, 2, [FAILED]),
        [],
        rs_avail("foo", 3, 2, 2),
        ("False", util.TIMED_OUT_REASON),
        True,
        True,
    ),
]


@pytest.mark.parametrize(
    ("d", "all_rss", "new_rs", "expected", "update_kept", "transition_kept"),
    [case[1:] for case in ROLLOUT_CASES],
    ids=[case[0] for case in ROLLOUT_CASES],
)
def test_rule_15_progressing_TestSyncRolloutStatus(
    d: Obj,
    all_rss: list[Obj],
    new_rs: Obj | None,
    expected: tuple[str, str] | None,
    update_kept: bool,
    transition_kept: bool,
) -> None:
    now = TEST_TIME + timedelta(minutes=5)
    rss = [*all_rss, new_rs] if new_rs is not None else all_rss
    status = util.rollout_status(d, rss, new_rs, now, TimeScale())
    condition = util.get_condition(status, util.PROGRESSING)
    if expected is None:
        assert condition is None
        return
    assert condition is not None
    assert (condition["status"], condition["reason"]) == expected
    if update_kept:
        assert condition.get("lastUpdateTime") == d["status"]["conditions"][0].get("lastUpdateTime")
    if transition_kept:
        assert condition.get("lastTransitionTime") == d["status"]["conditions"][0].get(
            "lastTransitionTime"
        )


def test_rule_15_progressing_messages_name_the_new_replica_set() -> None:
    d = current_deployment(PDS, 3, 3, 3, 3, [])
    status = util.rollout_status(
        d, [rs_avail("foo", 3, 3, 3)], rs_avail("foo", 3, 3, 3), TEST_TIME, TimeScale()
    )
    condition = util.get_condition(status, util.PROGRESSING)
    assert condition is not None
    assert condition["message"] == 'ReplicaSet "foo" has successfully progressed.'


def test_rule_15_progress_deadline_exceeded_against_the_store(
    make_cluster: Any, manifest: Any
) -> None:
    cluster = make_cluster(TimeScale(0.1))
    cluster.create_deployment(manifest(replicas=2, progressDeadlineSeconds=30))
    cluster.settle(ready=False)  # pods never become ready
    after = cluster.sync_deployment()
    assert after is not None and 0 < after <= 3.0 + 0.1  # 30 kube seconds at 0.1, plus slack
    cluster.clock.advance(3.5)
    cluster.sync_deployment()
    condition = util.get_condition(cluster.deployment()["status"], util.PROGRESSING)
    assert condition is not None
    assert (condition["status"], condition["reason"]) == ("False", "ProgressDeadlineExceeded")
    name = cluster.replica_set_list()[0]["metadata"]["name"]
    assert condition["message"] == f'ReplicaSet "{name}" has timed out progressing.'
    # the paused condition never overwrites a timeout (rule 17)
    cluster.update_deployment("web", lambda d: d["spec"].update(paused=True))
    cluster.sync_deployment()
    condition = util.get_condition(cluster.deployment()["status"], util.PROGRESSING)
    assert condition is not None and condition["reason"] == "ProgressDeadlineExceeded"


def test_rule_15_progressing_replica_failure_is_copied_from_the_new_rs() -> None:
    d = current_deployment(PDS, 3, 2, 2, 2, [])
    new_rs = rs_avail("foo", 3, 2, 2)
    new_rs["status"]["conditions"] = [
        {
            "type": "ReplicaFailure",
            "status": "True",
            "reason": "FailedCreate",
            "message": "quota",
            "lastTransitionTime": STAMP,
        }
    ]
    status = util.rollout_status(d, [new_rs], new_rs, TEST_TIME, TimeScale())
    failure = util.get_condition(status, util.REPLICA_FAILURE)
    assert failure is not None and failure["reason"] == "FailedCreate"
    assert failure["lastUpdateTime"] == STAMP
