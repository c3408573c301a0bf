"""StoreEventRecorder: core/v1 Events as client-go's recorder writes them, repeats aggregated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from harness.cluster.simulator.controllers.events import StoreEventRecorder
from harness.cluster.simulator.http.startup import bootstrap
from harness.cluster.simulator.registry import Registry
from harness.cluster.simulator.store import Store


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _setup() -> tuple[Store, FakeClock, StoreEventRecorder, dict[str, Any]]:
    store = Store(Registry.builtin())
    bootstrap(store)
    clock = FakeClock()
    recorder = StoreEventRecorder(store, "deployment-controller", clock)
    rt = store.registry.lookup("apps", "v1", "deployments")
    assert rt is not None
    deployment = store.create(
        rt,
        "default",
        {
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "web:1"}]},
                },
            },
        },
    )
    return store, clock, recorder, deployment


def _events(store: Store, namespace: str = "default") -> list[dict[str, Any]]:
    rt = store.registry.lookup("", "v1", "events")
    assert rt is not None
    return store.list(rt, namespace).items


def test_an_event_names_its_object_and_source() -> None:
    store, _, recorder, deployment = _setup()
    recorder.record(deployment, "Normal", "ScalingReplicaSet", "Scaled up replica set web-x to 3")
    [event] = _events(store)
    meta = deployment["metadata"]
    assert event["metadata"]["name"].startswith("web.")
    assert event["involvedObject"] == {
        "kind": "Deployment",
        "namespace": "default",
        "name": "web",
        "uid": meta["uid"],
        "apiVersion": "apps/v1",
        "resourceVersion": meta["resourceVersion"],
    }
    assert event["source"] == {"component": "deployment-controller"}
    assert event["reportingComponent"] == "deployment-controller"
    assert (event["type"], event["reason"], event["count"]) == ("Normal", "ScalingReplicaSet", 1)
    assert event["firstTimestamp"] == event["lastTimestamp"] == "2024-05-01T12:00:00Z"


def test_an_identical_repeat_bumps_count_and_last_timestamp() -> None:
    store, clock, recorder, deployment = _setup()
    recorder.record(deployment, "Warning", "Boom", "it broke")
    clock.now += timedelta(seconds=30)
    recorder.record(deployment, "Warning", "Boom", "it broke")
    recorder.record(deployment, "Warning", "Boom", "it broke differently")
    events = sorted(_events(store), key=lambda e: e["message"])
    assert [(e["message"], e["count"]) for e in events] == [
        ("it broke", 2),
        ("it broke differently", 1),
    ]
    assert events[0]["firstTimestamp"] == "2024-05-01T12:00:00Z"
    assert events[0]["lastTimestamp"] == "2024-05-01T12:00:30Z"


def test_a_deleted_event_is_written_anew_and_cluster_objects_go_to_default() -> None:
    store, _, recorder, deployment = _setup()
    recorder.record(deployment, "Normal", "R", "m")
    [event] = _events(store)
    rt = store.registry.lookup("", "v1", "events")
    assert rt is not None
    store.delete(rt, "default", event["metadata"]["name"])
    recorder.record(deployment, "Normal", "R", "m")
    assert [e["count"] for e in _events(store)] == [1]
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "uid": "u"}}
    recorder.record(node, "Normal", "NodeReady", "ready")
    assert any(e["involvedObject"]["kind"] == "Node" for e in _events(store, "default"))


def test_recording_into_a_terminating_namespace_does_not_raise() -> None:
    store, _, recorder, _ = _setup()
    namespaces = store.registry.lookup("", "v1", "namespaces")
    assert namespaces is not None
    store.create(namespaces, None, {"metadata": {"name": "gone"}})
    store.delete(namespaces, None, "gone")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "gone"}}
    recorder.record(pod, "Normal", "R", "m")  # 403 Forbidden: dropped, logged
    assert _events(store, "gone") == []
