"""Unit tests for the simulator's OpenAPI v3 documents, checked the way kubectl reads them.

The checks port cli-runtime pkg/resource/query_param_verifier_v3.go (supportsQueryParamV3)
and kubectl pkg/cmd/apply/patcher.go (gvkSupportsPatchOpenAPIV3 and the component lookup of
buildStrategicMergePatchFromOpenAPIV3, with apimachinery strategicpatch PatchMetaFromOpenAPIV3).
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from harness.cluster.simulator.openapi import openapi_v3_document, openapi_v3_root
from harness.cluster.simulator.registry import Registry

GVK = "x-kubernetes-group-version-kind"
SMP = "application/strategic-merge-patch+json"


def widget_crd(schema: dict[str, Any] | None = None) -> dict[str, Any]:
    version: dict[str, Any] = {"name": "v1", "served": True, "storage": True}
    if schema is not None:
        version["schema"] = {"openAPIV3Schema": schema}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [version],
        },
    }


WIDGET_SPEC: dict[str, Any] = {"type": "object", "properties": {"size": {"type": "integer"}}}
WIDGET_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"spec": WIDGET_SPEC}}


def document(registry: Registry, group: str, version: str) -> dict[str, Any]:
    found = openapi_v3_document(registry, group, version)
    assert found is not None
    return found


# --------------------------------------------------------------------------- kubectl's reads


def supports_query_param_v3(doc: dict[str, Any], gvk: dict[str, str], param: str) -> bool:
    """query_param_verifier_v3.go supportsQueryParamV3: the first PATCH operation whose
    x-kubernetes-group-version-kind (one object) is the GVK must list the query param."""
    for path_item in doc["paths"].values():
        operation = path_item.get("patch")
        if operation is None or operation.get(GVK) != gvk:
            continue
        return any(
            p.get("name") == param and p.get("in") == "query"
            for p in operation.get("parameters", [])
        )
    raise AssertionError(f"Path not found for GVK ({gvk}) in OpenAPI V3 doc")


def gvk_supports_smp(doc: dict[str, Any], gvk: dict[str, str]) -> bool:
    """patcher.go gvkSupportsPatchOpenAPIV3: the PATCH requestBody names SMP."""
    for path_item in doc["paths"].values():
        operation = path_item.get("patch")
        if operation is not None and operation.get(GVK) == gvk:
            content = (operation.get("requestBody") or {}).get("content") or {}
            return SMP in content
    return False


class PatchMetaFromOpenAPIV3:
    """strategicpatch meta.go PatchMetaFromOpenAPIV3: strict about what it cannot find."""

    def __init__(self, schemas: dict[str, Any], schema: dict[str, Any] | None) -> None:
        self.schemas = schemas
        self.schema = schema

    def _traverse(self, key: str) -> dict[str, Any]:
        properties = (self.schema or {}).get("properties") or {}
        if key not in properties:
            raise LookupError(f'unable to find api field "{key}"')
        prop: dict[str, Any] = properties[key]
        return prop

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        if schema.get("allOf"):
            schema = schema["allOf"][0]
        ref = schema.get("$ref")
        if ref:
            name = ref.removeprefix("#/components/schemas/")
            if name not in self.schemas:
                raise LookupError(f"unable to resolve {ref} in OpenAPI V3")
            resolved: dict[str, Any] = self.schemas[name]
            return resolved
        return schema

    def field(self, key: str) -> tuple[PatchMetaFromOpenAPIV3, str, str]:
        prop = self._traverse(key)
        meta = (
            prop.get("x-kubernetes-patch-strategy", ""),
            prop.get("x-kubernetes-patch-merge-key", ""),
        )
        return PatchMetaFromOpenAPIV3(self.schemas, self._resolve(prop)), *meta

    def slice(self, key: str) -> tuple[PatchMetaFromOpenAPIV3, str, str]:
        prop = self._traverse(key)
        meta = (
            prop.get("x-kubernetes-patch-strategy", ""),
            prop.get("x-kubernetes-patch-merge-key", ""),
        )
        items = prop.get("items", prop)
        return PatchMetaFromOpenAPIV3(self.schemas, self._resolve(items)), *meta


def kind_component(doc: dict[str, Any], gvk: dict[str, str]) -> PatchMetaFromOpenAPIV3:
    """buildStrategicMergePatchFromOpenAPIV3: the component tagged with the GVK (a list)."""
    schemas = doc["components"]["schemas"]
    for schema in schemas.values():
        if gvk in (schema.get(GVK) or []):
            return PatchMetaFromOpenAPIV3(schemas, schema)
    raise AssertionError(f"no component for {gvk}")


def refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("$ref"), str):
            yield value["$ref"]
        for child in value.values():
            yield from refs(child)
    elif isinstance(value, list):
        for child in value:
            yield from refs(child)


# --------------------------------------------------------------------------- root


def test_root_names_every_served_group_version_with_a_hashed_url() -> None:
    registry = Registry.builtin()
    root = openapi_v3_root(registry)
    expected = {
        ("", "v1"): "api/v1",
        ("apps", "v1"): "apis/apps/v1",
        ("discovery.k8s.io", "v1"): "apis/discovery.k8s.io/v1",
    }
    for path in expected.values():
        url = root["paths"][path]["serverRelativeURL"]
        assert re.fullmatch(rf"/openapi/v3/{re.escape(path)}\?hash=[0-9A-F]{{128}}", url), url
    served = {(g, v) for g, versions in registry.groups().items() for v in versions}
    documented = {p for p in root["paths"]}
    for group, version in served:
        if openapi_v3_document(registry, group, version) is not None:
            assert (f"apis/{group}/{version}" if group else f"api/{version}") in documented


def test_hash_changes_when_a_crd_is_added_or_its_schema_changes() -> None:
    """The root's hash is what kubectl's openapi cache keys on: a changed document must
    get a new URL, or kubectl keeps validating against the old one."""
    registry = Registry.builtin()
    before = openapi_v3_root(registry)["paths"]
    registry.register_crd(widget_crd())
    with_crd = openapi_v3_root(registry)["paths"]
    assert "apis/example.com/v1" in with_crd
    assert with_crd["api/v1"] == before["api/v1"]  # other documents keep their URL
    first = with_crd["apis/example.com/v1"]["serverRelativeURL"]
    registry.register_crd(widget_crd(WIDGET_SCHEMA))  # same types, new schema
    second = openapi_v3_root(registry)["paths"]["apis/example.com/v1"]["serverRelativeURL"]
    assert first != second
    schemas = document(registry, "example.com", "v1")["components"]["schemas"]
    assert schemas["com.example.v1.Widget"]["properties"]["spec"] == WIDGET_SPEC


def test_documents_are_cached_until_the_registry_changes() -> None:
    registry = Registry.builtin()
    first = openapi_v3_document(registry, "apps", "v1")
    assert openapi_v3_document(registry, "apps", "v1") is first
    registry.register_crd(widget_crd())
    assert openapi_v3_document(registry, "apps", "v1") is not first


def test_unserved_group_version_has_no_document() -> None:
    registry = Registry.builtin()
    assert openapi_v3_document(registry, "apps", "v1beta1") is None
    assert openapi_v3_document(registry, "example.com", "v1") is None


# --------------------------------------------------------------------------- per-GV documents


@pytest.mark.parametrize(
    ("group", "version", "kind"),
    [
        ("", "v1", "Pod"),
        ("", "v1", "Service"),
        ("", "v1", "ConfigMap"),
        ("", "v1", "Namespace"),
        ("apps", "v1", "Deployment"),
        ("apps", "v1", "ReplicaSet"),
        ("discovery.k8s.io", "v1", "EndpointSlice"),
        ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
    ],
)
def test_builtin_kind_passes_kubectls_field_validation_and_smp_checks(
    group: str, version: str, kind: str
) -> None:
    """With these, kubectl --validate=strict sends fieldValidation=Strict and computes its
    3-way strategic merge patch from v3 instead of falling back to OpenAPI v2 protobuf."""
    doc = document(Registry.builtin(), group, version)
    gvk = {"group": group, "kind": kind, "version": version}
    assert supports_query_param_v3(doc, gvk, "fieldValidation")
    assert gvk_supports_smp(doc, gvk)
    kind_component(doc, gvk)


def test_every_patch_operation_carries_field_validation() -> None:
    """supportsQueryParamV3 stops at the first PATCH with the GVK, in map order: each one
    must carry the parameter."""
    doc = document(Registry.builtin(), "", "v1")
    patches = [item["patch"] for item in doc["paths"].values() if "patch" in item]
    assert patches
    for operation in patches:
        assert isinstance(operation[GVK], dict)
        assert any(
            p["name"] == "fieldValidation" and p["in"] == "query" for p in operation["parameters"]
        )


def test_item_paths_follow_the_real_servers_layout() -> None:
    paths = document(Registry.builtin(), "", "v1")["paths"]
    assert "/api/v1/namespaces/{namespace}/pods/{name}" in paths
    assert "/api/v1/namespaces/{name}" in paths  # cluster-scoped
    apps = document(Registry.builtin(), "apps", "v1")["paths"]
    assert "/apis/apps/v1/namespaces/{namespace}/deployments/{name}" in apps


def test_deployment_component_yields_the_merge_keys_kubectl_needs() -> None:
    """Walk Deployment -> spec.template.spec.containers[].env as PatchMetaFromOpenAPIV3
    does: every $ref must resolve and the patch metadata must be there."""
    doc = document(Registry.builtin(), "apps", "v1")
    deployment = kind_component(doc, {"group": "apps", "kind": "Deployment", "version": "v1"})
    spec, _, _ = deployment.field("spec")
    strategy, strategy_patch, _ = spec.field("strategy")
    assert strategy_patch == "retainKeys"
    strategy.field("rollingUpdate")
    template, _, _ = spec.field("template")
    pod_spec, _, _ = template.field("spec")
    containers, patch_strategy, merge_key = pod_spec.slice("containers")
    assert (patch_strategy, merge_key) == ("merge", "name")
    _, env_strategy, env_key = containers.slice("env")
    assert (env_strategy, env_key) == ("merge", "name")
    _, ports_strategy, ports_key = containers.slice("ports")
    assert (ports_strategy, ports_key) == ("merge", "containerPort")
    _, volume_strategy, _ = pod_spec.slice("volumes")
    assert volume_strategy == "merge,retainKeys"
    metadata, _, _ = deployment.field("metadata")
    _, owner_strategy, owner_key = metadata.slice("ownerReferences")
    assert (owner_strategy, owner_key) == ("merge", "uid")
    _, finalizer_strategy, _ = metadata.slice("finalizers")
    assert finalizer_strategy == "merge"


def test_service_ports_merge_by_port_in_the_core_document() -> None:
    doc = document(Registry.builtin(), "", "v1")
    service = kind_component(doc, {"group": "", "kind": "Service", "version": "v1"})
    spec, _, _ = service.field("spec")
    _, strategy, key = spec.slice("ports")
    assert (strategy, key) == ("merge", "port")


@pytest.mark.parametrize(("group", "version"), [("", "v1"), ("apps", "v1"), ("policy", "v1")])
def test_components_are_closed_and_valid_openapi_3_0(group: str, version: str) -> None:
    """Every $ref resolves inside components.schemas; JSON Schema 2020-12 leftovers of
    kubernetes-validate (type lists with "null", $defs refs, $schema) are gone."""
    doc = document(Registry.builtin(), group, version)
    schemas = doc["components"]["schemas"]
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref

    def check(value: Any) -> None:
        if isinstance(value, dict):
            assert "$schema" not in value and "$id" not in value
            kind = value.get("type")
            if kind is not None and not isinstance(kind, dict):
                assert isinstance(kind, str) and kind != "null", value
            for child in value.values():
                check(child)
        elif isinstance(value, list):
            for child in value:
                check(child)

    for schema in schemas.values():
        # "properties" maps names to schemas: a property named "type" is not a type.
        check({k: v for k, v in schema.items() if k != "properties"})
        for prop in (schema.get("properties") or {}).values():
            check(prop)


def test_document_is_small_and_fast_enough() -> None:
    """Upstream's apps/v1 document is ~1 MB; ours carries only the item paths."""
    registry = Registry.builtin()
    started = time.perf_counter()
    doc = document(registry, "apps", "v1")
    elapsed = time.perf_counter() - started
    assert len(json.dumps(doc)) < 400_000
    assert elapsed < 2.0


