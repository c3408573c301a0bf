"""to_table: the meta.k8s.io/v1 Table envelope, the row objects, and custom resources'
additionalPrinterColumns read by jsonpath_first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.cluster.simulator.registry import Registry, ResourceType
from harness.cluster.simulator.tables import jsonpath_first, to_table

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


def _header(table: dict[str, Any]) -> list[tuple[str, int]]:
    return [(c["name"], c["priority"]) for c in table["columnDefinitions"]]


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
