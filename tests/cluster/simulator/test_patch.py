"""Unit tests for the simulator's PATCH engine: JSON patch, merge patch, strategic merge.

Each test names the upstream behaviour it pins: apiserver pkg/endpoints/handlers/patch.go
for status codes, RFC 7386 for merge patch, apimachinery strategicpatch for SMP.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from harness.cluster.simulator import patch as patch_module
from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.patch import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    SchemaNode,
    apply_patch,
    definition_name,
    kind_schema,
    merge_patch,
    strategic_merge_patch,
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


# --------------------------------------------------------------------------- schema plumbing


def test_schema_lookup_finds_builtin_kinds_and_resolves_refs() -> None:
    assert definition_name("apps", "v1", "Deployment") == "io.k8s.api.apps.v1.Deployment"
    assert definition_name("", "v1", "Service") == "io.k8s.api.core.v1.Service"
    assert definition_name("example.com", "v1", "Widget") is None
    schema = kind_schema("apps", "v1", "Deployment")
    assert schema is not None
    spec, _ = schema.field("spec")
    template, _ = spec.field("template")
    pod_spec, _ = template.field("spec")
    containers, meta = pod_spec.items("containers")
    assert (meta.strategies, meta.merge_key) == (("merge",), "name")
    _, env_meta = containers.items("env")
    assert env_meta.merge_key == "name"
    _, volumes_meta = pod_spec.items("volumes")
    assert volumes_meta.strategies == ("merge", "retainKeys")


def test_schema_directory_is_v1_31_or_newer() -> None:
    name = patch_module.schema_directory().name
    major, minor = (int(x) for x in name[1:].split(".")[:2])
    assert (major, minor) >= (1, 31)
    assert name.endswith("-local")


# --------------------------------------------------------------------------- upstream tables

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


# Ported from kubernetes/apimachinery pkg/util/strategicpatch/patch_test.go (Apache-2.0):
# strategicMergePatchRawTestCases, customStrategicMergePatchRawTestCases,
# customStrategicMergePatchTestCaseData and createStrategicMergePatchTestCaseData, one
# entry per distinct (original, patch) application, duplicates removed.
UPSTREAM_CASES = """
- case: nested patch merge with empty list/TwoWay
  original: {name: hi}
  patch:
    mergingList:
    - {name: hello}
    - {$patch: delete, name: doesntexist}
  expected:
    name: hi
    mergingList:
    - {name: hello}
- case: nested patch merge with empty list/ThreeWay
  original:
    name: hi
    mergingList:
    - {name: hello2}
  patch:
    $setElementOrder/mergingList:
    - {name: hello}
    - {name: doesntexist}
    mergingList:
    - {name: hello}
  expected:
    name: hi
    mergingList:
    - {name: hello}
    - {name: hello2}
- case: delete items in lists of scalars/TwoWay
  original:
    mergingIntList: [1, 2, 3]
  patch:
    $setElementOrder/mergingIntList: [1, 2]
    $deleteFromPrimitiveList/mergingIntList: [3]
  expected:
    mergingIntList: [1, 2]
- case: delete items in lists of scalars/ThreeWay
  original:
    mergingIntList: [1, 2, 3, 4]
  patch:
    $setElementOrder/mergingIntList: [1, 2]
    $deleteFromPrimitiveList/mergingIntList: [3]
  expected:
    mergingIntList: [1, 2, 4]
- case: delete all duplicate items in lists of scalars/TwoWay
  original:
    mergingIntList: [1, 2, 3, 3]
  patch:
    $setElementOrder/mergingIntList: [1, 2]
    $deleteFromPrimitiveList/mergingIntList: [3]
  expected:
    mergingIntList: [1, 2]
- case: delete all duplicate items in lists of scalars/ThreeWay
  original:
    mergingIntList: [1, 2, 3, 3, 4]
  patch:
    $setElementOrder/mergingIntList: [1, 2]
    $deleteFromPrimitiveList/mergingIntList: [3]
  expected:
    mergingIntList: [1, 2, 4]
- case: add and delete items in lists of scalars/TwoWay
  original:
    mergingIntList: [1, 2, 3]
  patch:
    $setElementOrder/mergingIntList: [1, 2, 4]
    $deleteFromPrimitiveList/mergingIntList: [3]
    mergingIntList: [4]
  expected:
    mergingIntList: [1, 2, 4]
- case: add and delete items in lists of scalars/ThreeWay
  original:
    mergingIntList: [1, 2, 3, 4]
  patch:
    $setElementOrder/mergingIntList: [1, 2, 4]
    $deleteFromPrimitiveList/mergingIntList: [3]
  expected:
    mergingIntList: [1, 2, 4]
- case: merge lists of maps/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 2, value: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 4}
    - {name: 1}
    - {name: 2}
    - {name: 3}
    mergingList:
    - {name: 4, value: 4}
    - {name: 3, value: 3}
  expected:
    mergingList:
    - {name: 4, value: 4}
    - {name: 1}
    - {name: 2, value: 2}
    - {name: 3, value: 3}
- case: merge lists of maps/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 4}
    - {name: 1}
    - {name: 2}
    - {name: 3}
    mergingList:
    - {name: 4, value: 4}
    - {name: 3, value: 3}
  expected:
    mergingList:
    - {name: 4, value: 4}
    - {name: 1, other: a}
    - {name: 2, value: 2, other: b}
    - {name: 3, value: 3}
- case: merge lists of maps with conflict/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 2, value: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    - {name: 3}
    mergingList:
    - {name: 3, value: 3}
  expected:
    mergingList:
    - {name: 1}
    - {name: 2, value: 2}
    - {name: 3, value: 3}
- case: merge lists of maps with conflict/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 3, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    - {name: 3}
    mergingList:
    - {name: 2, value: 2}
    - {name: 3, value: 3}
  expected:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2, other: b}
    - {name: 3, value: 3}
- case: add field to map in merging list/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 2, value: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - {name: 1, value: 1}
  expected:
    mergingList:
    - {name: 1, value: 1}
    - {name: 2, value: 2}
- case: add field to map in merging list/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - {name: 1, value: 1}
  expected:
    mergingList:
    - {name: 1, value: 1, other: a}
    - {name: 2, value: 2, other: b}
- case: add field to map in merging list with conflict/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 3, value: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - {name: 1, value: 1}
    - {name: 2, value: 2}
  expected:
    mergingList:
    - {name: 1, value: 1, other: a}
    - {name: 2, value: 2}
    - {name: 3, value: 2, other: b}
- case: add duplicate field to map in merging list/ThreeWay
  original:
    mergingList:
    - {name: 1, value: 1, other: a}
    - {name: 2, value: 2, other: b}
  patch: {}
  expected:
    mergingList:
    - {name: 1, value: 1, other: a}
    - {name: 2, value: 2, other: b}
