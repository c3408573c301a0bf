"""The pod rows `kubectl get pods` prints: ports of pkg/printers/internalversion/printers_test.go
(TestPrintPod*), through to_table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.cluster.simulator.registry import Registry, ResourceType
from harness.cluster.simulator.tables import to_table

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
REGISTRY = Registry.builtin()


def _ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rt(group: str, plural: str) -> ResourceType:
    rt = REGISTRY.lookup(group, "v1", plural)
    assert rt is not None
    return rt


def _table(rt: ResourceType, *objects: dict[str, Any], include: str = "Metadata") -> dict[str, Any]:
    return to_table(
        rt,
        list(objects),
        resource_version="42",
        continue_token=None,
        include_object=include,
        now=NOW,
    )


def _cells(rt: ResourceType, obj: dict[str, Any]) -> list[Any]:
    return list(_table(rt, obj)["rows"][0]["cells"])


def _header(table: dict[str, Any]) -> list[tuple[str, int]]:
    return [(c["name"], c["priority"]) for c in table["columnDefinitions"]]


# ================================================================= pods


def _pod(status: dict[str, Any], **extra: Any) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "metadata": {"name": "web-1", "creationTimestamp": _ago(minutes=3)},
        "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "node-a"},
        "status": status,
    }
    pod.update(extra)
    return pod


def _running(restarts: int = 0, ready: bool = True, **extra: Any) -> dict[str, Any]:
    status = {"state": {"running": {}}, "ready": ready, "restartCount": restarts}
    status.update(extra)
    return status


def test_pod_columns() -> None:
    table = _table(_rt("", "pods"))
    assert _header(table) == [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
        ("IP", 1),
        ("Node", 1),
        ("Nominated Node", 1),
        ("Readiness Gates", 1),
    ]


@pytest.mark.parametrize(
    ("status", "ready", "reason", "restarts"),
    [
        # printers_test.go TestPrintPod
        (
            {
                "phase": "podPhase",
                "containerStatuses": [_running(6), {"restartCount": 3, "state": {"running": {}}}],
            },
            "1/2",
            "podPhase",
            "9",
        ),
        (
            {
                "phase": "podPhase",
                "containerStatuses": [
                    _running(3),
                    {"restartCount": 3, "state": {"waiting": {"reason": "ContainerWaitingReason"}}},
                ],
            },
            "1/2",
            "ContainerWaitingReason",
            "6",
        ),
        (
            {
                "phase": "podPhase",
                "containerStatuses": [
                    _running(3),
                    {
                        "restartCount": 3,
                        "state": {"terminated": {"reason": "ContainerTerminatedReason"}},
                    },
                ],
            },
            "1/2",
            "ContainerTerminatedReason",
            "6",
        ),
        (
            {
                "phase": "podPhase",
                "containerStatuses": [
                    _running(3),
                    {"restartCount": 3, "state": {"terminated": {"exitCode": 1}}},
                ],
            },
            "1/2",
            "ExitCode:1",
            "6",
        ),
        (
            {
                "phase": "Running",
                "containerStatuses": [
                    _running(),
                    {"state": {"terminated": {"reason": "Completed", "exitCode": 0}}},
                ],
                "conditions": [{"type": "Ready", "status": "True"}],
            },
            "1/2",
            "Running",
            "0",
        ),
        (
            {
                "phase": "Running",
                "containerStatuses": [
                    _running(),
                    {"state": {"terminated": {"reason": "Completed", "exitCode": 0}}},
                ],
            },
            "1/2",
            "NotReady",
            "0",
        ),
        (
            {
                "phase": "Pending",
                "containerStatuses": [
                    {"state": {"waiting": {"reason": "ContainerCreating"}}},
                    {"state": {"waiting": {"reason": "ContainerCreating"}}},
                ],
            },
            "0/2",
            "ContainerCreating",
            "0",
        ),
        (
            {
                "phase": "Running",
                "containerStatuses": [
                    _running(),
                    {"restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                ],
            },
            "1/2",
            "CrashLoopBackOff",
            "4",
        ),
        ({"phase": "Pending"}, "0/2", "Pending", "0"),
        ({"phase": "Running", "reason": "Evicted"}, "0/2", "Evicted", "0"),
    ],
)
def test_pod_status_column(status: dict[str, Any], ready: str, reason: str, restarts: str) -> None:
    cells = _cells(_rt("", "pods"), _pod(status))
    assert cells[:5] == ["web-1", ready, reason, restarts, "3m"]


def test_pod_restarts_show_time_since_last_restart() -> None:
    status = {
        "phase": "Running",
        "containerStatuses": [
            _running(2, lastState={"terminated": {"finishedAt": _ago(seconds=40)}}),
            _running(1, lastState={"terminated": {"finishedAt": _ago(minutes=5)}}),
        ],
    }
    assert _cells(_rt("", "pods"), _pod(status))[3] == "3 (40s ago)"


def test_terminating_pod() -> None:
    pod = _pod({"phase": "Running", "containerStatuses": [_running(), _running()]})
    pod["metadata"]["deletionTimestamp"] = _ago(seconds=1)
    assert _cells(_rt("", "pods"), pod)[1:3] == ["2/2", "Terminating"]
    pod["status"]["reason"] = "NodeLost"
    assert _cells(_rt("", "pods"), pod)[2] == "Unknown"


def test_finished_pods_are_not_terminating_and_carry_row_conditions() -> None:
    pod = _pod(
        {
            "phase": "Succeeded",
            "containerStatuses": [
                {"state": {"terminated": {"reason": "Completed", "exitCode": 0}}},
                {"state": {"terminated": {"reason": "Completed", "exitCode": 0}}},
            ],
        }
    )
    pod["metadata"]["deletionTimestamp"] = _ago(seconds=1)
    row = _table(_rt("", "pods"), pod)["rows"][0]
    assert row["cells"][2] == "Completed"
    assert row["conditions"] == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]


@pytest.mark.parametrize(
    ("init_status", "reason"),
    [
        ({"state": {"waiting": {"reason": "ErrImagePull"}}}, "Init:ErrImagePull"),
        ({"state": {"waiting": {"reason": "PodInitializing"}}}, "Init:0/1"),
        ({"state": {"terminated": {"exitCode": 2}}}, "Init:ExitCode:2"),
        ({"state": {"terminated": {"exitCode": 2, "signal": 9}}}, "Init:Signal:9"),
        ({"state": {"terminated": {"exitCode": 1, "reason": "Error"}}}, "Init:Error"),
    ],
)
def test_init_container_status(init_status: dict[str, Any], reason: str) -> None:
    pod = _pod({"phase": "Pending", "initContainerStatuses": [{"name": "init", **init_status}]})
    pod["spec"]["initContainers"] = [{"name": "init"}]
    assert _cells(_rt("", "pods"), pod)[2] == reason


def test_sidecar_init_container_counts_toward_ready() -> None:
    pod = _pod(
        {
            "phase": "Running",
            "initContainerStatuses": [
                {"name": "proxy", "started": True, "ready": True, "state": {"running": {}}}
            ],
            "containerStatuses": [_running(), _running()],
            "conditions": [{"type": "Initialized", "status": "True"}],
        }
    )
    pod["spec"]["initContainers"] = [{"name": "proxy", "restartPolicy": "Always"}]
    assert _cells(_rt("", "pods"), pod)[1:3] == ["3/3", "Running"]


def test_pod_wide_cells() -> None:
    pod = _pod(
        {
            "phase": "Running",
            "podIPs": [{"ip": "127.0.1.5"}],
            "conditions": [{"type": "example.com/gate", "status": "True"}],
        }
    )
    pod["spec"]["readinessGates"] = [
        {"conditionType": "example.com/gate"},
        {"conditionType": "other"},
    ]
    assert _cells(_rt("", "pods"), pod)[5:] == ["127.0.1.5", "node-a", "<none>", "1/2"]
    bare = _pod({"phase": "Pending"})
    del bare["spec"]["nodeName"]
    assert _cells(_rt("", "pods"), bare)[5:] == ["<none>", "<none>", "<none>", "<none>"]