# --------------------------------------------------------------------------- CRDs


def test_crd_kind_is_merge_patch_only_with_its_schema() -> None:
    """The CRD handler serves no SMP: kubectl then sends a merge patch (patcher.go)."""
    registry = Registry.builtin()
    registry.register_crd(widget_crd(WIDGET_SCHEMA))
    doc = document(registry, "example.com", "v1")
    gvk = {"group": "example.com", "kind": "Widget", "version": "v1"}
    assert supports_query_param_v3(doc, gvk, "fieldValidation")
    assert not gvk_supports_smp(doc, gvk)
    widget = kind_component(doc, gvk)
    spec, _, _ = widget.field("spec")
    assert spec.schema == WIDGET_SPEC
    metadata, _, _ = widget.field("metadata")
    assert "labels" in (metadata.schema or {}).get("properties", {})
    assert "/apis/example.com/v1/namespaces/{namespace}/widgets/{name}" in doc["paths"]


def test_crd_without_schema_preserves_unknown_fields() -> None:
    registry = Registry.builtin()
    crd = widget_crd()
    registry.register_crd(copy.deepcopy(crd))
    schemas = document(registry, "example.com", "v1")["components"]["schemas"]
    widget = schemas["com.example.v1.Widget"]
    assert widget["type"] == "object"
    assert widget["x-kubernetes-preserve-unknown-fields"] is True
    assert widget[GVK] == [{"group": "example.com", "kind": "Widget", "version": "v1"}]