- case: add an item that already exists in current object in merging list/TwoWay
  original:
    mergingList:
    - {name: 1, value: a}
    - {name: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    - {name: 3}
    mergingList:
    - {name: 3}
  expected:
    mergingList:
    - {name: 1, value: a}
    - {name: 2}
    - {name: 3}
- case: add an item that already exists in current object in merging list/ThreeWay
  original:
    mergingList:
    - {name: 1, value: a, other: x}
    - {name: 2}
    - {name: 3}
  patch: {}
  expected:
    mergingList:
    - {name: 1, value: a, other: x}
    - {name: 2}
    - {name: 3}
- case: add duplicate field to map in merging list with conflict/ThreeWay
  original:
    mergingList:
    - {name: 1, value: 1, other: a}
    - {name: 2, value: 3, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - {name: 2, value: 2}
  expected:
    mergingList:
    - {name: 1, value: 1, other: a}
    - {name: 2, value: 2, other: b}
- case: replace map field value in merging list/TwoWay
  original:
    mergingList:
    - {name: 1, value: 1}
    - {name: 2, value: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - {name: 1, value: a}
  expected:
    mergingList:
    - {name: 1, value: a}
    - {name: 2, value: 2}
- case: replace map field value in merging list/ThreeWay
  original:
    mergingList:
    - {name: 1, value: 1, other: a}
    - {name: 2, value: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - {name: 1, value: a}
  expected:
    mergingList:
    - {name: 1, value: a, other: a}
    - {name: 2, value: 2, other: b}
- case: replace map field value in merging list with conflict/ThreeWay
  original:
    mergingList:
    - {name: 1, value: 3, other: a}
    - {name: 2, value: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - {name: 1, value: a}
  expected:
    mergingList:
    - {name: 1, value: a, other: a}
    - {name: 2, value: 2, other: b}
- case: delete map from merging list/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    mergingList:
    - {name: 1, $patch: delete}
  expected:
    mergingList:
    - {name: 2}
- case: delete map from merging list/ThreeWay
  original:
    mergingList:
    - {name: 1}
    - {name: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    mergingList:
    - {name: 1, $patch: delete}
  expected:
    mergingList:
    - {name: 2, other: b}
- case: delete map from merging list with conflict/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    mergingList:
    - {name: 1, $patch: delete}
  expected:
    mergingList:
    - {name: 2, other: b}
- case: delete missing map from merging list/ThreeWay
  original:
    mergingList:
    - {name: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    mergingList:
    - {name: 1, $patch: delete}
  expected:
    mergingList:
    - {name: 2, other: b}
- case: delete missing map from merging list with conflict/ThreeWay
  original:
    mergingList:
    - {name: 3, other: a}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    mergingList:
    - {name: 2}
    - {name: 1, $patch: delete}
  expected:
    mergingList:
    - {name: 2}
    - {name: 3, other: a}
- case: add map and delete map from merging list/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    - {name: 3}
    mergingList:
    - {name: 3}
    - {name: 1, $patch: delete}
  expected:
    mergingList:
    - {name: 2}
    - {name: 3}
- case: add map and delete map from merging list/ThreeWay
  original:
    mergingList:
    - {name: 1}
    - {name: 2, other: b}
    - {name: 4, other: c}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    - {name: 3}
    mergingList:
    - {name: 3}
    - {name: 1, $patch: delete}
  expected:
    mergingList:
    - {name: 2, other: b}
    - {name: 4, other: c}
    - {name: 3}
- case: add map and delete map from merging list with conflict/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 4, other: c}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    - {name: 3}
    mergingList:
    - {name: 2}
    - {name: 3}
    - {name: 1, $patch: delete}
  expected:
    mergingList:
    - {name: 4, other: c}
    - {name: 2}
    - {name: 3}
- case: delete field from map in merging list/TwoWay
  original:
    mergingList:
    - {name: 1, value: 1}
    - {name: 2, value: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - {name: 1, value: null}
  expected:
    mergingList:
    - {name: 1}
    - {name: 2, value: 2}
- case: delete field from map in merging list/ThreeWay
  original:
    mergingList:
    - {name: 1, value: 1, other: a}
    - {name: 2, value: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - {name: 1, value: null}
  expected:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2, other: b}
- case: delete field from map in merging list with conflict/ThreeWay
  original:
    mergingList:
    - {name: 1, value: a, other: a}
    - {name: 2, value: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - {name: 1, value: null}
  expected:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2}
- case: delete missing field from map in merging list/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - {name: 1, value: null}
  expected:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2, other: b}
- case: delete missing field from map in merging list with conflict/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - {name: 1, value: null}
    - {name: 2, value: 2}
  expected:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2, other: b}
- case: replace non merging list nested in merging list/TwoWay
  original:
    mergingList:
    - name: 1
      nonMergingList:
      - {name: 1}
      - {name: 2, value: 2}
    - {name: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - name: 1
      nonMergingList:
      - {name: 1, value: 1}
  expected:
    mergingList:
    - name: 1
      nonMergingList:
      - {name: 1, value: 1}
    - {name: 2}
- case: replace non merging list nested in merging list/ThreeWay
  original:
    mergingList:
    - name: 1
      other: a
      nonMergingList:
      - {name: 1}
      - {name: 2, value: 2}
    - {name: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - name: 1
      nonMergingList:
      - {name: 1, value: 1}
  expected:
    mergingList:
    - name: 1
      other: a
      nonMergingList:
      - {name: 1, value: 1}
    - {name: 2, other: b}
- case: replace non merging list nested in merging list with value conflict/ThreeWay
  original:
    mergingList:
    - name: 1
      other: a
      nonMergingList:
      - {name: 1, value: c}
    - {name: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - name: 1
      nonMergingList:
      - {name: 1, value: 1}
  expected:
    mergingList:
    - name: 1
      other: a
      nonMergingList:
      - {name: 1, value: 1}
    - {name: 2, other: b}
- case: replace non merging list nested in merging list with deletion conflict/ThreeWay
  original:
    mergingList:
    - name: 1
      other: a
      nonMergingList:
      - {name: 2, value: 2}
    - {name: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - name: 1
      nonMergingList:
      - {name: 1, value: 1}
  expected:
    mergingList:
    - name: 1
      other: a
      nonMergingList:
      - {name: 1, value: 1}
    - {name: 2, other: b}
- case: add field to map in merging list nested in merging list/TwoWay
  original:
    mergingList:
    - name: 1
      mergingList:
      - {name: 1}
      - {name: 2, value: 2}
    - {name: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - $setElementOrder/mergingList:
      - {name: 1}
      - {name: 2}
      name: 1
      mergingList:
      - {name: 1, value: 1}
  expected:
    mergingList:
    - name: 1
      mergingList:
      - {name: 1, value: 1}
      - {name: 2, value: 2}
    - {name: 2}
- case: add field to map in merging list nested in merging list/ThreeWay
  original:
    mergingList:
    - name: 1
      other: a
      mergingList:
      - {name: 1}
      - {name: 2, value: 2}
    - {name: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - $setElementOrder/mergingList:
      - {name: 1}
      - {name: 2}
      name: 1
      mergingList:
      - {name: 1, value: 1}
  expected:
    mergingList:
    - name: 1
      other: a
      mergingList:
      - {name: 1, value: 1}
      - {name: 2, value: 2}
    - {name: 2, other: b}
- case: add field to map in merging list nested in merging list with value conflict/ThreeWay
  original:
    mergingList:
    - name: 1
      other: a
      mergingList:
      - {name: 1, value: a, other: c}
      - {name: 2, value: b, other: d}
    - {name: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - $setElementOrder/mergingList:
      - {name: 1}
      - {name: 2}
      name: 1
      mergingList:
      - {name: 1, value: 1}
      - {name: 2, value: 2}
  expected:
    mergingList:
    - name: 1
      other: a
      mergingList:
      - {name: 1, value: 1, other: c}
      - {name: 2, value: 2, other: d}
    - {name: 2, other: b}
- case: add field to map in merging list nested in merging list with deletion conflict/ThreeWay
  original:
    mergingList:
    - name: 1
      other: a
      mergingList:
      - {name: 2, value: 2, other: d}
    - {name: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - $setElementOrder/mergingList:
      - {name: 1}
      - {name: 2}
      name: 1
      mergingList:
      - {name: 1, value: 1}
  expected:
    mergingList:
    - name: 1
      other: a
      mergingList:
      - {name: 1, value: 1}
      - {name: 2, value: 2, other: d}
    - {name: 2, other: b}
- case: add field to map in merging list nested in merging list with deletion conflict/TwoWay
  original:
    mergingList:
    - name: 1
      mergingList:
      - {name: 1}
      - {name: 2, value: 2}
    - {name: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - $setElementOrder/mergingList:
      - {name: 2}
      - {name: 1}
      name: 1
      mergingList:
      - {name: 1, value: 1}
  expected:
    mergingList:
    - name: 1
      mergingList:
      - {name: 2, value: 2}
      - {name: 1, value: 1}
    - {name: 2}
- case: add field to map in merging list nested in merging list with deletion conflict/ThreeWay
  original:
    mergingList:
    - name: 1
      other: a
      mergingList:
      - {name: 2, value: 2, other: d}
    - {name: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    mergingList:
    - $setElementOrder/mergingList:
      - {name: 2}
      - {name: 1}
      name: 1
      mergingList:
      - {name: 1, value: 1}
  expected:
    mergingList:
    - name: 1
      other: a
      mergingList:
      - {name: 2, value: 2, other: d}
      - {name: 1, value: 1}
    - {name: 2, other: b}
- case: add map to merging list by pointer/TwoWay
  original:
    mergeItemPtr:
    - {name: 1}
  patch:
    $setElementOrder/mergeItemPtr:
    - {name: 1}
    - {name: 2}
    mergeItemPtr:
    - {name: 2}
  expected:
    mergeItemPtr:
    - {name: 1}
    - {name: 2}
- case: add map to merging list by pointer/ThreeWay
  original:
    mergeItemPtr:
    - {name: 1, other: a}
    - {name: 3}
  patch:
    $setElementOrder/mergeItemPtr:
    - {name: 1}
    - {name: 2}
    mergeItemPtr:
    - {name: 2}
  expected:
    mergeItemPtr:
    - {name: 1, other: a}
    - {name: 2}
    - {name: 3}
- case: add map to merging list by pointer with conflict/ThreeWay
  original:
    mergeItemPtr:
    - {name: 3}
  patch:
    $setElementOrder/mergeItemPtr:
    - {name: 1}
    - {name: 2}
    mergeItemPtr:
    - {name: 1}
    - {name: 2}
  expected:
    mergeItemPtr:
    - {name: 1}
    - {name: 2}
    - {name: 3}
- case: add field to map in merging list by pointer/TwoWay
  original:
    mergeItemPtr:
    - name: 1
      mergeItemPtr:
      - {name: 1}
      - {name: 2, value: 2}
    - {name: 2}
  patch:
    $setElementOrder/mergeItemPtr:
    - {name: 1}
    - {name: 2}
    mergeItemPtr:
    - $setElementOrder/mergeItemPtr:
      - {name: 1}
      - {name: 2}
      name: 1
      mergeItemPtr:
      - {name: 1, value: 1}
  expected:
    mergeItemPtr:
    - name: 1
      mergeItemPtr:
      - {name: 1, value: 1}
      - {name: 2, value: 2}
    - {name: 2}
- case: add field to map in merging list by pointer/ThreeWay
  original:
    mergeItemPtr:
    - name: 1
      other: a
      mergeItemPtr:
      - {name: 1, other: a}
      - {name: 2, value: 2, other: b}
    - {name: 2, other: b}
  patch:
    $setElementOrder/mergeItemPtr:
    - {name: 1}
    - {name: 2}
    mergeItemPtr:
    - $setElementOrder/mergeItemPtr:
      - {name: 1}
      - {name: 2}
      name: 1
      mergeItemPtr:
      - {name: 1, value: 1}
  expected:
    mergeItemPtr:
    - name: 1
      other: a
      mergeItemPtr:
      - {name: 1, value: 1, other: a}
      - {name: 2, value: 2, other: b}
    - {name: 2, other: b}
- case: add field to map in merging list by pointer with conflict/ThreeWay
  original:
    mergeItemPtr:
    - name: 1
      other: a
      mergeItemPtr:
      - {name: 1, value: a}
      - {name: 2, value: 2, other: b}
    - {name: 2, other: b}
  patch:
    $setElementOrder/mergeItemPtr:
    - {name: 1}
    - {name: 2}
    mergeItemPtr:
    - $setElementOrder/mergeItemPtr:
      - {name: 1}
      - {name: 2}
      name: 1
      mergeItemPtr:
      - {name: 1, value: 1}
  expected:
    mergeItemPtr:
    - name: 1
      other: a
      mergeItemPtr:
      - {name: 1, value: 1}
      - {name: 2, value: 2, other: b}
    - {name: 2, other: b}
- case: merge lists of scalars/TwoWay
  original:
    mergingIntList: [1, 2]
  patch:
    $setElementOrder/mergingIntList: [1, 2, 3]
    mergingIntList: [3]
  expected:
    mergingIntList: [1, 2, 3]
- case: merge lists of scalars/ThreeWay
  original:
    mergingIntList: [1, 2, 4]
  patch:
    $setElementOrder/mergingIntList: [1, 2, 3]
    mergingIntList: [3]
  expected:
    mergingIntList: [1, 2, 3, 4]
- case: add duplicate field to map in merging int list/ThreeWay
  original:
    mergingIntList: [1, 2, 3]
  patch: {}
  expected:
    mergingIntList: [1, 2, 3]
- case: add an item in a list of primitives and preserve order/TwoWay
  original:
    mergingIntList: [1, 2]
  patch:
    $setElementOrder/mergingIntList: [3, 1, 2]
    mergingIntList: [3]
  expected:
    mergingIntList: [3, 1, 2]
- case: add an item in a list of primitives and preserve order/ThreeWay
  original:
    mergingIntList: [1, 4, 2]
  patch:
    $setElementOrder/mergingIntList: [3, 1, 2]
    mergingIntList: [3]
  expected:
    mergingIntList: [3, 1, 4, 2]
- case: delete an item in a list of primitives and preserve order/TwoWay
  original:
    mergingIntList: [1, 2, 3]
  patch:
    $setElementOrder/mergingIntList: [2, 1]
    $deleteFromPrimitiveList/mergingIntList: [3]
  expected:
    mergingIntList: [2, 1]
- case: add an item in a list and preserve order/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 2, value: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 3}
    - {name: 1}
    - {name: 2}
    mergingList:
    - {name: 3, value: 3}
  expected:
    mergingList:
    - {name: 3, value: 3}
    - {name: 1}
    - {name: 2, value: 2}
- case: add an item in a list and preserve order/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 3}
    - {name: 1}
    - {name: 2}
    mergingList:
    - {name: 3, value: 3}
  expected:
    mergingList:
    - {name: 3, value: 3}
    - {name: 1, other: a}
    - {name: 2, value: 2, other: b}
- case: add multiple items in a list and preserve order/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 2, value: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 4}
    - {name: 2}
    - {name: 3}
    mergingList:
    - {name: 4, value: 4}
    - {name: 3, value: 3}
  expected:
    mergingList:
    - {name: 1}
    - {name: 4, value: 4}
    - {name: 2, value: 2}
    - {name: 3, value: 3}
- case: add multiple items in a list and preserve order/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2, other: b}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 4}
    - {name: 2}
    - {name: 3}
    mergingList:
    - {name: 4, value: 4}
    - {name: 3, value: 3}
  expected:
    mergingList:
    - {name: 1, other: a}
    - {name: 4, value: 4}
    - {name: 2, value: 2, other: b}
    - {name: 3, value: 3}
- case: delete an item in a list and preserve order/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 3, value: 3}
    - {name: 2, value: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    - {name: 1}
    mergingList:
    - {name: 3, $patch: delete}
  expected:
    mergingList:
    - {name: 2, value: 2}
    - {name: 1}
- case: delete an item in a list and preserve order/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2, other: b}
    - {name: 3, value: 3}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    - {name: 1}
    mergingList:
    - {name: 3, $patch: delete}
  expected:
    mergingList:
    - {name: 2, value: 2, other: b}
    - {name: 1, other: a}
- case: change an item in a list and preserve order/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 3, value: 3}
    - {name: 2, value: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    - {name: 3}
    - {name: 1}
    mergingList:
    - {name: 3, value: x}
  expected:
    mergingList:
    - {name: 2, value: 2}
    - {name: 3, value: x}
    - {name: 1}
- case: change an item in a list and preserve order/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2, other: b}
    - {name: 3, value: 3}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    - {name: 3}
    - {name: 1}
    mergingList:
    - {name: 3, value: x}
  expected:
    mergingList:
    - {name: 2, value: 2, other: b}
    - {name: 3, value: x}
    - {name: 1, other: a}
- case: add and delete an item in a list and preserve order/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 3, value: 3}
    - {name: 2, value: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 4}
    - {name: 2}
    - {name: 1}
    mergingList:
    - {name: 4, value: 4}
    - {name: 3, $patch: delete}
  expected:
    mergingList:
    - {name: 4, value: 4}
    - {name: 2, value: 2}
    - {name: 1}
- case: add and delete an item in a list and preserve order/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2, other: b}
    - {name: 3, value: 3}
  patch:
    $setElementOrder/mergingList:
    - {name: 4}
    - {name: 2}
    - {name: 1}
    mergingList:
    - {name: 4, value: 4}
    - {name: 3, $patch: delete}
  expected:
    mergingList:
    - {name: 4, value: 4}
    - {name: 2, value: 2, other: b}
    - {name: 1, other: a}
- case: set elements order in a list/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 3, value: 3}
    - {name: 4, value: 4}
    - {name: 2, value: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 4}
    - {name: 2}
    - {name: 3}
    - {name: 1}
  expected:
    mergingList:
    - {name: 4, value: 4}
    - {name: 2, value: 2}
    - {name: 3, value: 3}
    - {name: 1}
- case: set elements order in a list/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 3, value: 3}
    - {name: 4, value: 4}
    - {name: 2, value: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 4}
    - {name: 2}
    - {name: 3}
    - {name: 1}
  expected:
    mergingList:
    - {name: 4, value: 4}
    - {name: 2, value: 2}
    - {name: 3, value: 3}
    - {name: 1, other: a}
- case: set elements order in a list with server-only items/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 3, value: 3}
    - {name: 4, value: 4}
    - {name: 2, value: 2}
    - {name: 9}
  patch:
    $setElementOrder/mergingList:
    - {name: 4}
    - {name: 2}
    - {name: 3}
    - {name: 1}
  expected:
    mergingList:
    - {name: 4, value: 4}
    - {name: 2, value: 2}
    - {name: 3, value: 3}
    - {name: 1, other: a}
    - {name: 9}
- case: set elements order in a list with server-only items 2/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 2, value: 2}
    - {name: 3, value: 3}
    - {name: 4, value: 4}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    - {name: 1}
    - {name: 4}
    - {name: 3}
  expected:
    mergingList:
    - {name: 2, value: 2}
    - {name: 1}
    - {name: 4, value: 4}
    - {name: 3, value: 3}
- case: set elements order in a list with server-only items 2/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2}
    - {name: 9}
    - {name: 3, value: 3}
    - {name: 4, value: 4}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    - {name: 1}
    - {name: 4}
    - {name: 3}
  expected:
    mergingList:
    - {name: 2, value: 2}
    - {name: 1, other: a}
    - {name: 9}
    - {name: 4, value: 4}
    - {name: 3, value: 3}
- case: set elements order in a list with server-only items 3/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, value: 2}
    - {name: 7}
    - {name: 9}
    - {name: 8}
    - {name: 3, value: 3}
    - {name: 4, value: 4}
  patch:
    $setElementOrder/mergingList:
    - {name: 2}
    - {name: 1}
    - {name: 4}
    - {name: 3}
  expected:
    mergingList:
    - {name: 2, value: 2}
    - {name: 1, other: a}
    - {name: 7}
    - {name: 9}
    - {name: 8}
    - {name: 4, value: 4}
    - {name: 3, value: 3}
