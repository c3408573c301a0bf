"""strategic_merge_patch against the tables of apimachinery strategicpatch patch_test.go, on
its MergeItem / RetainKeysMergeItem test types (the cases are in strategicmerge_upstream.yaml).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.schemas import SchemaNode
from harness.cluster.simulator.strategicmerge import strategic_merge_patch

# The MergeItem / RetainKeysMergeItem test types of apimachinery
# pkg/util/strategicpatch/patch_test.go, as an OpenAPI v3 schema (testdata/
# swagger-merge-item-v3.json carries the same patch metadata).
_STRING = {"type": "string"}
_INT = {"type": "integer"}
_MERGE_ITEM = {"$ref": "#/components/schemas/mergeItem"}


def _list(items: dict[str, Any], strategy: str = "", key: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": items}
    if strategy:
        schema["x-kubernetes-patch-strategy"] = strategy
    if key:
        schema["x-kubernetes-patch-merge-key"] = key
    return schema


MERGE_ITEM_SCHEMAS: dict[str, dict[str, Any]] = {
    "mergeItem": {
        "type": "object",
        "properties": {
            "name": _STRING,
            "value": _STRING,
            "other": _STRING,
            "mergingList": _list(_MERGE_ITEM, "merge", "name"),
            "nonMergingList": _list(_MERGE_ITEM),
            "mergingIntList": _list(_INT, "merge"),
            "nonMergingIntList": _list(_INT),
            "mergeItemPtr": {
                "allOf": [_MERGE_ITEM],
                "x-kubernetes-patch-strategy": "merge",
                "x-kubernetes-patch-merge-key": "name",
            },
            "simpleMap": {"type": "object", "additionalProperties": _STRING},
            "replacingItem": {"type": "object", "x-kubernetes-patch-strategy": "replace"},
            "jsonItem": {"type": "object"},
            "retainKeysMap": {
                "$ref": "#/components/schemas/retainKeysMergeItem",
                "x-kubernetes-patch-strategy": "retainKeys",
            },
            "retainKeysMergingList": _list(_MERGE_ITEM, "merge,retainKeys", "name"),
        },
    },
    "retainKeysMergeItem": {
        "type": "object",
        "properties": {
            "name": _STRING,
            "value": _STRING,
            "other": _STRING,
            "simpleMap": {"type": "object", "additionalProperties": _STRING},
            "mergingIntList": _list(_INT, "merge"),
            "mergingList": _list(_MERGE_ITEM, "merge", "name"),
            "nonMergingList": _list(_MERGE_ITEM),
        },
    },
}
MERGE_ITEM = SchemaNode(MERGE_ITEM_SCHEMAS, MERGE_ITEM_SCHEMAS["mergeItem"])


def _sorted_merge_lists(value: Any, schema: SchemaNode) -> Any:
    """sortMergeListsByName: upstream compares its non-raw cases with merge lists sorted."""
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, child in value.items():
        if isinstance(child, dict):
            child = _sorted_merge_lists(child, schema.field(key)[0])
        elif isinstance(child, list) and child and not key.startswith("$"):
            items, meta = schema.items(key)
            if "merge" in meta.strategies:
                if isinstance(child[0], dict):
                    child = sorted(
                        (_sorted_merge_lists(c, items) for c in child),
                        key=lambda c: str(c.get(meta.merge_key)),
                    )
                else:
                    child = sorted({json.dumps(c): c for c in child}.values(), key=str)
        result[key] = child
    return result

UPSTREAM_CASES = (Path(__file__).parent / "strategicmerge_upstream.yaml").read_text()


def _upstream_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = yaml.safe_load(UPSTREAM_CASES)
    return cases


@pytest.mark.parametrize("case", _upstream_cases(), ids=lambda c: str(c["case"]))
def test_upstream_strategic_merge_patch_tables(case: dict[str, Any]) -> None:
    """Every application in apimachinery strategicpatch patch_test.go (TwoWay patches on
    Original, ThreeWay patches on Current). Raw cases compare exactly, list order included;
    the YAML-table cases compare with merge lists sorted, as upstream does."""
    original, patch = case["original"], case["patch"]
    frozen = copy.deepcopy((original, patch))
    if "error" in case:
        with pytest.raises(ApiError) as caught:
            strategic_merge_patch(original, patch, MERGE_ITEM)
        assert case["error"] in caught.value.message
        return
    result = strategic_merge_patch(original, patch, MERGE_ITEM)
    assert (original, patch) == frozen
    if case.get("any_order"):
        assert _sorted_merge_lists(result, MERGE_ITEM) == _sorted_merge_lists(
            case["expected"], MERGE_ITEM
        )
    else:
        assert result == case["expected"]
        assert json.dumps(result, sort_keys=True) == json.dumps(case["expected"], sort_keys=True)
