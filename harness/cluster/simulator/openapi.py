"""A minimal OpenAPI v3 so `kubectl apply` (1.29+) validates and finds merge keys.

Per group/version: one PATCH path per resource and the closure of its component schemas.

CONTRACT:
    openapi_v3_root(registry) -> dict                 {"paths": {"api/v1": {"serverRelativeURL":
                                                       "/openapi/v3/api/v1?hash=..."}, ...}}
    openapi_v3_document(registry, group, version) -> dict | None

What kubectl reads (cli-runtime pkg/resource/query_param_verifier_v3.go, kubectl
pkg/cmd/apply/patcher.go): a PATCH operation whose x-kubernetes-group-version-kind (one
object) is the GVK, carrying a `fieldValidation` query parameter (then kubectl sends
fieldValidation=Strict and validates nothing itself); its requestBody content naming
application/strategic-merge-patch+json (built-ins only, so kubectl computes SMP from v3
and merge patch for custom resources); components.schemas with the kind's schema tagged
by an x-kubernetes-group-version-kind list, whose $refs resolve in components.schemas.

Documents are cached per registry, keyed on its generation and its CRDs' content; the
root's hash is a content hash of each document, so it changes whenever a document does.
Built-in schemas come from kubernetes-validate (see schemas.kube_definitions()).
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .patch import JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH
from .registry import Registry, ResourceType
from .schemas import definition_name, kube_definitions

__all__ = ["openapi_v3_document", "openapi_v3_root"]

_SCHEMA_PREFIX = "#/components/schemas/"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_PATCH = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
_GVK = "x-kubernetes-group-version-kind"
_PRESERVE_UNKNOWN = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
# Keys of kubernetes-validate's JSON Schema 2020-12 files that OpenAPI 3.0 does not have.
_DROPPED_KEYS = frozenset({"$schema", "$id"})


def openapi_v3_root(registry: Registry) -> dict[str, Any]:
    """GET /openapi/v3: every served group/version and the URL of its document."""
    cache = _cache_for(registry)
    paths: dict[str, Any] = {}
    for group, versions in registry.groups().items():
        for version in versions:
            entry = cache.entry(registry, group, version)
            if entry is None:
                continue
            path = _gv_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={entry.hash}"}
    return {"paths": paths}


def openapi_v3_document(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """GET /openapi/v3/api/v1 or /openapi/v3/apis/<group>/<version>; None when not served.

    The returned dict is shared with the cache: serialise it, do not change it.
    """
    entry = _cache_for(registry).entry(registry, group, version)
    return entry.document if entry is not None else None


# --------------------------------------------------------------------------- cache


@dataclass(frozen=True)
class _Entry:
    document: dict[str, Any]
    hash: str


@dataclass
class _RegistryCache:
    """Documents built for one registry, each keyed on (generation, its CRDs' content)."""

    entries: dict[tuple[str, str], tuple[tuple[int, str], _Entry | None]] = field(
        default_factory=dict
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def entry(self, registry: Registry, group: str, version: str) -> _Entry | None:
        types = [rt for rt in registry.types() if rt.group == group and rt.version == version]
        crds = {rt.plural: registry.crd(rt.group, rt.plural) for rt in types if rt.custom}
        # CRD schema edits need not bump the generation: the fingerprint sees them.
        key = (registry.generation, _fingerprint(crds))
        with self.lock:
            cached = self.entries.get((group, version))
            if cached is not None and cached[0] == key:
                return cached[1]
        built = _build_entry(group, version, types, crds)  # outside the lock: ~10-100 ms
        with self.lock:
            self.entries[(group, version)] = (key, built)
        return built


_CACHES: weakref.WeakKeyDictionary[Registry, _RegistryCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _cache_for(registry: Registry) -> _RegistryCache:
    with _CACHES_LOCK:
        cache = _CACHES.get(registry)
        if cache is None:
            cache = _CACHES[registry] = _RegistryCache()
        return cache


def _fingerprint(crds: Mapping[str, Any]) -> str:
    if not crds:
        return ""
    text = json.dumps(crds, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _build_entry(
    group: str, version: str, types: list[ResourceType], crds: Mapping[str, Any]
) -> _Entry | None:
    if not types:
        return None
    document = _document(group, version, types, crds)
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    # The real server's hash is an upper-case hex SHA-512 of the document.
    return _Entry(document, hashlib.sha512(canonical).hexdigest().upper())


# --------------------------------------------------------------------------- documents


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _document(
    group: str, version: str, types: list[ResourceType], crds: Mapping[str, Any]
) -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    builtin_roots: list[str] = [_PATCH]
    for rt in sorted(types, key=lambda t: t.plural):
        if rt.custom:
            schema_name = _crd_schema_name(rt)
            components[schema_name] = _crd_component(rt, crds.get(rt.plural))
            builtin_roots.append(_OBJECT_META)
        else:
            found = definition_name(rt.group, rt.version, rt.kind)
            if found is None:
                continue  # a kind kubernetes-validate does not know: no document entry
            schema_name = found
            builtin_roots.append(found)
        paths[_item_path(rt)] = _item_path_item(rt, schema_name)
    definitions = kube_definitions()
    for name in _closure(builtin_roots, definitions):
        components[name] = _convert(definitions[name])
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "components": {"schemas": dict(sorted(components.items()))},
    }


def _item_path(rt: ResourceType) -> str:
    prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    if rt.namespaced:
        return f"{prefix}/namespaces/{{namespace}}/{rt.plural}/{{name}}"
    return f"{prefix}/{rt.plural}/{{name}}"


def _item_path_item(rt: ResourceType, schema_name: str) -> dict[str, Any]:
    """The path item of one object: GET and PATCH, shaped like the real server's."""
    gvk = {"group": rt.group, "kind": rt.kind, "version": rt.version}
    schema_ref = {"$ref": _SCHEMA_PREFIX + schema_name}
    scope = "Namespaced" if rt.namespaced else ""
    op_suffix = f"{_camel_group(rt.group)}{rt.version.capitalize()}{scope}{rt.kind}"
    tag = f"{rt.group.split('.')[0] or 'core'}_{rt.version}"
    ok = {"description": "OK", "content": {"application/json": {"schema": schema_ref}}}
    parameters = [
        _path_parameter("name", f"name of the {rt.kind}"),
        *(
            [_path_parameter("namespace", "object name and auth scope, such as for teams")]
            if rt.namespaced
            else []
        ),
        _query_parameter("pretty", "If 'true', then the output is pretty printed."),
    ]
    patch_types = [JSON_PATCH, MERGE_PATCH]
    if not rt.custom:
        # The CRD handler serves no strategic merge patch; kubectl reads this to choose.
        patch_types.append(STRATEGIC_MERGE_PATCH)
    patch_body = {"schema": {"$ref": _SCHEMA_PREFIX + _PATCH}}
    return {
        "parameters": parameters,
        "get": {
            "tags": [tag],
            "description": f"read the specified {rt.kind}",
            "operationId": f"read{op_suffix}",
            "responses": {"200": ok},
            "x-kubernetes-action": "get",
            _GVK: gvk,
        },
        "patch": {
            "tags": [tag],
            "description": f"partially update the specified {rt.kind}",
            "operationId": f"patch{op_suffix}",
            "parameters": [
                _query_parameter("dryRun", "When present, modifications are not persisted."),
                _query_parameter("fieldManager", "The name of the actor making the changes."),
                _query_parameter(
                    "fieldValidation",
                    "How the server handles unknown or duplicate fields: Ignore, Warn or Strict.",
                ),
                _query_parameter("force", "Force is for apply requests.", "boolean"),
            ],
            "requestBody": {
                "content": {t: patch_body for t in patch_types},
                "required": True,
            },
            "responses": {"200": ok, "201": {**ok, "description": "Created"}},
            "x-kubernetes-action": "patch",
            _GVK: gvk,
        },
    }


def _camel_group(group: str) -> str:
    """apps -> Apps, discovery.k8s.io -> Discovery, "" -> Core (operationId style)."""
    first = group.split(".")[0] if group else "core"
    return first[:1].upper() + first[1:]


def _path_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "description": description,
        "required": True,
        "schema": {"type": "string", "uniqueItems": True},
    }


def _query_parameter(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": kind, "uniqueItems": True},
    }


def _closure(roots: Iterable[str], definitions: Mapping[str, Any]) -> list[str]:
    """Every definition reachable from `roots` through $ref."""
    seen: set[str] = set()
    pending = [r for r in roots if r in definitions]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for ref in _refs(definitions[name]):
            if ref not in seen and ref in definitions:
                pending.append(ref)
    return sorted(seen)


def _refs(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[-1]
        for child in value.values():
            yield from _refs(child)
    elif isinstance(value, list):
        for child in value:
            yield from _refs(child)


def _convert(schema: Any) -> Any:
    """A kubernetes-validate (JSON Schema 2020-12) schema as an OpenAPI 3.0 component.

    $refs point into components.schemas; ["T", "null"] types become "T"; a $ref with
    siblings (description, x-kubernetes-patch-*) is wrapped in allOf as the real server
    does, so strict OpenAPI readers keep the siblings.
    """
    if isinstance(schema, list):
        return [_convert(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "$ref" and isinstance(value, str):
            converted[key] = _SCHEMA_PREFIX + value.rsplit("/", 1)[-1]
        elif key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            converted[key] = kinds[0] if len(kinds) == 1 else kinds
        elif key == "enum" and isinstance(value, list):
            converted[key] = [v for v in value if v is not None]
        elif key in ("properties", "patternProperties") and isinstance(value, dict):
            converted[key] = {name: _convert(prop) for name, prop in value.items()}
        else:
            converted[key] = _convert(value)
    if "$ref" in converted and len(converted) > 1:
        ref = converted.pop("$ref")
        converted = {"allOf": [{"$ref": ref}], **converted}
    return converted


# --------------------------------------------------------------------------- CRDs


def _crd_schema_name(rt: ResourceType) -> str:
    """apiextensions builder naming: reversed group, version, kind (com.example.v1.Widget)."""
    reversed_group = ".".join(reversed(rt.group.split(".")))
    return f"{reversed_group}.{rt.version}.{rt.kind}"


def _crd_component(rt: ResourceType, crd: Mapping[str, Any] | None) -> dict[str, Any]:
    """The CRD version's openAPIV3Schema with apiVersion, kind and a typed metadata."""
    schema = _crd_version_schema(crd, rt.version)
    component: dict[str, Any] = (
        json.loads(json.dumps(schema)) if schema is not None else dict(_PRESERVE_UNKNOWN)
    )
    component.setdefault("type", "object")
    properties = component.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string"}
    properties["kind"] = {"type": "string"}
    properties["metadata"] = {"allOf": [{"$ref": _SCHEMA_PREFIX + _OBJECT_META}]}
    component[_GVK] = [{"group": rt.group, "kind": rt.kind, "version": rt.version}]
    return component


def _crd_version_schema(crd: Mapping[str, Any] | None, version: str) -> dict[str, Any] | None:
    if not crd:
        return None
    spec = crd.get("spec") or {}
    for entry in spec.get("versions") or []:
        if entry.get("name") == version:
            schema = (entry.get("schema") or {}).get("openAPIV3Schema")
            if isinstance(schema, dict):
                return schema
    top = (spec.get("validation") or {}).get("openAPIV3Schema")  # v1beta1-era layout
    return top if isinstance(top, dict) else None