- case: add multiple items in a int list and preserve order/TwoWay
  original:
    mergingIntList: [1, 2]
  patch:
    $setElementOrder/mergingIntList: [1, 4, 2, 3]
    mergingIntList: [4, 3]
  expected:
    mergingIntList: [1, 4, 2, 3]
- case: delete an item in a int list and preserve order/TwoWay
  original:
    mergingIntList: [1, 3, 2]
  patch:
    $setElementOrder/mergingIntList: [2, 1]
    $deleteFromPrimitiveList/mergingIntList: [3]
  expected:
    mergingIntList: [2, 1]
- case: add and delete an item in a int list and preserve order/TwoWay
  original:
    mergingIntList: [1, 3, 2]
  patch:
    $setElementOrder/mergingIntList: [4, 2, 1]
    mergingIntList: [4]
    $deleteFromPrimitiveList/mergingIntList: [3]
  expected:
    mergingIntList: [4, 2, 1]
- case: add and delete an item in a int list and preserve order/ThreeWay
  original:
    mergingIntList: [1, 2, 3]
  patch:
    $setElementOrder/mergingIntList: [4, 2, 1]
    mergingIntList: [4]
    $deleteFromPrimitiveList/mergingIntList: [3]
  expected:
    mergingIntList: [4, 2, 1]
