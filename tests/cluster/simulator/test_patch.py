"""Unit tests for apply_patch, the simulator's PATCH entry point: JSON patch, merge patch, the
media types each kind accepts, and strategic merge on real kinds with their built-in schemas.

Each test names the upstream behaviour it pins: apiserver pkg/endpoints/handlers/patch.go
for status codes, RFC 7386 for merge patch, apimachinery strategicpatch for SMP.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.patch import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    apply_patch,
    merge_patch,
)
from harness.cluster.simulator.registry import ResourceType

DEPLOYMENT = ResourceType("apps", "v1", "Deployment", "deployments", "deployment", True)
POD = ResourceType("", "v1", "Pod", "pods", "pod", True)
SERVICE = ResourceType("", "v1", "Service", "services", "service", True)
WIDGET = ResourceType("example.com", "v1", "Widget", "widgets", "widget", True, custom=True)
UNKNOWN_BUILTIN = ResourceType("", "v1", "NoSuchKind", "nosuchkinds", "nosuchkind", True)

CRD_TYPES_MESSAGE = (
    "the body of the request was in an unknown format - accepted media types include: "
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
)


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def smp(obj: dict[str, Any], patch: dict[str, Any], rt: ResourceType = DEPLOYMENT) -> Any:
    return apply_patch(obj, STRATEGIC_MERGE_PATCH, body(patch), rt)


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "labels": {"app": "web"},
            "finalizers": ["a.example.com/x", "b.example.com/y"],
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "X", "name": "o1", "uid": "u1"},
                {"apiVersion": "v1", "kind": "X", "name": "o2", "uid": "u2"},
            ],
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "example/web:1",
                            "args": ["--a", "--b"],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "1"}],
                            "ports": [
                                {"containerPort": 8080, "protocol": "TCP"},
                                {"containerPort": 9090, "protocol": "TCP"},
                            ],
                        },
                        {"name": "sidecar", "image": "example/side:1"},
                    ],
                    "volumes": [{"name": "data", "hostPath": {"path": "/srv"}}],
                    "tolerations": [{"key": "a", "operator": "Exists"}],
                },
            },
        },
        "status": {
            "conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
            ]
        },
    }


# --------------------------------------------------------------------------- JSON patch


def test_json_patch_applies_operations_without_touching_the_input() -> None:
    obj = deployment()
    before = copy.deepcopy(obj)
    ops = [
        {"op": "replace", "path": "/spec/replicas", "value": 3},
        {"op": "add", "path": "/metadata/labels/tier", "value": "front"},
        {"op": "remove", "path": "/spec/template/spec/tolerations"},
        {"op": "test", "path": "/metadata/name", "value": "web"},
    ]
    result = apply_patch(obj, JSON_PATCH, body(ops), DEPLOYMENT)
    assert result["spec"]["replicas"] == 3
    assert result["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert "tolerations" not in result["spec"]["template"]["spec"]
    assert obj == before


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "test", "path": "/spec/replicas", "value": 7}],  # test op fails
        [{"op": "remove", "path": "/spec/nothing"}],  # missing path
        [{"op": "replace", "path": "/spec/template/spec/containers/5/image", "value": "x"}],
        [{"op": "frobnicate", "path": "/spec"}],  # unknown op: evanphx fails at Apply
    ],
)
def test_json_patch_apply_failure_is_generic_422(ops: list[dict[str, Any]]) -> None:
    """patch.go: a failed jsonpatch Apply -> NewGenericServerResponse(422): reason Invalid
    and the generic message (the json-patch error text is not passed through)."""
    with pytest.raises(ApiError) as caught:
        apply_patch(deployment(), JSON_PATCH, body(ops), DEPLOYMENT)
    assert caught.value.code == 422
    assert caught.value.reason == "Invalid"
    assert caught.value.message == (
        "the server rejected our request due to an error in our request"
    )


def test_json_patch_that_is_not_an_array_is_400() -> None:
    """patch.go: jsonpatch.DecodePatch fails -> NewBadRequest(err)."""
    with pytest.raises(ApiError) as caught:
        apply_patch(deployment(), JSON_PATCH, body({"op": "add"}), DEPLOYMENT)
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")
    assert "cannot unmarshal object" in caught.value.message


@pytest.mark.parametrize("content_type", [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH])
def test_malformed_json_body_is_400_invalid_json_patch(content_type: str) -> None:
    """patch.go validateAndTranscodePatch: !json.Valid -> BadRequest "invalid JSON patch"."""
    with pytest.raises(ApiError) as caught:
        apply_patch(deployment(), content_type, b'{"spec": ', DEPLOYMENT)
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")
    assert caught.value.message == "invalid JSON patch"


def test_json_patch_with_too_many_operations_is_413() -> None:
    """patch.go maxJSONPatchOperations = 10000 -> RequestEntityTooLarge."""
    ops = [{"op": "test", "path": "/kind", "value": "Deployment"}] * 10001
    with pytest.raises(ApiError) as caught:
        apply_patch(deployment(), JSON_PATCH, body(ops), DEPLOYMENT)
    assert caught.value.code == 413
    assert caught.value.message.endswith("is 10000, got 10001")


def test_kubectl_rollout_undo_json_patch_replaces_template_and_annotations() -> None:
    """The JSON patch kubectl rollout undo sends (KUBE_SPEC section 2)."""
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a"}]}}
    ops = [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": {"x": "y"}},
    ]
    obj = deployment()
    obj["metadata"]["annotations"] = {"old": "1"}
    result = apply_patch(obj, JSON_PATCH, body(ops), DEPLOYMENT)
    assert result["spec"]["template"] == template
    assert result["metadata"]["annotations"] == {"x": "y"}


# --------------------------------------------------------------------------- merge patch

# RFC 7386 Appendix A, every example.
RFC7386_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC7386_EXAMPLES)
def test_merge_patch_follows_rfc7386_appendix_a(target: Any, patch: Any, expected: Any) -> None:
    before = copy.deepcopy(target)
    assert merge_patch(target, patch) == expected
    assert target == before


def test_merge_patch_replaces_lists_and_deletes_with_null() -> None:
    """Merge patch has no merge keys: a containers list is replaced wholesale."""
    patch = {
        "metadata": {"labels": {"app": None, "v": "2"}},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "x:2"}]}}},
    }
    result = apply_patch(deployment(), MERGE_PATCH, body(patch), DEPLOYMENT)
    assert result["metadata"]["labels"] == {"v": "2"}
    assert result["spec"]["template"]["spec"]["containers"] == [{"name": "app", "image": "x:2"}]


def test_merge_patch_that_is_not_an_object_is_400() -> None:
    with pytest.raises(ApiError) as caught:
        apply_patch(deployment(), MERGE_PATCH, body([1]), DEPLOYMENT)
    assert caught.value.code == 400


def test_merge_patch_works_on_custom_resources() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"size": 1, "x": [1]}}
    result = apply_patch(widget, MERGE_PATCH, body({"spec": {"size": 2}}), WIDGET)
    assert result["spec"] == {"size": 2, "x": [1]}


# --------------------------------------------------------------------------- media types


def test_strategic_merge_on_custom_resource_is_415_with_the_crd_handlers_message() -> None:
    """apiextensions customresource_handler.go serves no SMP: negotiation 415."""
    with pytest.raises(ApiError) as caught:
        apply_patch({"spec": {}}, STRATEGIC_MERGE_PATCH, body({"spec": {}}), WIDGET)
    assert (caught.value.code, caught.value.reason) == (415, "UnsupportedMediaType")
    assert caught.value.message == CRD_TYPES_MESSAGE


def test_strategic_merge_on_a_kind_without_schema_is_415() -> None:
    with pytest.raises(ApiError) as caught:
        apply_patch({}, STRATEGIC_MERGE_PATCH, body({}), UNKNOWN_BUILTIN)
    assert caught.value.code == 415


@pytest.mark.parametrize("rt", [DEPLOYMENT, WIDGET])
def test_server_side_apply_is_415_for_now(rt: ResourceType) -> None:
    """kubectl apply --server-side turns a 415 into "server-side apply not available"."""
    with pytest.raises(ApiError) as caught:
        apply_patch({}, APPLY_PATCH, b"{}", rt)
    assert (caught.value.code, caught.value.reason) == (415, "UnsupportedMediaType")


def test_unknown_content_type_is_415_and_charset_parameter_is_ignored() -> None:
    with pytest.raises(ApiError) as caught:
        apply_patch(deployment(), "application/json", b"{}", DEPLOYMENT)
    assert caught.value.code == 415
    result = apply_patch(
        deployment(), MERGE_PATCH + "; charset=utf-8", body({"spec": {"replicas": 2}}), DEPLOYMENT
    )
    assert result["spec"]["replicas"] == 2


# --------------------------------------------------------------------------- SMP, real schemas


def test_kubectl_three_way_apply_patch_from_kube_spec() -> None:
    """KUBE_SPEC section 2: the exact PATCH kubectl apply sends to change env and image."""
    kubectl_patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "app"}],
                    "containers": [
                        {
                            "$setElementOrder/env": [{"name": "B"}],
                            "env": [
                                {"name": "B", "value": "2"},
                                {"$patch": "delete", "name": "A"},
                            ],
                            "image": "example/web:2",
                            "name": "app",
                        }
                    ],
                }
            },
        },
    }
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"] = [
        {
            "name": "app",
            "image": "example/web:1",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "1"}],
        }
    ]
    before = copy.deepcopy(obj)
    result = smp(obj, kubectl_patch)
    assert obj == before, "the input object must not be mutated"
    assert result["spec"]["replicas"] == 3
    assert result["spec"]["template"]["spec"]["containers"] == [
        {"name": "app", "image": "example/web:2", "env": [{"name": "B", "value": "2"}]}
    ]
    assert result["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/last-applied-configuration": "{}"
    }
    assert "$setElementOrder" not in json.dumps(result)


def test_containers_merge_by_name_and_keep_the_others() -> None:
    """PodSpec.containers: patchStrategy merge, patchMergeKey name."""
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "w:2"}]}}}}
    containers = smp(deployment(), patch)["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["app", "sidecar"]
    assert containers[0]["image"] == "w:2"
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "1"}]


def test_new_container_without_set_element_order_comes_first() -> None:
    """mergeSortedSlice puts patch items not in the live list first, as the docs' "Update
    API objects in place using kubectl patch" example shows (patch-demo-ctr-2 first)."""
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "new", "image": "n:1"}]}}}}
    containers = smp(deployment(), patch)["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["new", "app", "sidecar"]


def test_container_ports_merge_by_container_port() -> None:
    """Container.ports: patchMergeKey containerPort."""
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "ports": [{"containerPort": 9090, "name": "metrics"}]}
                    ]
                }
            }
        }
    }
    result = smp(deployment(), patch)
    assert result["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 8080, "protocol": "TCP"},
        {"containerPort": 9090, "protocol": "TCP", "name": "metrics"},
    ]


