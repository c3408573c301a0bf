"""Unit tests of undo_plan: the ReplicaSet kubectl's `rollout undo` picks and the JSON
patch it sends."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from harness.deploy.rollback import RollbackImpossible, undo_plan


def template(image: str, hash_: str | None = None) -> dict[str, Any]:
    labels = {"app": "web"}
    if hash_:
        labels["pod-template-hash"] = hash_
    return {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "web", "image": image}]},
    }


def rs(revision: int, image: str, **annotations: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"web-{revision}",
            "creationTimestamp": f"2024-01-0{revision}T00:00:00Z",
            "ownerReferences": [{"uid": "d-1", "controller": True}],
            "annotations": {"deployment.kubernetes.io/revision": str(revision), **annotations},
        },
        "spec": {"template": template(image, f"h{revision}")},
    }


def deployment(image: str, revision: int, **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "web",
            "uid": "d-1",
            "annotations": {
                "deployment.kubernetes.io/revision": str(revision),
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                "team": "platform",
            },
        },
        "spec": {"template": template(image), **extra},
    }


SETS = [rs(1, "web:1", **{"kubernetes.io/change-cause": "first"}), rs(2, "web:2"), rs(3, "web:3")]


def test_undo_goes_to_the_second_highest_revision_with_kubectls_patch() -> None:
    plan = undo_plan(deployment("web:3", 3), SETS)
    assert (plan.from_revision, plan.to_revision, plan.replica_set) == (3, 2, "web-2")
    assert plan.patch is not None
    replace_template, replace_annotations = plan.patch
    assert replace_template["op"] == "replace" and replace_template["path"] == "/spec/template"
    assert replace_template["value"] == template("web:2")  # the hash label dropped
    assert replace_annotations == {
        "op": "replace",
        "path": "/metadata/annotations",
        # kept from the Deployment: the skip-list ones; the rest come from the ReplicaSet
        "value": {
            "deployment.kubernetes.io/revision": "3",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        },
    }


def test_undo_to_a_revision_copies_its_change_cause() -> None:
    plan = undo_plan(deployment("web:3", 3), SETS, to_revision=1)
    assert plan.image == "web:1" and plan.patch is not None
    assert plan.patch[1]["value"]["kubernetes.io/change-cause"] == "first"


def test_already_at_that_revision_is_skipped() -> None:
    plan = undo_plan(deployment("web:2", 3), SETS, to_revision=2)
    assert plan.patch is None


@pytest.mark.parametrize(
    ("live", "sets", "to", "message"),
    [
        (deployment("web:1", 1), SETS[:1], None, "no rollout history found"),
        (deployment("web:3", 3), SETS, 7, "unable to find specified revision 7"),
        (deployment("web:3", 3, paused=True), SETS, None, "cannot rollback a paused deployment"),
    ],
)
def test_impossible_rollbacks_say_why(
    live: dict[str, Any], sets: list[dict[str, Any]], to: int | None, message: str
) -> None:
    with pytest.raises(RollbackImpossible, match=message):
        undo_plan(live, copy.deepcopy(sets), to)


def test_replica_sets_of_another_owner_are_ignored() -> None:
    foreign = rs(9, "web:9")
    foreign["metadata"]["ownerReferences"] = [{"uid": "other", "controller": True}]
    plan = undo_plan(deployment("web:3", 3), [*SETS, foreign])
    assert plan.to_revision == 2