- case: set elements order in a int list/TwoWay
  original:
    mergingIntList: [1, 3, 4, 2]
  patch:
    $setElementOrder/mergingIntList: [4, 2, 3, 1]
  expected:
    mergingIntList: [4, 2, 3, 1]
- case: set elements order in a int list with server-only items/ThreeWay
  original:
    mergingIntList: [1, 3, 4, 2, 9]
  patch:
    $setElementOrder/mergingIntList: [4, 2, 3, 1]
  expected:
    mergingIntList: [4, 2, 3, 1, 9]
- case: set elements order in a int list with server-only items 2/TwoWay
  original:
    mergingIntList: [1, 2, 3, 4]
  patch:
    $setElementOrder/mergingIntList: [2, 1, 4, 3]
  expected:
    mergingIntList: [2, 1, 4, 3]
- case: set elements order in a int list with server-only items 2/ThreeWay
  original:
    mergingIntList: [1, 2, 9, 3, 4]
  patch:
    $setElementOrder/mergingIntList: [2, 1, 4, 3]
  expected:
    mergingIntList: [2, 1, 9, 4, 3]
- case: set elements order in a int list with server-only items 3/TwoWay
  original:
    mergingIntList: [1, 2, 3, 2, 4]
  patch:
    $setElementOrder/mergingIntList: [2, 1, 4, 3, 2]
  expected:
    mergingIntList: [2, 2, 1, 4, 3]
- case: retainKeys map should clear defaulted field/TwoWay
  original: {}
  patch:
    retainKeysMap: {other: bar}
  expected:
    retainKeysMap: {other: bar}