def test_service_ports_merge_by_port_and_selector_map_merges() -> None:
    """ServiceSpec.ports: patchMergeKey port; selector is a plain map (keys merge, null
    deletes), which is why blue/green switches must name every selector key."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"app": "web", "slot": "blue"},
            "ports": [{"port": 80, "targetPort": 8080}, {"port": 443, "targetPort": 8443}],
        },
    }
    patch = {"spec": {"selector": {"slot": "green"}, "ports": [{"port": 80, "targetPort": 9}]}}
    result = smp(service, patch, SERVICE)
    assert result["spec"]["selector"] == {"app": "web", "slot": "green"}
    assert result["spec"]["ports"] == [
        {"port": 80, "targetPort": 9},
        {"port": 443, "targetPort": 8443},
    ]
    result = smp(service, {"spec": {"selector": {"slot": None}}}, SERVICE)
    assert result["spec"]["selector"] == {"app": "web"}


def test_owner_references_merge_by_uid_and_delete_directive() -> None:
    """ObjectMeta.ownerReferences: patchMergeKey uid; `$patch: delete` removes by key."""
    patch = {
        "metadata": {
            "ownerReferences": [
                {"uid": "u2", "controller": True},
                {"$patch": "delete", "uid": "u1"},
            ]
        }
    }
    refs = smp(deployment(), patch)["metadata"]["ownerReferences"]
    assert refs == [
        {"apiVersion": "v1", "kind": "X", "name": "o2", "uid": "u2", "controller": True}
    ]


def test_status_conditions_merge_by_type() -> None:
    """DeploymentStatus.conditions: patchMergeKey type."""
    patch = {"status": {"conditions": [{"type": "Available", "status": "True"}]}}
    conditions = smp(deployment(), patch)["status"]["conditions"]
    assert [(c["type"], c["status"]) for c in conditions] == [
        ("Available", "True"),
        ("Progressing", "True"),
    ]
    assert conditions[0]["reason"] == "MinimumReplicasUnavailable"


def test_finalizers_are_a_merged_primitive_list() -> None:
    """ObjectMeta.finalizers: patchStrategy merge on strings -> set union, live order first."""
    patch = {"metadata": {"finalizers": ["c.example.com/z", "a.example.com/x"]}}
    result = smp(deployment(), patch)
    assert result["metadata"]["finalizers"] == [
        "c.example.com/z",
        "a.example.com/x",
        "b.example.com/y",
    ]


def test_delete_from_primitive_list_removes_finalizers() -> None:
    """`$deleteFromPrimitiveList/finalizers` (what kubectl apply sends for a removal)."""
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.example.com/x"]}}
    result = smp(deployment(), patch)
    assert result["metadata"]["finalizers"] == ["b.example.com/y"]
    assert not any(k.startswith("$") for k in result["metadata"])


def test_set_element_order_reorders_a_primitive_list_and_is_not_stored() -> None:
    patch = {
        "metadata": {
            "$setElementOrder/finalizers": ["b.example.com/y", "a.example.com/x"],
        }
    }
    result = smp(deployment(), patch)
    assert result["metadata"]["finalizers"] == ["b.example.com/y", "a.example.com/x"]
    assert list(result["metadata"]) == list(deployment()["metadata"])


def test_set_element_order_places_new_env_entries() -> None:
    """$setElementOrder beats the patch order and the live order (preserve-order proposal)."""
    container_patch = {
        "name": "app",
        "$setElementOrder/env": [{"name": "Z"}, {"name": "A"}, {"name": "B"}],
        "env": [{"name": "Z", "value": "0"}],
    }
    patch = {"spec": {"template": {"spec": {"containers": [container_patch]}}}}
    env = smp(deployment(), patch)["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e["name"] for e in env] == ["Z", "A", "B"]


def test_set_element_order_that_contradicts_the_patch_is_an_error() -> None:
    """validatePatchWithSetOrderList: a plain Go error -> 500 with the upstream text."""
    container_patch = {
        "name": "app",
        "$setElementOrder/env": [{"name": "A"}],
        "env": [{"name": "B", "value": "0"}],
    }
    patch = {"spec": {"template": {"spec": {"containers": [container_patch]}}}}
    with pytest.raises(ApiError) as caught:
        smp(deployment(), patch)
    assert caught.value.code == 500
    assert "doesn't match $setElementOrder list" in caught.value.message


def test_retain_keys_switching_to_recreate_drops_rolling_update() -> None:
    """DeploymentSpec.strategy has patchStrategy retainKeys; kubectl sends $retainKeys."""
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    result = smp(deployment(), patch)
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_without_retain_keys_the_strategy_map_merges() -> None:
    result = smp(deployment(), {"spec": {"strategy": {"type": "Recreate"}}})
    assert result["spec"]["strategy"]["rollingUpdate"] == {
        "maxSurge": "25%",
        "maxUnavailable": "25%",
    }


def test_retain_keys_on_a_volume_switches_its_source() -> None:
    """PodSpec.volumes: patchStrategy "merge,retainKeys": the element keeps listed keys."""
    volume = {"name": "data", "$retainKeys": ["emptyDir", "name"], "emptyDir": {}}
    patch = {"spec": {"template": {"spec": {"volumes": [volume]}}}}
    result = smp(deployment(), patch)
    assert result["spec"]["template"]["spec"]["volumes"] == [{"name": "data", "emptyDir": {}}]


def test_retain_keys_must_list_every_patched_field() -> None:
    """applyRetainKeysDirective: a patched key missing from the list ->
    ErrBadPatchFormatForRetainKeys, which the apiserver maps to 400."""
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}
    with pytest.raises(ApiError) as caught:
        smp(deployment(), patch)
    assert (caught.value.code, caught.value.message) == (
        400,
        "invalid patch format of retainKeys",
    )


def test_lists_without_strategy_are_replaced() -> None:
    """Container.args and PodSpec.tolerations carry no patchStrategy: replace."""
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "app", "args": ["--c"]}],
                    "tolerations": [{"key": "b", "operator": "Exists"}],
                }
            }
        }
    }
    pod_spec = smp(deployment(), patch)["spec"]["template"]["spec"]
    assert pod_spec["containers"][0]["args"] == ["--c"]
    assert pod_spec["tolerations"] == [{"key": "b", "operator": "Exists"}]


def test_patch_replace_directive_on_a_map_and_on_a_list() -> None:
    """`$patch: replace` in a map replaces the map; as a list element, the whole list."""
    patch = {
        "metadata": {"labels": {"$patch": "replace", "only": "this"}},
        "spec": {
            "template": {
                "spec": {"containers": [{"$patch": "replace"}, {"name": "solo", "image": "s:1"}]}
            }
        },
    }
    result = smp(deployment(), patch)
    assert result["metadata"]["labels"] == {"only": "this"}
    assert result["spec"]["template"]["spec"]["containers"] == [{"name": "solo", "image": "s:1"}]


def test_patch_delete_directive_on_a_map() -> None:
    """`$patch: delete` in a map empties it (handleDirectiveInMergeMap)."""
    result = smp(deployment(), {"spec": {"strategy": {"$patch": "delete"}}})
    assert result["spec"]["strategy"] == {}


def test_patch_merge_directive_is_rejected_like_upstream() -> None:
    """Upstream accepts only replace/delete in maps and rejects merge in lists:
    plain Go errors, so 500 with their text."""
    with pytest.raises(ApiError) as caught:
        smp(deployment(), {"spec": {"strategy": {"$patch": "merge"}}})
    assert caught.value.code == 500
    assert caught.value.message.startswith("unknown patch type: merge in map:")
    patch = {"spec": {"template": {"spec": {"containers": [{"$patch": "merge"}]}}}}
    with pytest.raises(ApiError) as caught:
        smp(deployment(), patch)
    assert caught.value.message == "merging lists cannot yet be specified in the patch"


def test_null_deletes_a_key_and_nulls_inside_new_maps_are_dropped() -> None:
    patch = {
        "spec": {"replicas": None, "paused": None},
        "metadata": {"annotations": {"a": "1", "b": None}},
    }
    result = smp(deployment(), patch)
    assert "replicas" not in result["spec"]
    assert "paused" not in result["spec"]
    assert result["metadata"]["annotations"] == {"a": "1"}


def test_list_element_without_its_merge_key_is_an_error() -> None:
    """mergepatch.ErrNoMergeKey is a plain Go error: 500 with its text."""
    patch = {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}
    with pytest.raises(ApiError) as caught:
        smp(deployment(), patch)
    assert caught.value.code == 500
    assert caught.value.message == "map: map[image:x] does not contain declared merge key: name"


def test_strategic_patch_that_is_not_an_object_is_400() -> None:
    with pytest.raises(ApiError) as caught:
        apply_patch(deployment(), STRATEGIC_MERGE_PATCH, body(["x"]), DEPLOYMENT)
    assert caught.value.code == 400


def test_kubectl_rollout_restart_patch_adds_a_template_annotation() -> None:
    patch = {
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {"kubectl.kubernetes.io/restartedAt": "2024-01-01T00:00:00Z"}
                }
            }
        }
    }
    template = smp(deployment(), patch)["spec"]["template"]
    assert template["metadata"] == {
        "labels": {"app": "web"},
        "annotations": {"kubectl.kubernetes.io/restartedAt": "2024-01-01T00:00:00Z"},
    }


def test_pod_volume_mounts_merge_by_mount_path() -> None:
    """Container.volumeMounts: patchMergeKey is mountPath (not name)."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "volumeMounts": [
                        {"name": "a", "mountPath": "/a"},
                        {"name": "b", "mountPath": "/b"},
                    ],
                }
            ]
        },
    }
    patch = {
        "spec": {
            "containers": [{"name": "app", "volumeMounts": [{"name": "c", "mountPath": "/a"}]}]
        }
    }
    mounts = smp(pod, patch, POD)["spec"]["containers"][0]["volumeMounts"]
    assert mounts == [{"name": "c", "mountPath": "/a"}, {"name": "b", "mountPath": "/b"}]
