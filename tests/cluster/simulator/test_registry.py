"""Unit tests for the resource registry and its discovery documents.

Expected values are those of `kubectl get --raw /api/v1` and `/apis/apps/v1` on a real
kube-apiserver, and of apiextensions-apiserver's customresource_discovery_controller.go.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.cluster.simulator.registry import (
    CUSTOM_VERBS,
    Registry,
    ResourceType,
    storage_version_hash,
)


def _crd(
    *,
    versions: list[dict[str, Any]] | None = None,
    scope: str = "Namespaced",
    group: str = "example.com",
) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {
                "plural": "widgets",
                "singular": "widget",
                "kind": "Widget",
                "shortNames": ["wd"],
                "categories": ["all"],
            },
            "versions": versions
            or [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {
                        "status": {},
                        "scale": {
                            "specReplicasPath": ".spec.size",
                            "statusReplicasPath": ".status.size",
                            "labelSelectorPath": ".status.selector",
                        },
                    },
                    "additionalPrinterColumns": [
                        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"}
                    ],
                }
            ],
        },
    }


def _entry(doc: dict[str, Any] | None, name: str) -> dict[str, Any]:
    assert doc is not None
    found = [r for r in doc["resources"] if r["name"] == name]
    assert found, f"{name} missing from {[r['name'] for r in doc['resources']]}"
    return dict(found[0])


@pytest.fixture
def registry() -> Registry:
    return Registry.builtin()


# ----------------------------------------------------------------- lookups


@pytest.mark.parametrize(
    ("group", "version", "plural", "kind", "namespaced"),
    [
        ("", "v1", "namespaces", "Namespace", False),
        ("", "v1", "pods", "Pod", True),
        ("", "v1", "services", "Service", True),
        ("", "v1", "endpoints", "Endpoints", True),
        ("", "v1", "configmaps", "ConfigMap", True),
        ("", "v1", "secrets", "Secret", True),
        ("", "v1", "serviceaccounts", "ServiceAccount", True),
        ("", "v1", "events", "Event", True),
        ("", "v1", "nodes", "Node", False),
        ("apps", "v1", "deployments", "Deployment", True),
        ("apps", "v1", "replicasets", "ReplicaSet", True),
        ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
        ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True),
        (
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            False,
        ),
    ],
)
def test_builtin_kinds_resolve_by_plural_and_by_kind(
    registry: Registry, group: str, version: str, plural: str, kind: str, namespaced: bool
) -> None:
    rt = registry.lookup(group, version, plural)
    assert rt is not None
    assert (rt.kind, rt.namespaced) == (kind, namespaced)
    assert registry.for_kind(rt.api_version, kind) == rt


def test_lookup_misses_return_none(registry: Registry) -> None:
    assert registry.lookup("apps", "v1", "statefulsets") is None
    assert registry.lookup("apps", "v1beta1", "deployments") is None
    assert registry.for_kind("v1", "Deployment") is None


def test_resource_type_helpers() -> None:
    rt = Registry.builtin().lookup("apps", "v1", "deployments")
    assert rt is not None
    assert rt.api_version == "apps/v1"
    assert rt.list_kind == "DeploymentList"
    assert rt.key == ("apps", "deployments")


def test_endpoints_singular_is_endpoints(registry: Registry) -> None:
    # upstream: {"name":"endpoints","singularName":"endpoints",...}
    assert _entry(registry.api_resource_list("", "v1"), "endpoints")["singularName"] == "endpoints"


# ----------------------------------------------------------------- discovery documents


def test_api_versions_document(registry: Registry) -> None:
    assert registry.api_versions("127.0.0.1:6443") == {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
        ],
    }
    assert "serverAddressByClientCIDRs" not in registry.api_versions()


def test_storage_version_hash_matches_upstream() -> None:
    # values served by kube-apiserver for these resources
    assert storage_version_hash("", "v1", "Pod") == "xPOwRZ+Yhw8="
    assert storage_version_hash("apps", "v1", "Deployment") == "8aSe+NMegvE="
    assert storage_version_hash("", "v1", "ConfigMap") == "qFsyl6wFWjQ="


def test_core_resource_list_matches_real_server_entries(registry: Registry) -> None:
    doc = registry.api_resource_list("", "v1")
    assert doc is not None
    assert doc["kind"] == "APIResourceList"
    assert "apiVersion" not in doc  # the core list carries none on a real server
    assert doc["groupVersion"] == "v1"
    assert _entry(doc, "pods") == {
        "name": "pods",
        "singularName": "pod",
        "namespaced": True,
        "kind": "Pod",
        "verbs": [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
        "shortNames": ["po"],
        "categories": ["all"],
        "storageVersionHash": "xPOwRZ+Yhw8=",
    }
    assert _entry(doc, "pods/log") == {
        "name": "pods/log",
        "singularName": "",
        "namespaced": True,
        "kind": "Pod",
        "verbs": ["get"],
    }
    assert _entry(doc, "pods/status")["verbs"] == ["get", "patch", "update"]
    namespaces = _entry(doc, "namespaces")
    assert "deletecollection" not in namespaces["verbs"]
    assert namespaces["namespaced"] is False
    assert "categories" not in namespaces
    names = [r["name"] for r in doc["resources"]]
    assert names == sorted(names), "the apiserver installer sorts resource paths"


def test_apps_resource_list_has_scale_subresource_of_autoscaling(registry: Registry) -> None:
    doc = registry.api_resource_list("apps", "v1")
    assert doc is not None
    assert doc["apiVersion"] == "v1"
    assert doc["groupVersion"] == "apps/v1"
    assert _entry(doc, "deployments/scale") == {
        "name": "deployments/scale",
        "singularName": "",
        "namespaced": True,
        "group": "autoscaling",
        "version": "v1",
        "kind": "Scale",
        "verbs": ["get", "patch", "update"],
    }
    deploy = _entry(doc, "deployments")
    assert deploy["shortNames"] == ["deploy"]
    assert deploy["categories"] == ["all"]


def test_category_all_on_upstream_kinds_only(registry: Registry) -> None:
    in_all = {rt.plural for rt in registry.types() if "all" in rt.categories}
    assert in_all == {"pods", "services", "deployments", "replicasets"}


def test_crd_short_names_and_category(registry: Registry) -> None:
    doc = registry.api_resource_list("apiextensions.k8s.io", "v1")
    crd = _entry(doc, "customresourcedefinitions")
    assert crd["shortNames"] == ["crd", "crds"]
    assert crd["categories"] == ["api-extensions"]


def test_unknown_group_version_has_no_resource_list(registry: Registry) -> None:
    assert registry.api_resource_list("apps", "v1beta1") is None
    assert registry.api_group("batch") is None


def test_api_group_list_has_each_group_with_preferred_version(registry: Registry) -> None:
    doc = registry.api_group_list()
    assert doc["kind"] == "APIGroupList"
    assert doc["apiVersion"] == "v1"
    groups = {g["name"]: g for g in doc["groups"]}
    assert set(groups) == {"apps", "policy", "apiextensions.k8s.io", "discovery.k8s.io"}
    assert groups["apps"] == {
        "name": "apps",
        "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
    }
    assert registry.api_group("apps") == {"kind": "APIGroup", "apiVersion": "v1", **groups["apps"]}


# ----------------------------------------------------------------- CRDs


def test_register_crd_serves_custom_type_with_subresources(registry: Registry) -> None:
    before = registry.generation
    change = registry.register_crd(_crd())
    assert registry.generation == before + 1
    rt = registry.lookup("example.com", "v1", "widgets")
    assert rt is not None
    assert change.added == (rt,)
    assert rt.custom and rt.namespaced
    assert rt.subresources == frozenset({"status", "scale"})
    assert rt.scale is not None and rt.scale.spec_replicas_path == ".spec.size"
    assert [c.name for c in rt.printer_columns] == ["Size"]
    assert registry.for_kind("example.com/v1", "Widget") == rt
    assert registry.crd("example.com", "widgets") is not None


def test_crd_discovery_matches_discovery_controller(registry: Registry) -> None:
    registry.register_crd(_crd())
    doc = registry.api_resource_list("example.com", "v1")
    assert doc is not None
    # resource, then status, then scale, as the CRD discovery controller appends them
    assert [r["name"] for r in doc["resources"]] == ["widgets", "widgets/status", "widgets/scale"]
    widget = doc["resources"][0]
    assert widget["verbs"] == list(CUSTOM_VERBS)
    assert widget["shortNames"] == ["wd"]
    assert widget["categories"] == ["all"]
    assert widget["storageVersionHash"] == storage_version_hash("example.com", "v1", "Widget")
    assert doc["resources"][2]["group"] == "autoscaling"
    assert "example.com" in {g["name"] for g in registry.api_group_list()["groups"]}


def test_crd_versions_sort_kube_aware_and_hash_uses_storage_version(registry: Registry) -> None:
    versions = [
        {"name": "v1alpha1", "served": True, "storage": False},
        {"name": "v1beta1", "served": True, "storage": True},
        {"name": "v1", "served": True, "storage": False},
        {"name": "v2", "served": False, "storage": False},
    ]
    registry.register_crd(_crd(versions=versions))
    assert registry.groups()["example.com"] == ["v1", "v1beta1", "v1alpha1"]
    group = registry.api_group("example.com")
    assert group is not None
    assert group["preferredVersion"]["version"] == "v1"  # kube-aware first, not storage
    assert registry.lookup("example.com", "v2", "widgets") is None  # not served
    for version in ("v1", "v1alpha1"):
        entry = _entry(registry.api_resource_list("example.com", version), "widgets")
        assert entry["storageVersionHash"] == storage_version_hash(
            "example.com", "v1beta1", "Widget"
        )
    assert registry.storage_version("example.com", "widgets") == "v1beta1"


def test_cluster_scoped_crd(registry: Registry) -> None:
    registry.register_crd(_crd(scope="Cluster"))
    rt = registry.lookup("example.com", "v1", "widgets")
    assert rt is not None and rt.namespaced is False


def test_re_registering_a_changed_crd_replaces_versions(registry: Registry) -> None:
    registry.register_crd(_crd())
    versions = [{"name": "v2", "served": True, "storage": True}]
    change = registry.register_crd(_crd(versions=versions))
    assert [rt.version for rt in change.added] == ["v2"]
    assert [rt.version for rt in change.removed] == ["v1"]
    assert registry.lookup("example.com", "v1", "widgets") is None


def test_re_registering_the_same_crd_changes_nothing(registry: Registry) -> None:
    registry.register_crd(_crd())
    generation = registry.generation
    change = registry.register_crd(_crd())
    assert not change
    assert registry.generation == generation


def test_unregister_crd_removes_types_and_group(registry: Registry) -> None:
    registry.register_crd(_crd())
    generation = registry.generation
    change = registry.unregister_crd(_crd())
    assert [rt.plural for rt in change.removed] == ["widgets"]
    assert registry.generation == generation + 1
    assert registry.lookup("example.com", "v1", "widgets") is None
    assert "example.com" not in registry.groups()
    assert registry.crd("example.com", "widgets") is None
    assert not registry.unregister_crd(_crd())


def test_unregister_never_removes_builtin_types(registry: Registry) -> None:
    fake = _crd(group="apps")
    fake["spec"]["names"]["plural"] = "deployments"
    registry.unregister_crd(fake)
    assert isinstance(registry.lookup("apps", "v1", "deployments"), ResourceType)