- case: retainKeys map should clear defaulted field/ThreeWay
  original:
    retainKeysMap: {value: foo}
  patch:
    retainKeysMap:
      $retainKeys: [other]
      other: bar
  expected:
    retainKeysMap: {other: bar}
- case: retainKeys map should clear defaulted field with conflict (discriminated union)/TwoWay
  original: {}
  patch:
    retainKeysMap: {name: type2, other: bar}
  expected:
    retainKeysMap: {name: type2, other: bar}
- case: retainKeys map should clear defaulted field with conflict (discriminated union)/ThreeWay
  original:
    retainKeysMap: {name: type1, value: foo}
  patch:
    retainKeysMap:
      $retainKeys: [name, other]
      name: type2
      other: bar
  expected:
    retainKeysMap: {name: type2, other: bar}
- case: retainKeys map adds a field/TwoWay
  original:
    retainKeysMap: {name: foo}
  patch:
    retainKeysMap:
      $retainKeys: [name, value]
      value: bar
  expected:
    retainKeysMap: {name: foo, value: bar}
- case: retainKeys map adds a field and clear a field/ThreeWay
  original:
    retainKeysMap: {name: foo, other: a}
  patch:
    retainKeysMap:
      $retainKeys: [name, value]
      value: bar
  expected:
    retainKeysMap: {name: foo, value: bar}
- case: retainKeys map deletes a field/TwoWay
  original:
    retainKeysMap: {name: foo, value: bar}
  patch:
    retainKeysMap:
      $retainKeys: [name]
      value: null
  expected:
    retainKeysMap: {name: foo}
- case: retainKeys map deletes a field and clears a field/ThreeWay
  original:
    retainKeysMap: {name: foo, value: bar, other: a}
  patch:
    retainKeysMap:
      $retainKeys: [name]
      value: null
  expected:
    retainKeysMap: {name: foo}
- case: retainKeys map clears a field/TwoWay
  original:
    retainKeysMap: {name: foo, value: bar}
  patch: {}
  expected:
    retainKeysMap: {name: foo, value: bar}
- case: retainKeys map clears a field/ThreeWay
  original:
    retainKeysMap: {name: foo, value: bar, other: a}
  patch:
    retainKeysMap:
      $retainKeys: [name, value]
  expected:
    retainKeysMap: {name: foo, value: bar}
- case: retainKeys map nested map with no change/TwoWay
  original:
    retainKeysMap:
      name: foo
      simpleMap: {key1: a}
  patch:
    retainKeysMap:
      $retainKeys: [name, simpleMap, value]
      value: bar
  expected:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: a}
- case: retainKeys map adds a field in a nested map/TwoWay
  original:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: a}
  patch:
    retainKeysMap:
      $retainKeys: [name, simpleMap, value]
      simpleMap: {key2: b}
  expected:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: a, key2: b}
- case: retainKeys map adds a field in a nested map/ThreeWay
  original:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: a, key3: c}
  patch:
    retainKeysMap:
      $retainKeys: [name, simpleMap, value]
      simpleMap: {key2: b}
  expected:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: a, key2: b, key3: c}
- case: retainKeys map deletes a field in a nested map/TwoWay
  original:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: a, key2: b}
  patch:
    retainKeysMap:
      $retainKeys: [name, simpleMap, value]
      simpleMap: {key2: null}
  expected:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: a}
- case: retainKeys map deletes a field in a nested map/ThreeWay
  original:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: a, key2: b, key3: c}
  patch:
    retainKeysMap:
      $retainKeys: [name, simpleMap, value]
      simpleMap: {key2: null}
  expected:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: a, key3: c}
- case: retainKeys map changes a field in a nested map/TwoWay
  original:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: a, key2: b}
  patch:
    retainKeysMap:
      $retainKeys: [name, simpleMap, value]
      simpleMap: {key1: x}
  expected:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: x, key2: b}
- case: retainKeys map changes a field in a nested map/ThreeWay
  original:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: a, key2: b, key3: c}
  patch:
    retainKeysMap:
      $retainKeys: [name, simpleMap, value]
      simpleMap: {key1: x}
  expected:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: x, key2: b, key3: c}
- case: retainKeys map changes a field in a nested map with conflict/TwoWay
  original:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: old, key2: b}
  patch:
    retainKeysMap:
      $retainKeys: [name, simpleMap, value]
      simpleMap: {key1: modified}
  expected:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: modified, key2: b}
- case: retainKeys map changes a field in a nested map with conflict/ThreeWay
  original:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: new, key2: b, key3: c}
  patch:
    retainKeysMap:
      $retainKeys: [name, simpleMap, value]
      simpleMap: {key1: modified}
  expected:
    retainKeysMap:
      name: foo
      value: bar
      simpleMap: {key1: modified, key2: b, key3: c}
- case: retainKeys map replaces non-merging list/TwoWay
  original:
    retainKeysMap:
      name: foo
      value: bar
      nonMergingList:
      - {name: a}
      - {name: b}
  patch:
    retainKeysMap:
      $retainKeys: [name, nonMergingList, value]
      nonMergingList:
      - {name: a}
      - {name: c}
      - {name: b}
  expected:
    retainKeysMap:
      name: foo
      value: bar
      nonMergingList:
      - {name: a}
      - {name: c}
      - {name: b}
- case: retainKeys map nested non-merging list with no change/TwoWay
  original:
    retainKeysMap:
      name: foo
      nonMergingList:
      - {name: a}
      - {name: b}
  patch:
    retainKeysMap:
      $retainKeys: [name, nonMergingList, value]
      value: bar
  expected:
    retainKeysMap:
      name: foo
      value: bar
      nonMergingList:
      - {name: a}
      - {name: b}
- case: retainKeys map nested non-merging list with no change with conflict/ThreeWay
  original:
    retainKeysMap:
      name: foo
      nonMergingList:
      - {name: a}
      - {name: b}
      - {name: c}
  patch:
    retainKeysMap:
      $retainKeys: [name, nonMergingList, value]
      value: bar
      nonMergingList:
      - {name: a}
      - {name: b}
  expected:
    retainKeysMap:
      name: foo
      value: bar
      nonMergingList:
      - {name: a}
      - {name: b}
- case: retainKeys map deletes nested non-merging list/TwoWay
  original:
    retainKeysMap:
      name: foo
      nonMergingList:
      - {name: a}
      - {name: b}
  patch:
    retainKeysMap:
      $retainKeys: [name, value]
      value: bar
      nonMergingList: null
  expected:
    retainKeysMap: {name: foo, value: bar}
- case: retainKeys map delete nested non-merging list with conflict/ThreeWay
  original:
    retainKeysMap:
      name: foo
      nonMergingList:
      - {name: a}
      - {name: b}
      - {name: c}
  patch:
    retainKeysMap:
      $retainKeys: [name, value]
      value: bar
      nonMergingList: null
  expected:
    retainKeysMap: {name: foo, value: bar}
- case: retainKeys map nested merging int list with no change/TwoWay
  original:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 2]
  patch:
    retainKeysMap:
      $retainKeys: [mergingIntList, name, value]
      value: bar
  expected:
    retainKeysMap:
      name: foo
      value: bar
      mergingIntList: [1, 2]
- case: retainKeys map nested merging int list with no change/ThreeWay
  original:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 2, 3]
  patch:
    retainKeysMap:
      $retainKeys: [mergingIntList, name, value]
      $setElementOrder/mergingIntList: [1, 2]
      value: bar
  expected:
    retainKeysMap:
      name: foo
      value: bar
      mergingIntList: [1, 2, 3]
