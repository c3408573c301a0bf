"""Unit tests for the Table views `kubectl get` prints.

Cases are ports of pkg/printers/internalversion/printers_test.go (TestPrintPod*,
TestPrintService, TestPrintNodeStatus, ...) and apimachinery duration_test.go.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.cluster.simulator.registry import Registry, ResourceType
from harness.cluster.simulator.tables import human_duration, jsonpath_first, to_table

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


# ================================================================= HumanDuration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1s"),
        (70, "70s"),
        (190, "3m10s"),
        (70 * 60, "70m"),
        (47 * 3600, "47h"),
        (49 * 3600, "2d1h"),
        ((8 * 24 + 2) * 3600, "8d"),
        (367 * 24 * 3600, "367d"),
        ((365 * 2 * 24 + 25) * 3600, "2y1d"),
        ((365 * 8 * 24 + 2) * 3600, "8y"),
        # TestHumanDurationBoundaries
        (-2, "<invalid>"),
        (-1.999, "0s"),
        (0, "0s"),
        (0.999, "0s"),
        (119.999, "119s"),
        (120, "2m"),
        (121, "2m1s"),
        (599.999, "9m59s"),
        (600, "10m"),
        (601, "10m"),
        (3 * 3600 - 0.001, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 60, "3h1m"),
        (8 * 3600 - 0.001, "7h59m"),
        (8 * 3600, "8h"),
        (8 * 3600 + 59 * 60, "8h"),
        (48 * 3600 - 0.001, "47h"),
        (48 * 3600, "2d"),
        (8 * 24 * 3600 - 0.001, "7d23h"),
        (2 * 365 * 24 * 3600 - 0.001, "729d"),
        (2 * 365 * 24 * 3600, "2y"),
        (2 * 365 * 24 * 3600 + 24 * 3600, "2y1d"),
        (8 * 365 * 24 * 3600 - 0.001, "7y364d"),
        (9 * 365 * 24 * 3600, "9y"),
    ],
)
def test_human_duration_matches_upstream(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


# ================================================================= table envelope


def test_table_envelope_and_partial_object_metadata() -> None:
    ns = {
        "metadata": {"name": "team", "creationTimestamp": _ago(seconds=5)},
        "status": {"phase": "Active"},
    }
    table = _table(_rt("", "namespaces"), ns)
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "42"}
    assert _header(table) == [("Name", 0), ("Status", 0), ("Age", 0)]
    assert table["columnDefinitions"][0]["format"] == "name"
    row = table["rows"][0]
    assert row["cells"] == ["team", "Active", "5s"]
    assert row["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": ns["metadata"],
    }


def test_include_object_none_and_object() -> None:
    ns = {"metadata": {"name": "team"}, "status": {"phase": "Active"}}
    assert _table(_rt("", "namespaces"), ns, include="None")["rows"][0]["object"] is None
    full = _table(_rt("", "namespaces"), ns, include="Object")["rows"][0]["object"]
    assert full["kind"] == "Namespace" and full["apiVersion"] == "v1"
    assert full["status"] == {"phase": "Active"}


def test_continue_token_and_remaining_count() -> None:
    table = to_table(
        _rt("", "configmaps"),
        [],
        resource_version="7",
        continue_token="abc",
        remaining_item_count=3,
        now=NOW,
    )
    assert table["metadata"] == {"resourceVersion": "7", "continue": "abc", "remainingItemCount": 3}
    assert table["rows"] == []


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


# ================================================================= workloads


def test_deployment_row() -> None:
    deploy = {
        "metadata": {"name": "web", "creationTimestamp": _ago(hours=49)},
        "spec": {
            "replicas": 3,
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}],
            },
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "image": "web:1"},
                        {"name": "side", "image": "proxy:2"},
                    ]
                }
            },
        },
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    table = _table(_rt("apps", "deployments"), deploy)
    assert [n for n, _ in _header(table)] == [
        "Name",
        "Ready",
        "Up-to-date",
        "Available",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]
    assert table["rows"][0]["cells"] == [
        "web",
        "2/3",
        3,
        2,
        "2d1h",
        "app,side",
        "web:1,proxy:2",
        "app=web,tier in (a,b)",
    ]


def test_replicaset_row_with_empty_status() -> None:
    rs = {
        "metadata": {"name": "web-abc"},
        "spec": {"replicas": 2, "template": {"spec": {"containers": []}}},
    }
    table = _table(_rt("apps", "replicasets"), rs)
    assert [c["type"] for c in table["columnDefinitions"][1:4]] == ["integer"] * 3
    assert table["rows"][0]["cells"] == ["web-abc", 2, 0, 0, "<unknown>", "", "", "<none>"]


# ================================================================= services


@pytest.mark.parametrize(
    ("spec", "status", "cells"),
    [
        (
            {
                "type": "ClusterIP",
                "clusterIPs": ["127.96.0.1"],
                "ports": [{"port": 80, "protocol": "TCP"}],
                "selector": {"app": "web"},
            },
            {},
            ["ClusterIP", "127.96.0.1", "<none>", "80/TCP", "app=web"],
        ),
        (
            {
                "type": "NodePort",
                "clusterIPs": ["127.96.0.2"],
                "ports": [
                    {"port": 80, "nodePort": 30001, "protocol": "TCP"},
                    {"port": 53, "protocol": "UDP"},
                ],
            },
            {},
            ["NodePort", "127.96.0.2", "<none>", "80:30001/TCP,53/UDP", "<none>"],
        ),
        (
            {"type": "LoadBalancer", "clusterIPs": ["127.96.0.3"], "ports": []},
            {},
            ["LoadBalancer", "127.96.0.3", "<pending>", "<none>", "<none>"],
        ),
        (
            {
                "type": "LoadBalancer",
                "clusterIPs": ["127.96.0.3"],
                "externalIPs": ["1.1.1.1"],
                "ports": [],
            },
            {"loadBalancer": {"ingress": [{"ip": "2.2.2.2"}, {"hostname": "lb.example"}]}},
            ["LoadBalancer", "127.96.0.3", "2.2.2.2,lb.example,1.1.1.1", "<none>", "<none>"],
        ),
        (
            {"type": "ExternalName", "externalName": "db.example.com"},
            {},
            ["ExternalName", "<none>", "db.example.com", "<none>", "<none>"],
        ),
    ],
)
def test_service_row(spec: dict[str, Any], status: dict[str, Any], cells: list[Any]) -> None:
    svc = {
        "metadata": {"name": "web", "creationTimestamp": _ago(days=400)},
        "spec": spec,
        "status": status,
    }
    got = _cells(_rt("", "services"), svc)
    assert got[0] == "web"
    assert got[1:5] + got[6:] == cells
    assert got[5] == "400d"


# ================================================================= nodes, events, others


def test_node_row() -> None:
    node = {
        "metadata": {
            "name": "node-a",
            "creationTimestamp": _ago(minutes=20),
            "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker"},
        },
        "spec": {"unschedulable": True},
        "status": {
            "conditions": [{"type": "Ready", "status": "False"}],
            "nodeInfo": {"kubeletVersion": "v1.31.0"},
            "addresses": [{"type": "InternalIP", "address": "127.0.0.2"}],
        },
    }
    assert _cells(_rt("", "nodes"), node) == [
        "node-a",
        "NotReady,SchedulingDisabled",
        "control-plane,worker",
        "20m",
        "v1.31.0",
        "127.0.0.2",
        "<none>",
        "<unknown>",
        "<unknown>",
        "<unknown>",
    ]
    assert _cells(_rt("", "nodes"), {"metadata": {"name": "n"}})[1:3] == ["Unknown", "<none>"]


def test_event_row() -> None:
    event = {
        "metadata": {"name": "web.1"},
        "type": "Warning",
        "reason": "BackOff",
        "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{app}"},
        "source": {"component": "kubelet", "host": "node-a"},
        "message": " Back-off restarting failed container \n",
        "firstTimestamp": _ago(minutes=5),
        "lastTimestamp": _ago(seconds=30),
        "count": 4,
    }
    table = _table(_rt("", "events"), event)
    assert [n for n, p in _header(table) if p == 0] == [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Message",
    ]
    assert table["rows"][0]["cells"] == [
        "30s",
        "Warning",
        "BackOff",
        "pod/web-1",
        "spec.containers{app}",
        "kubelet, node-a",
        "Back-off restarting failed container",
        "5m",
        4,
        "web.1",
    ]


def test_singleton_event_counts_one_and_uses_event_time() -> None:
    event = {
        "metadata": {"name": "e"},
        "eventTime": _ago(seconds=8),
        "involvedObject": {"kind": "Node"},
        "reportingComponent": "sim",
    }
    cells = _cells(_rt("", "events"), event)
    assert cells[0] == "8s" and cells[3] == "node" and cells[5] == "sim" and cells[8] == 1


def test_config_and_secret_rows() -> None:
    cm = {"metadata": {"name": "c"}, "data": {"a": "1"}, "binaryData": {"b": "AA=="}}
    assert _cells(_rt("", "configmaps"), cm)[:2] == ["c", 2]
    secret = {"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "MQ=="}}
    assert _cells(_rt("", "secrets"), secret)[:3] == ["s", "Opaque", 1]


def test_endpoints_row_lists_three_then_more() -> None:
    ep = {
        "metadata": {"name": "web"},
        "subsets": [
            {"addresses": [{"ip": f"127.0.1.{i}"} for i in range(1, 5)], "ports": [{"port": 8080}]}
        ],
    }
    assert _cells(_rt("", "endpoints"), ep)[1] == (
        "127.0.1.1:8080,127.0.1.2:8080,127.0.1.3:8080 + 1 more..."
    )
    assert _cells(_rt("", "endpoints"), {"metadata": {"name": "x"}})[1] == "<none>"


def test_endpoint_slice_and_pdb_rows() -> None:
    eps = {
        "metadata": {"name": "web-x"},
        "addressType": "IPv4",
        "ports": [{"port": 8080}],
        "endpoints": [{"addresses": ["127.0.1.1"]}, {"addresses": ["127.0.1.2"]}],
    }
    assert _cells(_rt("discovery.k8s.io", "endpointslices"), eps)[:4] == [
        "web-x",
        "IPv4",
        "8080",
        "127.0.1.1,127.0.1.2",
    ]
    pdb = {
        "metadata": {"name": "p"},
        "spec": {"minAvailable": "50%"},
        "status": {"disruptionsAllowed": 1},
    }
    assert _cells(_rt("policy", "poddisruptionbudgets"), pdb)[:4] == ["p", "50%", "N/A", 1]


def test_crd_list_prints_name_and_created_at() -> None:
    crd = {"metadata": {"name": "widgets.example.com", "creationTimestamp": "2024-05-01T10:00:00Z"}}
    table = _table(_rt("apiextensions.k8s.io", "customresourcedefinitions"), crd)
    assert _header(table) == [("Name", 0), ("Created At", 0)]
    assert table["rows"][0]["cells"] == ["widgets.example.com", "2024-05-01T10:00:00Z"]


# ================================================================= custom resources


def _custom_rt(columns: list[dict[str, Any]] | None) -> ResourceType:
    registry = Registry.builtin()
    version: dict[str, Any] = {"name": "v1", "served": True, "storage": True}
    if columns is not None:
        version["additionalPrinterColumns"] = columns
    registry.register_crd(
        {
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget"},
                "versions": [version],
            }
        }
    )
    rt = registry.lookup("example.com", "v1", "widgets")
    assert rt is not None
    return rt


def test_custom_resource_without_columns_prints_name_and_age() -> None:
    table = _table(
        _custom_rt(None), {"metadata": {"name": "w", "creationTimestamp": _ago(seconds=9)}}
    )
    assert _header(table) == [("Name", 0), ("Age", 0)]
    assert table["columnDefinitions"][1]["type"] == "date"
    assert table["rows"][0]["cells"] == ["w", "9s"]


def test_custom_resource_printer_columns() -> None:
    rt = _custom_rt(
        [
            {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
            {
                "name": "Ready",
                "type": "string",
                "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
            },
            {"name": "Owner", "type": "string", "jsonPath": ".spec.owner", "priority": 1},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ]
    )
    widget = {
        "metadata": {"name": "w", "creationTimestamp": _ago(minutes=4)},
        "spec": {"size": 3},
        "status": {
            "conditions": [
                {"type": "Synced", "status": "False"},
                {"type": "Ready", "status": "True"},
            ]
        },
    }
    table = _table(rt, widget)
    assert _header(table) == [("Name", 0), ("Size", 0), ("Ready", 0), ("Owner", 1), ("Age", 0)]
    assert table["columnDefinitions"][1]["description"] == (
        "Custom resource definition column (in JSONPath format): .spec.size"
    )
    assert table["rows"][0]["cells"] == ["w", 3, "True", None, "4m"]


@pytest.mark.parametrize(
    ("path", "found", "value"),
    [
        (".spec.items[1].name", True, "b"),
        (".spec.items[*].name", True, "a"),
        ("{.spec.items[-1].name}", True, "b"),
        (".spec['odd.key']", True, 1),
        (".spec.missing", False, None),
        (".spec.items[5]", False, None),
    ],
)
def test_jsonpath_first(path: str, found: bool, value: Any) -> None:
    obj = {"spec": {"items": [{"name": "a"}, {"name": "b"}], "odd.key": 1}}
    assert jsonpath_first(obj, path) == (found, value)
