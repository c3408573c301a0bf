"""The rows of the other built-in kinds: ports of pkg/printers/internalversion/printers_test.go
(TestPrintDeployment, TestPrintService, TestPrintNodeStatus, TestPrintEvent, ...), through
to_table.
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