- case: retainKeys map adds an item in nested merging int list/TwoWay
  original:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 2]
  patch:
    retainKeysMap:
      $setElementOrder/mergingIntList: [1, 2, 4]
      $retainKeys: [mergingIntList, name]
      mergingIntList: [4]
  expected:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 2, 4]
- case: retainKeys map adds an item in nested merging int list/ThreeWay
  original:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 2, 3]
  patch:
    retainKeysMap:
      $setElementOrder/mergingIntList: [1, 2, 4]
      $retainKeys: [mergingIntList, name]
      mergingIntList: [4]
  expected:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 2, 4, 3]
- case: retainKeys map deletes an item in nested merging int list/TwoWay
  original:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 2, 3]
  patch:
    retainKeysMap:
      $retainKeys: [mergingIntList, name]
      $deleteFromPrimitiveList/mergingIntList: [2]
      $setElementOrder/mergingIntList: [1, 3]
  expected:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 3]
- case: retainKeys map deletes an item in nested merging int list/ThreeWay
  original:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 2, 3, 4]
  patch:
    retainKeysMap:
      $retainKeys: [mergingIntList, name]
      $deleteFromPrimitiveList/mergingIntList: [2]
      $setElementOrder/mergingIntList: [1, 3]
  expected:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 3, 4]
- case: retainKeys map adds an item and deletes an item in nested merging int list/TwoWay
  original:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 2, 3]
  patch:
    retainKeysMap:
      $retainKeys: [mergingIntList, name]
      mergingIntList: [5]
      $deleteFromPrimitiveList/mergingIntList: [2]
      $setElementOrder/mergingIntList: [1, 3, 5]
  expected:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 3, 5]
- case: retainKeys map adds an item and deletes an item in nested merging int list/ThreeWay
  original:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 2, 3, 4]
  patch:
    retainKeysMap:
      $retainKeys: [mergingIntList, name]
      mergingIntList: [5]
      $deleteFromPrimitiveList/mergingIntList: [2]
      $setElementOrder/mergingIntList: [1, 3, 5]
  expected:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 3, 5, 4]
- case: retainKeys map deletes nested merging int list/TwoWay
  original:
    retainKeysMap:
      name: foo
      mergingIntList: [1, 2, 3]
  patch:
    retainKeysMap:
      $retainKeys: [name]
      mergingIntList: null
  expected:
    retainKeysMap: {name: foo}
- case: retainKeys map nested merging list with no change/TwoWay
  original:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
      - {name: b}
  patch:
    retainKeysMap:
      $retainKeys: [mergingList, name, value]
      value: bar
  expected:
    retainKeysMap:
      name: foo
      value: bar
      mergingList:
      - {name: a}
      - {name: b}
- case: retainKeys map nested merging list with no change/ThreeWay
  original:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
      - {name: b}
      - {name: c}
  patch:
    retainKeysMap:
      $retainKeys: [mergingList, name, value]
      $setElementOrder/mergingList:
      - {name: a}
      - {name: b}
      value: bar
  expected:
    retainKeysMap:
      name: foo
      value: bar
      mergingList:
      - {name: a}
      - {name: b}
      - {name: c}
- case: retainKeys map adds an item in nested merging list/TwoWay
  original:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
      - {name: b}
  patch:
    retainKeysMap:
      $retainKeys: [mergingList, name]
      $setElementOrder/mergingList:
      - {name: a}
      - {name: b}
      - {name: c}
      mergingList:
      - {name: c}
  expected:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
      - {name: b}
      - {name: c}
- case: retainKeys map adds an item in nested merging list/ThreeWay
  original:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
      - {name: b}
      - {name: x}
  patch:
    retainKeysMap:
      $retainKeys: [mergingList, name]
      $setElementOrder/mergingList:
      - {name: a}
      - {name: b}
      - {name: c}
      mergingList:
      - {name: c}
  expected:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
      - {name: b}
      - {name: c}
      - {name: x}
- case: retainKeys map changes an item in nested merging list/TwoWay
  original:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
      - {name: b, value: foo}
  patch:
    retainKeysMap:
      $retainKeys: [mergingList, name]
      $setElementOrder/mergingList:
      - {name: a}
      - {name: b}
      mergingList:
      - {name: b, value: bar}
  expected:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
      - {name: b, value: bar}
- case: retainKeys map changes an item in nested merging list/ThreeWay
  original:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
      - {name: b, value: foo}
      - {name: x}
  patch:
    retainKeysMap:
      $retainKeys: [mergingList, name]
      $setElementOrder/mergingList:
      - {name: a}
      - {name: b}
      mergingList:
      - {name: b, value: bar}
  expected:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
      - {name: b, value: bar}
      - {name: x}
- case: retainKeys map deletes nested merging list/TwoWay
  original:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
      - {name: b}
  patch:
    retainKeysMap:
      $retainKeys: [name, value]
      value: bar
      mergingList: null
  expected:
    retainKeysMap: {name: foo, value: bar}
- case: retainKeys map deletes an item in nested merging list/TwoWay
  original:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
      - {name: b}
  patch:
    retainKeysMap:
      $retainKeys: [mergingList, name]
      $setElementOrder/mergingList:
      - {name: a}
      mergingList:
      - {name: b, $patch: delete}
  expected:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
- case: retainKeys map deletes an item in nested merging list/ThreeWay
  original:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
      - {name: b}
      - {name: x}
  patch:
    retainKeysMap:
      $retainKeys: [mergingList, name]
      $setElementOrder/mergingList:
      - {name: a}
      mergingList:
      - {name: b, $patch: delete}
  expected:
    retainKeysMap:
      name: foo
      mergingList:
      - {name: a}
      - {name: x}
- case: retainKeys list of maps clears a field/TwoWay
  original:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: a}
  patch: {}
  expected:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: a}
- case: retainKeys list of maps clears a field/ThreeWay
  original:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: a, other: x}
  patch:
    $setElementOrder/retainKeysMergingList:
    - {name: bar}
    - {name: foo}
    retainKeysMergingList:
    - $retainKeys: [name, value]
      name: foo
  expected:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: a}
- case: retainKeys list of maps clears a field with conflict/TwoWay
  original:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: old}
  patch:
    $setElementOrder/retainKeysMergingList:
    - {name: bar}
    - {name: foo}
    retainKeysMergingList:
    - $retainKeys: [name, value]
      name: foo
      value: modified
  expected:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: modified}
- case: retainKeys list of maps clears a field with conflict/ThreeWay
  original:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: new, other: x}
  patch:
    $setElementOrder/retainKeysMergingList:
    - {name: bar}
    - {name: foo}
    retainKeysMergingList:
    - $retainKeys: [name, value]
      name: foo
      value: modified
  expected:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: modified}
- case: retainKeys list of maps changes a field and clear a field/TwoWay
  original:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: old}
  patch:
    $setElementOrder/retainKeysMergingList:
    - {name: bar}
    - {name: foo}
    retainKeysMergingList:
    - $retainKeys: [name, value]
      name: foo
      value: new
  expected:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: new}
- case: retainKeys list of maps changes a field and clear a field/ThreeWay
  original:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: old, other: x}
  patch:
    $setElementOrder/retainKeysMergingList:
    - {name: bar}
    - {name: foo}
    retainKeysMergingList:
    - $retainKeys: [name, value]
      name: foo
      value: new
  expected:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: new}
- case: retainKeys list of maps changes a field and clear a field with conflict/ThreeWay
  original:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: modified, other: x}
  patch:
    $setElementOrder/retainKeysMergingList:
    - {name: bar}
    - {name: foo}
    retainKeysMergingList:
    - $retainKeys: [name, value]
      name: foo
      value: new
  expected:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: new}
