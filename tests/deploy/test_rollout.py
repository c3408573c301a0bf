"""Unit tests of rollout_state (kubectl's rollout status, plus fail-fast) and the
ReplicaSet helpers: no server needed."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from harness.deploy.rollout import (
    RolloutFailure,
    find_new_replica_set,
    owned_replica_sets,
    rollout_state,
    selector_string,
    templates_equal,
)

TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "web:2"}]},
}


def deployment(**status: Any) -> dict[str, Any]:
    base = {
        "metadata": {"name": "web", "uid": "d-1", "generation": 2},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
        "status": {"observedGeneration": 2, **status},
    }
    return copy.deepcopy(base)


def pod(reason: str | None = None, **last: Any) -> dict[str, Any]:
    state = (
        {"waiting": {"reason": reason, "message": "back-off 10s"}} if reason else {"running": {}}
    )
    container: dict[str, Any] = {"name": "web", "state": state}
    if last:
        container["lastState"] = {"terminated": last}
    return {"metadata": {"name": "web-abc-1"}, "status": {"containerStatuses": [container]}}


def test_complete_when_every_replica_is_updated_and_available() -> None:
    state = rollout_state(deployment(replicas=3, updatedReplicas=3, availableReplicas=3), [pod()])
    assert state.complete and not state.failed
    assert state.message == 'deployment "web" successfully rolled out'


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ({"replicas": 3, "updatedReplicas": 1}, "1 out of 3 new replicas have been updated"),
        ({"replicas": 4, "updatedReplicas": 3}, "1 old replicas are pending termination"),
        (
            {"replicas": 3, "updatedReplicas": 3, "availableReplicas": 2},
            "2 of 3 updated replicas are available",
        ),
    ],
)
def test_progress_messages_are_kubectls(status: dict[str, int], message: str) -> None:
    state = rollout_state(deployment(**status), [])
    assert not state.complete and not state.failed
    assert message in state.message


def test_a_spec_not_yet_observed_is_waited_for() -> None:
    d = deployment(replicas=3, updatedReplicas=3, availableReplicas=3)
    d["metadata"]["generation"] = 3
    assert rollout_state(d, []).message == "Waiting for deployment spec update to be observed..."


def test_progress_deadline_exceeded_fails() -> None:
    condition = {
        "type": "Progressing",
        "status": "False",
        "reason": "ProgressDeadlineExceeded",
        "message": 'ReplicaSet "web-abc" has timed out progressing.',
    }
    state = rollout_state(deployment(replicas=4, updatedReplicas=1, conditions=[condition]), [])
    assert state.failure is RolloutFailure.PROGRESS_DEADLINE_EXCEEDED
    assert "timed out progressing" in state.message


@pytest.mark.parametrize(
    "reason",
    ["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerError"],
)
def test_a_new_pod_that_cannot_run_fails_fast(reason: str) -> None:
    state = rollout_state(deployment(replicas=4, updatedReplicas=1), [pod(reason, exitCode=1)])
    assert state.failure is RolloutFailure(reason)
    assert state.pod == "web-abc-1"
    assert "last exit code 1" in state.message


def test_waiting_for_a_normal_reason_is_not_a_failure() -> None:
    state = rollout_state(deployment(replicas=4, updatedReplicas=1), [pod("ContainerCreating")])
    assert not state.failed


def test_templates_equal_ignores_the_hash_label_and_empty_values() -> None:
    with_hash = copy.deepcopy(TEMPLATE)
    with_hash["metadata"]["labels"]["pod-template-hash"] = "abc"  # type: ignore[index]
    with_hash["metadata"]["creationTimestamp"] = None  # type: ignore[index]
    with_hash["spec"]["containers"][0]["resources"] = {}  # type: ignore[index]
    assert templates_equal(with_hash, TEMPLATE)
    other = copy.deepcopy(TEMPLATE)
    other["spec"]["containers"][0]["image"] = "web:3"  # type: ignore[index]
    assert not templates_equal(other, TEMPLATE)


def rs(name: str, uid: str, template: dict[str, Any], created: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "ownerReferences": [{"uid": uid, "controller": True}],
        },
        "spec": {"template": template},
    }


def test_new_replica_set_is_the_oldest_owned_one_with_the_template() -> None:
    old = copy.deepcopy(TEMPLATE)
    old["spec"]["containers"][0]["image"] = "web:1"  # type: ignore[index]
    sets = [
        rs("web-new2", "d-1", TEMPLATE, "2024-01-03T00:00:00Z"),
        rs("web-old", "d-1", old, "2024-01-01T00:00:00Z"),
        rs("web-new", "d-1", TEMPLATE, "2024-01-02T00:00:00Z"),
        rs("other", "d-2", TEMPLATE, "2023-01-01T00:00:00Z"),
    ]
    assert [r["metadata"]["name"] for r in owned_replica_sets(deployment(), sets)] == [
        "web-old",
        "web-new",
        "web-new2",
    ]
    found = find_new_replica_set(deployment(), sets)
    assert found is not None and found["metadata"]["name"] == "web-new"


def test_selector_string() -> None:
    selector = {
        "matchLabels": {"b": "2", "a": "1"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web", "api"]},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    assert selector_string(selector) == "a=1,b=2,tier in (web,api),!legacy"