- case: retainKeys list of maps adds a field/TwoWay
  original:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo}
  patch:
    $setElementOrder/retainKeysMergingList:
    - {name: bar}
    - {name: foo}
    retainKeysMergingList:
    - $retainKeys: [name, value]
      name: foo
      value: a
  expected:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: a}
- case: retainKeys list of maps adds a field and clear a field/ThreeWay
  original:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, other: x}
  patch:
    $setElementOrder/retainKeysMergingList:
    - {name: bar}
    - {name: foo}
    retainKeysMergingList:
    - $retainKeys: [name, value]
      name: foo
      value: a
  expected:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: a}
- case: retainKeys list of maps deletes a field/TwoWay
  original:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: a}
  patch:
    $setElementOrder/retainKeysMergingList:
    - {name: bar}
    - {name: foo}
    retainKeysMergingList:
    - $retainKeys: [name]
      name: foo
      value: null
  expected:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo}
- case: retainKeys list of maps deletes a field and clear a field/ThreeWay
  original:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: a, other: x}
  patch:
    $setElementOrder/retainKeysMergingList:
    - {name: bar}
    - {name: foo}
    retainKeysMergingList:
    - $retainKeys: [name]
      name: foo
      value: null
  expected:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo}
- case: delete and reorder in one list, reorder in another/TwoWay
  original:
    mergingList:
    - {name: a, value: a}
    - {name: b, value: b}
    mergeItemPtr:
    - {name: c, value: c}
    - {name: d, value: d}
  patch:
    $setElementOrder/mergingList:
    - {name: b}
    $setElementOrder/mergeItemPtr:
    - {name: d}
    - {name: c}
    mergingList:
    - {$patch: delete, name: a}
  expected:
    mergingList:
    - {name: b, value: b}
    mergeItemPtr:
    - {name: d, value: d}
    - {name: c, value: c}
- case: $setElementOrder contains item that is not present in the list to be merged
  original:
    mergingList:
    - {name: 1}
    - {name: 3}
  patch:
    $setElementOrder/mergingList:
    - {name: 3}
    - {name: 2}
    - {name: 1}
    mergingList:
    - {name: 3, value: 3}
    - {name: 1, value: 1}
  expected:
    mergingList:
    - {name: 3, value: 3}
    - {name: 1, value: 1}
- case: $setElementOrder contains item that is not present in the int list to be merged
  original:
    mergingIntList: [1, 3]
  patch:
    $setElementOrder/mergingIntList: [3, 2, 1]
  expected:
    mergingIntList: [3, 1]
- case: should check if order in $setElementOrder and patch list match
  original:
    mergingList:
    - {name: 1}
    - {name: 3}
    - {name: 2}
  patch:
    $setElementOrder/mergingList:
    - {name: 1}
    - {name: 2}
    - {name: 3}
    mergingList:
    - {name: 3, value: 3}
    - {name: 1, value: 1}
  error: doesn't match
- case: $setElementOrder contains item that is not present in the int list to be merged
  original:
    mergingIntList: [1, 3, 2]
  patch:
    $setElementOrder/mergingIntList: [1, 2, 3]
    mergingIntList: [3, 1]
  error: doesn't match
- case: missing merge key should error out
  original:
    mergingList:
    - {name: 1, value: a}
  patch:
    mergingList:
    - {value: b}
  error: does not contain declared merge key
- case: $deleteFromPrimitiveList of nonexistent item in primitive list should not add the item
    to the list
  original:
    mergingIntList: [1, 2]
  patch:
    $deleteFromPrimitiveList/mergingIntList: [3]
  expected:
    mergingIntList: [1, 2]
- case: $deleteFromPrimitiveList on empty primitive list should not add the item to the list
  original: {mergingIntList: null}
  patch:
    $deleteFromPrimitiveList/mergingIntList: [3]
  expected: {mergingIntList: null}
- case: $deleteFromPrimitiveList on nonexistent primitive list should not add the primitive list
  original:
    foo: [bar]
  patch:
    $deleteFromPrimitiveList/mergingIntList: [3]
  expected:
    foo: [bar]
- case: $deleteFromPrimitiveList should delete item from a list with merge patch strategy
  original:
    mergingIntList: [1, 2, 3]
  patch:
    $deleteFromPrimitiveList/mergingIntList: [2]
  expected:
    mergingIntList: [1, 3]
- case: $deleteFromPrimitiveList should delete item from a list without merge patch strategy
  original:
    nonMergingIntList: [1, 2, 3]
  patch:
    $deleteFromPrimitiveList/nonMergingIntList: [2]
  expected:
    nonMergingIntList: [1, 3]
- case: unique scalars when merging lists/TwoWay
  original:
    mergingIntList: [1, 2]
  patch:
    mergingIntList: [2, 3]
  expected:
    mergingIntList: [1, 2, 3]
  any_order: true
- case: delete map from nested map/TwoWay
  original:
    simpleMap: {key1: 1, key2: 1}
  patch:
    simpleMap: {$patch: delete}
  expected:
    simpleMap: {}
  any_order: true
- case: delete all items from merging list/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 2}
  patch:
    mergingList:
    - {$patch: replace}
  expected:
    mergingList: []
  any_order: true
- case: merge empty merging lists/TwoWay
  original:
    mergingList: []
  patch:
    mergingList: []
  expected:
    mergingList: []
  any_order: true
- case: delete all keys from map/TwoWay
  original: {name: 1, value: 1}
  patch: {$patch: replace}
  expected: {}
  any_order: true
- case: add key and delete all keys from map/TwoWay
  original: {name: 1, value: 1}
  patch: {other: a, $patch: replace}
  expected: {other: a}
  any_order: true
- case: delete all duplicate entries in a merging list/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 1}
    - {name: 2, value: a}
    - {name: 3}
    - {name: 3}
  patch:
    mergingList:
    - {name: 1, $patch: delete}
    - {name: 3, $patch: delete}
  expected:
    mergingList:
    - {name: 2, value: a}
  any_order: true
- case: retainKeys map can add a field when no retainKeys directive present/TwoWay
  original:
    retainKeysMap: {name: foo}
  patch:
    retainKeysMap: {value: bar}
  expected:
    retainKeysMap: {name: foo, value: bar}
  any_order: true
- case: retainKeys map can change a field when no retainKeys directive present/TwoWay
  original:
    retainKeysMap: {name: foo, value: a}
  patch:
    retainKeysMap: {value: b}
  expected:
    retainKeysMap: {name: foo, value: b}
  any_order: true
- case: retainKeys map can delete a field when no retainKeys directive present/TwoWay
  original:
    retainKeysMap: {name: foo, value: a}
  patch:
    retainKeysMap: {value: null}
  expected:
    retainKeysMap: {name: foo}
  any_order: true
- case: retainKeys map merge an empty map/TwoWay
  original:
    retainKeysMap: {name: foo, value: a}
  patch:
    retainKeysMap: {}
  expected:
    retainKeysMap: {name: foo, value: a}
  any_order: true
- case: retainKeys list can add a field when no retainKeys directive present/TwoWay
  original:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo}
  patch:
    retainKeysMergingList:
    - {name: foo, value: a}
  expected:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: a}
  any_order: true
- case: retainKeys list can change a field when no retainKeys directive present/TwoWay
  original:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: a}
  patch:
    retainKeysMergingList:
    - {name: foo, value: b}
  expected:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: b}
  any_order: true
- case: retainKeys list can delete a field when no retainKeys directive present/TwoWay
  original:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo, value: a}
  patch:
    retainKeysMergingList:
    - {name: foo, value: null}
  expected:
    retainKeysMergingList:
    - {name: bar}
    - {name: foo}
  any_order: true
- case: preserve the order from the patch in a merging list/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 2, value: b}
    - {name: 3}
  patch:
    mergingList:
    - {name: 3, value: c}
    - {name: 1, value: a}
    - {name: 2, other: x}
  expected:
    mergingList:
    - {name: 3, value: c}
    - {name: 1, value: a}
    - {name: 2, value: b, other: x}
  any_order: true
- case: preserve the order from the patch in a merging list 2/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 2, value: b}
    - {name: 3}
  patch:
    mergingList:
    - {name: 3, value: c}
    - {name: 1, value: a}
  expected:
    mergingList:
    - {name: 2, value: b}
    - {name: 3, value: c}
    - {name: 1, value: a}
  any_order: true
- case: preserve the order from the patch in a merging int list/TwoWay
  original:
    mergingIntList: [1, 2, 3]
  patch:
    mergingIntList: [3, 1, 2]
  expected:
    mergingIntList: [3, 1, 2]
  any_order: true
- case: preserve the order from the patch in a merging int list/TwoWay
  original:
    mergingIntList: [1, 2, 3]
  patch:
    mergingIntList: [3, 1]
  expected:
    mergingIntList: [2, 3, 1]
  any_order: true
- case: nil original/TwoWay
  original: {}
  patch: {name: 1, value: 1}
  expected: {name: 1, value: 1}
  any_order: true
- case: nil original/ThreeWay
  original: {name: 1, other: a}
  patch: {value: 1}
  expected: {name: 1, value: 1, other: a}
  any_order: true
- case: nil patch/TwoWay
  original: {name: 1}
  patch: {}
  expected: {name: 1}
  any_order: true
- case: add field to map/TwoWay
  original: {name: 1}
  patch: {value: 1}
  expected: {name: 1, value: 1}
  any_order: true
- case: add field to map with conflict/ThreeWay
  original: {name: a, other: a}
  patch: {name: 1, value: 1}
  expected: {name: 1, value: 1, other: a}
  any_order: true
- case: add field and delete field from map/TwoWay
  original: {name: 1}
  patch: {name: null, value: 1}
  expected: {value: 1}
  any_order: true
- case: add field and delete field from map/ThreeWay
  original: {name: 1, other: a}
  patch: {name: null, value: 1}
  expected: {value: 1, other: a}
  any_order: true
- case: add field and delete field from map with conflict/ThreeWay
  original: {name: a, other: a}
  patch: {name: null, value: 1}
  expected: {value: 1, other: a}
  any_order: true
- case: delete field from nested map/TwoWay
  original:
    simpleMap: {key1: 1, key2: 1}
  patch:
    simpleMap: {key2: null}
  expected:
    simpleMap: {key1: 1}
  any_order: true
- case: delete field from nested map/ThreeWay
  original:
    simpleMap: {key1: 1, key2: 1, other: a}
  patch:
    simpleMap: {key2: null}
  expected:
    simpleMap: {key1: 1, other: a}
  any_order: true
- case: delete field from nested map with conflict/ThreeWay
  original:
    simpleMap: {key1: a, key2: 1, other: a}
  patch:
    simpleMap: {key1: 1, key2: null}
  expected:
    simpleMap: {key1: 1, other: a}
  any_order: true
- case: delete all fields from map/TwoWay
  original: {name: 1, value: 1}
  patch: {name: null, value: null}
  expected: {}
  any_order: true
- case: delete all fields from map/ThreeWay
  original: {name: 1, value: 1, other: a}
  patch: {name: null, value: null}
  expected: {other: a}
  any_order: true
- case: delete all fields from map with conflict/ThreeWay
  original: {name: 1, value: a, other: a}
  patch: {name: null, value: null}
  expected: {other: a}
  any_order: true
- case: add field and delete all fields from map/TwoWay
  original: {name: 1, value: 1}
  patch: {name: null, value: null, other: a}
  expected: {other: a}
  any_order: true
- case: add field and delete all fields from map with conflict/ThreeWay
  original: {name: 1, value: 1, other: b}
  patch: {name: null, value: null, other: a}
  expected: {other: a}
  any_order: true
- case: replace list of scalars/TwoWay
  original:
    nonMergingIntList: [1, 2]
  patch:
    nonMergingIntList: [2, 3]
  expected:
    nonMergingIntList: [2, 3]
  any_order: true
- case: replace list of scalars with conflict/ThreeWay
  original:
    nonMergingIntList: [1, 4]
  patch:
    nonMergingIntList: [2, 3]
  expected:
    nonMergingIntList: [2, 3]
  any_order: true
- case: delete all maps from merging list/TwoWay
  original:
    mergingList:
    - {name: 1}
    - {name: 2}
  patch:
    mergingList:
    - {name: 1, $patch: delete}
    - {name: 2, $patch: delete}
  expected:
    mergingList: []
  any_order: true
- case: delete all maps from merging list with conflict/ThreeWay
  original:
    mergingList:
    - {name: 1, other: a}
    - {name: 2, other: b}
  patch:
    mergingList:
    - {name: 1, $patch: delete}
    - {name: 2, $patch: delete}
  expected:
    mergingList: []
  any_order: true
- case: delete all maps from empty merging list/ThreeWay
  original:
    mergingList: []
  patch:
    mergingList:
    - {name: 1, $patch: delete}
    - {name: 2, $patch: delete}
  expected:
    mergingList: []
  any_order: true
- case: merge empty merging lists/TwoWay
  original:
    mergingList: []
  patch: {}
  expected:
    mergingList: []
  any_order: true
- case: defined null values should propagate overwrite current fields (with conflict)/TwoWay
  original: {name: 2}
  patch: {name: 1, value: 1, other: null}
  expected: {name: 1, value: 1}
  any_order: true
- case: defined null values should propagate overwrite current fields (with conflict)/ThreeWay
  original: {name: a, other: a}
  patch: {name: 1, value: 1, other: null}
  expected: {name: 1, value: 1}
  any_order: true
- case: defined null values should propagate removing original fields/TwoWay
  original: {name: original-name, value: original-value}
  patch: {name: modified-name, value: null}
  expected: {name: modified-name}
  any_order: true
- case: defined null values should propagate removing original fields/ThreeWay
  original: {name: original-name, value: original-value, other: current-other}
  patch: {name: modified-name, value: null}
  expected: {name: modified-name, other: current-other}
  any_order: true
- case: nil patch with retainKeys map/TwoWay
  original:
    name: a
    retainKeysMap: {name: foo}
  patch: {}
  expected:
    name: a
    retainKeysMap: {name: foo}
  any_order: true
- case: nil patch with retainKeys map/ThreeWay
  original:
    name: a
    value: b
    retainKeysMap: {name: foo}
  patch: {}
  expected:
    name: a
    value: b
    retainKeysMap: {name: foo}
  any_order: true
- case: retainKeys map with no change should not be present/TwoWay
  original:
    name: a
    retainKeysMap: {name: foo}
  patch: {value: b}
  expected:
    name: a
    value: b
    retainKeysMap: {name: foo}
  any_order: true
- case: retainKeys map with no change should not be present/ThreeWay
  original:
    name: a
    other: c
    retainKeysMap: {name: foo}
  patch: {value: b}
  expected:
    name: a
    value: b
    other: c
    retainKeysMap: {name: foo}
  any_order: true
"""


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
